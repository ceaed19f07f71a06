//! What the sinks send, made from an alert: the webhook bodies (the
//! generic JSON and Slack's), the command's argv and environment, and the
//! terminal's bell and notification. Pure.

use crate::config::alerts::Notification;
use crate::model::alert::Alert;
use serde_json::{Value, json};

const ESC: char = '\x1b';
const BEL: char = '\x07';

/// The generic JSON body, version 1: see the README's Alerts section.
pub fn json_body(alert: &Alert) -> Value {
    let release = alert.key.release.as_ref();
    json!({
        "version": 1,
        "source": "cutover",
        "state": alert.state.word(),
        "condition": alert.key.condition.word(),
        "context": alert.key.context,
        "namespace": release.map(|r| &r.namespace),
        "release": release.map(|r| &r.name),
        "kind": release.map(|r| r.kind.word()),
        "title": alert.title(),
        "summary": alert.summary,
        "figures": alert.figures,
        "since": alert.since.to_rfc3339(),
        "time": alert.at.to_rfc3339(),
        "reminder": alert.reminder,
    })
}

/// A Slack incoming webhook's body: `text` for notifications, `blocks`
/// for the message.
pub fn slack_body(alert: &Alert) -> Value {
    let mark = match alert.state {
        crate::model::alert::AlertState::Firing => ":rotating_light:",
        crate::model::alert::AlertState::Resolved => ":white_check_mark:",
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": alert.title()}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("{mark} {}", slack_escape(&alert.body()))}}),
    ];
    if !alert.figures.is_empty() {
        let fields: Vec<Value> = alert
            .figures
            .iter()
            .map(|f| {
                let value = number(f.value);
                let text = match f.baseline {
                    Some(b) => format!("*{}*\n{value} (baseline {})", f.name, number(Some(b))),
                    None => format!("*{}*\n{value}", f.name),
                };
                json!({"type": "mrkdwn", "text": slack_escape(&text)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let context = format!(
        "{} · {} · since {}",
        alert.state.word(),
        alert.key.condition.word(),
        alert.since.format("%Y-%m-%d %H:%M:%S UTC")
    );
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    let text = slack_escape(&format!("{}: {}", alert.title(), alert.body()));
    json!({"text": text, "blocks": blocks})
}

fn number(v: Option<f64>) -> String {
    v.map_or("no data".into(), |v| format!("{v}"))
}

/// Slack's three reserved characters.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` with every control character (escape, bell, newline …) made a
/// space, so nothing in it can end or start a terminal sequence.
pub fn sanitized(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The bell, then the desktop notification, for the terminal; wrapped for
/// tmux's passthrough when inside tmux, which then hands it to the
/// terminal around it (`allow-passthrough on`). The bell is tmux's own:
/// it marks the window.
pub fn terminal_bytes(alert: &Alert, notification: Notification, in_tmux: bool) -> Vec<u8> {
    let title = sanitized(&alert.title());
    let body = sanitized(&alert.body());
    let sequence = match notification {
        // `;` separates OSC 777's fields: none may hold one.
        Notification::Osc777 => format!(
            "{ESC}]777;notify;{};{}{BEL}",
            title.replace(';', ","),
            body.replace(';', ",")
        ),
        Notification::Osc9 => format!("{ESC}]9;{title}: {body}{BEL}"),
    };
    let sequence = if in_tmux {
        let doubled = sequence.replace(ESC, &format!("{ESC}{ESC}"));
        format!("{ESC}Ptmux;{doubled}{ESC}\\")
    } else {
        sequence
    };
    format!("{BEL}{sequence}").into_bytes()
}

/// The values of the placeholders, by name.
pub fn placeholders(alert: &Alert) -> Vec<(&'static str, String)> {
    let release = alert.key.release.as_ref();
    vec![
        ("title", alert.title()),
        ("body", alert.body()),
        (
            "release",
            release.map(|r| r.name.clone()).unwrap_or_default(),
        ),
        (
            "namespace",
            release.map(|r| r.namespace.clone()).unwrap_or_default(),
        ),
        ("context", alert.key.context.clone()),
        ("condition", alert.key.condition.word().to_string()),
        ("state", alert.state.word().to_string()),
    ]
}

/// The command's argv with the placeholders filled, in one pass: a value
/// holding `{body}` is not filled again.
pub fn command_argv(argv: &[String], alert: &Alert) -> Vec<String> {
    let values = placeholders(alert);
    argv.iter().map(|arg| fill(arg, &values)).collect()
}

fn fill(arg: &str, values: &[(&'static str, String)]) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    'scan: while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        for (name, value) in values {
            if let Some(after) = rest
                .strip_prefix('{')
                .and_then(|r| r.strip_prefix(name))
                .and_then(|r| r.strip_prefix('}'))
            {
                out.push_str(value);
                rest = after;
                continue 'scan;
            }
        }
        out.push('{');
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

/// The command's environment: `CUTOVER_ALERT_TITLE` and the others.
pub fn command_env(alert: &Alert) -> Vec<(String, String)> {
    placeholders(alert)
        .into_iter()
        .map(|(name, value)| (format!("CUTOVER_ALERT_{}", name.to_uppercase()), value))
        .collect()
}

#[cfg(test)]
mod tests;
