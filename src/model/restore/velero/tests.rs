use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn namespaces(included: &[&str], excluded: &[&str]) -> Namespaces {
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect();
    Namespaces {
        included: names(included),
        excluded: names(excluded),
    }
}

fn backup(name: &str, phase: &str, included: &[&str], started: &str) -> VeleroBackup {
    VeleroBackup {
        name: name.into(),
        phase: phase.into(),
        namespaces: namespaces(included, &[]),
        schedule: Some("nightly".into()),
        start_timestamp: Some(at(started)),
        completion_timestamp: Some(at(started) + Duration::minutes(5)),
        failure_reason: (phase != "Completed").then(|| "timed out".to_string()),
    }
}

fn restore(name: &str, backup: &str, phase: &str, done: &str) -> VeleroRestore {
    VeleroRestore {
        name: name.into(),
        backup_name: backup.into(),
        phase: phase.into(),
        included_namespaces: Vec::new(),
        completion_timestamp: Some(at(done)),
        failure_reason: None,
    }
}

fn velero() -> Velero {
    Velero {
        backups: vec![
            backup("all-1", "Completed", &[], "2026-12-01T02:00:00Z"),
            backup("shop-2", "Completed", &["shop"], "2026-12-03T02:00:00Z"),
            backup("star-3", "Completed", &["*"], "2026-12-04T02:00:00Z"),
            backup("other-4", "Completed", &["cart"], "2026-12-04T03:00:00Z"),
            backup(
                "shop-5",
                "PartiallyFailed",
                &["shop"],
                "2026-12-05T02:00:00Z",
            ),
        ],
        restores: vec![
            restore("drill-old", "shop-2", "Completed", "2026-12-03T10:00:00Z"),
            restore("drill-cart", "other-4", "Completed", "2026-12-04T10:00:00Z"),
            restore("drill-failed", "star-3", "Failed", "2026-12-04T11:00:00Z"),
        ],
        schedules: vec![VeleroSchedule {
            name: "nightly".into(),
            schedule: "0 2 * * *".into(),
            namespaces: namespaces(&["*"], &["kube-system"]),
            last_backup: Some(at("2026-12-05T02:00:00Z")),
        }],
    }
}

#[test]
fn a_backup_covers_what_it_includes_less_what_it_excludes() {
    assert!(namespaces(&[], &[]).covers("shop"));
    assert!(namespaces(&["*"], &[]).covers("shop"));
    assert!(namespaces(&["cart", "shop"], &[]).covers("shop"));
    assert!(!namespaces(&["cart"], &[]).covers("shop"));
    assert!(!namespaces(&["*"], &["shop"]).covers("shop"));
}

#[test]
fn the_newest_completed_backup_covering_the_namespace_is_the_good_one() {
    let v = velero();
    assert_eq!(v.newest_completed("shop").unwrap().name, "star-3");
    assert_eq!(v.newest_completed("cart").unwrap().name, "other-4");
    assert_eq!(v.newest_failed("shop").unwrap().name, "shop-5");
    assert_eq!(v.newest_failed("cart"), None, "cart's newest is good");
}

#[test]
fn the_last_completed_restore_of_a_backup_of_the_namespace_is_the_tested_one() {
    let mut v = velero();
    assert_eq!(v.last_tested_restore("shop").unwrap().name, "drill-old");
    assert_eq!(v.last_tested_restore("cart").unwrap().name, "drill-cart");
    // Its backup expired: what the restore itself names.
    v.backups.retain(|b| b.name != "shop-2");
    assert_eq!(v.last_tested_restore("shop"), None);
    v.restores[0].included_namespaces = vec!["shop".into()];
    assert_eq!(v.last_tested_restore("shop").unwrap().name, "drill-old");
}

fn state() -> VeleroState {
    let mut state = VeleroState {
        velero: velero(),
        ..VeleroState::default()
    };
    state.listed(at("2026-12-05T03:00:00Z"));
    state
}

#[test]
fn the_status_of_a_namespace_says_what_is_wrong_with_its_way_back() {
    let now = at("2026-12-05T03:00:30Z");
    let status = VeleroStatus::of(&state(), "shop", Duration::days(30), now).unwrap();
    assert_eq!(
        status.alarms,
        ["velero: newest backup shop-5 is PartiallyFailed: timed out"]
    );
    assert_eq!(status.schedules.len(), 1);
    let strict = VeleroStatus::of(&state(), "shop", Duration::days(1), now).unwrap();
    assert_eq!(
        strict.alarms[0],
        "velero: no restore of shop tested in the last 24 h: last tested 41 h ago"
    );
    let mut none = state();
    none.velero.restores.clear();
    let status = VeleroStatus::of(&none, "cart", Duration::days(30), now).unwrap();
    assert_eq!(
        status.alarms,
        ["velero: no restore of cart tested in the last 30 days: none ever completed"]
    );
}

#[test]
fn without_velero_or_a_backup_of_the_namespace_there_is_no_part() {
    let now = at("2026-12-05T03:00:30Z");
    let nothing = VeleroState::default();
    assert_eq!(
        VeleroStatus::of(&nothing, "shop", Duration::days(30), now),
        None
    );
    let mut state = state();
    state.velero.schedules.clear();
    state
        .velero
        .backups
        .retain(|b| b.namespaces.included == ["cart"]);
    assert_eq!(
        VeleroStatus::of(&state, "shop", Duration::days(30), now),
        None
    );
}

#[test]
fn a_forbidden_list_is_an_error_with_its_age_and_no_alarm() {
    let mut state = VeleroState::default();
    let since = at("2026-12-05T03:00:00Z");
    state.health("backups", Some("403 Forbidden".into()), since);
    state.health(
        "backups",
        Some("403 Forbidden".into()),
        since + Duration::minutes(1),
    );
    let status = VeleroStatus::of(&state, "shop", Duration::days(30), since).unwrap();
    assert_eq!(
        status.error.as_deref(),
        Some(
            "cannot list velero backups: forbidden (403 Forbidden); ask for get, list and \
             watch on velero.io backups, restores and schedules in namespace velero"
        )
    );
    assert_eq!(status.failing_since, Some(since));
    assert!(status.alarms.is_empty());
    state.health("backups", None, since + Duration::minutes(2));
    assert_eq!(state.error(), None);
}
