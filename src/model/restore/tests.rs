use super::*;

/// Captured from pgBackRest 2.45: a full backup annotated
/// `restore-tested=2026-12-01T10:00:00Z`, then an incremental one.
const INFO: &str = include_str!("../../../tests/fixtures/pgbackrest-info.json");
/// The same repository with its stanza folder gone.
const MISSING_STANZA: &str =
    include_str!("../../../tests/fixtures/pgbackrest-info-missing-stanza.json");

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn reads_the_backups_the_tool_printed() {
    let repo = Repository::parse_pgbackrest(INFO).unwrap();
    assert_eq!(repo.stanzas.len(), 1);
    let stanza = &repo.stanzas[0];
    assert_eq!(stanza.name, "main");
    assert_eq!(stanza.problem, None);
    let labels: Vec<_> = stanza
        .backups
        .iter()
        .map(|b| (&*b.label, &*b.kind))
        .collect();
    assert_eq!(
        labels,
        [
            ("20261205-022053F", "full"),
            ("20261205-022053F_20261205-022058I", "incr")
        ]
    );
    assert_eq!(stanza.backups[0].stopped, at("2026-12-05T02:20:57Z"));
    assert_eq!(stanza.backups[0].started, at("2026-12-05T02:20:53Z"));
}

#[test]
fn the_newest_good_backup_and_the_one_before_a_time() {
    let repo = Repository::parse_pgbackrest(INFO).unwrap();
    assert_eq!(
        repo.newest_good().unwrap().label,
        "20261205-022053F_20261205-022058I"
    );
    let before = repo.newest_good_before(at("2026-12-05T02:20:59Z")).unwrap();
    assert_eq!(before.label, "20261205-022053F");
    assert!(
        repo.newest_good_before(at("2026-12-05T02:20:57Z"))
            .is_none()
    );
    assert!(repo.newest_failed().is_none());
}

#[test]
fn the_pitr_window_runs_from_the_oldest_wal_to_the_newest() {
    let repo = Repository::parse_pgbackrest(INFO).unwrap();
    assert_eq!(
        repo.pitr_window(),
        Some(PitrWindow {
            oldest_wal: "000000010000000000000001".into(),
            newest_wal: "000000010000000000000004".into(),
            reaches_at_least: Some(at("2026-12-05T02:21:00Z")),
        })
    );
}

#[test]
fn the_last_tested_restore_is_the_newest_annotation() {
    let mut repo = Repository::parse_pgbackrest(INFO).unwrap();
    assert_eq!(repo.last_tested_restore(), Some(at("2026-12-01T10:00:00Z")));
    repo.stanzas[0].backups[1].restore_tested = Some(at("2026-12-03T08:00:00Z"));
    assert_eq!(repo.last_tested_restore(), Some(at("2026-12-03T08:00:00Z")));
}

#[test]
fn an_annotation_that_is_not_a_time_is_kept_as_written_not_counted() {
    let text = INFO.replace("2026-12-01T10:00:00Z", "last tuesday");
    let repo = Repository::parse_pgbackrest(&text).unwrap();
    assert_eq!(repo.last_tested_restore(), None);
    assert_eq!(
        repo.stanzas[0].backups[0]
            .unreadable_restore_tested
            .as_deref(),
        Some("last tuesday")
    );
}

#[test]
fn a_failed_newest_backup_is_seen() {
    let text = INFO.replace("\"error\":false", "\"error\":true");
    let repo = Repository::parse_pgbackrest(&text).unwrap();
    assert_eq!(
        repo.newest_failed().unwrap().label,
        "20261205-022053F_20261205-022058I"
    );
    assert!(repo.newest_good().is_none());
}

#[test]
fn a_broken_repository_says_what_is_wrong() {
    let repo = Repository::parse_pgbackrest(MISSING_STANZA).unwrap();
    assert_eq!(repo.problems(), ["main: missing stanza path (code 1)"]);
    assert!(repo.newest_good().is_none());
    assert!(repo.pitr_window().is_none());
}

#[test]
fn garbage_is_an_error_never_an_empty_repository() {
    for text in ["nope\n", "", "{}", "[{\"name\": \"main\"}]", "[]"] {
        let e = Repository::parse_pgbackrest(text).unwrap_err();
        assert!(e.contains("pgbackrest info"), "{text:?}: {e}");
    }
}

#[test]
fn a_failing_source_keeps_its_last_reading_and_says_since_when() {
    let mut state = BackupsState::default();
    let repo = Repository::parse_pgbackrest(INFO).unwrap();
    state.record(Ok(repo.clone()), at("2026-12-05T03:00:00Z"));
    state.record(Err("timeout".into()), at("2026-12-05T03:01:00Z"));
    state.record(Err("timeout".into()), at("2026-12-05T03:02:00Z"));
    assert_eq!(state.repository, Some(repo));
    assert_eq!(state.read_at, Some(at("2026-12-05T03:00:00Z")));
    assert_eq!(state.failing_since, Some(at("2026-12-05T03:01:00Z")));
    state.record(
        Repository::parse_pgbackrest(INFO),
        at("2026-12-05T03:03:00Z"),
    );
    assert_eq!((state.error, state.failing_since), (None, None));
}
