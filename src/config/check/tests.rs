//! Each kind of mistake, with its line and column, and what is kept.

use super::*;
use crate::app::keymap::{Chord, KeyCommand};
use crate::model::metrics::Gate;
use crate::ui::theme::ThemeLibrary;

/// Without any theme of the user's.
fn checked(text: &str) -> (Config, Keymap, Vec<Problem>) {
    check(text, &[], &no_user_themes())
}

fn no_user_themes() -> ThemeLibrary {
    ThemeLibrary::in_folder("/nonexistent/cutover/themes".into())
}

/// The problems as `LINE:COL: problem: fix`.
fn lines(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

/// The one problem at `line`.
fn on_line(problems: &[Problem], line: usize) -> &Problem {
    let found: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.at.is_some_and(|(l, _)| l == line))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one problem on line {line}: {:#?}",
        lines(problems)
    );
    found[0]
}

#[test]
fn a_clean_file_has_no_problem() {
    let (config, _, problems) = checked(
        r#"
theme = "mono"
read_only = true
[keys]
promote = ["ctrl-p"]
pause = ["space"]
[metrics]
profile = "istio"
window = "10m"
[metrics.prometheus]
url = "https://mimir.example/prometheus"
[[metrics.gates]]
metric = "conversion"
max_ratio = 1.2
[[metrics.custom]]
name = "conversion"
query = "sum by ({{version_label}}) (rate(orders_total[{{interval}}]))"
unit = "per-second"
direction = "lower-is-worse"
[contexts."prod.eu".metrics]
profile = "linkerd"
[databases.payments]
url = "postgres://app@db.example:5432/payments"
sslmode = "verify-full"
[[links]]
namespace = "shop"
database = "payments"
"#,
    );
    assert_eq!(lines(&problems), Vec::<String>::new());
    assert!(config.read_only);
    assert_eq!(config.databases.len(), 1);
}

#[test]
fn an_unknown_key_is_placed_and_the_nearest_named() {
    let (config, _, problems) =
        checked("[metric]\nwindow = \"5m\"\n\n[metrics]\nwindw = \"5m\"\nstep = \"30s\"\n");
    assert_eq!(
        lines(&problems),
        [
            "1:2: unknown key \"metric\" in the top level: did you mean \"metrics\"? It is ignored",
            "5:1: unknown key \"windw\" in [metrics]: did you mean \"window\"? It is ignored",
        ]
    );
    assert_eq!(
        config.metrics.step.as_deref(),
        Some("30s"),
        "the rest is kept"
    );
}

#[test]
fn a_wrong_type_costs_only_its_value() {
    let (config, _, problems) =
        checked("theme = 1\n[metrics]\nconfidence = \"high\"\nstep = \"30s\"\n");
    assert_eq!(
        lines(&problems),
        [
            "1:9: wrong type for theme: integer `1`, expected a string: the default theme is used",
            "3:14: wrong type for metrics.confidence: a string, expected a number: it is ignored",
        ]
    );
    assert_eq!(config.metrics.step.as_deref(), Some("30s"));
}

#[test]
fn a_read_only_that_cannot_be_read_means_read_only() {
    let (config, _, problems) = checked("read_only = \"yes\"\n");
    assert!(config.read_only);
    assert_eq!(
        on_line(&problems, 1).fix,
        "until then cutover starts read-only"
    );
    let (config, _, problems) = checked("read_only = no\ntheme = \"mono\"\n");
    assert!(config.read_only);
    assert!(problems[0].problem.starts_with("not TOML"), "{problems:?}");
    assert_eq!(problems[0].at, Some((1, 13)));
    assert_eq!(
        config.theme.as_deref(),
        Some("mono"),
        "the next line is kept"
    );
}

#[test]
fn a_line_that_is_not_toml_is_one_problem_and_the_rest_is_kept() {
    let (config, _, problems) = checked("[metrics]\nwindow = 5m\nstep = \"30s\"\n");
    assert_eq!(problems.len(), 1, "{:#?}", lines(&problems));
    assert_eq!(problems[0].at.map(|a| a.0), Some(2));
    assert_eq!(config.metrics.step.as_deref(), Some("30s"));
}

