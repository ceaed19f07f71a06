//! The bodies as receivers see them, the terminal's bytes, and the
//! command's argv and environment.

use super::*;
use crate::model::alert::AlertState;

fn alert(state: AlertState) -> Alert {
    crate::model::alert::example(state)
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

#[test]
fn the_json_body() {
    insta::assert_snapshot!(
        "json_firing",
        pretty(&json_body(&alert(AlertState::Firing)))
    );
    insta::assert_snapshot!(
        "json_resolved",
        pretty(&json_body(&alert(AlertState::Resolved)))
    );
}

#[test]
fn the_slack_body() {
    insta::assert_snapshot!(
        "slack_firing",
        pretty(&slack_body(&alert(AlertState::Firing)))
    );
}

#[test]
fn control_characters_cannot_reach_the_terminal_and_semicolons_cannot_split_osc_777() {
    let mut a = alert(AlertState::Firing);
    a.summary = "evil\x1b]0;pwned\x07 text; more\nline".into();
    let bytes = String::from_utf8(terminal_bytes(&a, Notification::Osc777, false)).unwrap();
    assert_eq!(
        bytes,
        "\x07\x1b]777;notify;cutover: canary verdict Fail: checkout;prod-eu shop/checkout (Rollout): evil ]0,pwned  text, more line\x07"
    );
    let osc9 = String::from_utf8(terminal_bytes(&a, Notification::Osc9, false)).unwrap();
    assert!(osc9.starts_with("\x07\x1b]9;cutover: canary verdict Fail: checkout: prod-eu"));
    assert!(osc9.contains("text; more line\x07"));
    assert_eq!(osc9.matches('\x1b').count(), 1);
}

#[test]
fn inside_tmux_the_notification_is_passed_through_with_its_escapes_doubled() {
    let bytes = terminal_bytes(&alert(AlertState::Resolved), Notification::Osc9, true);
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(
        text,
        "\x07\x1bPtmux;\x1b\x1b]9;cutover resolved: canary verdict Fail: checkout: prod-eu shop/checkout (Rollout): Fail: error ratio 3.1% against 0.2% <gate>\x07\x1b\\"
    );
}

#[test]
fn placeholders_are_filled_once_and_others_left_as_written() {
    let mut a = alert(AlertState::Firing);
    a.summary = "a {state} in the summary".into();
    let argv: Vec<String> = [
        "notify",
        "{title}",
        "--ns={namespace}/{release}",
        "{body}",
        "{nope} {",
        "{context}:{condition}:{state}",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        command_argv(&argv, &a),
        [
            "notify",
            "cutover: canary verdict Fail: checkout",
            "--ns=shop/checkout",
            "prod-eu shop/checkout (Rollout): a {state} in the summary",
            "{nope} {",
            "prod-eu:canary-fail:firing",
        ]
    );
    let env = command_env(&a);
    assert!(env.contains(&("CUTOVER_ALERT_STATE".into(), "firing".into())));
    assert!(env.contains(&("CUTOVER_ALERT_NAMESPACE".into(), "shop".into())));
    assert_eq!(env.len(), 7);
}
