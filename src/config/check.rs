//! Every mistake in the config file, with its place, the cause and the
//! fix; and the config without them. A mistake costs only the part it is
//! in: one key binding, one gate, one database, the theme (the default is
//! used); a `read_only` that cannot be read means read-only.

use super::document::{Document, Leniency, PathStep, TomlPath};
use super::metrics::{DIRECTIONS, UNITS, parse_duration};
use super::problem::{Problem, fix, suggestion};
use super::{BackupsSection, Config, ConfirmStyle, MetricsConfig};
use crate::app::keymap::Keymap;
use crate::metrics::judge::red_metric_ids;
use crate::metrics::profiles::Profile;
use crate::model::restore::freshness::FreshnessValue;
use crate::ui::theme::{ThemeError, ThemeLibrary};
use std::collections::BTreeMap;

/// The config in `text`, keeping what is right, the key bindings it
/// makes, and every problem in file order. `database_flags`
/// (`--database NAME=URL`) name databases that links may use.
/// Theme names are looked up in `themes`.
pub(super) fn check(
    text: &str,
    database_flags: &[String],
    themes: &ThemeLibrary,
) -> (Config, Keymap, Vec<Problem>) {
    let (mut doc, mut problems) = Document::parse(text);
    // A line that does not parse and sets read_only: the safe reading.
    let mut read_only_unreadable = false;
    for p in &mut problems {
        let line = p.at.and_then(|(n, _)| text.lines().nth(n - 1));
        if line.is_some_and(|l| l.trim_start().starts_with("read_only")) {
            p.fix = "correct the syntax; until then cutover starts read-only".into();
            read_only_unreadable = true;
        }
    }
    let (config, removed, mistakes) = doc.deserialize::<Config>(&LENIENCY);
    problems.extend(mistakes);
    let mut config = config.unwrap_or_default();
    if read_only_unreadable || removed.contains(&top("read_only")) {
        config.read_only = true;
    }
    // A confirm that cannot be read: the safe reading, as for read_only.
    for (name, context) in &mut config.contexts {
        if removed.contains(&top("contexts").key(name).key("confirm")) {
            context.confirm = Some(ConfirmStyle::Typed);
        }
    }
    let mut checker = Checker {
        doc: &doc,
        themes,
        problems,
    };
    checker.theme(
        &top("theme"),
        &mut config.theme,
        "the default theme is used",
    );
    for (name, context) in &mut config.contexts {
        let path = top("contexts").key(name).key("theme");
        checker.theme(&path, &mut context.theme, "the top level's theme is used");
    }
    let keymap = checker.keys(&config.keys);
    checker.metrics(&mut config.metrics, &top("metrics"), &[]);
    let top_custom: Vec<String> = config
        .metrics
        .custom
        .iter()
        .map(|c| c.name.clone())
        .collect();
    for (name, context) in &mut config.contexts {
        let base = top("contexts").key(name).key("metrics");
        checker.metrics(&mut context.metrics, &base, &top_custom);
    }
    checker.links(&config, database_flags);
    checker.aliases(&mut config.contexts);
    checker.fleets(&mut config.fleets);
    checker.unleash(&mut config.contexts);
    checker.databases(&mut config);
    checker.all_alerts(&mut config);
    let answer_limit = &mut config.kubernetes.max_answer_bytes;
    let path = top("kubernetes").key("max_answer_bytes");
    checker.limit(
        &path,
        "max_answer_bytes",
        answer_limit,
        "would refuse every answer",
    );
    let mut problems = checker.problems;
    problems.sort_by_key(|p| p.at);
    (config, keymap, problems)
}

fn top(key: &str) -> TomlPath {
    TomlPath::default().key(key)
}

const LENIENCY: Leniency = Leniency { unit, consequence };

/// A database or a link with a mistake is left out whole (never connect
/// with settings other than those written), and so is a gate or a custom
/// metric; anything else alone.
fn unit(path: &TomlPath) -> TomlPath {
    let steps = &path.0;
    if let [PathStep::Key(first), _, ..] = steps.as_slice()
        && (first == "databases" || first == "links")
    {
        return TomlPath(steps[..2].to_vec());
    }
    let whole_entry = steps.windows(2).position(
        |pair| matches!(pair, [PathStep::Key(k), PathStep::Index(_)] if k == "gates" || k == "slo" || k == "custom" || k == "webhook"),
    );
    match whole_entry {
        Some(at) => TomlPath(steps[..at + 2].to_vec()),
        None => path.clone(),
    }
}

