//! `[alerts]` and `[contexts.NAME.alerts]`: where alerts go (the terminal,
//! a command, webhooks) and their rules. A context's fields win over the
//! top level's, field by field (its `webhook` list replaces the top
//! level's whole); the checker has dropped what cannot be used.

use super::Config;
use super::metrics::{named, parse_duration};
use crate::app::alerts::Rules;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// The bell and a desktop notification on the terminal: on by default
    /// in the control room, off on the board (`cutover watch`).
    pub terminal: Option<bool>,
    /// Which escape sequence notifies: `osc777` (the default) or `osc9`.
    pub notification: Option<String>,
    /// A program run for each alert, without a shell: its argv, with
    /// placeholders such as `{title}`.
    pub on_alert: Option<Vec<String>>,
    /// How long the command may run before it is killed; 10s by default.
    pub command_timeout: Option<String>,
    /// Data older than this is an alert; 2m by default.
    pub stale_after: Option<String>,
    /// A condition still holding is told again this often; never by
    /// default.
    pub remind_every: Option<String>,
    /// `[[alerts.webhook]]`.
    pub webhook: Option<Vec<WebhookSection>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// What the header and the log call it; else its place and host.
    pub name: Option<String>,
    /// Never printed: a webhook URL is a credential.
    pub url: Option<String>,
    /// The environment variable holding the URL.
    pub url_env: Option<String>,
    /// `json` (the default) or `slack`.
    pub format: Option<String>,
    /// Of each attempt; 10s by default.
    pub timeout: Option<String>,
}

/// The body a webhook is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Slack,
}

pub(super) const FORMATS: [(&str, BodyFormat); 2] =
    [("json", BodyFormat::Json), ("slack", BodyFormat::Slack)];

/// The desktop notification's escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notification {
    /// `ESC ] 777 ; notify ; title ; body BEL` (foot, WezTerm, rxvt, VTE).
    #[default]
    Osc777,
    /// `ESC ] 9 ; text BEL` (iTerm2, Windows Terminal, kitty, WezTerm).
    Osc9,
}

pub(super) const NOTIFICATIONS: [(&str, Notification); 2] = [
    ("osc777", Notification::Osc777),
    ("osc9", Notification::Osc9),
];

/// The placeholders of `on_alert`.
pub const PLACEHOLDERS: [&str; 7] = [
    "title",
    "body",
    "release",
    "namespace",
    "context",
    "condition",
    "state",
];

pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct CommandSink {
    pub argv: Vec<String>,
    pub timeout: Duration,
}

/// Where a webhook's URL comes from. Its Debug form names no URL.
#[derive(Clone, PartialEq)]
pub enum WebhookUrl {
    Given(String),
    Env(String),
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookUrl::Given(_) => f.write_str("Given(…)"),
            WebhookUrl::Env(name) => write!(f, "Env({name})"),
        }
    }
}

impl WebhookUrl {
    /// The URL, read now; why not, without it.
    pub fn resolve(&self) -> Result<reqwest::Url, String> {
        let text = match self {
            WebhookUrl::Given(url) => url.clone(),
            WebhookUrl::Env(name) => std::env::var(name)
                .map_err(|_| format!("the environment variable {name} is not set"))?,
        };
        web_url(&text).ok_or_else(|| "its url is not an http:// or https:// URL".to_string())
    }
}

/// `text` as an http(s) URL with a host.
pub(super) fn web_url(text: &str) -> Option<reqwest::Url> {
    reqwest::Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSink {
    /// `webhook team`, or `webhook 2 (hooks.slack.com)`: never its URL.
    pub label: String,
    pub url: WebhookUrl,
    pub format: BodyFormat,
    pub timeout: Duration,
}

/// What a context's alerts resolve to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertSettings {
    /// None: the mode's default (on in the control room, off on the board).
    pub terminal: Option<bool>,
    pub notification: Notification,
    pub command: Option<CommandSink>,
    pub webhooks: Vec<WebhookSink>,
    pub rules: Rules,
}