#[test]
fn an_unknown_theme_falls_back_to_the_default() {
    let (config, _, problems) = checked("\ntheme = \"dracula\"\n");
    assert_eq!(
        lines(&problems),
        [
            "2:9: unknown theme \"dracula\": use default, light, high-contrast, colour-blind, ansi16, mono, \
             a theme file's path, or add dracula.toml to the themes folder; the default theme is used"
        ]
    );
    assert_eq!(config.theme, None);
    let (_, _, problems) = checked("theme = \"mnoo\"\n");
    assert!(
        problems[0].fix.starts_with("did you mean \"mono\"?"),
        "{problems:?}"
    );
    let (_, _, problems) = checked("theme = \"/nowhere/theme.toml\"\n");
    assert_eq!(
        problems[0].problem,
        "theme file \"/nowhere/theme.toml\" cannot be used"
    );
}

#[test]
fn a_context_has_its_own_theme_and_a_wrong_one_falls_back_to_the_top_levels() {
    let text = "theme = \"light\"\n[contexts.prod]\ntheme = \"high-contrst\"\n\
                [contexts.staging]\ntheme = \"colour-blind\"\n[contexts.dev]\ntheme = 3\n";
    let (config, _, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "3:9: unknown theme \"high-contrst\": did you mean \"high-contrast\"? The top level's theme is used",
            "7:9: wrong type for contexts.dev.theme: integer `3`, expected a string: the top level's theme is used",
        ]
    );
    let settings = config.theme_settings();
    assert_eq!(settings.top, Some("light"));
    assert_eq!(
        settings.contexts.into_iter().collect::<Vec<_>>(),
        [("staging", "colour-blind")]
    );
}

#[test]
fn the_users_themes_are_known_by_name_and_never_shadow_a_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let themes = ThemeLibrary::in_folder(dir.path().to_path_buf());
    let default = crate::ui::theme::Theme::built_in("default").unwrap();
    let theme_text = |name: &str| {
        format!(
            "name = \"{name}\"\nkind = \"dark\"\n[selection]\n[stale_banner]\n[colors]\n{}",
            crate::ui::theme::COLOUR_SLOTS
                .map(|s| format!("{s} = \"reset\"\n"))
                .concat()
        )
    };
    assert_eq!(default.name, "default");
    std::fs::write(dir.path().join("prod.toml"), theme_text("prod")).unwrap();
    std::fs::write(dir.path().join("mono.toml"), theme_text("mine")).unwrap();
    std::fs::write(dir.path().join("half.toml"), "name = \"half\"\n").unwrap();
    let text = "theme = \"prod\"\n[contexts.a]\ntheme = \"mono\"\n[contexts.b]\ntheme = \"half\"\n\
                [contexts.c]\ntheme = \"prdo\"\n";
    let (config, _, problems) = check(text, &[], &themes);
    let lines = lines(&problems);
    assert!(
        lines[0].starts_with("3:9: theme \"mono\" is built in: ")
            && lines[0].ends_with(
                "mono.toml is not used: rename the file, and the setting, to use it; the built-in theme is used"
            ),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("5:9: theme file \""), "{}", lines[1]);
    assert!(
        lines[1].contains("half.toml\" cannot be used: line 1, column 1: missing field `kind`"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("7:9: unknown theme \"prdo\": did you mean \"prod\"?"),
        "{}",
        lines[2]
    );
    assert_eq!(config.theme.as_deref(), Some("prod"));
    assert_eq!(config.contexts["a"].theme.as_deref(), Some("mono"));
    assert_eq!(config.contexts["b"].theme, None);
}

#[test]
fn an_unknown_gate_metric_drops_only_that_gate() {
    let text = "[[metrics.gates]]\nmetric = \"error_rato\"\nmax_delta = 0.005\n\n\
                [[metrics.gates]]\nmetric = \"p99_latency\"\nmax = 500\n";
    let (config, _, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "2:10: unknown gate metric \"error_rato\": did you mean \"error_ratio\"? This gate is ignored"
        ]
    );
    let resolved = config.metrics_for("any", None).expect("the rest resolves");
    assert_eq!(
        resolved.settings.gates,
        [Gate::AbsoluteMax {
            metric: "p99_latency".into(),
            max: 500.0
        }]
    );
}