fn consequence(unit: &TomlPath) -> String {
    let key = |k: &PathStep, name: &str| matches!(k, PathStep::Key(k) if k == name);
    match unit.0.as_slice() {
        [k] if key(k, "read_only") => "until then cutover starts read-only".into(),
        [k] if key(k, "theme") => "the default theme is used".into(),
        [c, _, k] if key(c, "contexts") && key(k, "theme") => {
            "the top level's theme is used".into()
        }
        [c, _, k] if key(c, "contexts") && key(k, "confirm") => {
            "until then its actions ask for the context's name typed".into()
        }
        [k, PathStep::Key(name)] if key(k, "databases") => {
            format!("database {name} is not used until then")
        }
        [k, PathStep::Index(_)] if key(k, "links") => "this link is ignored".into(),
        [k, _, PathStep::Index(_)] if key(k, "keys") => "this key is ignored".into(),
        [.., k, PathStep::Index(_)] if key(k, "gates") => "this gate is ignored".into(),
        [.., k, PathStep::Index(_)] if key(k, "slo") => "this SLO is ignored".into(),
        [.., k, PathStep::Index(_)] if key(k, "custom") => "this custom metric is ignored".into(),
        [.., k, PathStep::Index(_)] if key(k, "webhook") => "this webhook is ignored".into(),
        _ => "it is ignored".into(),
    }
}

struct Checker<'d, 'a> {
    doc: &'d Document<'a>,
    themes: &'d ThemeLibrary,
    problems: Vec<Problem>,
}

impl Checker<'_, '_> {
    /// A problem with the value at `path`.
    fn report(&mut self, path: &TomlPath, problem: String, fix: String) {
        let at = self.doc.at(path);
        self.problems.push(Problem { at, problem, fix });
    }

    /// A problem with the name of the key at `path`.
    fn report_key(&mut self, path: &TomlPath, problem: String, fix: String) {
        let at = self.doc.key_at(path);
        self.problems.push(Problem { at, problem, fix });
    }

    /// A theme setting at `path`: one that cannot be used is dropped (the
    /// `fallback` applies); a built-in name with a user file of the same
    /// name is kept, and the file's being unused is said.
    fn theme(&mut self, path: &TomlPath, setting: &mut Option<String>, fallback: &str) {
        let Some(name) = setting.as_deref() else {
            return;
        };
        match self.themes.load(name) {
            Ok(_) => {
                if let Some(file) = self.themes.shadowed(name) {
                    let why = format!("theme {name:?} is built in: {} is not used", file.display());
                    let hint = "rename the file, and the setting, to use it";
                    self.report(path, why, fix(Some(hint), "the built-in theme is used"));
                }
                return;
            }
            Err(ThemeError::Broken { file, why }) => {
                let problem = format!("theme file {:?} cannot be used", file.display().to_string());
                self.report(path, problem, fix(Some(&why), fallback));
            }
            Err(ThemeError::Unknown { .. }) => {
                let names = self.themes.names();
                let hint = match suggestion(name, names.iter().map(String::as_str)) {
                    Some(near) if near.ends_with('?') => near,
                    _ => format!(
                        "use {}, a theme file's path, or add {name}.toml to the themes folder",
                        names.join(", ")
                    ),
                };
                let problem = format!("unknown theme {name:?}");
                self.report(path, problem, fix(Some(&hint), fallback));
            }
        }
        *setting = None;
    }

    fn keys(&mut self, keys: &BTreeMap<String, Vec<String>>) -> Keymap {
        let (keymap, problems) = Keymap::with_overrides(keys);
        for p in problems {
            let entry = top("keys").key(&p.command);
            match p.key {
                Some(i) => self.report(&entry.index(i), p.problem, p.fix),
                None => self.report_key(&entry, p.problem, p.fix),
            }
        }
        keymap
    }

