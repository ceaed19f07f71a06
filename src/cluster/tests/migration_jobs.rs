//! Migration phases read from labelled Jobs.

use crate::cluster::migration_jobs::migration_of;
use crate::model::Kind;
use crate::model::migration::{PhaseName, PhaseState, RollbackSafety, rollback_safety};
use crate::test_support::fixture::{ARGO_BLUE_GREEN, Fixture, at};
use crate::test_support::migration_jobs::{CONTRACT, JOBS};

#[test]
fn phases_follow_the_jobs_of_the_release_and_no_other() {
    let fixture = Fixture::load(&[ARGO_BLUE_GREEN, JOBS]);
    let release = fixture.release(Kind::Rollout, "payments");
    let m = release.migration.as_ref().expect("payments has Jobs");
    assert_eq!(m.name, "add_display_name");
    let state = |p| m.phase(p).unwrap().state;
    assert_eq!(state(PhaseName::Expand), PhaseState::Done);
    assert_eq!(state(PhaseName::Backfill), PhaseState::Running);
    assert_eq!(state(PhaseName::Switch), PhaseState::Pending);
    assert_eq!(state(PhaseName::Contract), PhaseState::Pending);
    let expand = m.phase(PhaseName::Expand).unwrap();
    assert_eq!(expand.finished, Some(at("2026-11-23T13:55:00Z")));
    assert_eq!(expand.evidence, "Job payments-add-display-name-expand");
    assert_eq!(rollback_safety(m, None), RollbackSafety::Safe);
}

#[test]
fn a_completed_contract_makes_the_old_revision_unsafe() {
    let fixture = Fixture::load(&[ARGO_BLUE_GREEN, JOBS, CONTRACT]);
    let release = fixture.release(Kind::Rollout, "payments");
    let objects = fixture.objects();
    let m = migration_of(&crate::cluster::Index::new(&objects), &release).unwrap();
    assert_eq!(
        m.phase(PhaseName::Contract).unwrap().state,
        PhaseState::Done
    );
    assert_eq!(
        rollback_safety(&m, None),
        RollbackSafety::Unsafe(
            "contract of add_display_name done at 14:02: the previous schema version is gone"
                .into()
        )
    );
}

#[test]
fn a_release_without_jobs_has_no_migration() {
    let fixture = Fixture::load(&[ARGO_BLUE_GREEN]);
    assert!(
        fixture
            .release(Kind::Rollout, "payments")
            .migration
            .is_none()
    );
}
