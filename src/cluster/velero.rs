//! Velero's `Backup`, `Restore` and `Schedule` objects → the model of
//! [`crate::model::restore::velero`]. They live in Velero's install
//! namespace, not the releases': their own watches read them there.

use super::fields::{self, array_at, str_at, text_at, time_at};
use super::kinds::WatchedKind;
use crate::model::restore::velero::{
    Namespaces, Velero, VeleroBackup, VeleroRestore, VeleroSchedule,
};
use kube::api::DynamicObject;
use serde_json::Value;
use std::sync::Arc;

/// Velero's install namespace, where its objects are.
pub const NAMESPACE: &str = "velero";

/// The prefix of the names of Velero's watches: `velero/backups`.
pub const SOURCES: &str = "velero/";

/// The watched kinds of Velero.
pub const KINDS: [WatchedKind; 3] = [
    WatchedKind::VeleroBackup,
    WatchedKind::VeleroRestore,
    WatchedKind::VeleroSchedule,
];

/// `namespaces` under `spec` (a Schedule's under `spec.template`).
fn namespaces(spec: &Value) -> Namespaces {
    let names = |field: &str| {
        array_at(spec, field)
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    Namespaces {
        included: names("/includedNamespaces"),
        excluded: names("/excludedNamespaces"),
    }
}

fn phase(o: &DynamicObject) -> String {
    str_at(&o.data, "/status/phase")
        .filter(|p| !p.is_empty())
        .unwrap_or("New")
        .to_string()
}

fn backup(o: &DynamicObject) -> VeleroBackup {
    VeleroBackup {
        name: fields::name(o).to_string(),
        phase: phase(o),
        namespaces: namespaces(&o.data["spec"]),
        schedule: fields::label(o, "velero.io/schedule-name").map(str::to_string),
        start_timestamp: time_at(&o.data, "/status/startTimestamp"),
        completion_timestamp: time_at(&o.data, "/status/completionTimestamp"),
        failure_reason: text_at(&o.data, "/status/failureReason"),
    }
}

fn restore(o: &DynamicObject) -> VeleroRestore {
    VeleroRestore {
        name: fields::name(o).to_string(),
        backup_name: text_at(&o.data, "/spec/backupName").unwrap_or_default(),
        phase: phase(o),
        included_namespaces: namespaces(&o.data["spec"]).included,
        completion_timestamp: time_at(&o.data, "/status/completionTimestamp"),
        failure_reason: text_at(&o.data, "/status/failureReason"),
    }
}

fn schedule(o: &DynamicObject) -> VeleroSchedule {
    VeleroSchedule {
        name: fields::name(o).to_string(),
        schedule: text_at(&o.data, "/spec/schedule").unwrap_or_default(),
        namespaces: namespaces(&o.data["spec"]["template"]),
        last_backup: time_at(&o.data, "/status/lastBackup"),
    }
}

/// Replace what `velero` holds of `kind` with `objects`.
pub fn set(velero: &mut Velero, kind: WatchedKind, objects: &[Arc<DynamicObject>]) {
    match kind {
        WatchedKind::VeleroBackup => velero.backups = objects.iter().map(|o| backup(o)).collect(),
        WatchedKind::VeleroRestore => {
            velero.restores = objects.iter().map(|o| restore(o)).collect()
        }
        WatchedKind::VeleroSchedule => {
            velero.schedules = objects.iter().map(|o| schedule(o)).collect()
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