impl WebhookSection {
    /// The sink, or why it cannot be one. `index` counts from 1.
    pub(super) fn sink(&self, index: usize) -> Result<WebhookSink, String> {
        let url = match (&self.url, &self.url_env) {
            (Some(_), Some(_)) => return Err("give url or url_env, not both".into()),
            (None, None) => return Err("give its url, or url_env naming the variable".into()),
            (Some(url), None) => WebhookUrl::Given(url.clone()),
            (None, Some(env)) => WebhookUrl::Env(env.clone()),
        };
        let host = match &url {
            WebhookUrl::Given(text) => Some(
                web_url(text)
                    .ok_or("its url is not an http:// or https:// URL")?
                    .host_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
            WebhookUrl::Env(_) => None,
        };
        let format_name = self.format.as_deref().unwrap_or("json");
        let format = named(&FORMATS, format_name)
            .ok_or_else(|| format!("unknown format {format_name:?}"))?;
        let timeout = match &self.timeout {
            None => WEBHOOK_TIMEOUT,
            Some(t) => {
                parse_duration(t).ok_or_else(|| format!("timeout {t:?} is not a duration"))?
            }
        };
        let label = match (&self.name, host) {
            (Some(name), _) => format!("webhook {name}"),
            (None, Some(host)) => format!("webhook {index} ({host})"),
            (None, None) => format!("webhook {index}"),
        };
        Ok(WebhookSink {
            label,
            url,
            format,
            timeout,
        })
    }
}

impl Config {
    /// The alerts of `context`: its section over the top level's.
    pub fn alerts_for(&self, context: &str) -> AlertSettings {
        let top = &self.alerts;
        let ctx = self.contexts.get(context).map(|c| &c.alerts);
        let pick = |f: fn(&AlertsSection) -> &Option<String>| {
            ctx.and_then(|c| f(c).clone()).or_else(|| f(top).clone())
        };
        let duration = |f| pick(f).as_deref().and_then(parse_duration);
        let delta = |d: Duration| chrono::TimeDelta::from_std(d).ok();
        let rules = Rules {
            stale_after: duration(|a| &a.stale_after)
                .and_then(delta)
                .unwrap_or(crate::app::alerts::STALE_AFTER),
            remind_every: duration(|a| &a.remind_every).and_then(delta),
        };
        let argv = ctx
            .and_then(|c| c.on_alert.clone())
            .or_else(|| top.on_alert.clone())
            .filter(|argv| argv.first().is_some_and(|p| !p.is_empty()));
        let command = argv.map(|argv| CommandSink {
            argv,
            timeout: duration(|a| &a.command_timeout).unwrap_or(COMMAND_TIMEOUT),
        });
        let webhooks = ctx
            .and_then(|c| c.webhook.as_ref())
            .or(top.webhook.as_ref())
            .map(|list| {
                let sinks = list.iter().enumerate();
                sinks.filter_map(|(i, w)| w.sink(i + 1).ok()).collect()
            })
            .unwrap_or_default();
        AlertSettings {
            terminal: ctx.and_then(|c| c.terminal).or(top.terminal),
            notification: pick(|a| &a.notification)
                .and_then(|n| named(&NOTIFICATIONS, &n))
                .unwrap_or_default(),
            command,
            webhooks,
            rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_overrides_the_top_level_field_by_field() {
        let config: Config = toml::from_str(
            r#"
            [alerts]
            on_alert = ["notify-send", "{title}", "{body}"]
            stale_after = "5m"
            [[alerts.webhook]]
            url = "https://hooks.example/T1/secret"
            format = "slack"
            [contexts.prod.alerts]
            terminal = false
            remind_every = "1h"
            [[contexts.prod.alerts.webhook]]
            name = "oncall"
            url_env = "ONCALL_HOOK"
            "#,
        )
        .unwrap();
        let top = config.alerts_for("staging");
        assert_eq!(top.terminal, None);
        assert_eq!(top.rules.stale_after, chrono::TimeDelta::minutes(5));
        assert_eq!(top.rules.remind_every, None);
        assert_eq!(top.webhooks[0].label, "webhook 1 (hooks.example)");
        assert_eq!(top.webhooks[0].format, BodyFormat::Slack);
        assert_eq!(top.command.as_ref().unwrap().timeout, COMMAND_TIMEOUT);
        let prod = config.alerts_for("prod");
        assert_eq!(prod.terminal, Some(false));
        assert_eq!(prod.rules.stale_after, chrono::TimeDelta::minutes(5));
        assert_eq!(prod.rules.remind_every, Some(chrono::TimeDelta::hours(1)));
        assert_eq!(prod.webhooks.len(), 1);
        assert_eq!(prod.webhooks[0].label, "webhook oncall");
        assert_eq!(prod.command, top.command);
        assert!(!format!("{prod:?}{top:?}").contains("secret"));
    }

    #[test]
    fn no_section_is_no_sink_and_the_default_rules() {
        let settings = Config::default().alerts_for("prod");
        assert_eq!(settings, AlertSettings::default());
        assert_eq!(settings.rules.stale_after, chrono::TimeDelta::minutes(2));
    }

    #[test]
    fn a_url_from_the_environment_is_read_when_sent_and_never_shown() {
        let unset = WebhookUrl::Env("CUTOVER_TEST_SURELY_UNSET_HOOK".into());
        assert_eq!(
            unset.resolve(),
            Err("the environment variable CUTOVER_TEST_SURELY_UNSET_HOOK is not set".into())
        );
        let given = WebhookUrl::Given("https://hooks.example/T1/s3cr3t".into());
        assert_eq!(given.resolve().unwrap().host_str(), Some("hooks.example"));
        assert_eq!(format!("{given:?}"), "Given(…)");
        let bad = WebhookUrl::Given("ftp://s3cr3t@files".into());
        assert!(!bad.resolve().unwrap_err().contains("s3cr3t"));
    }
}
