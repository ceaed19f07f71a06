//! The Flagger controller (`flagger.app/v1beta1` Canary, Istio provider),
//! following Flagger's scheduler (`pkg/controller/scheduler.go`) step for
//! step, so that every status field, phase, condition and event reads as a
//! real Flagger's would: including its quirks, such as `failedChecks` going
//! back to 0 on rollback and `canaryWeight` reading 0 (with `iterations`
//! one below `analysis.iterations`) while a canary waits for promotion,
//! although the VirtualService still sends it traffic.
//!
//! Like Flagger, each canary runs on its own ticker: once when the canary is
//! first seen, then every `analysis.interval`. A change to the Canary, its
//! target or the objects it owns wakes the controller, but between ticks it
//! only writes the Initializing status of a new canary (which Flagger writes
//! from its informer); everything else waits for the next tick.
//!
//! Where the simulation stands in for the world outside the cluster:
//! - Webhooks are answered as flagger-loadtester would answer them: a
//!   `confirm-promotion` hook passes only once a human has opened the gate
//!   ([`Behaviour::gate_open`]); `rollback` hooks never signal a rollback
//!   (their gate stays closed); every other hook passes.
//! - Metrics come from [`MetricsSource`] for the target's newest
//!   `pod-template-hash` over the metric's interval (default 1m).
//!   `request-success-rate` is the percentage of non-5xx answers and
//!   `request-duration` the p99 in whole milliseconds. A metric with a
//!   `templateRef` or an inline `query` is judged by its name, since the
//!   simulation runs no PromQL: a name mentioning errors reads the error
//!   ratio (0 to 1), one mentioning latency or duration the p99 in
//!   milliseconds, one mentioning success the success percentage; any other
//!   name has no value. No requests means no value, and no value fails the
//!   check, as in Flagger.
//! - Only Deployment targets; ConfigMaps and Secrets are not tracked
//!   (`trackedConfigs` stays empty); no traffic mirroring, autoscalers,
//!   DestinationRules or alerts.

use super::events::{self, EventType};
use super::workload::{self, DEPLOYMENT, name_of, owner_reference, template_hash};
use super::{Controller, Ctx, owners_of_kind};
use crate::behaviour::Behaviour;
use crate::resources::{self, ResourceDef};
use crate::store::{Change, ListOptions, Store, Target};
use crate::time::{self, GO_UNITS, PROMETHEUS_UNITS};
use crate::time::{parse_timestamp, timestamp};
use crate::traffic::{MetricsSource, WindowStats};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

pub struct FlaggerController;

const COMPONENT: &str = "flagger";
/// Flagger records every event under this one reason.
const REASON: &str = "Synced";
/// The mesh whose VirtualService carries the split; named in halt messages.
const PROVIDER: &str = "istio";
const TOTAL_WEIGHT: i64 = 100;
/// Flagger's default `-selector-labels`, tried in this order.
const SELECTOR_LABELS: [&str; 3] = ["app", "name", "app.kubernetes.io/name"];
/// The pod annotation Flagger renews on every promotion to force a rollout.
const FLAGGER_ID: &str = "flagger-id";

const INITIALIZING: &str = "Initializing";
const INITIALIZED: &str = "Initialized";
const WAITING: &str = "Waiting";
const PROGRESSING: &str = "Progressing";
const WAITING_PROMOTION: &str = "WaitingPromotion";
const PROMOTING: &str = "Promoting";
const FINALISING: &str = "Finalising";
const SUCCEEDED: &str = "Succeeded";
const FAILED: &str = "Failed";

pub fn canaries() -> &'static ResourceDef {
    resources::lookup("flagger.app", "v1beta1", "canaries").expect("served")
}

fn deployments() -> &'static ResourceDef {
    resources::lookup("apps", "v1", "deployments").expect("served")
}

fn services() -> &'static ResourceDef {
    resources::lookup("", "v1", "services").expect("served")
}

fn virtual_services() -> &'static ResourceDef {
    resources::lookup("networking.istio.io", "v1beta1", "virtualservices").expect("served")
}

/// The analysis block of a Canary (`spec.analysis`, or the deprecated
/// `spec.canaryAnalysis`) with Flagger's defaults.
struct Analysis<'a>(&'a Value);

impl<'a> Analysis<'a> {
    fn of(cd: &'a Value) -> Self {
        let spec = &cd["spec"];
        if spec["analysis"].is_object() {
            Analysis(&spec["analysis"])
        } else {
            Analysis(&spec["canaryAnalysis"])
        }
    }

    fn int(&self, field: &str) -> i64 {
        self.0[field].as_i64().unwrap_or(0)
    }

    /// `GetAnalysisInterval`: 60s when missing or unparsable, at least 10s.
    fn interval(&self) -> Duration {
        self.0["interval"]
            .as_str()
            .and_then(|s| time::parse(s, GO_UNITS))
            .unwrap_or(Duration::seconds(60))
            .max(Duration::seconds(10))
    }

    /// `GetAnalysisThreshold`: 1 unless positive.
    fn threshold(&self) -> i64 {
        let n = self.int("threshold");
        if n > 0 { n } else { 1 }
    }

    fn iterations(&self) -> i64 {
        self.int("iterations")
    }

    fn step_weight(&self) -> i64 {
        self.int("stepWeight")
    }

    fn step_weights(&self) -> Vec<i64> {
        self.0["stepWeights"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    }

    fn has_match(&self) -> bool {
        self.0["match"].as_array().is_some_and(|m| !m.is_empty())
    }

    /// The scheduler's `maxWeight`: the last step (capped at the total), or
    /// `maxWeight`, or the total.
    fn max_weight(&self) -> i64 {
        if let Some(last) = self.step_weights().last() {
            return TOTAL_WEIGHT.min(*last);
        }
        match self.int("maxWeight") {
            n if n > 0 => n,
            _ => TOTAL_WEIGHT,
        }
    }

    /// The scheduler's `nextStepWeight`: how much weight the next advance adds.
    fn next_step_weight(&self, canary_weight: i64) -> i64 {
        let steps = self.step_weights();
        if self.step_weight() > 0 || steps.is_empty() {
            return self.step_weight();
        }
        let max_step = TOTAL_WEIGHT - canary_weight;
        if max_step == 0 {
            return 1;
        }
        if canary_weight == 0 {
            return max_step.min(steps[0]);
        }
        steps
            .windows(2)
            .find(|w| w[0] == canary_weight)
            .map_or(max_step, |w| max_step.min(w[1] - canary_weight))
    }

    fn step_weight_promotion(&self) -> i64 {
        self.int("stepWeightPromotion")
    }

    /// `primaryReadyThreshold` or `canaryReadyThreshold`: 100 when unset.
    fn ready_threshold(&self, field: &str) -> i64 {
        self.0[field].as_i64().unwrap_or(100)
    }

    fn metrics(&self) -> &'a [Value] {
        self.0["metrics"].as_array().map_or(&[], Vec::as_slice)
    }

