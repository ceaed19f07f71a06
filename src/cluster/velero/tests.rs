use super::*;
use serde_json::json;

fn object(value: Value) -> Arc<DynamicObject> {
    Arc::new(serde_json::from_value(value).unwrap())
}

#[test]
fn velero_s_fields_are_read_as_velero_writes_them() {
    let mut velero = Velero::default();
    let backup = object(json!({
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": "nightly-1", "namespace": "velero",
                     "labels": {"velero.io/schedule-name": "nightly"}},
        "spec": {"includedNamespaces": ["shop"], "excludedNamespaces": ["cart"]},
        "status": {"phase": "PartiallyFailed", "startTimestamp": "2026-12-05T02:00:00Z",
                   "completionTimestamp": "2026-12-05T02:06:00Z", "failureReason": "disk full"}
    }));
    set(&mut velero, WatchedKind::VeleroBackup, &[backup]);
    let b = &velero.backups[0];
    assert_eq!(
        (b.name.as_str(), b.phase.as_str(), b.schedule.as_deref()),
        ("nightly-1", "PartiallyFailed", Some("nightly"))
    );
    assert_eq!(b.namespaces.included, ["shop"]);
    assert_eq!(b.namespaces.excluded, ["cart"]);
    assert_eq!(b.failure_reason.as_deref(), Some("disk full"));
    assert_eq!(
        b.completion_timestamp.unwrap().to_rfc3339(),
        "2026-12-05T02:06:00+00:00"
    );
    let restore = object(json!({
        "apiVersion": "velero.io/v1", "kind": "Restore",
        "metadata": {"name": "drill", "namespace": "velero"},
        "spec": {"backupName": "nightly-1"}
    }));
    set(&mut velero, WatchedKind::VeleroRestore, &[restore]);
    assert_eq!(velero.restores[0].phase, "New");
    assert_eq!(velero.restores[0].backup_name, "nightly-1");
    let schedule = object(json!({
        "apiVersion": "velero.io/v1", "kind": "Schedule",
        "metadata": {"name": "nightly", "namespace": "velero"},
        "spec": {"schedule": "0 2 * * *", "template": {"includedNamespaces": ["shop"]}},
        "status": {"lastBackup": "2026-12-05T02:00:00Z"}
    }));
    set(&mut velero, WatchedKind::VeleroSchedule, &[schedule]);
    let s = &velero.schedules[0];
    assert_eq!(s.schedule, "0 2 * * *");
    assert!(s.namespaces.covers("shop") && !s.namespaces.covers("cart"));
    assert!(s.last_backup.is_some());
}
