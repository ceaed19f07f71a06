//! A fleet of two on one screen: the list with its CLUSTER column, and
//! the header with one cluster's watches down.

use super::*;
use cutover::app::member::Member;

/// `eu` and `us` (contexts `prod-eu`, `prod-us`) listing the same shop.
pub fn fleet() -> State {
    let mut state = State::new(now(), false, Keymap::default());
    state.home = Member::new("eu", 0, now());
    state.more.push(Member::new("us", 1, now()));
    state.epoch = 1;
    connect(&mut state, 0, "prod-eu", fixture_objects());
    connect(&mut state, 1, "prod-us", fixture_objects());
    state
}

/// Pausing checkout of `us`: the confirmation names the cluster, its
/// context and its server.
pub fn fleet_confirm_pause_state() -> State {
    let mut state = fleet();
    for _ in 0..state.releases.len() {
        let at_us_checkout = state
            .selected
            .as_ref()
            .is_some_and(|k| k.name == "checkout" && k.cluster == "us");
        if at_us_checkout {
            break;
        }
        press(&mut state, "j");
    }
    allow(&mut state);
    press(&mut state, "p");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("p opens a confirmation: {:?}", state.last_result);
    };
    assert_eq!(
        (c.key.name.as_str(), c.key.cluster.as_str()),
        ("checkout", "us")
    );
    state
}

/// `eu` and `us` listing the same shop; `eu`'s watches refused for the
/// last 2 minutes.
pub fn fleet_down_state() -> State {
    let mut state = fleet();
    let failed = WatchedKind::ALL.map(|kind| SourceUpdate::Health {
        source: kind.plural().to_string(),
        error: Some("connection refused".into()),
        at: before_now(120),
    });
    update(
        &mut state,
        Msg::Source {
            epoch: 0,
            updates: failed.into(),
        },
    );
    update(&mut state, Msg::Tick(now()));
    state
}
