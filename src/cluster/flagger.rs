//! Flagger `Canary` → `Release`. The target Deployment is the canary and
//! `<target>-primary` the stable copy.

use super::Index;
use super::fields::{
    Fields, Read, Warnings, array_at, name, namespace, str_at, string_map, time_at, uid,
};
use super::kinds::WatchedKind;
use super::routing;
use super::workload::{self, DEPLOYMENT};
use crate::model::phase::{FLAGGER_PHASES, flagger_health};
use crate::model::traffic::{Weight, Weights};
use crate::model::{Attention, FlaggerStatus, Health, Kind, Pause, Release, Role, Strategy};
use kube::api::DynamicObject;

const ANALYSIS: &str = "/spec/analysis";

fn step_weights(fields: Fields<'_>) -> Vec<Option<u32>> {
    let count = fields
        .get(&format!("{ANALYSIS}/stepWeights"))
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    (0..count)
        .map(|i| {
            fields
                .weight(&format!("{ANALYSIS}/stepWeights/{i}"), 100)
                .valid()
        })
        .collect()
}

/// The Deployments a canary manages, shown as part of it: its target and
/// the `-primary` Flagger makes of it.
pub fn managed_deployments(canary: &DynamicObject) -> [String; 2] {
    let target = str_at(&canary.data, "/spec/targetRef/name").unwrap_or_default();
    [target.to_string(), format!("{target}-primary")]
}

pub fn release(canary: &DynamicObject, index: &Index<'_>) -> Release {
    let data = &canary.data;
    let warnings = Warnings::default();
    let fields = Fields::new(data, "", &warnings);
    let analysis = |field: &str| format!("{ANALYSIS}/{field}");
    let ns = namespace(canary);
    // Read through the warnings, which flag a malformed name.
    fields.str("/spec/targetRef/name");
    let [target, primary] = managed_deployments(canary);
    let phase = fields
        .word("/status/phase", &FLAGGER_PHASES, "Flagger")
        .unwrap_or("Initializing")
        .to_string();
    let suspended = fields.flag("/spec/suspend");
    let steps = step_weights(fields);
    // Flagger: maxWeight, else the last of stepWeights, else 100.
    let max_weight = match fields.weight(&analysis("maxWeight"), 100) {
        Read::Valid(w) => Some(w),
        Read::Malformed => None,
        Read::Absent => steps.last().copied().unwrap_or(Some(100)),
    };
    let natural = |pointer: &str| fields.natural(pointer).valid();
    let status = FlaggerStatus {
        phase: phase.clone(),
        weight: fields.weight("/status/canaryWeight", 100).or(0),
        max_weight,
        step_weight: fields.weight(&analysis("stepWeight"), 100).valid(),
        step_weights: steps,
        failed_checks: natural("/status/failedChecks").unwrap_or(0),
        threshold: natural(&analysis("threshold"))
            .filter(|&t| t > 0)
            .unwrap_or(1),
        iterations: natural("/status/iterations").unwrap_or(0),
        suspended,
        skip_analysis: fields.flag("/spec/skipAnalysis"),
        primary: primary.clone(),
        target: target.clone(),
        interval: fields
            .str(&analysis("interval"))
            .unwrap_or("60s")
            .to_string(),
    };
    let health = flagger_health(&phase, suspended);
    let message = array_at(data, "/status/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == Some("Promoted"))
        .and_then(|c| str_at(c, "/message"))
        .unwrap_or_default()
        .to_string();

    let deployment = |n: &str| index.find(WatchedKind::Deployment, ns, n);
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

    // Succeeded: the primary runs the promoted version; its previous
    // ReplicaSet ran the version before.
    let completion = (phase == "Succeeded")
        .then(|| {
            let at = workload::condition_true_since(data, "Promoted", &[], "lastTransitionTime")
                .or_else(|| time_at(data, "/status/lastTransitionTime"))?;
            let primary_revisions =
                workload::revisions(index, uid(deployment(&primary)?), &DEPLOYMENT);
            let [now, before] = [0, 1].map(|i| primary_revisions.get(i).map(|r| r.hash.clone()));
            Some(crate::model::bake::Completion {
                at,
                hash: now?,
                previous_hash: before?,
            })
        })
        .flatten();
    let primary_subject = format!("Deployment/{primary}");
    let replicas = deployment(&primary)
        .map(|d| workload::replicas(Fields::new(&d.data, &primary_subject, &warnings)))
        .unwrap_or_default();

    let service = fields
        .str("/spec/service/name")
        .unwrap_or(&target)
        .to_string();
    let routes = routing::flagger_routes(&service, ns, index, &warnings);
    let in_analysis = matches!(
        phase.as_str(),
        "Progressing" | "WaitingPromotion" | "Waiting" | "Promoting" | "Finalising"
    );
    let weights = Weights {
        applied: Weight::read(status.weight),
        // Outside an analysis the router is only worth showing while it
        // still sends the canary traffic.
        router: routes
            .weight
            .filter(|_| in_analysis || status.weight != Some(0)),
        header_routes: routes.header_routes,
        ..Weights::default()
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
        warnings: warnings.into_sentences(),
        completion,
        ..workload::base(Kind::Canary, Strategy::Progressive, canary)
    }
}
