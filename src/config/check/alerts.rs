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

#[cfg(test)]
mod tests {
    use super::super::check;
    use crate::ui::theme::ThemeLibrary;

    fn lines(problems: &[crate::config::Problem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    fn checked(
        text: &str,
    ) -> (
        crate::config::Config,
        crate::app::keymap::Keymap,
        Vec<crate::config::Problem>,
    ) {
        check(
            text,
            &[],
            &ThemeLibrary::in_folder("/nonexistent/cutover/themes".into()),
        )
    }

    #[test]
    fn alerts_mistakes_are_told_like_kubectl_and_cost_only_their_part() {
        let (config, _, problems) = checked(
            r#"
[alerts]
stale_after = "soon"
notification = "osc77"
on_alert = []
[[alerts.webhook]]
url = "https://hooks.example/T1/s3cr3t"
url_env = "HOOK"
[[alerts.webhook]]
url_env = "HOOK"
format = "teams"
[[alerts.webhook]]
name = "ok"
url = "https://hooks.example/T2/s3cr3t"
[contexts.prod.alerts]
on_alert = ["notify-send", "{titel}"]
"#,
        );
        assert_eq!(
            lines(&problems),
            [
                r#"3:15: "soon" is not a duration: write one such as 30s, 5m or 1h; the default is used"#,
                r#"4:16: unknown notification "osc77": did you mean "osc777"? The default is used"#,
                r#"5:12: alerts.on_alert names no program: give the program and its arguments: on_alert = ["notify-send", "{title}", "{body}"]; no command is run"#,
                "6:1: alerts.webhook[0]: give url or url_env, not both: see the README's Alerts section; this webhook is ignored",
                r#"9:1: alerts.webhook[1]: unknown format "teams": see the README's Alerts section; this webhook is ignored"#,
                r#"16:28: unknown placeholder {titel}: did you mean "title"? It is passed as written"#,
            ]
        );
        assert!(!lines(&problems).concat().contains("s3cr3t"));
        let webhooks = config.alerts.webhook.as_ref().unwrap();
        assert_eq!(webhooks.len(), 1);
        assert_eq!(webhooks[0].name.as_deref(), Some("ok"));
        assert_eq!(config.alerts.on_alert, None);
        assert_eq!(config.alerts.stale_after, None);
    }
}
