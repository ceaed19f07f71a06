//! The session around the data: the scope on screen from the start of a
//! connection, and the end when the terminal is gone.

use super::{press, press_code, room, rows, t, type_text};
use crate::app::keymap::Keymap;
use crate::app::state::{State, TerminalLoss};
use crate::app::update::{Msg, update};
use crossterm::event::KeyCode;

/// The top row of a 120-column screen.
fn header(state: &State) -> String {
    rows(state, 120).swap_remove(0)
}

fn command(state: &mut State, line: &str) {
    press(state, ':');
    type_text(state, line);
    press_code(state, KeyCode::Enter);
}

fn connecting(epoch: u64, context: &str, namespace: Option<&str>) -> Msg {
    Msg::Connecting {
        epoch,
        context: context.into(),
        namespace: namespace.map(str::to_string),
        at: t(0),
    }
}

#[test]
fn the_header_names_the_scope_asked_for_while_connecting() {
    let mut state = State::new(t(0), false, Keymap::default());
    update(&mut state, connecting(0, "prod", Some("shop")));
    let top = header(&state);
    assert!(
        top.contains("ctx prod │ ns shop") && top.contains("connecting"),
        "{top}"
    );

    let mut state = room(false);
    command(&mut state, "ns payments");
    let top = header(&state);
    assert!(
        top.contains("ns payments") && top.contains("connecting"),
        "{top}"
    );
    command(&mut state, "ns all");
    assert!(header(&state).contains("ns all"), "{}", header(&state));

    // Another context: its namespace comes from the kubeconfig, with the
    // connection; the old context's user is forgotten.
    command(&mut state, "ctx staging");
    let epoch = state.epoch;
    update(&mut state, connecting(epoch, "staging", Some("default")));
    let top = header(&state);
    assert!(top.contains("ctx staging │ ns default │ user ?"), "{top}");
    update(&mut state, connecting(0, "prod", Some("shop")));
    assert!(
        header(&state).contains("ctx staging"),
        "an old connection's news is ignored"
    );
}

#[test]
fn a_lost_terminal_quits_and_says_why() {
    let mut state = room(false);
    let out = update(
        &mut state,
        Msg::TerminalLost {
            loss: TerminalLoss::HungUp,
            at: t(5),
        },
    );
    assert!(out.effects.is_empty());
    assert!(state.quit);
    assert_eq!(state.terminal_lost, Some(TerminalLoss::HungUp));
    assert_eq!(TerminalLoss::HungUp.to_string(), "the terminal hung up");
}
