//! `cutover status`: the same model as the control room, printed once, for
//! scripts and checks.

use crate::app::state::Access;
use crate::app::update::{access_keys, unavailable};
use crate::app::{State, keymap::Keymap};
use crate::cluster::connect::{ConnectOptions, connect};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::{Objects, rbac, releases};
use crate::model::Release;
use crate::model::action::ALL;
use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr, eyre};
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub context: String,
    pub namespace: Option<String>,
    pub user: Option<String>,
    pub read_at: DateTime<Utc>,
    pub releases: Vec<ReleaseStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    pub current: usize,
    pub total: usize,
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionStatus {
    pub number: Option<u64>,
    pub replica_set: String,
    pub pod_hash: String,
    pub roles: Vec<&'static str>,
    pub images: Vec<String>,
    pub desired: i64,
    pub ready: i64,
    pub available: i64,
    pub restarts: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionStatus {
    pub action: &'static str,
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStatus {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub strategy: &'static str,
    pub health: crate::model::Health,
    pub phase: String,
    pub message: String,
    pub step: Option<StepStatus>,
    pub weights: crate::model::traffic::Weights,
    pub drift: bool,
    pub pause: Option<crate::model::Pause>,
    pub canary_image: Option<String>,
    pub stable_image: Option<String>,
    pub revisions: Vec<RevisionStatus>,
    pub flagger: Option<crate::model::FlaggerStatus>,
    pub attention: Vec<String>,
    pub actions: Vec<ActionStatus>,
}

fn release_status(r: &Release, state: &State) -> ReleaseStatus {
    let actions = ALL
        .into_iter()
        .map(|a| {
            let reason = unavailable(state, r, a);
            ActionStatus {
                action: a.word(),
                available: reason.is_none(),
                reason,
            }
        })
        .collect();
    ReleaseStatus {
        kind: r.key.kind.word(),
        namespace: r.key.namespace.clone(),
        name: r.key.name.clone(),
        strategy: r.strategy.word(),
        health: r.health,
        phase: r.phase.clone(),
        message: r.message.clone(),
        step: (!r.steps.is_empty()).then(|| {
            let current = r.current_step.unwrap_or(0).min(r.steps.len());
            StepStatus {
                current,
                total: r.steps.len(),
                name: r.steps.get(current).map(|s| s.label()),
            }
        }),
        drift: r.weights.drift().is_some(),
        weights: r.weights.clone(),
        pause: r.pause.clone(),
        canary_image: r.canary_image().map(str::to_string),
        stable_image: r.stable_image().map(str::to_string),
        revisions: r
            .revisions
            .iter()
            .map(|rev| RevisionStatus {
                number: rev.number,
                replica_set: rev.replica_set.clone(),
                pod_hash: rev.hash.clone(),
                roles: rev.role_words(),
                images: rev.images.clone(),
                desired: rev.desired,
                ready: rev.ready,
                available: rev.available,
                restarts: rev.restarts(),
            })
            .collect(),
        flagger: r.flagger.clone(),
        attention: r.attention.iter().map(|a| a.describe()).collect(),
        actions,
    }
}

/// Read every watched kind once and build the report. `read_only` reports
/// every action as unavailable, as the control room would.
pub async fn report(
    options: &ConnectOptions,
    name: Option<&str>,
    read_only: bool,
) -> Result<StatusReport> {
    let connection = connect(options).await?;
    let mut objects = Objects::default();
    for (kind, resource) in &connection.kinds {
        if *kind == WatchedKind::Event {
            continue;
        }
        let api: Api<DynamicObject> = match &connection.namespace {
            Some(ns) => Api::namespaced_with(connection.client.clone(), ns, resource),
            None => Api::all_with(connection.client.clone(), resource),
        };
        let list = api
            .list(&ListParams::default())
            .await
            .wrap_err_with(|| format!("listing {}", resource.plural))?;
        objects.set(
            resource.plural.as_str(),
            *kind,
            list.items.into_iter().map(Arc::new).collect(),
        );
    }
    let now = Utc::now();
    let mut state = State::new(now, read_only, Keymap::default());
    state.scope.user = connection.user.clone();
    let mut all = releases(&objects);
    if let Some(n) = name {
        all.retain(|r| r.key.name == n);
        if all.is_empty() {
            return Err(eyre!("no release named {n} in this scope"));
        }
    }
    if !read_only {
        let mut keys: Vec<rbac::AccessKey> = all
            .iter()
            .flat_map(|r| access_keys(r.key.kind, &r.key.namespace))
            .collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let access = match rbac::review(&connection.client, &key).await {
                Ok((true, _)) => Access::Allowed(now),
                Ok((false, reason)) => Access::Denied { reason, at: now },
                Err(error) => Access::Unknown { error, at: now },
            };
            state.access.insert(key, access);
        }
    }
    let releases = all.iter().map(|r| release_status(r, &state)).collect();
    Ok(StatusReport {
        context: connection.context,
        namespace: connection.namespace,
        user: connection.user,
        read_at: now,
        releases,
    })
}

pub fn table(report: &StatusReport) -> String {
    let mut out = format!(
        "{:<11} {:<24} {:<13} {:<20} {:<7} {:<8} {:<24} {:<24} {}\n",
        "KIND", "NAME", "STRATEGY", "PHASE", "STEP", "WEIGHT", "CANARY", "STABLE", "ATTENTION"
    );
    for r in &report.releases {
        let name = if report.namespace.is_none() {
            format!("{}/{}", r.namespace, r.name)
        } else {
            r.name.clone()
        };
        let step = r
            .step
            .as_ref()
            .map_or("-".into(), |s| format!("{}/{}", s.current, s.total));
        let image = |i: &Option<String>| {
            i.as_deref()
                .map(crate::ui::short_image)
                .unwrap_or("-")
                .to_string()
        };
        out.push_str(&format!(
            "{:<11} {:<24} {:<13} {:<20} {:<7} {:<8} {:<24} {:<24} {}\n",
            r.kind,
            name,
            r.strategy,
            format!("{} {}", r.health.symbol(), r.phase),
            step,
            r.weights.text(),
            image(&r.canary_image),
            image(&r.stable_image),
            r.attention.join("; ")
        ));
    }
    out
}