#[test]
fn a_gate_with_a_wrong_bound_or_field_is_dropped_and_none_left_means_the_defaults() {
    let text = "[[metrics.gates]]\nmetric = \"error_ratio\"\nmax = 1\nmax_ratio = 2\n\n\
                [[metrics.gates]]\nmetric = \"p95_latency\"\nmax_ration = 1.2\n";
    let (config, _, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "1:1: gate on error_ratio has more than one of max, max_ratio, max_delta: give exactly one; this gate is ignored",
            "1:1: no usable gate is left in metrics.gates: the default gates are used (error ratio +0.5 pp, p95 ×1.2)",
            "8:1: unknown key \"max_ration\" in [metrics.gates[1]]: did you mean \"max_ratio\"? This gate is ignored",
        ]
    );
    assert!(config.metrics.gates.is_none());
    assert_eq!(
        config.metrics_for("any", None).unwrap().settings.gates,
        Gate::defaults()
    );
}

#[test]
fn custom_metrics_are_checked_and_gates_may_name_only_the_kept_ones() {
    let text = r#"[[metrics.custom]]
name = "conversion"
query = "sum(rate(orders_total[1m]))"
unit = "per-secnd"

[[metrics.custom]]
name = "error_ratio"
query = "x"

[[metrics.custom]]
name = "signups"
query = "sum(rate(signups_total[1m]))"

[[metrics.gates]]
metric = "conversion"
max_ratio = 1.2
"#;
    let (config, _, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "4:8: unknown unit \"per-secnd\": did you mean \"per-second\"? This custom metric is ignored",
            "7:8: custom metric \"error_ratio\" has a built-in metric's name: choose another name; this custom metric is ignored",
            "14:1: no usable gate is left in metrics.gates: the default gates are used (error ratio +0.5 pp, p95 ×1.2)",
            "15:10: unknown gate metric \"conversion\": expected one of request_rate, error_ratio, p50_latency, p95_latency, p99_latency, signups; this gate is ignored",
        ]
    );
    let names: Vec<&str> = config
        .metrics
        .custom
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["signups"]);
}

#[test]
fn a_context_is_checked_under_its_own_name() {
    let text = "[contexts.\"prod.eu\".metrics]\nprofile = \"istoi\"\nrefresh = \"often\"\n";
    let (config, _, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "2:11: unknown profile \"istoi\": did you mean \"istio\"? The top level's [metrics] setting is used",
            "3:11: \"often\" is not a duration: write one such as 30s, 5m or 1h; the top level's [metrics] setting is used",
        ]
    );
    assert!(config.metrics_for("prod.eu", None).is_ok());
}

#[test]
fn two_commands_on_one_key_are_both_reported_and_neither_gets_it() {
    let text = "[keys]\npromote = [\"x\"]\nabort = [\"ctrl-a\", \"x\"]\n";
    let (_, keymap, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "2:12: x is bound to both promote and abort: neither gets it; keep it on one of them (promote keeps its built-in key P)",
            "3:20: x is bound to both abort and promote: neither gets it; keep it on one of them",
        ]
    );
    assert_eq!(keymap.command(&Chord::plain('x')), None);
    assert_eq!(keymap.label(KeyCommand::Abort), "Ctrl-a");
}

#[test]
fn a_key_that_cannot_be_typed_or_parsed_and_an_unknown_command_are_placed() {
    let text = "[keys]\nsort = [\"ctrl-1\"]\npromote = [\"shift-p\"]\npromte = [\"x\"]\n";
    let (_, keymap, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "2:9: terminals send no key of their own for Ctrl-1: with ctrl, use a letter: ctrl-x",
            "3:12: unknown key \"shift-p\" for promote: write \"P\": Shift is the capital letter",
            "4:1: unknown command \"promte\": did you mean \"promote\"? This entry is ignored",
        ]
    );
    assert_eq!(keymap.label(KeyCommand::Sort), "s");
    assert_eq!(keymap.command(&Chord::plain('x')), None);
}

