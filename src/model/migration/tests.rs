use super::*;
use crate::model::ReplicaSetObject;
use chrono::TimeZone;
use std::sync::Arc;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

#[test]
fn rollback_is_safe_until_the_contract_begins() {
    let mut m = Migration::new("add_display_name");
    assert_eq!(rollback_safety(&m, None), RollbackSafety::Safe);
    for name in [PhaseName::Expand, PhaseName::Backfill, PhaseName::Switch] {
        m.phase_mut(name).unwrap().state = PhaseState::Done;
    }
    assert!(m.expanded());
    assert_eq!(rollback_safety(&m, None), RollbackSafety::Safe);
    let contract = m.phase_mut(PhaseName::Contract).unwrap();
    contract.state = PhaseState::Done;
    contract.finished = Some(at(14, 2));
    assert_eq!(
        rollback_safety(&m, None),
        RollbackSafety::Unsafe(
            "contract of add_display_name done at 14:02: the previous schema version is gone"
                .into()
        )
    );
    assert_eq!(
        rollback_safety(&m, Some("add_display_name")),
        RollbackSafety::Safe,
        "a revision built for the new schema still runs"
    );
}

fn revision(number: u64, requires: Option<&str>, ready: i64) -> Revision {
    let annotations = match requires {
        Some(m) => serde_json::json!({ REQUIRES_ANNOTATION: m }),
        None => serde_json::json!({}),
    };
    Revision {
        number: Some(number),
        replica_set: format!("payments-{number}"),
        hash: format!("h{number}"),
        roles: Vec::new(),
        images: Vec::new(),
        desired: ready,
        current: ready,
        ready,
        available: ready,
        created: None,
        scale_down_at: None,
        pods: Vec::new(),
        replica_set_object: Some(ReplicaSetObject::new(Arc::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": format!("payments-{number}")},
                "spec": {"template": {"metadata": {"annotations": annotations}}},
            }))
            .expect("a ReplicaSet"),
        ))),
    }
}

#[test]
fn old_code_under_a_contract_and_new_code_before_its_expand_are_alarms() {
    let fixture = crate::test_support::fixture::Fixture::load(&[
        crate::test_support::fixture::ARGO_BLUE_GREEN,
    ]);
    let mut release = fixture.release(crate::model::Kind::Rollout, "payments");
    release.revisions = vec![
        revision(1, None, 3),
        revision(2, Some("add_display_name"), 3),
    ];
    let mut m = Migration::new("add_display_name");
    m.phase_mut(PhaseName::Expand).unwrap().state = PhaseState::Running;
    assert_eq!(
        sequencing_alarms(&release, &m),
        vec!["revision 2 needs add_display_name, whose expand is running, not done".to_string()]
    );
    m.phase_mut(PhaseName::Expand).unwrap().state = PhaseState::Done;
    assert!(
        sequencing_alarms(&release, &m).is_empty(),
        "expanded: both run"
    );
    m.phase_mut(PhaseName::Contract).unwrap().state = PhaseState::Running;
    assert_eq!(
        sequencing_alarms(&release, &m),
        vec![
            "contract of add_display_name running while revision 1 (3 ready pods) still needs the old schema"
                .to_string()
        ]
    );
    release.revisions[0].ready = 0;
    release.revisions[0].desired = 0;
    assert!(
        sequencing_alarms(&release, &m).is_empty(),
        "the old pods are gone"
    );
}

#[test]
fn the_current_phase_is_the_furthest_begun() {
    let mut m = Migration::new("add_display_name");
    assert_eq!(m.current().map(|p| p.name), Some(PhaseName::Expand));
    m.phase_mut(PhaseName::Expand).unwrap().state = PhaseState::Done;
    m.phase_mut(PhaseName::Backfill).unwrap().state = PhaseState::Running;
    assert_eq!(m.current().map(|p| p.name), Some(PhaseName::Backfill));
    m.phase_mut(PhaseName::Contract).unwrap().state = PhaseState::Failed;
    assert_eq!(m.current().map(|p| p.name), Some(PhaseName::Contract));
    assert_eq!(
        Migration {
            name: "none".into(),
            phases: Vec::new()
        }
        .current(),
        None
    );
}

#[test]
fn job_phase_labels_map_to_the_four_phases() {
    assert_eq!(PhaseName::parse("switch-writes"), Some(PhaseName::Switch));
    assert_eq!(PhaseName::parse("backfill"), Some(PhaseName::Backfill));
    assert_eq!(PhaseName::parse("cleanup"), None);
}