    /// The names of the webhooks of one type.
    fn hooks(&self, kind: &str) -> Vec<String> {
        self.0["webhooks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["type"] == kind)
            .map(|w| w["name"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// When a canary's analysis is due next, per canary uid: Flagger keeps one
/// ticker per canary in memory, started (and run at once) when it first sees
/// the canary and restarted when the interval changes. The uid keeps the
/// canaries of separate simulated clusters in one process apart.
static SCHEDULE: LazyLock<Mutex<HashMap<String, Ticker>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

struct Ticker {
    interval: Duration,
    next: DateTime<Utc>,
}

/// Whether the canary's ticker fires at `now`, and when it fires next.
fn tick(uid: &str, interval: Duration, now: DateTime<Utc>) -> (bool, DateTime<Utc>) {
    let mut schedule = SCHEDULE.lock().unwrap_or_else(|e| e.into_inner());
    let ticker = schedule.entry(uid.to_string()).or_insert(Ticker {
        interval,
        next: now,
    });
    if ticker.interval != interval {
        *ticker = Ticker {
            interval,
            next: now,
        };
    }
    if now < ticker.next {
        return (false, ticker.next);
    }
    // Like a Go ticker, drop the ticks that were missed and keep the phase.
    while ticker.next <= now {
        ticker.next += interval;
    }
    (true, ticker.next)
}

fn target_kind(cd: &Value) -> &str {
    cd["spec"]["targetRef"]["kind"]
        .as_str()
        .unwrap_or("Deployment")
}

/// Flagger's `MakeStatusConditions`: the one Promoted condition for
/// `phase`, or None when the current one already has its status and reason.
fn promoted_condition(cd: &Value, phase: &str, now: DateTime<Utc>) -> Option<Value> {
    let kind = target_kind(cd);
    let (status, message) = match phase {
        INITIALIZED => ("True", format!("{kind} initialization completed.")),
        WAITING | WAITING_PROMOTION => ("Unknown", "Waiting for approval.".to_string()),
        PROGRESSING => (
            "Unknown",
            "New revision detected, progressing canary analysis.".to_string(),
        ),
        PROMOTING => (
            "Unknown",
            "Canary analysis completed, starting primary rolling update.".to_string(),
        ),
        FINALISING => (
            "Unknown",
            "Canary analysis completed, routing all traffic to primary.".to_string(),
        ),
        SUCCEEDED => (
            "True",
            "Canary analysis completed successfully, promotion finished.".to_string(),
        ),
        FAILED => (
            "False",
            format!("Canary analysis failed, {kind} scaled to zero."),
        ),
        _ => (
            "Unknown",
            format!("New {kind} detected, starting initialization."),
        ),
    };
    let current = cd["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Promoted"));
    if current.is_some_and(|c| c["status"] == status && c["reason"] == phase) {
        return None;
    }
    let transition = match current {
        Some(c) if c["status"] == status => c["lastTransitionTime"].clone(),
        _ => json!(timestamp(now)),
    };
    Some(json!([{
        "type": "Promoted",
        "status": status,
        "lastUpdateTime": timestamp(now),
        "lastTransitionTime": transition,
        "reason": phase,
        "message": message,
    }]))
}

/// Why a Deployment is not ready (Flagger's `isDeploymentReady`), and
/// whether waiting longer can still help.
struct NotReady {
    retriable: bool,
    message: String,
}

fn deployment_ready(
    d: &Value,
    deadline_seconds: i64,
    ready_threshold: i64,
    now: DateTime<Utc>,
) -> Result<(), NotReady> {
    let status = &d["status"];
    let count = |field: &str| status[field].as_i64().unwrap_or(0);
    if d["metadata"]["generation"].as_i64().unwrap_or(0) > count("observedGeneration") {
        return Err(NotReady {
            retriable: true,
            message: "waiting for rollout to finish: observed deployment generation less than desired generation".into(),
        });
    }
    let condition = |kind: &str| {
        status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
    };
    let progress = condition("Progressing");
    // Stuck: minimum availability missing for longer than the deadline.
    let retriable = match (progress, condition("Available")) {
        (Some(_), Some(available))
            if available["status"] == "False"
                && available["reason"] == "MinimumReplicasUnavailable" =>
        {
            parse_timestamp(&available["lastUpdateTime"])
                .is_none_or(|from| from + Duration::seconds(deadline_seconds) >= now)
        }
        _ => true,
    };
    let updated = count("updatedReplicas");
    let ready_updated = (updated as f32 * (ready_threshold as f32 / 100.0)) as i64;
    let wanted = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let message = if progress.is_some_and(|p| p["reason"] == "ProgressDeadlineExceeded") {
        return Err(NotReady {
            retriable: false,
            message: format!("deployment {:?} exceeded its progress deadline", name_of(d)),
        });
    } else if updated < wanted {
        format!(
            "waiting for rollout to finish: {updated} out of {wanted} new replicas have been updated"
        )
    } else if count("replicas") > updated {
        format!(
            "waiting for rollout to finish: {} old replicas are pending termination",
            count("replicas") - updated
        )
    } else if count("availableReplicas") < ready_updated {
        format!(
            "waiting for rollout to finish: {} of {ready_updated} (readyThreshold {ready_threshold}%) updated replicas are available",
            count("availableReplicas")
        )
    } else {
        return Ok(());
    };
    Err(NotReady { retriable, message })
}

/// The labels of `labels` with the selector label pointing at the primary
/// (Flagger's `makePrimaryLabels`).
fn primary_labels(labels: &Value, label: &str, primary_value: &str) -> Value {
    let mut out = labels.as_object().cloned().unwrap_or_default();
    out.insert(label.into(), json!(primary_value));
    Value::Object(out)
}

/// Pod annotations with a fresh `flagger-id`, so that every copy of the
/// template into the primary rolls its pods (Flagger's `makeAnnotations`).
fn with_flagger_id(annotations: &Value) -> Value {
    let mut out = annotations.as_object().cloned().unwrap_or_default();
    out.insert(FLAGGER_ID.into(), json!(uuid::Uuid::new_v4().to_string()));
    Value::Object(out)
}

/// The success percentage of a window; None without requests.
fn success_rate(stats: &WindowStats) -> Option<f64> {
    stats.error_ratio().map(|e| (1.0 - e) * 100.0)
}

/// The p99 latency in whole milliseconds, as Flagger truncates it; None without requests.
fn p99_millis(stats: &WindowStats) -> Option<i64> {
    (stats.requests > 0.0).then_some(stats.p99_ms as i64)
}

/// The value of a custom (template or inline query) metric, judged by name.
fn custom_value(metric_name: &str, stats: &WindowStats) -> Option<f64> {
    let name = metric_name.to_ascii_lowercase();
    if name.contains("error") {
        stats.error_ratio()
    } else if name.contains("latency") || name.contains("duration") {
        p99_millis(stats).map(|ms| ms as f64)
    } else if name.contains("success") {
        success_rate(stats)
    } else {
        None
    }
}

/// One run of Flagger's `advanceCanary` for one canary.
struct Run<'a> {
    store: &'a Store,
    behaviour: &'a Behaviour,
    metrics: &'a dyn MetricsSource,
    now: DateTime<Utc>,
    /// The canary as read when the run began, as Flagger holds it in memory;
    /// status writes go to the stored object.
    cd: Arc<Value>,
    namespace: String,
    name: String,
    target: String,
    /// The apex service: `spec.service.name`, or the target's name.
    service: String,
}

impl<'a> Run<'a> {
    fn new(ctx: &'a Ctx<'a>, cd: Arc<Value>) -> Self {
        let target = cd["spec"]["targetRef"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let service = cd["spec"]["service"]["name"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or(&target)
            .to_string();
        Run {
            store: ctx.store,
            behaviour: ctx.behaviour,
            metrics: ctx.metrics,
            now: ctx.now,
            namespace: workload::namespace_of(&cd).to_string(),
            name: name_of(&cd).to_string(),
            target,
            service,
            cd,
        }
    }

    fn analysis(&self) -> Analysis<'_> {
        Analysis::of(&self.cd)
    }

    fn phase(&self) -> &str {
        self.cd["status"]["phase"].as_str().unwrap_or("")
    }

    fn status_int(&self, field: &str) -> i64 {
        self.cd["status"][field].as_i64().unwrap_or(0)
    }

    fn spec_flag(&self, field: &str) -> bool {
        self.cd["spec"][field].as_bool().unwrap_or(false)
    }

    fn event(&self, kind: EventType, message: &str) {
        events::record(
            self.store, self.now, &self.cd, kind, REASON, message, COMPONENT,
        );
    }

    fn info(&self, message: &str) {
        self.event(EventType::Normal, message);
    }

    fn warn(&self, message: &str) {
        self.event(EventType::Warning, message);
    }

    /// `<name>.<namespace>` of the Canary, as Flagger's messages name it.
    fn canary_ref(&self) -> String {
        format!("{}.{}", self.name, self.namespace)
    }

    /// `<target>.<namespace>`.
    fn target_ref(&self) -> String {
        format!("{}.{}", self.target, self.namespace)
    }

    fn primary_name(&self) -> String {
        format!("{}-primary", self.target)
    }

    fn refetch(&mut self) {
        if let Ok(cd) = self.store.get(canaries(), &self.namespace, &self.name) {
            self.cd = cd;
        }
    }

    fn target(&self) -> Result<Arc<Value>, String> {
        self.store
            .get(deployments(), &self.namespace, &self.target)
            .map_err(|_| {
                format!(
                    "deployment {} get query error: deployments.apps {:?} not found",
                    self.target_ref(),
                    self.target
                )
            })
    }

    fn primary(&self) -> Result<Arc<Value>, String> {
        let name = self.primary_name();
        self.store
            .get(deployments(), &self.namespace, &name)
            .map_err(|_| {
                format!(
                    "deployment {name}.{} get query error: deployments.apps {name:?} not found",
                    self.namespace
                )
            })
    }

    /// Edit the stored status; the counters Flagger always serializes are kept present.
    fn write_status(&self, change: impl FnOnce(&mut Value, &Value)) {
        let result = self
            .store
            .modify(canaries(), &self.namespace, &self.name, |cd| {
                let fresh = cd.clone();
                let status = &mut cd["status"];
                change(status, &fresh);
                for counter in ["failedChecks", "canaryWeight", "iterations"] {
                    if !status[counter].is_i64() {
                        status[counter] = json!(0);
                    }
                }
            });
        if let Err(e) = result {
            tracing::debug!("writing the status of canary {}: {e}", self.canary_ref());
        }
    }

    /// Flagger's `SyncStatus`: phase and counters as given, the target's
    /// current template hash as lastAppliedSpec (and as lastPromotedSpec
    /// on initialization).
    fn sync_status(&self, phase: &str, weight: i64, failed_checks: i64, iterations: i64) {
        let Ok(target) = self.target() else {
            return;
        };
        let hash = template_hash(&target["spec"]["template"]);
        let now = self.now;
        self.write_status(|s, fresh| {
            s["phase"] = json!(phase);
            s["canaryWeight"] = json!(weight);
            s["failedChecks"] = json!(failed_checks);
            s["iterations"] = json!(iterations);
            s["lastAppliedSpec"] = json!(hash);
            if phase == INITIALIZED {
                s["lastPromotedSpec"] = json!(hash);
            }
            s["lastTransitionTime"] = json!(timestamp(now));
            s["trackedConfigs"] = json!({});
            if let Some(conditions) = promoted_condition(fresh, phase, now) {
                s["conditions"] = conditions;
            }
        });
    }

    /// Flagger's `SetStatusPhase`: leaving the analysis clears weight and
    /// iterations; promotion records the applied spec as promoted.
    fn set_status_phase(&self, phase: &str) {
        let now = self.now;
        self.write_status(|s, fresh| {
            s["phase"] = json!(phase);
            s["lastTransitionTime"] = json!(timestamp(now));
            if !matches!(phase, PROGRESSING | WAITING | PROMOTING) {
                s["canaryWeight"] = json!(0);
                s["iterations"] = json!(0);
                if phase == WAITING_PROMOTION {
                    s["iterations"] = json!(Analysis::of(fresh).iterations() - 1);
                }
            }
            if matches!(phase, INITIALIZED | SUCCEEDED) {
                s["lastPromotedSpec"] = fresh["status"]["lastAppliedSpec"].clone();
            }
            if let Some(conditions) = promoted_condition(fresh, phase, now) {
                s["conditions"] = conditions;
            }
        });
    }

    /// Flagger's `SetStatusWeight`, `SetStatusFailedChecks` and `SetStatusIterations`.
    fn set_status_counter(&self, field: &str, value: i64) {
        let now = self.now;
        self.write_status(|s, _| {
            s[field] = json!(value);
            s["lastTransitionTime"] = json!(timestamp(now));
        });
    }

    /// What Flagger's informer writes on a canary without conditions.
    fn set_phase_initializing(&self) {
        let now = self.now;
        self.write_status(|s, fresh| {
            if let Some(conditions) = promoted_condition(fresh, INITIALIZING, now) {
                s["conditions"] = conditions;
                s["lastTransitionTime"] = json!(timestamp(now));
                s["phase"] = json!(INITIALIZING);
            }
        });
    }

    /// The target's selector label and its value (Flagger's `getSelectorLabel`).
    fn selector_label(&self, target: &Value) -> Result<(&'static str, String), String> {
        let labels = &target["spec"]["selector"]["matchLabels"];
        SELECTOR_LABELS
            .iter()
            .find_map(|l| labels[*l].as_str().map(|v| (*l, v.to_string())))
            .ok_or_else(|| {
                format!(
                    "deployment {} spec.selector.matchLabels must contain one of [{}]",
                    self.target_ref(),
                    SELECTOR_LABELS.join(" ")
                )
            })
    }

    /// Create a ClusterIP Service for the canary's port selecting
    /// `label=value`, or bring an existing one's selector and ports back.
    fn ensure_service(&self, name: &str, label: &str, value: &str) {
        let svc = &self.cd["spec"]["service"];
        let port = svc["port"].as_i64().unwrap_or(80);
        let target_port = match &svc["targetPort"] {
            Value::Null => json!(port),
            p => p.clone(),
        };
        let mut port_spec = json!({
            "name": svc["portName"].as_str().unwrap_or("http"),
            "protocol": "TCP",
            "port": port,
            "targetPort": target_port,
        });
        if let Some(protocol) = svc["appProtocol"].as_str() {
            port_spec["appProtocol"] = json!(protocol);
        }
        let selector = json!({ label: value });
        let ports = json!([port_spec]);
        let result = match self.store.get(services(), &self.namespace, name) {
            Ok(existing) => {
                if existing["spec"]["selector"] == selector && existing["spec"]["ports"] == ports {
                    return;
                }
                self.store.modify(services(), &self.namespace, name, |s| {
                    s["spec"]["selector"] = selector;
                    s["spec"]["ports"] = ports;
                })
            }
            Err(_) => self.store.create(
                services(),
                &self.namespace,
                json!({
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {
                        "name": name,
                        "namespace": self.namespace,
                        "labels": { label: name },
                        "ownerReferences": [owner_reference(&self.cd)],
                    },
                    "spec": {"type": "ClusterIP", "selector": selector, "ports": ports},
                }),
                Target::Whole,
                false,
            ),
        };
        if let Err(e) = result {
            self.warn(&format!(
                "service {name}.{} reconcile failed: {e}",
                self.namespace
            ));
        }
    }

    /// Create `<target>-primary` as a copy of the target, if it is missing
    /// (Flagger's `createPrimaryDeployment`).
    fn ensure_primary(
        &self,
        target: &Value,
        label: &str,
        primary_value: &str,
    ) -> Result<(), String> {
        if self.primary().is_ok() {
            return Ok(());
        }
        let spec = &target["spec"];
        let template = &spec["template"];
        let replicas = spec["replicas"].as_i64().filter(|n| *n > 0).unwrap_or(1);
        let mut primary_spec = Map::new();
        for field in [
            "progressDeadlineSeconds",
            "minReadySeconds",
            "revisionHistoryLimit",
            "strategy",
        ] {
            if !spec[field].is_null() {
                primary_spec.insert(field.into(), spec[field].clone());
            }
        }
        primary_spec.insert("replicas".into(), json!(replicas));
        primary_spec.insert(
            "selector".into(),
            json!({"matchLabels": { label: primary_value }}),
        );
        primary_spec.insert(
            "template".into(),
            json!({
                "metadata": {
                    "labels": primary_labels(&template["metadata"]["labels"], label, primary_value),
                    "annotations": with_flagger_id(&template["metadata"]["annotations"]),
                },
                "spec": template["spec"],
            }),
        );
        let mut metadata = json!({
            "name": self.primary_name(),
            "namespace": self.namespace,
            "labels": { label: primary_value },
            "ownerReferences": [owner_reference(&self.cd)],
        });
        if let Some(annotations) = target["metadata"]["annotations"].as_object() {
            let kept: Map<String, Value> = annotations
                .iter()
                .filter(|(k, _)| *k != "kubectl.kubernetes.io/last-applied-configuration")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !kept.is_empty() {
                metadata["annotations"] = Value::Object(kept);
            }
        }
        let primary = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": primary_spec,
        });
        self.store
            .create(
                deployments(),
                &self.namespace,
                primary,
                Target::Whole,
                false,
            )
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "createPrimaryDeployment failed: creating deployment {}.{} failed: {e}",
                    self.primary_name(),
                    self.namespace
                )
            })
    }

    fn primary_ready(&self) -> Result<(), NotReady> {
        let name = format!("{}.{}", self.primary_name(), self.namespace);
        self.workload_ready(self.primary(), "primaryReadyThreshold", name)
    }

    fn canary_ready(&self) -> Result<(), NotReady> {
        let name = format!("canary deployment {}", self.target_ref());
        self.workload_ready(self.target(), "canaryReadyThreshold", name)
    }

    /// Flagger's readiness check of one of its Deployments, named in the message as `what`.
    fn workload_ready(
        &self,
        deployment: Result<Arc<Value>, String>,
        threshold: &str,
        what: String,
    ) -> Result<(), NotReady> {
        let deployment = deployment.map_err(|message| NotReady {
            retriable: true,
            message,
        })?;
        deployment_ready(
            &deployment,
            self.progress_deadline(),
            self.analysis().ready_threshold(threshold),
            self.now,
        )
        .map_err(|e| NotReady {
            message: format!("{what} not ready: {}", e.message),
            ..e
        })
    }

    /// `GetProgressDeadlineSeconds`: 600 unless set.
    fn progress_deadline(&self) -> i64 {
        self.cd["spec"]["progressDeadlineSeconds"]
            .as_i64()
            .unwrap_or(600)
    }

    fn scale_target(&self, replicas: i64) {
        let result = self
            .store
            .modify(deployments(), &self.namespace, &self.target, |d| {
                d["spec"]["replicas"] = json!(replicas);
            });
        if let Err(e) = result {
            self.warn(&format!(
                "deployment {} update query error: {e}",
                self.target_ref()
            ));
        }
    }

    /// Flagger's `ScaleFromZero`: the target's own size, or 1 when it has none.
    fn scale_from_zero(&self) {
        let Ok(target) = self.target() else {
            return;
        };
        let replicas = target["spec"]["replicas"]
            .as_i64()
            .filter(|n| *n > 0)
            .unwrap_or(1);
        self.scale_target(replicas);
    }

    /// Copy the target's pod template (and rollout settings) into the
    /// primary (Flagger's `Promote`).
    fn promote(&self) -> Result<(), String> {
        let target = self.target()?;
        self.primary()?;
        let (label, value) = self.selector_label(&target)?;
        let primary_value = format!("{value}-primary");
        let spec = &target["spec"];
        let template = &spec["template"];
        self.store
            .modify(deployments(), &self.namespace, &self.primary_name(), |p| {
                for field in [
                    "progressDeadlineSeconds",
                    "minReadySeconds",
                    "revisionHistoryLimit",
                    "strategy",
                ] {
                    match &spec[field] {
                        Value::Null => {
                            if let Some(s) = p["spec"].as_object_mut() {
                                s.remove(field);
                            }
                        }
                        v => p["spec"][field] = v.clone(),
                    }
                }
                p["spec"]["template"]["spec"] = template["spec"].clone();
                p["spec"]["template"]["metadata"]["annotations"] =
                    with_flagger_id(&template["metadata"]["annotations"]);
                p["spec"]["template"]["metadata"]["labels"] =
                    primary_labels(&template["metadata"]["labels"], label, &primary_value);
            })
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "updating deployment {}.{} template spec failed: {e}",
                    self.primary_name(),
                    self.namespace
                )
            })
    }

    /// The VirtualService's http routes for these weights: one weighted
    /// route; for A/B testing, the weighted route behind the analysis match
    /// and everything else to the primary.
    fn http_routes(&self, primary_weight: i64, canary_weight: i64) -> Value {
        let primary = format!("{}-primary", self.service);
        let canary = format!("{}-canary", self.service);
        let weighted = json!([
            {"destination": {"host": primary}, "weight": primary_weight},
            {"destination": {"host": canary}, "weight": canary_weight},
        ]);
        let analysis = self.analysis();
        if analysis.has_match() {
            json!([
                {"match": analysis.0["match"], "route": weighted},
                {"route": [{"destination": {"host": primary}, "weight": TOTAL_WEIGHT}]},
            ])
        } else {
            json!([{ "route": weighted }])
        }
    }

    /// The VirtualService spec Flagger generates, with the given weights.
    fn virtual_service_spec(&self, primary_weight: i64, canary_weight: i64) -> Value {
        let svc = &self.cd["spec"]["service"];
        let mut hosts: Vec<Value> = svc["hosts"].as_array().cloned().unwrap_or_default();
        hosts.push(json!(self.service));
        let mut spec =
            json!({"hosts": hosts, "http": self.http_routes(primary_weight, canary_weight)});
        if let Some(gateways) = svc["gateways"].as_array().filter(|g| !g.is_empty()) {
            let mut gateways = gateways.clone();
            if !gateways.contains(&json!("mesh")) {
                gateways.push(json!("mesh"));
            }
            spec["gateways"] = json!(gateways);
        }
        spec
    }

    /// Create the VirtualService `<svc>` routing everything to the primary,
    /// or bring an existing one back to Flagger's shape at its current
    /// weights, taking it over if someone else created it.
    fn ensure_virtual_service(&self) {
        let result = match self
            .store
            .get(virtual_services(), &self.namespace, &self.service)
        {
            Ok(vs) => {
                let (primary_weight, canary_weight) =
                    routes_of(&vs, &self.service).unwrap_or((TOTAL_WEIGHT, 0));
                let spec = self.virtual_service_spec(primary_weight, canary_weight);
                let owned = workload::is_owned_by(&vs, &self.cd);
                if vs["spec"] == spec && owned {
                    return;
                }
                let owner = owner_reference(&self.cd);
                self.store
                    .modify(virtual_services(), &self.namespace, &self.service, |v| {
                        v["spec"] = spec;
                        if !owned {
                            match v["metadata"]["ownerReferences"].as_array_mut() {
                                Some(refs) => refs.push(owner),
                                None => v["metadata"]["ownerReferences"] = json!([owner]),
                            }
                        }
                    })
            }
            Err(_) => self.store.create(
                virtual_services(),
                &self.namespace,
                json!({
                    "apiVersion": "networking.istio.io/v1beta1",
                    "kind": "VirtualService",
                    "metadata": {
                        "name": self.service,
                        "namespace": self.namespace,
                        "ownerReferences": [owner_reference(&self.cd)],
                    },
                    "spec": self.virtual_service_spec(TOTAL_WEIGHT, 0),
                }),
                Target::Whole,
                false,
            ),
        };
        if let Err(e) = result {
            self.warn(&format!(
                "VirtualService {}.{} reconcile failed: {e}",
                self.service, self.namespace
            ));
        }
    }

    /// The applied (primary, canary) weights (the router's `GetRoutes`).
    fn get_routes(&self) -> Result<(i64, i64), String> {
        let vs = self
            .store
            .get(virtual_services(), &self.namespace, &self.service)
            .map_err(|e| {
                format!(
                    "VirtualService {}.{} get query error: {e}",
                    self.service, self.namespace
                )
            })?;
        routes_of(&vs, &self.service).ok_or_else(|| {
            format!(
                "VirtualService {svc}.{} does not contain routes for {svc}-primary and {svc}-canary",
                self.namespace,
                svc = self.service
            )
        })
    }

    /// Write the split into the VirtualService (the router's `SetRoutes`).
    fn set_routes(&self, primary_weight: i64, canary_weight: i64) -> Result<(), String> {
        let http = self.http_routes(primary_weight, canary_weight);
        self.store
            .modify(virtual_services(), &self.namespace, &self.service, |vs| {
                vs["spec"]["http"] = http;
            })
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "VirtualService {}.{} update failed: {e}",
                    self.service, self.namespace
                )
            })
    }

    /// The pod-template-hash of the target's newest ReplicaSet: its pods are the canary.
    fn canary_hash(&self) -> Option<String> {
        let target = self.target().ok()?;
        workload::owned_replica_sets(self.store, &target, DEPLOYMENT)
            .last()
            .map(|rs| workload::hash_of(rs, DEPLOYMENT).to_string())
            .filter(|h| !h.is_empty())
    }

    /// The canary's traffic over a metric's interval (1m by default); None without requests.
    fn window(&self, metric: &Value) -> Option<WindowStats> {
        let interval = metric["interval"]
            .as_str()
            .and_then(|i| time::parse(i, PROMETHEUS_UNITS))
            .unwrap_or(Duration::minutes(1));
        let hash = self.canary_hash()?;
        self.metrics
            .window(&self.namespace, &hash, interval)
            .filter(|s| s.requests > 0.0)
    }

    /// Flagger's `runAnalysis`: rollout hooks (which pass), then the
    /// built-in and inline metrics, then the template metrics; the first
    /// failing check halts with its event.
    fn run_analysis(&self) -> bool {
        let who = self.canary_ref();
        for metric in self.analysis().metrics() {
            let name = metric["name"].as_str().unwrap_or("");
            let range = &metric["thresholdRange"];
            let threshold = metric["threshold"].as_f64().unwrap_or(0.0);
            if name == "request-success-rate" {
                let Some(rate) = self.window(metric).as_ref().and_then(success_rate) else {
                    self.warn(&format!(
                        "Halt advancement no values found for {PROVIDER} metric {name} probably {} is not receiving traffic: running query failed: no values found",
                        self.target_ref()
                    ));
                    return false;
                };
                let failure = if range.is_object() {
                    match (range["min"].as_f64(), range["max"].as_f64()) {
                        (Some(min), _) if rate < min => Some(("<", min)),
                        (_, Some(max)) if rate > max => Some((">", max)),
                        _ => None,
                    }
                } else {
                    (threshold > rate).then_some(("<", threshold))
                };
                if let Some((op, bound)) = failure {
                    self.warn(&format!(
                        "Halt {who} advancement success rate {rate:.2}% {op} {bound}%"
                    ));
                    return false;
                }
            }
            if name == "request-duration" {
                let Some(ms) = self.window(metric).as_ref().and_then(p99_millis) else {
                    self.warn(&format!(
                        "Halt advancement no values found for {PROVIDER} metric {name} probably {} is not receiving traffic",
                        self.target_ref()
                    ));
                    return false;
                };
                let failure = if range.is_object() {
                    match (range["min"].as_f64(), range["max"].as_f64()) {
                        (Some(min), _) if ms < min as i64 => Some(("<", min as i64)),
                        (_, Some(max)) if ms > max as i64 => Some((">", max as i64)),
                        _ => None,
                    }
                } else {
                    (ms > threshold as i64).then_some((">", threshold as i64))
                };
                if let Some((op, bound)) = failure {
                    self.warn(&format!(
                        "Halt {who} advancement request duration {} {op} {}",
                        time::format_go(ms),
                        time::format_go(bound)
                    ));
                    return false;
                }
            }
            if metric["query"].as_str().is_some_and(|q| !q.is_empty())
                && !self.custom_check(
                    metric,
                    &format!("Halt advancement no values found for metric: {name}"),
                )
            {
                return false;
            }
        }
        for metric in self.analysis().metrics() {
            if metric["templateRef"].is_object() {
                let name = metric["name"].as_str().unwrap_or("");
                let no_values = format!(
                    "Halt advancement no values found for custom metric: {name}: no values found"
                );
                if !self.custom_check(metric, &no_values) {
                    return false;
                }
            }
        }
        true
    }

    /// A template or inline-query metric against its range (or the
    /// deprecated `threshold` as a maximum).
    fn custom_check(&self, metric: &Value, no_values: &str) -> bool {
        let name = metric["name"].as_str().unwrap_or("");
        let Some(value) = self
            .window(metric)
            .as_ref()
            .and_then(|s| custom_value(name, s))
        else {
            self.warn(no_values);
            return false;
        };
        let range = &metric["thresholdRange"];
        let failure = if range.is_object() {
            match (range["min"].as_f64(), range["max"].as_f64()) {
                (Some(min), _) if value < min => Some(("<", min)),
                (_, Some(max)) if value > max => Some((">", max)),
                _ => None,
            }
        } else {
            let threshold = metric["threshold"].as_f64().unwrap_or(0.0);
            (value > threshold).then_some((">", threshold))
        };
        match failure {
            Some((op, bound)) => {
                self.warn(&format!(
                    "Halt {} advancement {name} {value:.2} {op} {bound}",
                    self.canary_ref()
                ));
                false
            }
            None => true,
        }
    }

    /// Flagger's `runConfirmPromotionHooks`, the human's gate answering each hook.
    fn promotion_confirmed(&self) -> bool {
        for hook in self.analysis().hooks("confirm-promotion") {
            if !self.behaviour.gate_open(&self.namespace, &self.name) {
                if self.phase() != WAITING_PROMOTION {
                    self.set_status_phase(WAITING_PROMOTION);
                    self.warn(&format!(
                        "Halt {} advancement waiting for promotion approval {hook}",
                        self.canary_ref()
                    ));
                } else {
                    self.set_status_counter("iterations", self.analysis().iterations() - 1);
                }
                return false;
            }
            self.info(&format!("Confirm-promotion check {hook} passed"));
        }
        true
    }

    fn post_rollout_hooks(&self) {
        for hook in self.analysis().hooks("post-rollout") {
            self.info(&format!("Post-rollout check {hook} passed"));
        }
    }

    /// Copy the target into the primary and enter Promoting.
    fn start_promotion(&self) {
        self.info(&format!(
            "Copying {} template spec to {}.{}",
            self.target_ref(),
            self.primary_name(),
            self.namespace
        ));
        if let Err(e) = self.promote() {
            self.warn(&e);
            return;
        }
        self.set_status_phase(PROMOTING);
    }

    /// All traffic back to the primary, the target scaled to zero, Failed.
    fn rollback(&self) {
        let failed_checks = self.status_int("failedChecks");
        if failed_checks >= self.analysis().threshold() {
            self.warn(&format!(
                "Rolling back {} failed checks threshold reached {failed_checks}",
                self.canary_ref()
            ));
        }
        if let Err(e) = self.set_routes(TOTAL_WEIGHT, 0) {
            self.warn(&e);
            return;
        }
        self.warn(&format!(
            "Canary failed! Scaling down {}",
            self.canary_ref()
        ));
        self.scale_target(0);
        self.sync_status(FAILED, 0, 0, 0);
        self.post_rollout_hooks();
    }

    /// Flagger's `shouldAdvance`: mid-analysis, or the target changed.
    fn should_advance(&self) -> bool {
        if matches!(
            self.phase(),
            PROGRESSING | WAITING | WAITING_PROMOTION | PROMOTING | FINALISING
        ) {
            return true;
        }
        if self.phase() == FAILED {
            // Flagger re-syncs a failed canary's status on every run.
            self.sync_status(
                FAILED,
                self.status_int("canaryWeight"),
                self.status_int("failedChecks"),
                self.status_int("iterations"),
            );
        }
        self.has_target_changed()
    }

    /// Flagger's `hasSpecChanged`; going back to the promoted spec (a manual
    /// rollback) is no new revision.
    fn has_target_changed(&self) -> bool {
        let Ok(target) = self.target() else {
            return false;
        };
        let applied = self.cd["status"]["lastAppliedSpec"].as_str().unwrap_or("");
        if applied.is_empty() {
            return true;
        }
        let hash = template_hash(&target["spec"]["template"]);
        if self.cd["status"]["lastPromotedSpec"].as_str() == Some(hash.as_str()) {
            return false;
        }
        applied != hash
    }

    /// Flagger's `checkCanaryStatus`: true to go on with the analysis; on a
    /// new revision, scale the target up and enter Progressing instead.
    fn check_canary_status(&mut self) -> bool {
        if matches!(
            self.phase(),
            PROGRESSING | WAITING_PROMOTION | PROMOTING | FINALISING
        ) {
            return true;
        }
        self.sync_status(PROGRESSING, 0, 0, 0);
        self.refetch();
        for hook in self.analysis().hooks("confirm-rollout") {
            self.info(&format!("Confirm-rollout check {hook} passed"));
        }
        self.info(&format!(
            "New revision detected! Scaling up {}",
            self.target_ref()
        ));
        self.scale_from_zero();
        self.sync_status(PROGRESSING, 0, 0, 0);
        false
    }

    /// The stepped canary strategy (Flagger's `runCanary`).
    fn run_canary(&self, mut primary_weight: i64, mut canary_weight: i64, max_weight: i64) {
        if canary_weight < max_weight {
            let step = self.analysis().next_step_weight(canary_weight);
            primary_weight = (primary_weight - step).max(0);
            canary_weight = (canary_weight + step).min(TOTAL_WEIGHT);
            if let Err(e) = self.set_routes(primary_weight, canary_weight) {
                self.warn(&e);
                return;
            }
            self.set_status_counter("canaryWeight", canary_weight);
            self.info(&format!(
                "Advance {} canary weight {canary_weight}",
                self.canary_ref()
            ));
            return;
        }
        if self.promotion_confirmed() {
            self.start_promotion();
        }
    }

    /// Blue/Green: `iterations` runs at weight 0, then all traffic to the
    /// canary for one more run, then promotion (Flagger's `runBlueGreen`).
    fn run_blue_green(&self) {
        let wanted = self.analysis().iterations();
        let done = self.status_int("iterations");
        if wanted > done {
            self.set_status_counter("iterations", done + 1);
            self.info(&format!(
                "Advance {} canary iteration {}/{wanted}",
                self.canary_ref(),
                done + 1
            ));
            return;
        }
        if !self.promotion_confirmed() {
            return;
        }
        if wanted == done {
            self.info("Routing all traffic to canary");
            if let Err(e) = self.set_routes(0, TOTAL_WEIGHT) {
                self.warn(&e);
                return;
            }
            self.set_status_counter("iterations", done + 1);
            return;
        }
        self.start_promotion();
    }

    /// A/B testing: matching requests go to the canary for `iterations`
    /// runs, then promotion (Flagger's `runAB`).
    fn run_ab(&self) {
        let wanted = self.analysis().iterations();
        let done = self.status_int("iterations");
        if wanted > done {
            if let Err(e) = self.set_routes(0, TOTAL_WEIGHT) {
                self.warn(&e);
                return;
            }
            self.set_status_counter("iterations", done + 1);
            self.info(&format!(
                "Advance {} canary iteration {}/{wanted}",
                self.canary_ref(),
                done + 1
            ));
            return;
        }
        if self.promotion_confirmed() && wanted == done {
            self.start_promotion();
        }
    }

    /// Promoting: traffic back to the primary, at once or by
    /// `stepWeightPromotion` (Flagger's `runPromotionTrafficShift`).
    fn promotion_traffic_shift(&self, primary_weight: i64, canary_weight: i64) {
        let step = self.analysis().step_weight_promotion();
        if step == 0 {
            self.info("Routing all traffic to primary");
            if let Err(e) = self.set_routes(TOTAL_WEIGHT, 0) {
                self.warn(&e);
                return;
            }
            self.set_status_phase(FINALISING);
            return;
        }
        if canary_weight > 0 {
            let primary_weight = (primary_weight + step).min(TOTAL_WEIGHT);
            let canary_weight = (canary_weight - step).max(0);
            if let Err(e) = self.set_routes(primary_weight, canary_weight) {
                self.warn(&e);
                return;
            }
            self.info(&format!(
                "Advance {} primary weight {primary_weight}",
                self.canary_ref()
            ));
            if primary_weight == TOTAL_WEIGHT {
                self.set_status_phase(FINALISING);
            } else {
                self.set_status_counter("canaryWeight", canary_weight);
            }
        }
    }

    /// Promote without analysis (Flagger's `shouldSkipAnalysis`).
    fn promote_skipping_analysis(&self) {
        if let Err(e) = self.set_routes(TOTAL_WEIGHT, 0) {
            self.warn(&e);
            return;
        }
        self.info(&format!(
            "Copying {} template spec to {}.{}",
            self.target_ref(),
            self.primary_name(),
            self.namespace
        ));
        if let Err(e) = self.promote() {
            self.warn(&e);
            return;
        }
        self.scale_target(0);
        self.set_status_phase(SUCCEEDED);
        self.info(&format!(
            "Promotion completed! Canary analysis was skipped for {}",
            self.target_ref()
        ));
    }

    /// Report a workload that is not ready; roll back when it never will be.
    fn not_ready(&self, e: NotReady) {
        self.warn(&e.message);
        if !e.retriable {
            self.rollback();
        }
    }

    /// One tick of the canary (Flagger's `advanceCanary`).
    fn advance(&mut self) {
        if self.spec_flag("suspend") {
            self.info("skipping canary run as object is suspended");
            return;
        }
        let target = match self.target() {
            Ok(t) => t,
            Err(e) => {
                self.warn(&e);
                return;
            }
        };
        let (label, value) = match self.selector_label(&target) {
            Ok(l) => l,
            Err(e) => {
                self.warn(&e);
                return;
            }
        };
        let primary_value = format!("{value}-primary");
        self.ensure_service(&format!("{}-canary", self.service), label, &value);
        self.ensure_service(&format!("{}-primary", self.service), label, &primary_value);
        let initializing = matches!(self.phase(), "" | INITIALIZING);
        let skip_analysis = self.spec_flag("skipAnalysis");
        if initializing && !skip_analysis {
            self.info("all the metrics providers are available!");
        }
        if let Err(e) = self.ensure_primary(&target, label, &primary_value) {
            self.warn(&e);
            return;
        }
        if initializing
            && !skip_analysis
            && let Err(e) = self.primary_ready()
        {
            self.not_ready(e);
            return;
        }
        self.ensure_service(&self.service, label, &primary_value);
        if initializing {
            self.scale_target(0);
        }
        self.ensure_virtual_service();
        if initializing {
            self.sync_status(INITIALIZED, 0, 0, 0);
            let status = &mut Arc::make_mut(&mut self.cd)["status"];
            status["phase"] = json!(INITIALIZED);
            status["lastAppliedSpec"] = json!(template_hash(&target["spec"]["template"]));
            self.info(&format!("Initialization done! {}", self.canary_ref()));
        }
        if !self.should_advance() {
            return;
        }
        let max_weight = self.analysis().max_weight();
        if !skip_analysis && let Err(e) = self.primary_ready() {
            self.not_ready(e);
            return;
        }
        let (primary_weight, canary_weight) = match self.get_routes() {
            Ok(w) => w,
            Err(e) => {
                self.warn(&e);
                return;
            }
        };
        if !self.check_canary_status() {
            return;
        }
        if matches!(self.phase(), PROGRESSING | WAITING_PROMOTION) && self.has_target_changed() {
            if let Err(e) = self.set_routes(TOTAL_WEIGHT, 0) {
                self.warn(&e);
                return;
            }
            self.sync_status(PROGRESSING, 0, 0, 0);
            self.refetch();
            self.info(&format!(
                "New revision detected! Restarting analysis for {}",
                self.target_ref()
            ));
            return;
        }
        if let Err(e) = self.canary_ready() {
            self.not_ready(e);
            return;
        }
        if skip_analysis {
            self.promote_skipping_analysis();
            return;
        }
        if matches!(self.phase(), PROGRESSING | WAITING | WAITING_PROMOTION) {
            for hook in self.analysis().hooks("rollback") {
                self.info(&format!("Rollback hook {hook} not signaling a rollback"));
            }
        }
        match self.phase() {
            PROMOTING => {
                self.promotion_traffic_shift(primary_weight, canary_weight);
                return;
            }
            FINALISING => {
                self.scale_target(0);
                self.set_status_phase(SUCCEEDED);
                self.post_rollout_hooks();
                self.info(&format!(
                    "Promotion completed! Scaling down {}",
                    self.target_ref()
                ));
                return;
            }
            PROGRESSING | WAITING_PROMOTION
                if self.status_int("failedChecks") >= self.analysis().threshold() =>
            {
                self.rollback();
                return;
            }
            _ => {}
        }
        if canary_weight == 0 && self.status_int("iterations") == 0 {
            self.info(&format!(
                "Starting canary analysis for {}",
                self.target_ref()
            ));
            for hook in self.analysis().hooks("pre-rollout") {
                self.info(&format!("Pre-rollout check {hook} passed"));
            }
        } else if !self.run_analysis() {
            self.set_status_counter("failedChecks", self.status_int("failedChecks") + 1);
            return;
        }
        let analysis = self.analysis();
        if analysis.has_match() && analysis.iterations() > 0 {
            self.run_ab();
        } else if analysis.iterations() > 0 {
            self.run_blue_green();
        } else if analysis.next_step_weight(canary_weight) > 0 {
            if !matches!(self.phase(), PROMOTING | WAITING_PROMOTION | FINALISING) {
                for hook in analysis.hooks("confirm-traffic-increase") {
                    self.info(&format!("Confirm-traffic-increase check {hook} passed"));
                }
            }
            self.run_canary(primary_weight, canary_weight, max_weight);
        }
    }
}