#[test]
fn a_database_with_a_mistake_is_left_out_whole_and_the_others_kept() {
    let text = r#"[databases.payments]
url = "postgres://app:hunter2@db/payments"

[databases.orders]
url = "postgres://app@db/orders"
sslmode = "verify_full"

[databases.users]
uri = "postgres://app@db/users"

[databases.stock]
url = "postgres://app@db/stock"
"#;
    let (config, _, problems) = checked(text);
    let names: Vec<&str> = config.databases.keys().map(String::as_str).collect();
    assert_eq!(names, ["stock"]);
    assert_eq!(
        on_line(&problems, 2).fix,
        "database payments is not used until then"
    );
    assert!(on_line(&problems, 2).problem.contains("holds a password"));
    assert!(
        on_line(&problems, 6)
            .problem
            .contains("sslmode \"verify_full\"")
    );
    assert_eq!(
        on_line(&problems, 9).problem,
        "unknown key \"uri\" in [databases.users]"
    );
    assert!(
        on_line(&problems, 9)
            .fix
            .starts_with("did you mean \"url\"?")
    );
    assert!(!lines(&problems).concat().contains("hunter2"));
}

#[test]
fn a_link_to_an_unknown_database_is_named_unless_a_flag_gives_it() {
    let text = "[databases.payments]\nurl = \"postgres://app@db/payments\"\n\
                [[links]]\nnamespace = \"shop\"\ndatabase = \"payment\"\n\
                [[links]]\nnamespace = \"shop\"\ndatabase = \"orders\"\n";
    let (config, _, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "5:12: link to unknown database \"payment\": did you mean \"payments\"? Until then its releases show the database as not configured",
            "8:12: link to unknown database \"orders\": add [databases.orders]; until then its releases show the database as not configured",
        ]
    );
    assert_eq!(
        config.links.len(),
        2,
        "links are kept: the screen says what is missing"
    );
    let flags = ["orders=postgres://app@db/orders".into()];
    let (_, _, problems) = check(text, &flags, &no_user_themes());
    assert_eq!(problems.len(), 1);
}

#[test]
fn values_are_never_quoted_back() {
    let text = "[metrics.prometheus]\nheaders = \"Authorization: Bearer s3cret\"\n\
                url = \"ftp://user:s3cret@prometheus\"\n";
    let (_, _, problems) = checked(text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        !lines(&problems).concat().contains("s3cret"),
        "{problems:?}"
    );
}

#[test]
fn a_zero_limit_of_prometheus_answers_is_reported_and_the_default_kept() {
    let (config, _, problems) = checked(
        "[metrics.prometheus]\nurl = \"http://p:9090\"\nmax_series = 0\nmax_response_bytes = 0\n",
    );
    assert_eq!(
        on_line(&problems, 3).to_string(),
        "3:14: max_series 0 would refuse every answer: give 1 or more; the default is used"
    );
    on_line(&problems, 4);
    let prom = config.metrics_for("x", None).unwrap().prometheus.unwrap();
    assert_eq!((prom.max_response_bytes, prom.max_series), (16 << 20, 100));
}

#[test]
fn the_kubernetes_answer_limit_is_read_and_a_zero_reported() {
    let (config, _, problems) = checked("[kubernetes]\nmax_answer_bytes = 1048576\n");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(config.kubernetes.max_answer_bytes(), 1 << 20);
    let (config, _, problems) = checked("[kubernetes]\nmax_answer_bytes = 0\n");
    assert_eq!(
        on_line(&problems, 2).to_string(),
        "2:20: max_answer_bytes 0 would refuse every answer: give 1 or more; the default is used"
    );
    assert_eq!(config.kubernetes.max_answer_bytes(), 64 << 20);
}

