//! Argo Rollouts `Rollout` → `Release`.

use super::Index;
use super::fields::{
    array_at, bool_at, i64_at, name, namespace, str_at, string_map, text_at, time_at, u32_at, uid,
};
use super::routing;
use super::workload::{self, ARGO};
use crate::model::phase::{ArgoCondition, ArgoPhaseInputs, ArgoStrategyFacts, argo_phase};
use crate::model::traffic::{
    ActualWeightInputs, Weights, actual_weight, current_canary_step, desired_weight,
};
use crate::model::{
    ArgoStatus, Attention, BlueGreen, Health, Kind, Pause, Release, Replicas, Role, Step, Strategy,
};
use crate::time::parse_go_or_seconds;
use kube::api::DynamicObject;
use serde_json::Value;

pub fn steps(canary: &Value) -> Vec<Step> {
    array_at(canary, "/steps").iter().map(step).collect()
}

fn step(s: &Value) -> Step {
    if let Some(w) = u32_at(s, "/setWeight") {
        return Step::SetWeight(w);
    }
    if let Some(p) = s.get("pause") {
        let seconds = p.get("duration").and_then(|d| match d {
            Value::Number(n) => n.as_u64(),
            Value::String(text) => {
                parse_go_or_seconds(text).and_then(|d| u64::try_from(d.num_seconds()).ok())
            }
            _ => None,
        });
        return Step::Pause { seconds };
    }
    if let Some(a) = s.get("analysis") {
        let templates = array_at(a, "/templates")
            .iter()
            .filter_map(|t| str_at(t, "/templateName").map(str::to_string))
            .collect();
        return Step::Analysis { templates };
    }
    if let Some(scale) = s.get("setCanaryScale") {
        let what = if let Some(w) = u32_at(scale, "/weight") {
            format!("weight {w}")
        } else if let Some(r) = u32_at(scale, "/replicas") {
            format!("replicas {r}")
        } else {
            "matchTrafficWeight".to_string()
        };
        return Step::SetCanaryScale(what);
    }
    if let Some(h) = s.get("setHeaderRoute") {
        return Step::SetHeaderRoute {
            name: str_at(h, "/name").unwrap_or_default().to_string(),
        };
    }
    Step::Other(
        s.as_object()
            .and_then(|m| m.keys().next().cloned())
            .unwrap_or_else(|| "unknown step".into()),
    )
}

/// An empty hash names no ReplicaSet.
fn hash_at<'a>(data: &'a Value, pointer: &str) -> Option<&'a str> {
    str_at(data, pointer).filter(|h| !h.is_empty())
}

/// Phase, word and message as Argo's CLI derives them from the Rollout.
fn phase(ro: &DynamicObject, replicas: &Replicas) -> (Health, String, String) {
    let data = &ro.data;
    let blue_green = data.pointer("/spec/strategy/blueGreen");
    let canary = data.pointer("/spec/strategy/canary");
    let time = |pointer| time_at(data, pointer);
    argo_phase(&ArgoPhaseInputs {
        generation: ro.metadata.generation.unwrap_or(0),
        observed_generation: text_at(data, "/status/observedGeneration"),
        status_phase: str_at(data, "/status/phase"),
        status_message: str_at(data, "/status/message"),
        controller_pause: bool_at(data, "/status/controllerPause"),
        pause_reasons: array_at(data, "/status/pauseConditions")
            .iter()
            .map(|c| str_at(c, "/reason").unwrap_or_default())
            .collect(),
        conditions: array_at(data, "/status/conditions")
            .iter()
            .map(|c| ArgoCondition {
                kind: str_at(c, "/type").unwrap_or_default(),
                reason: str_at(c, "/reason").unwrap_or_default(),
                message: str_at(c, "/message").unwrap_or_default(),
            })
            .collect(),
        spec_paused: bool_at(data, "/spec/paused"),
        restart_pending: time("/spec/restartAt")
            .is_some_and(|at| time("/status/restartedAt") != Some(at)),
        replicas: replicas.clone(),
        current_pod_hash: hash_at(data, "/status/currentPodHash"),
        stable_rs: hash_at(data, "/status/stableRS"),
        strategy: match (blue_green, canary) {
            (Some(b), _) => ArgoStrategyFacts::BlueGreen {
                active_selector: hash_at(data, "/status/blueGreen/activeSelector"),
                post_promotion_analysis_pending: b.get("postPromotionAnalysis").is_some()
                    && !matches!(
                        str_at(
                            data,
                            "/status/blueGreen/postPromotionAnalysisRunStatus/status"
                        ),
                        Some("Successful" | "Failed" | "Error" | "Inconclusive")
                    ),
            },
            (None, Some(c)) => ArgoStrategyFacts::Canary {
                traffic_routed: c.get("trafficRouting").is_some(),
            },
            (None, None) => ArgoStrategyFacts::Neither,
        },
    })
}