/// The (primary, canary) weights of the first http route that sends to the canary.
fn routes_of(vs: &Value, service: &str) -> Option<(i64, i64)> {
    let primary = format!("{service}-primary");
    let canary = format!("{service}-canary");
    let routes = vs["spec"]["http"].as_array()?;
    let route = routes.iter().find_map(|http| {
        http["route"].as_array().filter(|r| {
            r.iter()
                .any(|d| d["destination"]["host"] == canary.as_str())
        })
    })?;
    let weight = |host: &str| {
        route
            .iter()
            .find(|d| d["destination"]["host"] == host)
            .map_or(0, |d| d["weight"].as_i64().unwrap_or(0))
    };
    Some((weight(&primary), weight(&canary)))
}

/// Whether a Canary's target is the Deployment `name`.
fn targets_deployment(cd: &Value, name: &str) -> bool {
    target_kind(cd) == "Deployment" && cd["spec"]["targetRef"]["name"] == name
}

impl Controller for FlaggerController {
    fn name(&self) -> &'static str {
        COMPONENT
    }

    fn primary(&self) -> &'static ResourceDef {
        canaries()
    }

    /// Besides what the Canary owns: its target Deployment, which it does
    /// not own. Flagger acts on a changed target at the canary's next tick.
    fn affected(&self, change: &Change, store: &Store) -> Vec<(String, String)> {
        let mut out = owners_of_kind(self.primary(), change, store);
        if std::ptr::eq(change.res, deployments()) {
            let name = name_of(&change.object);
            let list = store
                .list(canaries(), Some(&change.namespace), &ListOptions::default())
                .map(|l| l.items)
                .unwrap_or_default();
            out.extend(
                list.iter()
                    .filter(|cd| targets_deployment(cd, name))
                    .map(|cd| (change.namespace.clone(), name_of(cd).to_string())),
            );
        }
        out
    }

    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>> {
        let mut cd = ctx.store.get(canaries(), namespace, name).ok()?;
        if target_kind(&cd) != "Deployment" {
            tracing::warn!(
                "canary {name}.{namespace}: only Deployment targets are simulated, not {}",
                target_kind(&cd)
            );
            return None;
        }
        if cd["status"]["conditions"].is_null() {
            Run::new(ctx, cd).set_phase_initializing();
            cd = ctx.store.get(canaries(), namespace, name).ok()?;
        }
        let uid = cd["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let (due, next) = tick(&uid, Analysis::of(&cd).interval(), ctx.now);
        if due {
            Run::new(ctx, cd).advance();
        }
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{VersionProfile, VersionRule};
    use crate::clock::Clock;
    use crate::controllers::Runtime;
    use crate::controllers::deployment::DeploymentController;
    use crate::controllers::replicaset::ReplicaSetController;
    use crate::store::EventType as ChangeType;
    use std::sync::Arc;

    const NS: &str = "test";
    /// 0.5% errors, p99 200 ms.
    const HEALTHY: WindowStats = WindowStats {
        requests: 1000.0,
        errors: 5.0,
        p50_ms: 40.0,
        p95_ms: 120.0,
        p99_ms: 200.0,
    };
    /// 5% errors.
    const BAD: WindowStats = WindowStats {
        errors: 50.0,
        ..HEALTHY
    };

    /// Traffic per pod-template-hash, and what every other hash sees.
    #[derive(Default)]
    struct FakeMetrics {
        by_hash: Mutex<HashMap<String, WindowStats>>,
        otherwise: Mutex<Option<WindowStats>>,
    }

    impl MetricsSource for FakeMetrics {
        fn window(&self, _: &str, hash: &str, _: Duration) -> Option<WindowStats> {
            let by_hash = self.by_hash.lock().unwrap();
            by_hash
                .get(hash)
                .copied()
                .or(*self.otherwise.lock().unwrap())
        }
    }

    fn analysis() -> Value {
        json!({
            "interval": "1m",
            "threshold": 2,
            "maxWeight": 30,
            "stepWeight": 10,
            "metrics": [
                {"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"},
                {"name": "request-duration", "thresholdRange": {"max": 500}, "interval": "30s"},
            ],
        })
    }

    fn canary(spec: Value) -> Value {
        let mut cd = json!({
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": NS},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                "service": {"port": 9898},
            },
        });
        for (k, v) in spec.as_object().unwrap() {
            cd["spec"][k] = v.clone();
        }
        cd
    }

    fn target() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "podinfo", "namespace": NS},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "podinfo"}},
                "template": {
                    "metadata": {"labels": {"app": "podinfo"}},
                    "spec": {"containers": [{"name": "podinfod", "image": "ghcr.io/stefanprodan/podinfo:6.0.0"}]},
                },
            },
        })
    }

    struct Sim {
        rt: Arc<Runtime>,
        store: Arc<Store>,
        behaviour: Arc<Behaviour>,
        metrics: Arc<FakeMetrics>,
    }

    impl Sim {
        /// A target Deployment and its Canary (`spec` merged into the
        /// canary's spec), settled at the start of a frozen clock.
        fn new(spec: Value, traffic: Option<WindowStats>) -> Sim {
            Self::with_behaviour(spec, traffic, Behaviour::default())
        }

        fn with_behaviour(spec: Value, traffic: Option<WindowStats>, behaviour: Behaviour) -> Sim {
            let store = Arc::new(Store::new(Arc::new(Clock::new(0.0))));
            crate::seed::insert(&store, target()).unwrap();
            crate::seed::insert(&store, canary(spec)).unwrap();
            let metrics = Arc::new(FakeMetrics::default());
            *metrics.otherwise.lock().unwrap() = traffic;
            let behaviour = Arc::new(behaviour);
            let rt = Runtime::new(
                store.clone(),
                behaviour.clone(),
                metrics.clone(),
                vec![
                    Arc::new(FlaggerController),
                    Arc::new(DeploymentController),
                    Arc::new(ReplicaSetController),
                ],
            );
            rt.settle();
            Sim {
                rt,
                store,
                behaviour,
                metrics,
            }
        }

        /// One analysis interval.
        fn tick(&self) {
            self.rt.advance(Duration::seconds(60));
        }

        fn canary(&self) -> Arc<Value> {
            self.store.get(canaries(), NS, "podinfo").unwrap()
        }

        fn status(&self) -> Value {
            self.canary()["status"].clone()
        }

        fn phase(&self) -> String {
            self.status()["phase"].as_str().unwrap_or("").to_string()
        }

        fn deployment(&self, name: &str) -> Arc<Value> {
            self.store.get(deployments(), NS, name).unwrap()
        }

        /// (primary, canary) weights in the VirtualService.
        fn weights(&self) -> (i64, i64) {
            let vs = self.store.get(virtual_services(), NS, "podinfo").unwrap();
            routes_of(&vs, "podinfo").unwrap()
        }

        /// (type, message, count) of the Canary's events.
        fn events(&self) -> Vec<(String, String, i64)> {
            let res = resources::lookup("", "v1", "events").unwrap();
            let list = self.store.list(res, Some(NS), &Default::default()).unwrap();
            list.items
                .iter()
                .filter(|e| e["involvedObject"]["kind"] == "Canary")
                .map(|e| {
                    assert_eq!(e["reason"], "Synced");
                    assert_eq!(e["source"]["component"], "flagger");
                    (
                        e["type"].as_str().unwrap().to_string(),
                        e["message"].as_str().unwrap().to_string(),
                        e["count"].as_i64().unwrap(),
                    )
                })
                .collect()
        }

        fn event_count(&self, kind: &str, message: &str) -> i64 {
            self.events()
                .iter()
                .find(|(t, m, _)| t == kind && m == message)
                .map_or(0, |(_, _, n)| *n)
        }

        fn assert_event(&self, kind: &str, message: &str) {
            assert!(
                self.event_count(kind, message) > 0,
                "no {kind} event {message:?} in {:#?}",
                self.events()
            );
        }

        /// A new revision, as `kubectl apply` of the manifest with a new image.
        fn release(&self, tag: &str) {
            self.change_target(tag, Some(2));
        }

        /// A new image alone, as `kubectl set image`: the target stays at
        /// the zero replicas Flagger left it with.
        fn set_image(&self, tag: &str) {
            self.change_target(tag, None);
        }

        fn change_target(&self, tag: &str, replicas: Option<i64>) {
            self.store
                .modify(deployments(), NS, "podinfo", |d| {
                    if let Some(n) = replicas {
                        d["spec"]["replicas"] = json!(n);
                    }
                    d["spec"]["template"]["spec"]["containers"][0]["image"] =
                        json!(format!("ghcr.io/stefanprodan/podinfo:{tag}"));
                })
                .unwrap();
            self.rt.settle();
        }

        /// The pod-template-hash of the target's newest ReplicaSet.
        fn canary_hash(&self) -> String {
            let target = self.deployment("podinfo");
            let sets = workload::owned_replica_sets(&self.store, &target, DEPLOYMENT);
            workload::hash_of(sets.last().unwrap(), DEPLOYMENT).to_string()
        }

        fn image(&self, name: &str) -> String {
            workload::image_of(&self.deployment(name)["spec"]["template"]).to_string()
        }

        fn replicas(&self, name: &str) -> i64 {
            self.deployment(name)["spec"]["replicas"].as_i64().unwrap()
        }

        fn condition(&self) -> Value {
            let conditions = self.status()["conditions"].as_array().unwrap().clone();
            assert_eq!(conditions.len(), 1, "exactly one condition");
            conditions[0].clone()
        }

        fn assert_condition(&self, status: &str, reason: &str, message: &str) {
            let c = self.condition();
            assert_eq!(c["type"], "Promoted");
            assert_eq!(c["status"], status);
            assert_eq!(c["reason"], reason);
            assert_eq!(c["message"], message);
            assert!(c["lastUpdateTime"].is_string() && c["lastTransitionTime"].is_string());
        }
    }

    fn service(sim: &Sim, name: &str) -> Arc<Value> {
        sim.store.get(services(), NS, name).unwrap()
    }

    #[test]
    fn initialization_creates_the_primary_and_scales_the_target_to_zero() {
        let sim = Sim::new(json!({"analysis": analysis()}), Some(HEALTHY));
        assert_eq!(sim.phase(), INITIALIZING);
        sim.assert_condition(
            "Unknown",
            INITIALIZING,
            "New Deployment detected, starting initialization.",
        );
        sim.assert_event(
            "Warning",
            "podinfo-primary.test not ready: waiting for rollout to finish: observed deployment generation less than desired generation",
        );
        assert_eq!(
            sim.replicas("podinfo"),
            2,
            "the target serves until the primary is ready"
        );

        sim.tick();
        let status = sim.status();
        assert_eq!(status["phase"], INITIALIZED);
        let hash = template_hash(&sim.deployment("podinfo")["spec"]["template"]);
        assert_eq!(status["lastAppliedSpec"], hash.as_str());
        assert_eq!(status["lastPromotedSpec"], hash.as_str());
        assert_eq!(status["canaryWeight"], 0);
        assert_eq!(status["failedChecks"], 0);
        assert_eq!(status["iterations"], 0);
        assert!(status["lastTransitionTime"].is_string());
        sim.assert_condition("True", INITIALIZED, "Deployment initialization completed.");
        sim.assert_event("Normal", "all the metrics providers are available!");
        sim.assert_event("Normal", "Initialization done! podinfo.test");

        let primary = sim.deployment("podinfo-primary");
        assert_eq!(primary["spec"]["replicas"], 2);
        assert_eq!(
            primary["spec"]["selector"]["matchLabels"],
            json!({"app": "podinfo-primary"})
        );
        assert_eq!(
            primary["spec"]["template"]["metadata"]["labels"]["app"],
            "podinfo-primary"
        );
        assert!(primary["spec"]["template"]["metadata"]["annotations"][FLAGGER_ID].is_string());
        assert_eq!(primary["metadata"]["ownerReferences"][0]["kind"], "Canary");
        assert_eq!(primary["status"]["availableReplicas"], 2);
        assert_eq!(sim.image("podinfo-primary"), sim.image("podinfo"));

        assert_eq!(sim.replicas("podinfo"), 0);
        let pods = sim
            .store
            .list(workload::pods(), Some(NS), &Default::default())
            .unwrap()
            .items;
        assert!(
            pods.iter()
                .all(|p| p["metadata"]["labels"]["app"] == "podinfo-primary")
        );
        assert_eq!(pods.len(), 2);

        assert_eq!(
            service(&sim, "podinfo")["spec"]["selector"],
            json!({"app": "podinfo-primary"})
        );
        assert_eq!(
            service(&sim, "podinfo-primary")["spec"]["selector"],
            json!({"app": "podinfo-primary"})
        );
        assert_eq!(
            service(&sim, "podinfo-canary")["spec"]["selector"],
            json!({"app": "podinfo"})
        );
        assert_eq!(
            service(&sim, "podinfo-canary")["spec"]["ports"][0]["port"],
            9898
        );
        assert_eq!(sim.weights(), (100, 0));

        // Nothing changes while the target stays as it is.
        sim.tick();
        assert_eq!(sim.phase(), INITIALIZED);
        assert_eq!(
            sim.event_count("Normal", "Initialization done! podinfo.test"),
            1
        );
    }

    #[test]
    fn a_healthy_canary_advances_waits_for_the_gate_and_is_promoted() {
        let mut spec = analysis();
        spec["webhooks"] = json!([{"name": "promotion gate", "type": "confirm-promotion",
                                   "url": "http://flagger-loadtester.test/gate/check"}]);
        let sim = Sim::new(json!({"analysis": spec}), Some(HEALTHY));
        sim.tick();
        let promoted = sim.status()["lastPromotedSpec"].clone();
        sim.release("6.0.1");
        let new_hash = template_hash(&sim.deployment("podinfo")["spec"]["template"]);

        sim.tick();
        assert_eq!(sim.phase(), PROGRESSING);
        assert_eq!(sim.status()["lastAppliedSpec"], new_hash.as_str());
        assert_eq!(sim.status()["lastPromotedSpec"], promoted);
        assert_eq!(sim.replicas("podinfo"), 2);
        sim.assert_condition(
            "Unknown",
            PROGRESSING,
            "New revision detected, progressing canary analysis.",
        );
        sim.assert_event("Normal", "New revision detected! Scaling up podinfo.test");

        sim.tick();
        sim.assert_event("Normal", "Starting canary analysis for podinfo.test");
        sim.assert_event("Normal", "Advance podinfo.test canary weight 10");
        assert_eq!(sim.status()["canaryWeight"], 10);
        assert_eq!(sim.weights(), (90, 10));

        // Only a tick moves the weight.
        sim.rt.advance(Duration::seconds(30));
        assert_eq!(sim.weights(), (90, 10));
        sim.rt.advance(Duration::seconds(30));
        assert_eq!(sim.weights(), (80, 20));
        sim.tick();
        assert_eq!(sim.weights(), (70, 30));
        assert_eq!(sim.status()["canaryWeight"], 30);
        sim.assert_event("Normal", "Advance podinfo.test canary weight 30");

        // At maxWeight with the gate closed: WaitingPromotion, traffic stays.
        sim.tick();
        sim.tick();
        assert_eq!(sim.phase(), WAITING_PROMOTION);
        assert_eq!(sim.weights(), (70, 30));
        assert_eq!(
            sim.status()["canaryWeight"],
            0,
            "Flagger clears the weight in status"
        );
        assert_eq!(sim.status()["iterations"], -1);
        assert_eq!(sim.status()["failedChecks"], 0);
        sim.assert_condition("Unknown", WAITING_PROMOTION, "Waiting for approval.");
        assert_eq!(
            sim.event_count(
                "Warning",
                "Halt podinfo.test advancement waiting for promotion approval promotion gate"
            ),
            1
        );

        sim.behaviour.open_gate(NS, "podinfo");
        sim.tick();
        assert_eq!(sim.phase(), PROMOTING);
        sim.assert_event("Normal", "Confirm-promotion check promotion gate passed");
        sim.assert_event(
            "Normal",
            "Copying podinfo.test template spec to podinfo-primary.test",
        );
        assert_eq!(
            sim.image("podinfo-primary"),
            "ghcr.io/stefanprodan/podinfo:6.0.1"
        );
        assert_eq!(sim.weights(), (70, 30));

        sim.tick();
        assert_eq!(sim.phase(), FINALISING);
        sim.assert_event("Normal", "Routing all traffic to primary");
        assert_eq!(sim.weights(), (100, 0));

        sim.tick();
        let status = sim.status();
        assert_eq!(status["phase"], SUCCEEDED);
        assert_eq!(status["lastPromotedSpec"], new_hash.as_str());
        assert_eq!(status["lastAppliedSpec"], new_hash.as_str());
        assert_eq!(status["canaryWeight"], 0);
        assert_eq!(status["iterations"], 0);
        sim.assert_condition(
            "True",
            SUCCEEDED,
            "Canary analysis completed successfully, promotion finished.",
        );
        sim.assert_event("Normal", "Promotion completed! Scaling down podinfo.test");
        assert_eq!(sim.replicas("podinfo"), 0);
        // No check ever halted the healthy canary.
        assert!(
            sim.events()
                .iter()
                .all(|(_, m, _)| !m.starts_with("Halt podinfo.test advancement ")
                    || m.contains("waiting for promotion approval"))
        );
        assert_eq!(sim.status()["failedChecks"], 0);
    }

    #[test]
    fn a_bad_canary_accrues_failed_checks_and_is_rolled_back() {
        let sim = Sim::new(json!({"analysis": analysis()}), Some(HEALTHY));
        sim.tick();
        sim.release("6.0.1");
        sim.tick();
        // Only the canary's pods are measured; the primary stays healthy.
        sim.metrics
            .by_hash
            .lock()
            .unwrap()
            .insert(sim.canary_hash(), BAD);

        sim.tick();
        assert_eq!(sim.weights(), (90, 10));
        assert_eq!(sim.status()["failedChecks"], 0);

        sim.tick();
        assert_eq!(sim.status()["failedChecks"], 1);
        assert_eq!(sim.weights(), (90, 10));
        assert_eq!(
            sim.event_count(
                "Warning",
                "Halt podinfo.test advancement success rate 95.00% < 99%"
            ),
            1
        );

        sim.tick();
        assert_eq!(sim.status()["failedChecks"], 2);
        assert_eq!(sim.phase(), PROGRESSING);

        sim.tick();
        let status = sim.status();
        assert_eq!(status["phase"], FAILED);
        assert_eq!(status["canaryWeight"], 0);
        assert_eq!(
            status["failedChecks"], 0,
            "Flagger resets the count on rollback"
        );
        assert_ne!(status["lastAppliedSpec"], status["lastPromotedSpec"]);
        sim.assert_condition(
            "False",
            FAILED,
            "Canary analysis failed, Deployment scaled to zero.",
        );
        sim.assert_event(
            "Warning",
            "Rolling back podinfo.test failed checks threshold reached 2",
        );
        sim.assert_event("Warning", "Canary failed! Scaling down podinfo.test");
        assert_eq!(sim.weights(), (100, 0));
        assert_eq!(sim.replicas("podinfo"), 0);
        assert_eq!(
            sim.image("podinfo-primary"),
            "ghcr.io/stefanprodan/podinfo:6.0.0"
        );

        // A failed canary stays failed until the next revision.
        sim.tick();
        assert_eq!(sim.phase(), FAILED);
        assert_eq!(sim.replicas("podinfo"), 0);
    }

    #[test]
    fn halts_name_the_failing_check() {
        let slow = WindowStats {
            p99_ms: 1200.0,
            ..HEALTHY
        };
        let sim = Sim::new(json!({"analysis": analysis()}), Some(slow));
        sim.tick();
        sim.release("6.0.1");
        sim.tick();
        sim.tick();
        sim.tick();
        sim.assert_event(
            "Warning",
            "Halt podinfo.test advancement request duration 1.2s > 500ms",
        );

        let quiet = Sim::new(json!({"analysis": analysis()}), None);
        quiet.tick();
        quiet.release("6.0.1");
        quiet.tick();
        quiet.tick();
        quiet.tick();
        quiet.assert_event(
            "Warning",
            "Halt advancement no values found for istio metric request-success-rate probably podinfo.test is not receiving traffic: running query failed: no values found",
        );
        assert_eq!(quiet.status()["failedChecks"], 1);
    }

    #[test]
    fn step_weights_follow_the_ladder_then_promote() {
        let spec = json!({
            "interval": "1m",
            "stepWeights": [5, 25, 50],
            "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99}}],
        });
        let sim = Sim::new(json!({"analysis": spec}), Some(HEALTHY));
        sim.tick();
        sim.release("6.0.1");
        sim.tick();
        let mut seen = Vec::new();
        for _ in 0..3 {
            sim.tick();
            seen.push(sim.weights().1);
        }
        assert_eq!(seen, [5, 25, 50]);
        assert_eq!(sim.status()["canaryWeight"], 50);
        sim.tick();
        assert_eq!(sim.phase(), PROMOTING);
        assert_eq!(sim.status()["canaryWeight"], 50);
        sim.tick();
        assert_eq!(sim.phase(), FINALISING);
        sim.tick();
        assert_eq!(sim.phase(), SUCCEEDED);
        assert_eq!(
            sim.image("podinfo-primary"),
            "ghcr.io/stefanprodan/podinfo:6.0.1"
        );
    }

    #[test]
    fn suspend_freezes_the_canary_where_it_is() {
        let sim = Sim::new(json!({"analysis": analysis()}), Some(HEALTHY));
        sim.tick();
        sim.release("6.0.1");
        sim.tick();
        sim.tick();
        sim.tick();
        assert_eq!(sim.weights(), (80, 20));
        let set_suspend = |on: bool| {
            sim.store
                .modify(canaries(), NS, "podinfo", |c| {
                    c["spec"]["suspend"] = json!(on)
                })
                .unwrap();
        };
        set_suspend(true);
        for _ in 0..3 {
            sim.tick();
        }
        assert_eq!(sim.weights(), (80, 20));
        assert_eq!(sim.status()["canaryWeight"], 20);
        assert_eq!(sim.phase(), PROGRESSING);
        assert_eq!(
            sim.event_count("Normal", "skipping canary run as object is suspended"),
            3
        );
        set_suspend(false);
        sim.tick();
        assert_eq!(sim.weights(), (70, 30));
    }

    #[test]
    fn skip_analysis_promotes_at_once() {
        let sim = Sim::new(
            json!({"analysis": analysis(), "skipAnalysis": true}),
            Some(HEALTHY),
        );
        assert_eq!(sim.phase(), INITIALIZED, "no wait for the primary");
        sim.tick();
        sim.release("6.0.1");
        sim.tick();
        assert_eq!(sim.phase(), PROGRESSING);
        sim.tick();
        let status = sim.status();
        assert_eq!(status["phase"], SUCCEEDED);
        assert_eq!(status["lastPromotedSpec"], status["lastAppliedSpec"]);
        sim.assert_event(
            "Normal",
            "Copying podinfo.test template spec to podinfo-primary.test",
        );
        sim.assert_event(
            "Normal",
            "Promotion completed! Canary analysis was skipped for podinfo.test",
        );
        assert_eq!(
            sim.image("podinfo-primary"),
            "ghcr.io/stefanprodan/podinfo:6.0.1"
        );
        assert_eq!(sim.replicas("podinfo"), 0);
        assert_eq!(sim.weights(), (100, 0));
    }

    #[test]
    fn blue_green_counts_iterations_then_switches_and_promotes() {
        let spec = json!({
            "interval": "1m",
            "iterations": 2,
            "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99}}],
        });
        let sim = Sim::new(json!({"analysis": spec}), Some(HEALTHY));
        sim.tick();
        sim.release("6.0.1");
        sim.tick();
        sim.tick();
        sim.assert_event("Normal", "Advance podinfo.test canary iteration 1/2");
        sim.tick();
        assert_eq!(sim.status()["iterations"], 2);
        assert_eq!(sim.weights(), (100, 0));
        sim.tick();
        sim.assert_event("Normal", "Routing all traffic to canary");
        assert_eq!(sim.weights(), (0, 100));
        sim.tick();
        assert_eq!(sim.phase(), PROMOTING);
        sim.tick();
        assert_eq!(sim.weights(), (100, 0));
        sim.tick();
        assert_eq!(sim.phase(), SUCCEEDED);
    }

    #[test]
    fn a_canary_that_never_becomes_ready_fails_at_the_progress_deadline() {
        let behaviour = Behaviour::default();
        behaviour.add_rule(VersionRule {
            image: "podinfo:bad".into(),
            from: DateTime::<Utc>::MIN_UTC,
            profile: VersionProfile {
                crash: true,
                ..Default::default()
            },
        });
        let sim = Sim::with_behaviour(
            json!({"analysis": analysis(), "progressDeadlineSeconds": 90}),
            Some(HEALTHY),
            behaviour,
        );
        sim.tick();
        // Scaled up by Flagger (to one replica, the target having none),
        // so the deadline runs from the scale-up.
        sim.set_image("bad");
        sim.tick();
        assert_eq!(sim.phase(), PROGRESSING);
        assert_eq!(sim.replicas("podinfo"), 1);
        sim.tick();
        let waiting = "canary deployment podinfo.test not ready: waiting for rollout to finish: 0 of 1 (readyThreshold 100%) updated replicas are available";
        assert_eq!(sim.event_count("Warning", waiting), 1);
        assert_eq!(sim.phase(), PROGRESSING);
        sim.tick();
        assert_eq!(sim.event_count("Warning", waiting), 2);
        assert_eq!(sim.phase(), FAILED);
        sim.assert_event("Warning", "Canary failed! Scaling down podinfo.test");
        assert_eq!(sim.replicas("podinfo"), 0);
        assert_eq!(sim.weights(), (100, 0));
    }

    #[test]
    fn a_change_to_the_target_reaches_its_canary() {
        let sim = Sim::new(json!({"analysis": analysis()}), Some(HEALTHY));
        let change = Change {
            rv: 1,
            event: ChangeType::Modified,
            res: deployments(),
            namespace: NS.into(),
            object: sim.deployment("podinfo"),
            old: None,
        };
        let affected = FlaggerController.affected(&change, &sim.store);
        assert_eq!(affected, [(NS.to_string(), "podinfo".to_string())]);
        let owned = Change {
            object: sim.deployment("podinfo-primary"),
            ..change
        };
        assert_eq!(
            FlaggerController.affected(&owned, &sim.store),
            [(NS.to_string(), "podinfo".to_string())]
        );
    }

    #[test]
    fn analysis_defaults_and_steps() {
        let a = json!({"spec": {"analysis": {"interval": "5s", "stepWeights": [1, 2, 10, 80]}}});
        let a = Analysis::of(&a);
        assert_eq!(a.interval(), Duration::seconds(10));
        assert_eq!(a.threshold(), 1);
        assert_eq!(a.max_weight(), 80);
        assert_eq!(a.next_step_weight(0), 1);
        assert_eq!(a.next_step_weight(2), 8);
        assert_eq!(a.next_step_weight(10), 70);
        let b = json!({"spec": {"analysis": {"interval": "bogus", "stepWeight": 15}}});
        let b = Analysis::of(&b);
        assert_eq!(b.interval(), Duration::seconds(60));
        assert_eq!(b.max_weight(), 100);
        assert_eq!(b.next_step_weight(90), 15);
    }

    #[test]
    fn durations_read_and_print_as_go_does() {
        assert_eq!(time::parse("1m30s", GO_UNITS), Some(Duration::seconds(90)));
        assert_eq!(time::parse("1.5h", GO_UNITS), Some(Duration::minutes(90)));
        assert_eq!(time::parse("1d", GO_UNITS), None);
        assert_eq!(time::parse("1d", PROMETHEUS_UNITS), Some(Duration::days(1)));
        assert_eq!(time::format_go(0), "0s");
        assert_eq!(time::format_go(500), "500ms");
        assert_eq!(time::format_go(1200), "1.2s");
        assert_eq!(time::format_go(90_050), "1m30.05s");
        assert_eq!(time::format_go(3_600_000), "1h0m0s");
    }

    #[test]
    fn custom_metrics_are_judged_by_name() {
        assert_eq!(custom_value("error-rate", &BAD), Some(0.05));
        assert_eq!(custom_value("p99-latency", &HEALTHY), Some(200.0));
        assert_eq!(custom_value("success-percentage", &BAD), Some(95.0));
        assert_eq!(custom_value("queue-depth", &HEALTHY), None);
        assert_eq!(custom_value("error-rate", &WindowStats::default()), None);
    }
}
