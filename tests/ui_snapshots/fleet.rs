//! A fleet on one screen: the list with its CLUSTER column, the header
//! with one cluster's watches down, and the wave view.

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
    pause_us_checkout(&mut state);
    state
}

/// Pausing checkout of `us`, whose context asks for its name typed: the
/// release's name typed instead, and Enter pressed.
pub fn fleet_confirm_typed_state() -> State {
    let mut state = fleet();
    state.typed_contexts.insert("prod-us".into());
    pause_us_checkout(&mut state);
    type_text(&mut state, "checkout");
    press(&mut state, "enter");
    state
}

/// Highlights checkout of `us` and presses `p`, its reviews allowed.
fn pause_us_checkout(state: &mut State) {
    for _ in 0..state.releases.len() {
        let at_us_checkout = state
            .selected
            .as_ref()
            .is_some_and(|k| k.name == "checkout" && k.cluster == "us");
        if at_us_checkout {
            break;
        }
        press(state, "j");
    }
    allow(state);
    press(state, "p");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("p opens a confirmation: {:?}", state.last_result);
    };
    assert_eq!(
        (c.key.name.as_str(), c.key.cluster.as_str()),
        ("checkout", "us")
    );
}

/// `eu` and `us` listing the same shop; `eu`'s watches refused for the
/// last 2 minutes.
pub fn fleet_down_state() -> State {
    let mut state = fleet();
    watches_down(&mut state, 0);
    state
}

/// The watches of connection `epoch` refused for the last 2 minutes.
fn watches_down(state: &mut State, epoch: u64) {
    let failed = WatchedKind::ALL.map(|kind| SourceUpdate::Health {
        source: kind.plural().to_string(),
        error: Some("connection refused".into()),
        at: before_now(120),
    });
    update(
        state,
        Msg::Source {
            epoch,
            updates: failed.into(),
        },
    );
    update(state, Msg::Tick(now()));
}

/// The wave view of `eu`, `us` (which has no cart) and `ap` (its watches
/// refused for 2 minutes), the cursor on checkout of us.
pub fn wave_state() -> State {
    let mut state = State::new(now(), false, Keymap::default());
    state.home = Member::new("eu", 0, now());
    state.more.push(Member::new("us", 1, now()));
    state.more.push(Member::new("ap", 2, now()));
    state.epoch = 2;
    connect(&mut state, 0, "prod-eu", fixture_objects());
    let without_cart = fixture_objects()
        .into_iter()
        .filter(|o| {
            let kind = o.types.as_ref().map_or("", |t| t.kind.as_str());
            !(kind == "Deployment" && o.metadata.name.as_deref() == Some("cart"))
        })
        .collect();
    connect(&mut state, 1, "prod-us", without_cart);
    connect(&mut state, 2, "prod-ap", fixture_objects());
    watches_down(&mut state, 2);
    press(&mut state, "w");
    for _ in 0..state.releases.len() {
        let at = state.wave.as_ref().expect("the wave view is shown");
        if at.name == "checkout" {
            break;
        }
        press(&mut state, "j");
    }
    // Wherever it was, the first cluster, then the second.
    for key in ["h", "h", "l"] {
        press(&mut state, key);
    }
    let at = state.wave.as_ref().expect("the wave view is shown");
    assert_eq!((at.name.as_str(), at.cluster.as_str()), ("checkout", "us"));
    state
}