pub fn release(ro: &DynamicObject, index: &Index<'_>) -> Release {
    let data = &ro.data;
    let canary = data.pointer("/spec/strategy/canary");
    let blue_green = data.pointer("/spec/strategy/blueGreen");
    let strategy = if blue_green.is_some() {
        Strategy::BlueGreen
    } else {
        Strategy::Canary
    };
    let steps = canary.map(steps).unwrap_or_default();
    let pause_conditions = array_at(data, "/status/pauseConditions");
    let current_hash = hash_at(data, "/status/currentPodHash");
    let stable_hash = hash_at(data, "/status/stableRS");
    let active_hash = hash_at(data, "/status/blueGreen/activeSelector");
    let preview_hash = hash_at(data, "/status/blueGreen/previewSelector");
    let replicas = workload::replicas(data);
    let spec_paused = bool_at(data, "/spec/paused");
    let (health, phase, message) = phase(ro, &replicas);
    let aborted = bool_at(data, "/status/abort");
    let current_step =
        i64_at(data, "/status/currentStepIndex").and_then(|i| usize::try_from(i).ok());

    let bg = blue_green.map(|b| BlueGreen {
        active_hash: active_hash.map(str::to_string),
        preview_hash: preview_hash.map(str::to_string),
        active_service: str_at(b, "/activeService").unwrap_or_default().to_string(),
        preview_service: str_at(b, "/previewService").map(str::to_string),
        auto_promotion: b
            .get("autoPromotionEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    });

    // Roles as Argo's CLI tags ReplicaSets (info/replicaset_info.go), by
    // hash alone: a scaled-down canary keeps its tag in the revision list.
    let mut revisions = workload::revisions(index, uid(ro), &ARGO);
    for r in &mut revisions {
        let h = Some(r.hash.as_str());
        if stable_hash == h {
            r.roles.push(Role::Stable);
        }
        if blue_green.is_some() {
            if active_hash == h {
                r.roles.push(Role::Active);
            } else if preview_hash == h {
                r.roles.push(Role::Preview);
            }
        } else if stable_hash != h && current_hash == h {
            r.roles.push(Role::Canary);
        }
    }
    let current_hash = current_hash.map(str::to_string);
    let stable_hash = stable_hash.map(str::to_string);
    let current_revision = revisions
        .iter()
        .find(|r| current_hash.as_ref() == Some(&r.hash))
        .and_then(|r| r.number);

    let pause = if spec_paused {
        Some(Pause {
            reason: "manually paused".into(),
            since: None,
            until: None,
            needs_decision: true,
        })
    } else {
        pause_conditions.first().map(|c| {
            let reason = str_at(c, "/reason").unwrap_or_default().to_string();
            let since = time_at(c, "/startTime");
            let duration = match (reason.as_str(), current_step.and_then(|i| steps.get(i))) {
                ("CanaryPauseStep", Some(Step::Pause { seconds })) => *seconds,
                ("BlueGreenPause", _) => blue_green
                    .and_then(|b| i64_at(b, "/autoPromotionSeconds"))
                    .and_then(|s| u64::try_from(s).ok()),
                _ => None,
            };
            let until = since
                .zip(duration)
                .map(|(s, d)| s + chrono::Duration::seconds(i64::try_from(d).unwrap_or(0)));
            Pause {
                needs_decision: until.is_none(),
                reason,
                since,
                until,
            }
        })
    };

    let mut weights = Weights::default();
    if let Some(canary) = canary {
        let desired = desired_weight(&steps, current_step, aborted);
        let traffic_routed = canary.get("trafficRouting").is_some();
        let canary_available = revisions
            .iter()
            .find(|r| r.roles.contains(&Role::Canary))
            .map_or(0, |r| r.available);
        // Written at all, the canary's weight is read, absent meaning 0.
        let status_canary_weight = data
            .pointer("/status/canary/weights")
            .map(|w| u32_at(w, "/canary/weight").unwrap_or(0));
        let applied = actual_weight(&ActualWeightInputs {
            no_current_step: current_canary_step(&steps, current_step).is_none(),
            max_traffic_weight: u32_at(canary, "/trafficRouting/maxTrafficWeight").unwrap_or(100),
            available_replicas: replicas.available,
            traffic_routed,
            status_canary_weight,
            desired,
            canary_available,
        });
        weights.desired = Some(desired);
        weights.applied = Some(applied);
        if traffic_routed {
            let routes = routing::argo_routes(canary, namespace(ro), index.objects);
            weights.router = routes.weight;
            weights.header_routes = routes.header_routes;
            weights.reported = status_canary_weight;
        }
    }

    let analysis = workload::analysis_runs(index, uid(ro));
    let timeline = workload::timeline(index, namespace(ro), "Rollout", name(ro), &revisions);

    let mut attention = Vec::new();
    if health == Health::Degraded {
        attention.push(Attention::Degraded(message.clone()));
    }
    if let Some(p) = &pause {
        // Argo's dashboard: a timed CanaryPauseStep does not need attention.
        if p.needs_decision {
            attention.push(Attention::AwaitingDecision(p.reason.clone()));
        }
    }
    if let Some((applied, router)) = weights.drift() {
        attention.push(Attention::WeightDrift { applied, router });
    }
    if let Some(run) = analysis
        .iter()
        .find(|a| a.revision == current_revision && matches!(a.phase.as_str(), "Failed" | "Error"))
        .filter(|_| !(stable_hash.is_some() && stable_hash == current_hash))
    {
        attention.push(Attention::FailingAnalysis(format!(
            "{} {}",
            run.name, run.phase
        )));
    }
    if let Some(pod) = revisions
        .iter()
        .flat_map(|r| &r.pods)
        .find(|p| p.status == "CrashLoopBackOff")
    {
        attention.push(Attention::CrashLooping(pod.name.clone()));
    }

    Release {
        strategy,
        health,
        phase,
        message,
        steps,
        current_step,
        weights,
        pause,
        spec_paused,
        aborted,
        promote_full: bool_at(data, "/status/promoteFull"),
        current_hash,
        stable_hash,
        current_revision,
        revisions,
        replicas,
        analysis,
        stable_service: canary
            .and_then(|c| str_at(c, "/stableService"))
            .or_else(|| blue_green.and_then(|b| str_at(b, "/activeService")))
            .map(str::to_string),
        canary_service: canary
            .and_then(|c| str_at(c, "/canaryService"))
            .or_else(|| blue_green.and_then(|b| str_at(b, "/previewService")))
            .map(str::to_string),
        blue_green: bg,
        argo: Some(ArgoStatus {
            pause_conditions: pause_conditions
                .iter()
                .map(|c| str_at(c, "/reason").unwrap_or_default().to_string())
                .collect(),
            controller_pause: bool_at(data, "/status/controllerPause"),
            step_analysis_phase: str_at(data, "/status/canary/currentStepAnalysisRunStatus/status")
                .map(str::to_string),
        }),
        timeline,
        attention,
        selector: string_map(data.pointer("/spec/selector/matchLabels")),
        ..workload::base(Kind::Rollout, strategy, ro)
    }
}
