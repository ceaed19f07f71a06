//! A fleet of two on one screen: the list with its CLUSTER column, and
//! the header with one cluster's watches down.

use super::*;
use cutover::app::member::Member;

/// `eu` and `us` listing the same shop; `eu`'s watches refused for the
/// last 2 minutes.
pub fn fleet_down_state() -> State {
    let mut state = State::new(now(), false, Keymap::default());
    state.home = Member::new("eu", 0, now());
    state.more.push(Member::new("us", 1, now()));
    state.epoch = 1;
    connect(&mut state, 0, "prod-eu", fixture_objects());
    connect(&mut state, 1, "prod-us", fixture_objects());
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
