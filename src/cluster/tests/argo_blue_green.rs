//! An Argo blue-green Rollout mapped to a release.

use crate::model::traffic::Weight;
use crate::model::{Attention, Health, Kind, Role, Strategy};
use crate::test_support::fixture::{ARGO_BLUE_GREEN, Fixture, at};
use serde_json::json;

#[test]
fn preview_waits_for_a_decision() {
    let r = Fixture::load(&[ARGO_BLUE_GREEN]).release(Kind::Rollout, "payments");
    assert_eq!(r.strategy, Strategy::BlueGreen);
    assert_eq!(r.health, Health::Paused);
    assert_eq!(r.step_text(), None);
    assert_eq!(r.weights.desired, Weight::Absent);
    assert_eq!(r.weights.applied, Weight::Absent);

    let roles: Vec<(Option<u64>, &[Role])> = r
        .revisions
        .iter()
        .map(|rev| (rev.number, rev.roles.as_slice()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (Some(2), &[Role::Preview][..]),
            // In the order Argo's CLI tags them: stable, then active.
            (Some(1), &[Role::Stable, Role::Active][..]),
        ]
    );
    assert_eq!(
        r.canary_image(),
        Some("registry.example/shop/payments:3.2.0")
    );
    assert_eq!(
        r.stable_image(),
        Some("registry.example/shop/payments:3.1.0")
    );

    let bg = r.blue_green.as_ref().expect("blue-green details");
    assert_eq!(bg.active_service, "payments-active");
    assert_eq!(bg.preview_service.as_deref(), Some("payments-preview"));
    assert!(!bg.auto_promotion);

    let pause = r.pause.as_ref().expect("a pause");
    assert_eq!(pause.reason, "BlueGreenPause");
    assert!(pause.needs_decision);
    assert_eq!(
        r.attention,
        vec![Attention::AwaitingDecision("BlueGreenPause".into())]
    );
}

#[test]
fn auto_promotion_seconds_make_a_timed_pause() {
    let mut fixture = Fixture::load(&[ARGO_BLUE_GREEN]);
    fixture.merge(
        "Rollout",
        "payments",
        json!({"spec": {"strategy": {"blueGreen": {"autoPromotionEnabled": null, "autoPromotionSeconds": 60}}}}),
    );
    let r = fixture.release(Kind::Rollout, "payments");
    let pause = r.pause.as_ref().expect("a pause");
    assert_eq!(pause.until, Some(at("2026-03-01T12:01:00Z")));
    assert_eq!(pause.remaining(at("2026-03-01T12:00:45Z")), Some(15));
    assert!(!pause.needs_decision);
    assert_eq!(r.attention, vec![]);
}