    /// One `[metrics]` section at `base`; a context's falls back to the
    /// top level's, whose custom metrics (`inherited_custom`) its gates
    /// may name when it has none of its own.
    fn metrics(&mut self, m: &mut MetricsConfig, base: &TomlPath, inherited_custom: &[String]) {
        let fallback = if base.0.len() == 1 {
            "the default is used"
        } else {
            "the top level's [metrics] setting is used"
        };
        if let Some(name) = &m.profile
            && Profile::parse(name).is_none()
        {
            let hint = suggestion(name, Profile::ALL.map(Profile::name));
            let why = format!("unknown profile {name:?}");
            self.report(&base.key("profile"), why, fix(hint.as_deref(), fallback));
            m.profile = None;
        }
        for (field, value) in [
            ("window", &mut m.window),
            ("step", &mut m.step),
            ("rate_interval", &mut m.rate_interval),
            ("refresh", &mut m.refresh),
        ] {
            self.duration(&base.key(field), value, fallback);
        }
        if let Some(c) = m.confidence
            && !(0.5..1.0).contains(&c)
        {
            let why = format!("confidence {c} is not at least 0.5 and below 1");
            let hint = "0.98 is usual";
            self.report(&base.key("confidence"), why, fix(Some(hint), fallback));
            m.confidence = None;
        }
        if let Some(n) = m.min_canary_requests
            && !(n.is_finite() && n >= 0.0)
        {
            let why = format!("min_canary_requests {n} is not a count");
            let hint = "give 0 or more";
            let path = base.key("min_canary_requests");
            self.report(&path, why, fix(Some(hint), fallback));
            m.min_canary_requests = None;
        }
        self.prometheus(m, base);
        self.custom(m, base);
        let custom: Vec<String> = match m.custom.is_empty() {
            true => inherited_custom.to_vec(),
            false => m.custom.iter().map(|c| c.name.clone()).collect(),
        };
        let gates = GateList {
            field: "gates",
            what: "gate",
            defaults: "the default gates are used (error ratio +0.5 pp, p95 ×1.2)",
        };
        gates.check(self, &mut m.gates, base, &custom);
        let slos = GateList {
            field: "slo",
            what: "SLO",
            defaults: "the default SLOs are used (error ratio ≤ 1%, p95 ≤ 1.2 × the previous version's)",
        };
        slos.check(self, &mut m.slo, base, &custom);
        self.bake(m, base, fallback);
    }

    /// `[metrics.bake]`: a duration may be 0s (off), `for` may not.
    fn bake(&mut self, m: &mut MetricsConfig, base: &TomlPath, fallback: &str) {
        let Some(bake) = &mut m.bake else { return };
        let path = base.key("bake");
        if let Some(text) = &bake.duration
            && crate::model::bake::parse_bake_duration(text).is_none()
        {
            let why = format!("{text:?} is not a duration");
            let hint = "write one such as 30m, or 0s to turn the bake off";
            self.report(&path.key("duration"), why, fix(Some(hint), fallback));
            bake.duration = None;
        }
        self.duration(&path.key("for"), &mut bake.hold_for, fallback);
    }

    /// A duration that does not parse is dropped.
    fn duration(&mut self, path: &TomlPath, value: &mut Option<String>, fallback: &str) {
        if let Some(text) = value
            && parse_duration(text).is_none()
        {
            let why = format!("{text:?} is not a duration");
            let hint = "write one such as 30s, 5m or 1h";
            self.report(path, why, fix(Some(hint), fallback));
            *value = None;
        }
    }

