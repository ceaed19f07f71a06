//! The states of the bake snapshots: cart, a Deployment updated from
//! revision 1 to 2 that finished a while ago, judged in its bake window
//! on hand-picked figures (one sample a minute from its completion).

use super::*;
use cutover::model::bake::{BakeFigures, SloFigures};
use cutover::model::metrics::Unit;

/// Where the bake panel begins.
pub const BAKE_TITLE: &str = "── Bake window";

/// cart's revision 1, scaled down when revision 2 finished.
const CART_REVISION_1: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: cart-6c5b4a3d2e
  namespace: shop
  uid: 0a1b2c3d-0005-4000-8000-000000000012
  creationTimestamp: "2025-01-20T10:00:00Z"
  labels: {app: cart, pod-template-hash: 6c5b4a3d2e}
  annotations: {deployment.kubernetes.io/revision: "1"}
  ownerReferences:
    - {apiVersion: apps/v1, kind: Deployment, name: cart, uid: 0a1b2c3d-0005-4000-8000-000000000001, controller: true, blockOwnerDeletion: true}
spec:
  replicas: 0
  template:
    metadata: {labels: {app: cart, pod-template-hash: 6c5b4a3d2e}}
    spec:
      containers: [{name: cart, image: registry.example/shop/cart:4.0.0}]
status: {replicas: 0}
"#;

/// The shop, cart having finished its update `minutes_ago`.
fn cart_finished(minutes_ago: i64) -> State {
    let finished = (now() - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
    let mut objects = fixture_objects();
    for o in &mut objects {
        let name = o.metadata.name.as_deref().unwrap_or_default();
        if name == "cart" || name == "cart-5d4f8b7c9a" {
            let annotations = o.metadata.annotations.get_or_insert_default();
            annotations.insert("deployment.kubernetes.io/revision".into(), "2".into());
        }
        if name == "cart" && o.data["status"]["conditions"].is_array() {
            o.data["status"]["conditions"][1]["lastUpdateTime"] = finished.clone().into();
        }
    }
    objects.extend(objects_of(CART_REVISION_1));
    let mut state = connected(objects);
    let source = MetricsSource {
        description: "Prometheus http://prometheus.monitoring:9090".into(),
        profile: Profile::Generic,
        warning: None,
        bake: Default::default(),
    };
    update(
        &mut state,
        Msg::MetricsSource {
            epoch: 0,
            source: Ok(source),
            at: now(),
        },
    );
    state
}

/// cart's figures: its error ratios, one a minute from the completion,
/// against a previous 0.3%; p95 130 ms against a previous 140 ms.
fn read(state: &mut State, errors: &[f64]) {
    let release = state
        .releases
        .iter()
        .find(|r| r.key.name == "cart")
        .expect("cart");
    let completion = release.completion.clone().expect("cart finished");
    let key = release.key.clone();
    let start = completion.at;
    let samples = |values: Vec<f64>| -> Vec<(DateTime<Utc>, f64)> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (start + chrono::Duration::minutes(i as i64), v))
            .collect()
    };
    let figures = BakeFigures {
        source: "Prometheus http://prometheus.monitoring:9090".into(),
        measured_at: now(),
        completion,
        slos: vec![
            SloFigures {
                metric: "error_ratio".into(),
                label: "error ratio".into(),
                unit: Unit::Ratio,
                before: Some(0.003),
                samples: samples(errors.to_vec()),
            },
            SloFigures {
                metric: "p95_latency".into(),
                label: "p95 latency".into(),
                unit: Unit::Milliseconds,
                before: Some(140.0),
                samples: samples(vec![130.0; errors.len()]),
            },
        ],
        errors: Vec::new(),
    };
    update(
        state,
        Msg::BakeFigures {
            epoch: 0,
            key,
            figures: Box::new(figures),
            at: now(),
        },
    );
}

fn cart_selected(mut state: State) -> State {
    select(&mut state, "cart");
    allow(&mut state);
    state
}

/// cart 12 minutes into its 30-minute bake, every SLO held.
pub fn list_baking_state() -> State {
    let mut state = cart_finished(12);
    read(&mut state, &[0.002; 13]);
    cart_selected(state)
}

/// cart's error ratio at 3.1% from minute 4 on: breached for 8 minutes.
fn breached() -> State {
    let mut state = cart_finished(12);
    let mut errors = vec![0.002; 4];
    errors.extend([0.031; 9]);
    read(&mut state, &errors);
    cart_selected(state)
}

/// The list with cart's breach: its attention mark, and the undo
/// recommended for it.
pub fn list_bake_breached_state() -> State {
    breached()
}

pub fn bake_baking_state() -> State {
    let mut state = list_baking_state();
    press(&mut state, "enter");
    state
}

pub fn bake_breached_state() -> State {
    let mut state = breached();
    press(&mut state, "enter");
    state
}

/// cart 40 minutes after it finished: the 30-minute window held.
pub fn bake_baked_state() -> State {
    let mut state = cart_finished(40);
    read(&mut state, &[0.002; 31]);
    let mut state = cart_selected(state);
    press(&mut state, "enter");
    state
}

#[test]
fn a_breach_is_an_attention_the_board_gives_room_to() {
    let state = list_bake_breached_state();
    let cart = state
        .releases
        .iter()
        .find(|r| r.key.name == "cart")
        .expect("cart");
    assert!(
        matches!(
            cart.attention.as_slice(),
            [cutover::model::Attention::SloBreached(m)] if m.starts_with("error ratio 3.1% above its limit 1%")
        ),
        "{:?}",
        cart.attention
    );
    assert!(
        cutover::app::board::in_flight(cart),
        "a Healthy release with a breach is in flight"
    );
    let baking = list_baking_state();
    let cart = baking
        .releases
        .iter()
        .find(|r| r.key.name == "cart")
        .expect("cart");
    assert!(cart.attention.is_empty() && !cutover::app::board::in_flight(cart));
}