#[test]
fn fleets_and_aliases_are_read_and_their_mistakes_said() {
    let (config, _, problems) = checked(
        r#"[contexts.prod-eu]
alias = "eu"
[contexts.prod-us]
alias = "eu"
[contexts.prod-ap]
alias = "a p"
[fleets.prod]
contexts = ["prod-eu", "prod-us", "prod-eu"]
[fleets.empty]
contexts = []
"#,
    );
    assert_eq!(config.alias("prod-eu"), Some("eu"));
    assert_eq!(config.alias("prod-us"), None, "taken by prod-eu");
    assert_eq!(config.alias("prod-ap"), None);
    assert_eq!(config.fleets["prod"].contexts, ["prod-eu", "prod-us"]);
    assert!(!config.fleets.contains_key("empty"));
    assert_eq!(
        on_line(&problems, 4).to_string(),
        "4:9: alias \"eu\" is context \"prod-eu\"'s already: give each context its own alias; the context's name is shown instead"
    );
    assert!(
        on_line(&problems, 6)
            .problem
            .contains("has a blank or a comma")
    );
    assert_eq!(
        on_line(&problems, 8).to_string(),
        "8:35: context \"prod-eu\" is named twice in fleet prod: it is read once"
    );
    assert!(
        on_line(&problems, 9).to_string().contains(
            "fleet empty names no context: list its kubeconfig contexts: contexts = [\"prod-eu\", \"prod-us\"]; --fleet empty is refused until then"
        ),
        "{:#?}",
        lines(&problems)
    );
    assert_eq!(problems.len(), 4, "{:#?}", lines(&problems));
}

#[test]
fn a_contexts_confirm_is_read_and_a_mistake_means_typed() {
    let (config, _, problems) = checked(
        r#"[contexts.prod-eu]
confirm = "typed"
[contexts.prod-us]
confirm = "typd"
[contexts.staging]
confirm = "yes-no"
"#,
    );
    assert_eq!(
        config.typed_contexts().into_iter().collect::<Vec<_>>(),
        ["prod-eu", "prod-us"],
        "a value that cannot be read is the safe one"
    );
    assert_eq!(
        on_line(&problems, 4).to_string(),
        "4:11: contexts.prod-us.confirm: confirm \"typd\" is not one of yes-no, typed: until then its actions ask for the context's name typed"
    );
    assert_eq!(problems.len(), 1, "{:#?}", lines(&problems));
}

#[test]
fn an_unleash_section_without_a_token_or_with_a_bad_url_is_dropped_and_said() {
    let (config, _, problems) = checked(
        r#"
[contexts.prod.flags.unleash]
url = "http://127.0.0.1:4242"
project = "default"
environment = "production"
token_env = "UNLEASH_TOKEN"

[contexts.stage.flags.unleash]
url = "http://127.0.0.1:4242"
project = "default"
environment = "development"

[contexts.dev.flags.unleash]
url = "unleash.local"
project = "default"
environment = "development"
token_file = "/run/secrets/unleash"
"#,
    );
    assert!(config.contexts["prod"].flags.unleash.is_some());
    assert!(config.contexts["stage"].flags.unleash.is_none());
    assert!(config.contexts["dev"].flags.unleash.is_none());
    let found = lines(&problems);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().any(|p| p.contains("no token")), "{found:#?}");
    assert!(
        found
            .iter()
            .any(|p| p.contains("url is not an http or https URL")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .all(|p| p.contains("no Unleash flags are shown")),
        "{found:#?}"
    );
}

#[test]
fn a_backups_source_with_a_mistake_is_named_and_the_database_kept() {
    let text = r#"[databases.payments]
url = "postgres://app@db/payments"
[databases.payments.backups]
restore_tested_within = "a month"
[databases.payments.backups.pgbackrest]
command = []
timeout = "10 seconds"
"#;
    let (config, _, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "4:25: \"a month\" is not a duration: write one such as 30s, 5m or 1h; 30d applies until then",
            "6:11: the backups command names no program: write one such as [\"pgbackrest\", \"--stanza=main\", \"info\", \"--output=json\"]; database payments's backups are not read until then",
            "7:11: \"10 seconds\" is not a duration: write one such as 30s, 5m or 1h; 10s applies until then",
        ]
    );
    let payments = &config.databases["payments"];
    assert!(payments.backups.pgbackrest.is_none());
    assert_eq!(config.databases(&[]).unwrap()[0].backups, None);
}

