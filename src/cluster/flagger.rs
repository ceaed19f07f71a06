//! Flagger `Canary` → `Release`. The target Deployment is the canary and
//! `<target>-primary` the stable copy.

use super::Index;
use super::fields::{bool_at, name, namespace, str_at, string_map, time_at, u32_at, uid};
use super::routing;
use super::workload::{self, DEPLOYMENT};
use crate::model::phase::flagger_health;
use crate::model::traffic::Weights;
use crate::model::{Attention, FlaggerStatus, Health, Kind, Pause, Release, Role, Strategy};
use kube::api::DynamicObject;
use serde_json::Value;

fn step_weights(analysis: &Value) -> Vec<u32> {
    super::fields::array_at(analysis, "/stepWeights")
        .iter()
        .filter_map(|w| w.as_u64().and_then(|w| u32::try_from(w).ok()))
        .collect()
}

pub fn release(canary: &DynamicObject, index: &Index<'_>) -> Release {
    let data = &canary.data;
    let ns = namespace(canary);
    let analysis = data.pointer("/spec/analysis").unwrap_or(&Value::Null);
    let target = str_at(data, "/spec/targetRef/name")
        .unwrap_or_default()
        .to_string();
    let primary = format!("{target}-primary");
    let phase = str_at(data, "/status/phase")
        .unwrap_or("Initializing")
        .to_string();
    let suspended = bool_at(data, "/spec/suspend");
    let steps = step_weights(analysis);
    // Flagger: maxWeight, else the last of stepWeights, else 100.
    let max_weight = u32_at(analysis, "/maxWeight")
        .or_else(|| steps.last().copied())
        .unwrap_or(100)
        .min(100);
    let status = FlaggerStatus {
        phase: phase.clone(),
        weight: u32_at(data, "/status/canaryWeight").unwrap_or(0),
        max_weight,
        step_weight: u32_at(analysis, "/stepWeight"),
        step_weights: steps,
        failed_checks: u32_at(data, "/status/failedChecks").unwrap_or(0),
        threshold: u32_at(analysis, "/threshold")
            .filter(|&t| t > 0)
            .unwrap_or(1),
        iterations: u32_at(data, "/status/iterations").unwrap_or(0),
        suspended,
        skip_analysis: bool_at(data, "/spec/skipAnalysis"),
        primary: primary.clone(),
        target: target.clone(),
        interval: str_at(analysis, "/interval").unwrap_or("60s").to_string(),
    };
    let health = flagger_health(&phase, suspended);
    let message = super::fields::array_at(data, "/status/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == Some("Promoted"))
        .and_then(|c| str_at(c, "/message"))
        .unwrap_or_default()
        .to_string();

    let deployment = |n: &str| index.deployments.get(&(ns, n)).copied();
    let mut revisions = Vec::new();
    for (deploy_name, role) in [
        (target.as_str(), Role::Canary),
        (primary.as_str(), Role::Stable),
    ] {
        let Some(d) = deployment(deploy_name) else {
            continue;
        };
        // The newest ReplicaSet of each Deployment is the one that counts.
        if let Some(mut rev) = workload::revisions(index, uid(d), &DEPLOYMENT)
            .into_iter()
            .next()
        {
            let scaled_down = role == Role::Canary && rev.desired == 0;
            if !scaled_down || rev.current > 0 {
                rev.roles.push(role);
            }
            revisions.push(rev);
        }
    }
    let current_hash = revisions
        .iter()
        .find(|r| {
            r.replica_set.starts_with(&format!("{target}-")) && !r.replica_set.starts_with(&primary)
        })
        .map(|r| r.hash.clone());
    let stable_hash = revisions
        .iter()
        .find(|r| r.replica_set.starts_with(&format!("{primary}-")))
        .map(|r| r.hash.clone());

    let replicas = deployment(&primary)
        .map(|d| workload::replicas(&d.data))
        .unwrap_or_default();

    let service = str_at(data, "/spec/service/name")
        .unwrap_or(&target)
        .to_string();
    let routes = routing::flagger_routes(&service, ns, index.objects);
    let in_analysis = matches!(
        phase.as_str(),
        "Progressing" | "WaitingPromotion" | "Waiting" | "Promoting" | "Finalising"
    );
    let weights = Weights {
        desired: None,
        reported: None,
        applied: Some(status.weight),
        router: routes.weight.filter(|_| in_analysis || status.weight > 0),
        header_routes: routes.header_routes,
    };

    let pause = if suspended {
        Some(Pause {
            reason: "suspended".into(),
            since: None,
            until: None,
            needs_decision: true,
        })
    } else if matches!(phase.as_str(), "WaitingPromotion" | "Waiting") {
        Some(Pause {
            reason: phase.clone(),
            since: time_at(data, "/status/lastTransitionTime"),
            until: None,
            needs_decision: true,
        })
    } else {
        None
    };

    let mut attention = Vec::new();
    if health == Health::Degraded {
        attention.push(Attention::Degraded(if message.is_empty() {
            phase.clone()
        } else {
            message.clone()
        }));
    }
    if let Some(p) = &pause {
        attention.push(Attention::AwaitingDecision(p.reason.clone()));
    }
    if status.failed_checks > 0 && in_analysis {
        attention.push(Attention::FailingAnalysis(format!(
            "{} of {} failed checks",
            status.failed_checks, status.threshold
        )));
    }
    if let Some((applied, router)) = weights.drift() {
        attention.push(Attention::WeightDrift { applied, router });
    }

    let timeline = workload::timeline(index, namespace(canary), "Canary", name(canary), &[]);
    Release {
        health,
        phase,
        message,
        weights,
        pause,
        spec_paused: suspended,
        current_revision: revisions
            .iter()
            .find(|r| r.roles.contains(&Role::Canary))
            .and_then(|r| r.number),
        current_hash,
        stable_hash,
        revisions,
        replicas,
        flagger: Some(status),
        timeline,
        attention,
        selector: deployment(&target)
            .map(|d| string_map(d.data.pointer("/spec/selector/matchLabels")))
            .unwrap_or_default(),
        ..workload::base(Kind::Canary, Strategy::Progressive, canary)
    }
}