    fn prometheus(&mut self, m: &mut MetricsConfig, base: &TomlPath) {
        let Some(p) = &mut m.prometheus else { return };
        let path = base.key("prometheus");
        // The url is never quoted back: it may hold credentials.
        let usable = |url: &str| {
            reqwest::Url::parse(url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        };
        if p.url.as_deref().is_some_and(|url| !usable(url)) {
            self.report(
                &path.key("url"),
                format!("{} is not an http or https URL", path.key("url")),
                "write one such as http://prometheus.monitoring:9090 (with any path prefix); \
                 no Prometheus is used until then"
                    .into(),
            );
            p.url = None;
        }
        self.duration(&path.key("timeout"), &mut p.timeout, "the default is used");
        let limits = [
            (
                "max_concurrency",
                &mut p.max_concurrency,
                "would send no query",
            ),
            (
                "max_response_bytes",
                &mut p.max_response_bytes,
                "would refuse every answer",
            ),
            ("max_series", &mut p.max_series, "would refuse every answer"),
        ];
        for (key, limit, why) in limits {
            self.limit(&path.key(key), key, limit, why);
        }
    }

    /// A limit of 0 is a mistake: the default is used instead.
    fn limit(&mut self, path: &TomlPath, key: &str, limit: &mut Option<usize>, why: &str) {
        if *limit == Some(0) {
            self.report(
                path,
                format!("{key} 0 {why}"),
                "give 1 or more; the default is used".into(),
            );
            *limit = None;
        }
    }

    /// A custom metric with a mistake is dropped whole.
    fn custom(&mut self, m: &mut MetricsConfig, base: &TomlPath) {
        let red = red_metric_ids();
        let mut names: Vec<&str> = Vec::new();
        let mut keep = Vec::new();
        let dropped = "this custom metric is ignored";
        for (i, c) in m.custom.iter().enumerate() {
            let path = base.key("custom").index(i);
            let before = self.problems.len();
            if let Err(why) = c.direction() {
                let given = c.direction.as_deref().unwrap_or_default();
                let hint = suggestion(given, DIRECTIONS.map(|(n, _)| n));
                self.report(&path.key("direction"), why, fix(hint.as_deref(), dropped));
            }
            if let Err(why) = c.unit() {
                let given = c.unit.as_deref().unwrap_or_default();
                let hint = suggestion(given, UNITS.map(|(n, _)| n));
                self.report(&path.key("unit"), why, fix(hint.as_deref(), dropped));
            }
            if c.query.trim().is_empty() {
                let hint = "write the PromQL, grouped by {{version_label}}";
                let why = format!("custom metric {:?} has an empty query", c.name);
                self.report(&path.key("query"), why, fix(Some(hint), dropped));
            }
            let why = if red.contains(&c.name) {
                Some(format!(
                    "custom metric {:?} has a built-in metric's name",
                    c.name
                ))
            } else if names.contains(&c.name.as_str()) {
                Some(format!("a second custom metric is named {:?}", c.name))
            } else {
                None
            };
            if let Some(why) = why {
                let hint = "choose another name";
                self.report(&path.key("name"), why, fix(Some(hint), dropped));
            }
            let ok = self.problems.len() == before;
            if ok {
                names.push(&c.name);
            }
            keep.push(ok);
        }
        let mut keep = keep.into_iter();
        m.custom.retain(|_| keep.next().unwrap_or(false));
    }

    /// A link naming a database configured nowhere.
    fn links(&mut self, config: &Config, database_flags: &[String]) {
        let mut known: Vec<&str> = config.databases.keys().map(String::as_str).collect();
        known.extend(
            database_flags
                .iter()
                .filter_map(|f| Some(f.split_once('=')?.0)),
        );
        for (i, link) in config.links.iter().enumerate() {
            if known.contains(&link.database.as_str()) {
                continue;
            }
            let hint = suggestion(&link.database, known.iter().copied())
                .filter(|near| near.ends_with('?'))
                .unwrap_or_else(|| format!("add [databases.{}]", link.database));
            self.report(
                &top("links").index(i).key("database"),
                format!("link to unknown database {:?}", link.database),
                fix(
                    Some(&hint),
                    "until then its releases show the database as not configured",
                ),
            );
        }
    }

    /// A database whose url cannot be used is left out.
    fn databases(&mut self, config: &mut Config) {
        let mut unusable = Vec::new();
        for (name, section) in &config.databases {
            if let Some(why) = section.config(name).url_problem() {
                let path = top("databases").key(name).key("url");
                self.report(
                    &path,
                    why,
                    format!("database {name} is not used until then"),
                );
                unusable.push(name.clone());
            }
        }
        for name in unusable {
            config.databases.remove(&name);
        }
        for (name, section) in &mut config.databases {
            self.backups(name, &mut section.backups);
        }
    }

    /// A pgBackRest source without a command is left out; a duration that
    /// does not parse falls back to its default.
    fn backups(&mut self, name: &str, backups: &mut BackupsSection) {
        let base = top("databases").key(name).key("backups");
        self.duration(
            &base.key("restore_tested_within"),
            &mut backups.restore_tested_within,
            "30d applies until then",
        );
        self.freshness(name, backups);
        let Some(pgbackrest) = &mut backups.pgbackrest else {
            return;
        };
        let path = base.key("pgbackrest");
        self.duration(
            &path.key("timeout"),
            &mut pgbackrest.timeout,
            "10s applies until then",
        );
        if pgbackrest
            .command
            .first()
            .is_none_or(|p| p.trim().is_empty())
        {
            self.report(
                &path.key("command"),
                "the backups command names no program".to_string(),
                fix(
                    Some(r#"write one such as ["pgbackrest", "--stanza=main", "info", "--output=json"]"#),
                    &format!("database {name}'s backups are not read until then"),
                ),
            );
            backups.pgbackrest = None;
        }
    }

    /// A Prometheus freshness source without a query, or with a value
    /// that is not one of the known words, is left out.
    fn freshness(&mut self, name: &str, backups: &mut BackupsSection) {
        let Some(section) = &mut backups.prometheus else {
            return;
        };
        let path = top("databases").key(name).key("backups").key("prometheus");
        self.duration(
            &path.key("max_age"),
            &mut section.max_age,
            "26h applies until then",
        );
        let consequence = format!("database {name}'s backup freshness is not read until then");
        if section.query.trim().is_empty() {
            let hint = r#"write one such as 'pgbackrest_backup_since_last_completion_seconds{stanza="main"}'"#;
            self.report(
                &path.key("query"),
                "the freshness query is empty".to_string(),
                fix(Some(hint), &consequence),
            );
            backups.prometheus = None;
            return;
        }
        if let Some(value) = section
            .value
            .as_deref()
            .filter(|v| FreshnessValue::parse(v).is_none())
        {
            self.report(
                &path.key("value"),
                format!("{value:?} is not a kind of value cutover reads"),
                fix(
                    Some(r#"write "age-seconds" (seconds since the backup) or "timestamp" (its Unix time)"#),
                    &consequence,
                ),
            );
            backups.prometheus = None;
        }
    }
}

mod alerts;
mod flags;
mod fleets;
#[cfg(test)]
mod tests;

/// A list of limits written as gates are (`[[metrics.gates]]`,
/// `[[metrics.slo]]`): an entry with a mistake is dropped; with none left,
/// the fallback's apply.
struct GateList {
    field: &'static str,
    what: &'static str,
    /// What applies at the top level when none is left.
    defaults: &'static str,
}

impl GateList {
    fn check(
        &self,
        checker: &mut Checker<'_, '_>,
        list: &mut Option<Vec<super::GateConfig>>,
        base: &TomlPath,
        custom: &[String],
    ) {
        let Some(gates) = list else { return };
        let mut known = red_metric_ids();
        known.extend(custom.iter().cloned());
        let what = self.what;
        let dropped = format!("this {what} is ignored");
        let mut keep = Vec::new();
        for (i, g) in gates.iter().enumerate() {
            let path = base.key(self.field).index(i);
            let before = checker.problems.len();
            if !known.contains(&g.metric) {
                let hint = suggestion(&g.metric, known.iter().map(String::as_str));
                let why = format!("unknown {what} metric {:?}", g.metric);
                checker.report(&path.key("metric"), why, fix(hint.as_deref(), &dropped));
            }
            if g.gate().is_err() {
                let bounds = [g.max, g.max_ratio, g.max_delta].iter().flatten().count();
                let how_many = if bounds == 0 { "none" } else { "more than one" };
                let why = format!(
                    "{what} on {} has {how_many} of max, max_ratio, max_delta",
                    g.metric
                );
                checker.report(&path, why, fix(Some("give exactly one"), &dropped));
            }
            keep.push(checker.problems.len() == before);
        }
        let given = gates.len();
        let mut keep = keep.into_iter();
        gates.retain(|_| keep.next().unwrap_or(false));
        if given > 0 && gates.is_empty() {
            let fallback = if base.0.len() == 1 {
                self.defaults.to_string()
            } else {
                format!("the top level's {what}s (or the default ones) are used")
            };
            let why = format!("no usable {what} is left in {}", base.key(self.field));
            checker.report(&base.key(self.field), why, fallback);
            *list = None;
        }
    }
}