#[test]
fn a_backups_source_reads_its_command_timeout_and_alarm_age() {
    let text = r#"[databases.payments]
url = "postgres://app@db/payments"
backups.restore_tested_within = "7d"
backups.pgbackrest.command = ["ssh", "db1", "pgbackrest", "info", "--output=json"]
"#;
    let (config, _, problems) = checked(text);
    assert_eq!(lines(&problems), Vec::<String>::new());
    let source = config.databases(&[]).unwrap()[0].backups.clone().unwrap();
    assert_eq!(source.command[..2], ["ssh", "db1"]);
    assert_eq!(source.timeout, std::time::Duration::from_secs(10));
    assert_eq!(
        source.restore_tested_within,
        std::time::Duration::from_secs(7 * 24 * 3600)
    );
}

#[test]
fn a_prometheus_freshness_source_with_a_mistake_is_named_and_left_out() {
    let text = r#"[databases.payments]
url = "postgres://app@db/payments"
[databases.payments.backups.prometheus]
query = 'velero_backup_last_successful_timestamp{schedule="nightly"}'
value = "epoch"
max_age = "a day"
"#;
    let (config, _, problems) = checked(text);
    assert_eq!(
        lines(&problems),
        [
            "5:9: \"epoch\" is not a kind of value cutover reads: write \"age-seconds\" (seconds since the backup) or \"timestamp\" (its Unix time); database payments's backup freshness is not read until then",
            "6:11: \"a day\" is not a duration: write one such as 30s, 5m or 1h; 26h applies until then",
        ]
    );
    assert_eq!(config.databases(&[]).unwrap()[0].freshness, None);
    let (_, _, problems) = checked(
        "[databases.payments]\nurl = \"postgres://app@db/payments\"\nbackups.prometheus.query = \" \"\n",
    );
    assert_eq!(
        lines(&problems),
        [
            "3:28: the freshness query is empty: write one such as 'pgbackrest_backup_since_last_completion_seconds{stanza=\"main\"}'; database payments's backup freshness is not read until then"
        ]
    );
}

#[test]
fn a_prometheus_freshness_source_reads_its_query_value_and_age() {
    let text = r#"[databases.payments]
url = "postgres://app@db/payments"
backups.prometheus.query = 'velero_backup_last_successful_timestamp{schedule="nightly"}'
backups.prometheus.value = "timestamp"
backups.prometheus.max_age = "8h"
"#;
    let (config, _, problems) = checked(text);
    assert_eq!(lines(&problems), Vec::<String>::new());
    let source = config.databases(&[]).unwrap()[0].freshness.clone().unwrap();
    assert_eq!(
        source.value,
        crate::model::restore::freshness::FreshnessValue::Timestamp
    );
    assert_eq!(source.max_age, std::time::Duration::from_secs(8 * 3600));
    let (config, _, _) = checked(
        "[databases.payments]\nurl = \"postgres://app@db/payments\"\nbackups.prometheus.query = \"x\"\n",
    );
    let source = config.databases(&[]).unwrap()[0].freshness.clone().unwrap();
    assert_eq!(
        source.value,
        crate::model::restore::freshness::FreshnessValue::AgeSeconds
    );
    assert_eq!(
        source.max_age,
        crate::migrations::freshness::DEFAULT_MAX_AGE
    );
}

#[test]
fn bake_settings_and_slos_are_checked_like_gates() {
    let text = "[metrics.bake]\nduration = \"half an hour\"\nfor = \"0s\"\n\n\
                [[metrics.slo]]\nmetric = \"error_rato\"\nmax = 0.01\n\n\
                [[metrics.slo]]\nmetric = \"p95_latency\"\nmax_ratio = 1.5\n";
    let (config, _, problems) = checked(text);
    let lines = lines(&problems);
    assert_eq!(
        lines,
        [
            "2:12: \"half an hour\" is not a duration: write one such as 30m, or 0s to turn the bake off; the default is used",
            "3:7: \"0s\" is not a duration: write one such as 30s, 5m or 1h; the default is used",
            "6:10: unknown SLO metric \"error_rato\": did you mean \"error_ratio\"? This SLO is ignored",
        ]
    );
    let bake = config.metrics_for("any", None).unwrap().settings.bake;
    assert_eq!(
        bake.slos,
        [Gate::RelativeRatio {
            metric: "p95_latency".into(),
            max_ratio: 1.5
        }]
    );
    assert_eq!(bake.duration, chrono::Duration::minutes(30), "the default");
}
