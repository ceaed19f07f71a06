//! The Deployments and Services a Canary owns: the primary copy of the
//! target, the apex, primary and canary Services, readiness and scaling.

use super::{FLAGGER_ID, Run, SELECTOR_LABELS, deployments, services};
use crate::controllers::workload::{name_of, owner_reference};
use crate::store::WriteScope;
use crate::time::parse_timestamp;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Why a Deployment is not ready (Flagger's `isDeploymentReady`), and
/// whether waiting longer can still help.
pub(super) struct NotReady {
    pub(super) retriable: bool,
    pub(super) message: String,
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

impl Run<'_> {
    /// The target's selector label and its value (Flagger's `getSelectorLabel`).
    pub(super) fn selector_label(&self, target: &Value) -> Result<(&'static str, String), String> {
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
    pub(super) fn ensure_service(&self, name: &str, label: &str, value: &str) {
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
                WriteScope::Whole,
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
    pub(super) fn ensure_primary(
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
                WriteScope::Whole,
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

    pub(super) fn primary_ready(&self) -> Result<(), NotReady> {
        let name = format!("{}.{}", self.primary_name(), self.namespace);
        self.workload_ready(self.primary(), "primaryReadyThreshold", name)
    }

    pub(super) fn canary_ready(&self) -> Result<(), NotReady> {
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

    pub(super) fn scale_target(&self, replicas: i64) {
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
    pub(super) fn scale_from_zero(&self) {
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
    pub(super) fn promote(&self) -> Result<(), String> {
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
}
