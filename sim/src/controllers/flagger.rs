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
//! - Metrics come from [`MeasurementSource`] for the target's newest
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

mod canary_status;
mod checks;
mod routing;
mod scheduler;
mod spec;
mod workloads;

use super::events::{self, EventType};
use super::workload::{self, name_of};
use super::{Controller, Ctx, owners_of_kind};
use crate::behaviour::Behaviour;
use crate::resources::{self, ResourceDef};
use crate::store::{Change, ListOptions, Store};
use crate::traffic::MeasurementSource;
use chrono::{DateTime, Utc};
use serde_json::Value;
use spec::{Analysis, tick};
use std::sync::Arc;

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

fn target_kind(cd: &Value) -> &str {
    cd["spec"]["targetRef"]["kind"]
        .as_str()
        .unwrap_or("Deployment")
}

/// One run of Flagger's `advanceCanary` for one canary.
struct Run<'a> {
    store: &'a Store,
    behaviour: &'a Behaviour,
    metrics: &'a dyn MeasurementSource,
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
mod tests;
