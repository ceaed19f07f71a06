//! Argo Rollouts `Rollout` → `Release`.

use super::Index;
use super::fields::{
    Fields, Read, Warnings, array_at, name, namespace, str_at, string_map, text_at, time_at,
    u32_at, uid,
};
use super::routing;
use super::workload::{self, ARGO};
use crate::model::phase::{
    ARGO_PHASES, ArgoCondition, ArgoPhaseInputs, ArgoStrategyFacts, argo_phase,
};
use crate::model::traffic::{
    ActualWeightInputs, Weight, Weights, actual_weight, current_canary_step, desired_weight,
};
use crate::model::{
    ArgoStatus, Attention, BlueGreen, Health, Kind, Pause, Release, Replicas, Role, Step,
    StepIndex, Strategy,
};
use crate::time::parse_go_or_seconds;
use kube::api::DynamicObject;
use serde_json::Value;

const CANARY: &str = "/spec/strategy/canary";

/// The canary's steps; `max_weight` bounds their weights.
fn steps(fields: Fields<'_>, max_weight: u32) -> Vec<Step> {
    let count = fields
        .get(&format!("{CANARY}/steps"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    (0..count)
        .map(|i| step(fields, &format!("{CANARY}/steps/{i}"), max_weight))
        .collect()
}

fn step(fields: Fields<'_>, at: &str, max_weight: u32) -> Step {
    let s = fields.get(at).unwrap_or(&Value::Null);
    if s.get("setWeight").is_some() {
        return Step::SetWeight(
            fields
                .weight(&format!("{at}/setWeight"), max_weight)
                .valid(),
        );
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
        let weight = fields.weight(&format!("{at}/setCanaryScale/weight"), 100);
        let what = if weight != Read::Absent {
            format!(
                "weight {}",
                weight.valid().map_or("?".into(), |w| w.to_string())
            )
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

/// `status.currentStepIndex`, checked against the steps: the number of
/// steps means all are done, beyond it nothing Argo writes.
fn step_index(fields: Fields<'_>, steps: usize) -> StepIndex {
    let pointer = "/status/currentStepIndex";
    let read = fields.within(pointer, |i| i >= 0, ": a step index cannot be negative");
    match read {
        Read::Absent => StepIndex::Unset,
        Read::Malformed => StepIndex::Unknown,
        Read::Valid(i) => match usize::try_from(i) {
            Ok(i) if i <= steps => StepIndex::At(i),
            _ => {
                let noun = if steps == 1 { "step" } else { "steps" };
                fields.note(pointer, &format!(" but the rollout has {steps} {noun}"));
                StepIndex::Unknown
            }
        },
    }
}

/// An empty hash names no ReplicaSet.
fn hash_at<'a>(fields: Fields<'a>, pointer: &str) -> Option<&'a str> {
    fields.str(pointer).filter(|h| !h.is_empty())
}

/// Phase, word and message as Argo's CLI derives them from the Rollout.
fn phase(ro: &DynamicObject, fields: Fields<'_>, replicas: &Replicas) -> (Health, String, String) {
    let data = &ro.data;
    let blue_green = data.pointer("/spec/strategy/blueGreen");
    let canary = data.pointer(CANARY);
    let time = |pointer| time_at(data, pointer);
    argo_phase(&ArgoPhaseInputs {
        generation: ro.metadata.generation.unwrap_or(0),
        observed_generation: text_at(data, "/status/observedGeneration"),
        status_phase: fields.word("/status/phase", &ARGO_PHASES, "Argo Rollouts"),
        status_message: fields.str("/status/message"),
        controller_pause: fields.flag("/status/controllerPause"),
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
        spec_paused: fields.flag("/spec/paused"),
        restart_pending: time("/spec/restartAt")
            .is_some_and(|at| time("/status/restartedAt") != Some(at)),
        replicas: replicas.clone(),
        current_pod_hash: hash_at(fields, "/status/currentPodHash"),
        stable_rs: hash_at(fields, "/status/stableRS"),
        strategy: match (blue_green, canary) {
            (Some(b), _) => ArgoStrategyFacts::BlueGreen {
                active_selector: hash_at(fields, "/status/blueGreen/activeSelector"),
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
    let warnings = Warnings::default();
    let fields = Fields::new(data, "", &warnings);
    let canary = data.pointer(CANARY);
    let blue_green = data.pointer("/spec/strategy/blueGreen");
    let strategy = if blue_green.is_some() {
        Strategy::BlueGreen
    } else {
        Strategy::Canary
    };
    // Weights run to maxTrafficWeight (100 unless set).
    let max_traffic_weight = fields
        .within(
            &format!("{CANARY}/trafficRouting/maxTrafficWeight"),
            |w| u32::try_from(w).is_ok_and(|w| w > 0),
            ": expected a whole number above 0",
        )
        .or(100)
        .and_then(|w| u32::try_from(w).ok());
    let weight_limit = max_traffic_weight.unwrap_or(100);
    let steps = if canary.is_some() {
        steps(fields, weight_limit)
    } else {
        Vec::new()
    };
    let pause_conditions = array_at(data, "/status/pauseConditions");
    let current_hash = hash_at(fields, "/status/currentPodHash");
    let stable_hash = hash_at(fields, "/status/stableRS");
    let active_hash = hash_at(fields, "/status/blueGreen/activeSelector");
    let preview_hash = hash_at(fields, "/status/blueGreen/previewSelector");
    let replicas = workload::replicas(fields);
    let spec_paused = fields.flag("/spec/paused");
    let (health, phase, message) = phase(ro, fields, &replicas);
    let aborted = fields.flag("/status/abort");
    let current_step = step_index(fields, steps.len());

    let bg = blue_green.map(|b| BlueGreen {
        active_hash: active_hash.map(str::to_string),
        preview_hash: preview_hash.map(str::to_string),
        active_service: str_at(b, "/activeService").unwrap_or_default().to_string(),
        preview_service: str_at(b, "/previewService").map(str::to_string),
        auto_promotion: fields
            .boolean("/spec/strategy/blueGreen/autoPromotionEnabled")
            .valid()
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
            let step = current_step.argo().and_then(|i| steps.get(i));
            let duration = match (reason.as_str(), step) {
                ("CanaryPauseStep", Some(Step::Pause { seconds })) => *seconds,
                ("BlueGreenPause", _) => fields
                    .natural("/spec/strategy/blueGreen/autoPromotionSeconds")
                    .valid()
                    .map(u64::from),
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
        let status_canary_weight = match fields.get("/status/canary/weights") {
            None => Weight::Absent,
            Some(_) => Weight::read(
                fields
                    .weight("/status/canary/weights/canary/weight", weight_limit)
                    .or(0),
            ),
        };
        let applied = match current_step.argo() {
            None => Weight::Unknown,
            Some(i) => actual_weight(&ActualWeightInputs {
                no_current_step: current_canary_step(&steps, i).is_none(),
                max_traffic_weight: Weight::read(max_traffic_weight),
                available_replicas: replicas.available,
                traffic_routed,
                status_canary_weight,
                desired,
                canary_available,
            }),
        };
        weights.desired = desired;
        weights.applied = applied;
        if traffic_routed {
            let routes = routing::argo_routes(canary, namespace(ro), index, &warnings);
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

    // Argo sets Completed when the stable ReplicaSet becomes the current
    // one (full promotion); Healthy can flip later with pod health.
    let finished_at = (health == Health::Healthy
        && stable_hash.is_some()
        && stable_hash == current_hash)
        .then(|| {
            workload::condition_true_since(data, "Completed", &[], "lastTransitionTime").or_else(
                || workload::condition_true_since(data, "Healthy", &[], "lastTransitionTime"),
            )
        })
        .flatten();
    let mut release = Release {
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
        promote_full: fields.flag("/status/promoteFull"),
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
            controller_pause: fields.flag("/status/controllerPause"),
            step_analysis_phase: str_at(data, "/status/canary/currentStepAnalysisRunStatus/status")
                .map(str::to_string),
        }),
        timeline,
        attention,
        selector: string_map(data.pointer("/spec/selector/matchLabels")),
        warnings: warnings.into_sentences(),
        ..workload::base(Kind::Rollout, strategy, ro)
    };
    release.completion = workload::completion(&release, finished_at);
    release
}
