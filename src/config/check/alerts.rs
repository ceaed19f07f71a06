//! `[alerts]` and `[contexts.X.alerts]`: a setting that cannot be used is
//! dropped (the top level's or the default applies), and a webhook with a
//! mistake is ignored whole. A webhook's URL is never quoted back.

use super::{Checker, top};
use crate::config::Config;
use crate::config::alerts::{AlertsSection, NOTIFICATIONS, PLACEHOLDERS};
use crate::config::document::TomlPath;
use crate::config::problem::{fix, suggestion};

impl Checker<'_, '_> {
    pub(super) fn all_alerts(&mut self, config: &mut Config) {
        self.alerts(&mut config.alerts, &top("alerts"));
        for (name, context) in &mut config.contexts {
            let base = top("contexts").key(name).key("alerts");
            self.alerts(&mut context.alerts, &base);
        }
    }

    fn alerts(&mut self, a: &mut AlertsSection, base: &TomlPath) {
        let fallback = if base.0.len() == 1 {
            "the default is used"
        } else {
            "the top level's [alerts] setting is used"
        };
        for (field, value) in [
            ("command_timeout", &mut a.command_timeout),
            ("stale_after", &mut a.stale_after),
            ("remind_every", &mut a.remind_every),
        ] {
            self.duration(&base.key(field), value, fallback);
        }
        if let Some(name) = &a.notification
            && !NOTIFICATIONS.iter().any(|(n, _)| n == name)
        {
            let hint = suggestion(name, NOTIFICATIONS.map(|(n, _)| n));
            let why = format!("unknown notification {name:?}");
            self.report(
                &base.key("notification"),
                why,
                fix(hint.as_deref(), fallback),
            );
            a.notification = None;
        }
        self.on_alert(a, base);
        let Some(webhooks) = &mut a.webhook else {
            return;
        };
        let mut index = 0;
        webhooks.retain(|w| {
            index += 1;
            let Err(why) = w.sink(index) else {
                return true;
            };
            let path = base.key("webhook").index(index - 1);
            let hint = "see the README's Alerts section";
            self.report(
                &path,
                format!("{path}: {why}"),
                fix(Some(hint), "this webhook is ignored"),
            );
            false
        });
    }

    fn on_alert(&mut self, a: &mut AlertsSection, base: &TomlPath) {
        let Some(argv) = &a.on_alert else { return };
        let path = base.key("on_alert");
        if argv.first().is_none_or(|program| program.is_empty()) {
            let hint = r#"give the program and its arguments: on_alert = ["notify-send", "{title}", "{body}"]"#;
            let why = format!("{path} names no program");
            self.report(&path, why, fix(Some(hint), "no command is run"));
            a.on_alert = None;
            return;
        }
        for (i, arg) in argv.iter().enumerate() {
            for name in unknown_placeholders(arg) {
                let hint = suggestion(&name, PLACEHOLDERS);
                let why = format!("unknown placeholder {{{name}}}");
                self.report(
                    &path.index(i),
                    why,
                    fix(hint.as_deref(), "it is passed as written"),
                );
            }
        }
    }
}

/// The `{name}`s in `arg` that are no placeholder.
fn unknown_placeholders(arg: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('}') else { break };
        let name = &rest[..close];
        if !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !PLACEHOLDERS.contains(&name)
        {
            unknown.push(name.to_string());
        }
        rest = &rest[close + 1..];
    }
    unknown
}
