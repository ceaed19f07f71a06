use super::*;
use crate::model::restore::Stanza;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn backup(label: &str, stopped: &str, tested: Option<&str>) -> Backup {
    Backup {
        label: label.into(),
        kind: "full".into(),
        started: at(stopped) - Duration::minutes(4),
        stopped: at(stopped),
        error: false,
        restore_tested: tested.map(at),
        unreadable_restore_tested: None,
    }
}

fn state(backups: Vec<Backup>) -> BackupsState {
    let mut state = BackupsState::default();
    let repo = Repository {
        stanzas: vec![Stanza {
            name: "main".into(),
            problem: None,
            archives: Vec::new(),
            backups,
        }],
    };
    state.record(Ok(repo), at("2026-12-04T05:31:00Z"));
    state
}

/// Expand done at 01:00, contract begun at 05:14.
fn contracted() -> Migration {
    let mut m = Migration::new("drop_legacy");
    let expand = m.phase_mut(PhaseName::Expand).unwrap();
    expand.state = PhaseState::Done;
    expand.finished = Some(at("2026-12-04T01:00:00Z"));
    let contract = m.phase_mut(PhaseName::Contract).unwrap();
    contract.state = PhaseState::Running;
    contract.started = Some(at("2026-12-04T05:14:00Z"));
    m
}

const NOW: &str = "2026-12-04T05:40:00Z";

#[test]
fn the_way_back_names_the_backup_before_the_contract_pitr_and_the_last_test() {
    let s = state(vec![
        backup(
            "20261204-021000F",
            "2026-12-04T02:14:00Z",
            Some("2026-11-28T05:00:00Z"),
        ),
        backup("20261204-053000F", "2026-12-04T05:31:00Z", None),
    ]);
    assert_eq!(
        way_back(&s, &contracted(), at(NOW)),
        "rollback needs a restore: newest backup before the contract 20261204-021000F \
         (stop 02:14, 3 h before), no PITR window; restore last tested 6 days ago"
    );
    assert_eq!(alarms(&s, &contracted(), at(NOW)), Vec::<String>::new());
}

#[test]
fn a_contract_without_a_backup_newer_than_the_expand_is_an_alarm() {
    let s = state(vec![backup(
        "20261203-021000F",
        "2026-12-03T02:14:00Z",
        Some("2026-12-01T05:00:00Z"),
    )]);
    assert_eq!(
        alarms(&s, &contracted(), at(NOW)),
        [
            "contract begun with no good backup newer than the expand's completion (2026-12-04 01:00)"
        ]
    );
    // Before the contract, no alarm of that kind.
    assert_eq!(
        alarms(&s, &Migration::new("x"), at(NOW)),
        Vec::<String>::new()
    );
}

#[test]
fn an_old_or_missing_tested_restore_and_a_failed_backup_are_alarms() {
    let mut failed = backup("20261204-053000F", "2026-12-04T05:31:00Z", None);
    failed.error = true;
    let s = state(vec![
        backup(
            "20261204-021000F",
            "2026-12-04T02:14:00Z",
            Some("2026-10-01T05:00:00Z"),
        ),
        failed,
    ]);
    assert_eq!(
        alarms(&s, &Migration::new("x"), at(NOW)),
        [
            "no restore tested in the last 30 days: last tested 64 days ago",
            "newest backup 20261204-053000F failed",
        ]
    );
    let never = state(vec![backup("a", "2026-12-04T02:14:00Z", None)]);
    assert_eq!(
        alarms(&never, &Migration::new("x"), at(NOW)),
        ["no restore tested in the last 30 days: none ever recorded"]
    );
}

#[test]
fn an_unread_repository_says_the_way_back_cannot_be_told() {
    let mut s = BackupsState::default();
    s.record(Err("pgbackrest: no answer within 10s".into()), at(NOW));
    assert_eq!(
        way_back(&s, &contracted(), at(NOW)),
        "rollback needs a restore, and the backups cannot be read: pgbackrest: no answer within 10s"
    );
    assert_eq!(
        alarms(&s, &contracted(), at(NOW)),
        [
            "contract begun with no good backup newer than the expand's completion (2026-12-04 01:00)"
        ]
    );
}
