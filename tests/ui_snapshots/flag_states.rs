//! The states of the flag snapshots: FeatureFlag resources beside the
//! shop's releases, as the watch delivers them.

use super::metrics_states::{failing_canary, measured, with_prometheus};
use super::*;

/// Where the flags panel begins.
pub const FLAGS_TITLE: &str = "── Flags";

/// checkout's flag opened to 20% three minutes before the snapshots'
/// clock; a flag shared by search and checkout, off; payments' flag on,
/// behind a rule, changed an hour and a half before.
const FLAGS: &str = r#"
apiVersion: core.openfeature.dev/v1beta1
kind: FeatureFlag
metadata:
  name: checkout-flags
  namespace: shop
  uid: 0a1b2c3d-00f1-4000-8000-000000000001
  resourceVersion: "48300"
  creationTimestamp: "2025-03-14T21:00:00Z"
  labels: {app.kubernetes.io/name: checkout}
  managedFields:
    - {manager: kubectl-patch, operation: Update, apiVersion: core.openfeature.dev/v1beta1, time: "2025-03-14T21:27:00Z", fieldsType: FieldsV1, fieldsV1: {}}
spec:
  flagSpec:
    flags:
      new-checkout-flow:
        state: ENABLED
        variants: {"on": true, "off": false}
        defaultVariant: "off"
        targeting:
          fractional:
            - {var: targetingKey}
            - ["on", 20]
            - ["off", 80]
---
apiVersion: core.openfeature.dev/v1beta1
kind: FeatureFlag
metadata:
  name: search-flags
  namespace: shop
  uid: 0a1b2c3d-00f3-4000-8000-000000000001
  resourceVersion: "47990"
  creationTimestamp: "2025-03-10T08:00:00Z"
  labels: {app.kubernetes.io/name: search, cutover.dev/release: checkout}
  managedFields:
    - {manager: kubectl-client-side-apply, operation: Update, apiVersion: core.openfeature.dev/v1beta1, time: "2025-03-10T08:00:00Z", fieldsType: FieldsV1, fieldsV1: {}}
spec:
  flagSpec:
    flags:
      ranking-v2:
        state: DISABLED
        variants: {"v1": "bm25", "v2": "learned"}
        defaultVariant: v1
---
apiVersion: core.openfeature.dev/v1beta1
kind: FeatureFlag
metadata:
  name: payments-flags
  namespace: shop
  uid: 0a1b2c3d-00f2-4000-8000-000000000001
  resourceVersion: "48120"
  creationTimestamp: "2025-03-14T19:00:00Z"
  labels: {cutover.dev/release: payments}
  managedFields:
    - {manager: kubectl-client-side-apply, operation: Update, apiVersion: core.openfeature.dev/v1beta1, time: "2025-03-14T20:00:00Z", fieldsType: FieldsV1, fieldsV1: {}}
spec:
  flagSpec:
    flags:
      display-name-writes:
        state: ENABLED
        variants: {"on": true, "off": false}
        defaultVariant: "off"
        targeting:
          if:
            - {"in": [{var: email}, ["ops@shop.example"]]}
            - "on"
"#;

/// The shop with its flags, checkout highlighted and its actions allowed.
pub fn list_flags_state() -> State {
    let mut objects = fixture_objects();
    objects.extend(objects_of(FLAGS));
    let mut state = connected(objects);
    select(&mut state, "checkout");
    allow(&mut state);
    state
}

/// checkout's detail, with its flags.
pub fn detail_flags_state() -> State {
    let mut state = list_flags_state();
    press(&mut state, "enter");
    assert_eq!(state.view, View::Detail(key(Kind::Rollout, "checkout")));
    state
}

/// The kill switch on checkout, its second option chosen: serve "on" by
/// default instead of turning the flag off.
pub fn confirm_kill_switch_state() -> State {
    let mut state = list_flags_state();
    press(&mut state, "K");
    press(&mut state, "down");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("K opens a confirmation: {:?}", state.last_result);
    };
    assert!(c.plan.flag.is_some(), "{:?}", c.plan);
    state
}

/// checkout failing its metrics three minutes after its flag was opened:
/// the flag's kill switch is recommended before an abort.
pub fn list_flag_suspect_state() -> State {
    let mut state = list_flags_state();
    with_prometheus(&mut state);
    measured(&mut state, "checkout", failing_canary());
    state
}

/// checkout also naming `new-checkout-flow` in its `cutover.dev/flags`
/// annotation, the context reading Unleash (project default, environment
/// production), where that flag is on at 20%, changed ten minutes before.
fn beside_unleash() -> State {
    let mut objects = fixture_objects();
    objects.extend(objects_of(FLAGS));
    for object in &mut objects {
        let is_checkout = object.types.as_ref().is_some_and(|t| t.kind == "Rollout")
            && object.metadata.name.as_deref() == Some("checkout");
        if is_checkout {
            object
                .metadata
                .annotations
                .get_or_insert_default()
                .insert("cutover.dev/flags".into(), "new-checkout-flow".into());
        }
    }
    let mut state = connected(objects);
    let source = cutover::unleash::UnleashSource {
        url: "http://127.0.0.1:4242/".parse().expect("url"),
        project: "default".into(),
        environment: "production".into(),
        token: cutover::unleash::Token::new("not shown"),
    };
    let flag = cutover::unleash::UnleashFlag {
        name: "new-checkout-flow".into(),
        enabled: Some(true),
        rollout: Some(20.0),
        changed_at: Some(now() - chrono::Duration::minutes(10)),
        definition: serde_json::json!({"enabled": true}),
    };
    let epoch = state.home.epoch;
    update(
        &mut state,
        Msg::Unleash {
            epoch,
            source: "Unleash default/production".into(),
            result: Ok(vec![
                flag.to_flag(&source, cutover::model::flag::FlagLink::Annotation),
            ]),
            at: now(),
        },
    );
    select(&mut state, "checkout");
    allow(&mut state);
    state
}

/// checkout's detail with its flags from both sources.
pub fn detail_unleash_state() -> State {
    let mut state = beside_unleash();
    press(&mut state, "enter");
    state
}

/// The kill switch on checkout, its Unleash flag chosen.
pub fn confirm_unleash_kill_switch_state() -> State {
    let mut state = beside_unleash();
    press(&mut state, "K");
    press(&mut state, "down");
    press(&mut state, "down");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("K opens a confirmation: {:?}", state.last_result);
    };
    assert!(
        c.plan
            .flag
            .as_ref()
            .is_some_and(|f| f.unleash_request().is_some()),
        "{:?}",
        c.plan
    );
    state
}
