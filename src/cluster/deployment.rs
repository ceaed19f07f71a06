//! Deployment → `Release`, judged as `kubectl rollout status` judges it.

use super::Index;
use super::fields::{Fields, Warnings, array_at, name, namespace, str_at, string_map, uid};
use super::workload::{self, DEPLOYMENT};
use crate::model::phase::{DeploymentPhaseInputs, deployment_phase};
use crate::model::traffic::{Weight, Weights};
use crate::model::{Attention, Health, Kind, Pause, Release, Role, Strategy};
use kube::api::DynamicObject;

pub fn release(d: &DynamicObject, index: &Index<'_>) -> Release {
    let data = &d.data;
    let warnings = Warnings::default();
    let fields = Fields::new(data, "", &warnings);
    let replicas = workload::replicas(fields);
    let paused = fields.flag("/spec/paused");
    let progressing_reason = array_at(data, "/status/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == Some("Progressing"))
        .and_then(|c| str_at(c, "/reason"));
    let (health, phase, message) = deployment_phase(&DeploymentPhaseInputs {
        name: name(d),
        generation: d.metadata.generation.unwrap_or(0),
        observed_generation: fields
            .integer("/status/observedGeneration")
            .valid()
            .unwrap_or(0),
        paused,
        desired: replicas.desired,
        updated: replicas.updated,
        replicas: replicas.current,
        available: replicas.available,
        progressing_reason,
    });
    let mut revisions = workload::revisions(index, uid(d), &DEPLOYMENT);
    let current_hash = revisions.first().map(|r| r.hash.clone());
    // While rolling, the old ReplicaSet that still serves is the stable one.
    let stable_hash = if health == Health::Healthy {
        current_hash.clone()
    } else {
        revisions
            .iter()
            .skip(1)
            .filter(|r| r.current > 0)
            .max_by_key(|r| r.available)
            .or(revisions.first())
            .map(|r| r.hash.clone())
    };
    for r in &mut revisions {
        if Some(&r.hash) == stable_hash.as_ref() {
            r.roles.push(Role::Stable);
        } else if Some(&r.hash) == current_hash.as_ref() {
            r.roles.push(Role::Canary);
        }
    }
    let strategy = if fields.str("/spec/strategy/type") == Some("Recreate") {
        Strategy::Recreate
    } else {
        Strategy::RollingUpdate
    };
    // A rolling update moves traffic in proportion to available pods.
    let applied = match replicas.available {
        _ if health == Health::Healthy => Weight::Absent,
        Some(0) => Weight::Absent,
        Some(available) => {
            let new_available = revisions.first().map_or(0, |r| r.available);
            Weight::read(u32::try_from(new_available * 100 / available).ok())
        }
        None => Weight::Unknown,
    };
    let weights = Weights {
        applied,
        ..Weights::default()
    };
    let mut attention = Vec::new();
    if health == Health::Degraded {
        attention.push(Attention::Degraded(message.clone()));
    }
    let pause = paused.then(|| Pause {
        reason: "manually paused".into(),
        since: None,
        until: None,
        needs_decision: true,
    });
    if pause.is_some() {
        attention.push(Attention::AwaitingDecision("manually paused".into()));
    }
    if let Some(pod) = revisions
        .iter()
        .flat_map(|r| &r.pods)
        .find(|p| p.status == "CrashLoopBackOff")
    {
        attention.push(Attention::CrashLooping(pod.name.clone()));
    }
    let timeline = workload::timeline(index, namespace(d), "Deployment", name(d), &revisions);
    // The Progressing condition stays True through a rollout: its reason
    // turning NewReplicaSetAvailable (lastUpdateTime) is the completion.
    let finished_at = (health == Health::Healthy)
        .then(|| {
            workload::condition_true_since(
                data,
                "Progressing",
                &["NewReplicaSetAvailable"],
                "lastUpdateTime",
            )
        })
        .flatten();
    let mut release = Release {
        strategy,
        health,
        phase,
        message,
        weights,
        pause,
        spec_paused: paused,
        current_revision: revisions.first().and_then(|r| r.number),
        current_hash,
        stable_hash,
        revisions,
        replicas,
        timeline,
        attention,
        selector: string_map(data.pointer("/spec/selector/matchLabels")),
        warnings: warnings.into_sentences(),
        ..workload::base(Kind::Deployment, strategy, d)
    };
    release.completion = workload::completion(&release, finished_at);
    release
}
