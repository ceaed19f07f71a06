//! Velero's restore controller, as far as a restore drill needs it: a
//! created `Restore` whose `spec.backupName` names a Completed `Backup` of
//! its namespace goes InProgress, then Completed with `startTimestamp` and
//! `completionTimestamp`; one naming no such backup ends Failed with its
//! `failureReason`. Backups and Schedules stay as written (no cron engine).
//!
//! `sim.cutover.dev/duration` on a Restore sets how long it runs (10 s
//! when absent).

use super::job::DURATION_ANNOTATION;
use super::{Controller, Ctx};
use crate::resources::{self, ResourceDef, VELERO};
use crate::time::{parse_timestamp, timestamp};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

pub struct RestoreController;

const DEFAULT_DURATION_SECONDS: i64 = 10;

pub fn restores() -> &'static ResourceDef {
    resources::lookup(VELERO, "v1", "restores").expect("served")
}

fn backups() -> &'static ResourceDef {
    resources::lookup(VELERO, "v1", "backups").expect("served")
}

fn duration_of(restore: &Value) -> Duration {
    restore["metadata"]["annotations"][DURATION_ANNOTATION]
        .as_str()
        .and_then(crate::time::parse_go_or_seconds)
        .unwrap_or(Duration::seconds(DEFAULT_DURATION_SECONDS))
}

/// Why the restore cannot start, when it cannot.
fn refusal(ctx: &Ctx<'_>, namespace: &str, restore: &Value) -> Option<String> {
    let Some(name) = restore["spec"]["backupName"]
        .as_str()
        .filter(|n| !n.is_empty())
    else {
        return Some("spec.backupName is required".to_string());
    };
    match ctx.store.get(backups(), namespace, name) {
        Err(_) => Some(format!("error getting backup: backup {name} not found")),
        Ok(b) if b["status"]["phase"] != "Completed" => Some(format!(
            "backup {name} is in phase {}, not Completed",
            b["status"]["phase"].as_str().unwrap_or("New")
        )),
        Ok(_) => None,
    }
}

fn set_status(ctx: &Ctx<'_>, namespace: &str, name: &str, changes: Value) {
    let result = ctx.store.modify(restores(), namespace, name, |r| {
        if !r["status"].is_object() {
            r["status"] = json!({});
        }
        if let (Some(status), Some(changes)) = (r["status"].as_object_mut(), changes.as_object()) {
            status.extend(changes.clone());
        }
    });
    if let Err(e) = result {
        tracing::debug!("restore {namespace}/{name}: {e}");
    }
}

impl Controller for RestoreController {
    fn name(&self) -> &'static str {
        "velero-restore-controller"
    }

    fn primary(&self) -> &'static ResourceDef {
        restores()
    }

    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>> {
        let restore = ctx.store.get(restores(), namespace, name).ok()?;
        let now = timestamp(ctx.now);
        match restore["status"]["phase"].as_str().unwrap_or("New") {
            "New" => match refusal(ctx, namespace, &restore) {
                Some(reason) => {
                    set_status(
                        ctx,
                        namespace,
                        name,
                        json!({"phase": "Failed", "failureReason": reason,
                               "startTimestamp": now, "completionTimestamp": now}),
                    );
                    None
                }
                None => {
                    set_status(
                        ctx,
                        namespace,
                        name,
                        json!({"phase": "InProgress", "startTimestamp": now}),
                    );
                    Some(ctx.now + duration_of(&restore))
                }
            },
            "InProgress" => {
                let started = parse_timestamp(&restore["status"]["startTimestamp"])?;
                let ends = started + duration_of(&restore);
                if ctx.now < ends {
                    return Some(ends);
                }
                set_status(
                    ctx,
                    namespace,
                    name,
                    json!({"phase": "Completed", "completionTimestamp": timestamp(ends),
                           "warnings": 0, "errors": 0}),
                );
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::Behaviour;
    use crate::clock::Clock;
    use crate::controllers::Runtime;
    use crate::controllers::testing::{NoTraffic, t0};
    use crate::store::{Store, WriteScope};
    use std::sync::Arc;

    fn setup() -> (Arc<Runtime>, Arc<Store>) {
        let store = Arc::new(Store::new(Arc::new(Clock::starting_at(t0(), 0.0))));
        crate::seed::insert(
            &store,
            json!({"apiVersion": "velero.io/v1", "kind": "Backup",
                   "metadata": {"name": "nightly-1", "namespace": "velero"},
                   "spec": {"includedNamespaces": ["shop"]},
                   "status": {"phase": "Completed"}}),
        )
        .unwrap();
        let rt = Runtime::new(
            store.clone(),
            Arc::new(Behaviour::default()),
            Arc::new(NoTraffic),
            vec![Arc::new(RestoreController)],
        );
        (rt, store)
    }

    fn create(store: &Store, name: &str, backup: &str) {
        let restore = json!({"apiVersion": "velero.io/v1", "kind": "Restore",
                             "metadata": {"name": name, "namespace": "velero"},
                             "spec": {"backupName": backup}});
        store
            .create(restores(), "velero", restore, WriteScope::Main, false)
            .unwrap();
    }

    fn status(store: &Store, name: &str) -> Value {
        store.get(restores(), "velero", name).unwrap()["status"].clone()
    }

    #[test]
    fn a_restore_of_a_completed_backup_runs_then_completes() {
        let (rt, store) = setup();
        create(&store, "drill", "nightly-1");
        rt.settle();
        let at = |s| timestamp(t0() + Duration::seconds(s));
        assert_eq!(
            status(&store, "drill"),
            json!({"phase": "InProgress", "startTimestamp": at(0)})
        );
        rt.advance(Duration::seconds(10));
        assert_eq!(
            status(&store, "drill"),
            json!({"phase": "Completed", "startTimestamp": at(0),
                   "completionTimestamp": at(10), "warnings": 0, "errors": 0})
        );
    }

    #[test]
    fn a_restore_of_a_missing_backup_fails_with_its_reason() {
        let (rt, store) = setup();
        create(&store, "drill", "nightly-0");
        rt.settle();
        let s = status(&store, "drill");
        assert_eq!(s["phase"], "Failed");
        assert_eq!(
            s["failureReason"],
            "error getting backup: backup nightly-0 not found"
        );
        assert_eq!(s["completionTimestamp"], timestamp(t0()));
    }
}
