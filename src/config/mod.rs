//! The config file (`$XDG_CONFIG_HOME/cutover/config.toml`): theme,
//! read-only default, key bindings, the metrics source of each context and
//! the databases. A config with mistakes never stops the program: each
//! mistake is reported with its place, and costs only the part it is in.

pub mod alerts;
mod check;
mod confirm;
mod document;
mod flags;
mod metrics;
mod problem;

pub use confirm::ConfirmStyle;
pub use flags::{FlagsSection, UnleashSection};
pub use metrics::ResolvedMetrics;
pub use problem::Problem;
pub(crate) use problem::position;

use crate::app::keymap::Keymap;
use crate::migrations::backups::{self, BackupSource};
use crate::migrations::freshness::{self, FreshnessSource};
use crate::migrations::{DatabaseConfig, SslMode};
use crate::model::migration::DatabaseLink;
use crate::model::restore::freshness::FreshnessValue;
use crate::ui::theme::{ThemeLibrary, ThemeSettings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A theme: built in, the user's by name, or a theme file.
    pub theme: Option<String>,
    /// Draw with Unicode or plain ASCII; `auto` (the default) follows the
    /// locale and `TERM`.
    #[serde(default)]
    pub glyphs: GlyphsSetting,
    /// Start every session read-only unless `--write` is given.
    #[serde(default)]
    pub read_only: bool,
    /// Command name → keys, e.g. `promote = ["P"]`, `restart = ["ctrl-r"]`.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
    /// Metrics for every context, unless the context says otherwise.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Per kubeconfig context: `[contexts.prod.metrics]`, `alias`,
    /// `confirm`.
    #[serde(default)]
    pub contexts: BTreeMap<String, ContextConfig>,
    /// Named sets of contexts, chosen with `--fleet NAME`: `[fleets.prod]`.
    #[serde(default)]
    pub fleets: BTreeMap<String, FleetSection>,
    /// Databases to read migrations from, by name: `[databases.payments]`.
    #[serde(default)]
    pub databases: BTreeMap<String, DatabaseSection>,
    /// Which releases use which database: `[[links]]`.
    #[serde(default)]
    pub links: Vec<DatabaseLink>,
    /// How the Kubernetes API is read: `[kubernetes]`.
    #[serde(default)]
    pub kubernetes: KubernetesSection,
    /// Where alerts go, for every context unless it says otherwise.
    #[serde(default)]
    pub alerts: alerts::AlertsSection,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSection {
    /// The longest answer read (a list page, any other answer, one watch
    /// event); 64 MiB by default.
    pub max_answer_bytes: Option<usize>,
}

impl KubernetesSection {
    pub fn max_answer_bytes(&self) -> usize {
        self.max_answer_bytes
            .unwrap_or(crate::cluster::answer_limit::DEFAULT_MAX_ANSWER_BYTES)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GlyphsSetting {
    #[default]
    Auto,
    Unicode,
    Ascii,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// `postgres://user@host:port/db`, never with a password.
    pub url: String,
    /// A password file in the pgpass format.
    pub password_file: Option<PathBuf>,
    /// The environment variable holding the password (before `PGPASSWORD`).
    pub password_env: Option<String>,
    /// libpq's: disable, allow, prefer (the default), require, verify-ca or
    /// verify-full. An `sslmode` in the url wins.
    pub sslmode: Option<SslMode>,
    /// libpq's: the CA certificates (PEM) to check the server's with, or
    /// `system`. An `sslrootcert` in the url wins.
    pub sslrootcert: Option<PathBuf>,
    /// Where its backups are read from: `[databases.NAME.backups]`.
    #[serde(default)]
    pub backups: BackupsSection,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupsSection {
    /// `[databases.NAME.backups.pgbackrest]`.
    pub pgbackrest: Option<PgBackRestSection>,
    /// `[databases.NAME.backups.prometheus]`.
    pub prometheus: Option<FreshnessSection>,
    /// A tested restore older than this raises an alarm; 30d by default.
    pub restore_tested_within: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgBackRestSection {
    /// `["pgbackrest", "--stanza=main", "info", "--output=json"]`, or the
    /// same behind `ssh` or `kubectl exec`.
    pub command: Vec<String>,
    /// How long the command may run; 10s by default.
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreshnessSection {
    /// A PromQL query whose value says how fresh the newest backup is.
    pub query: String,
    /// `age-seconds` (the default) or `timestamp`.
    pub value: Option<String>,
    /// A newest backup older than this raises an alarm; 26h by default.
    pub max_age: Option<String>,
}

impl Config {
    /// The configured databases, with `--database NAME=URL` flags added or
    /// replacing the file's URL.
    pub fn databases(&self, flags: &[String]) -> Result<Vec<DatabaseConfig>, String> {
        let mut all: BTreeMap<String, DatabaseConfig> = self
            .databases
            .iter()
            .map(|(name, d)| (name.clone(), d.config(name)))
            .collect();
        for flag in flags {
            let (name, url) = flag
                .split_once('=')
                .filter(|(n, u)| !n.is_empty() && !u.is_empty())
                .ok_or_else(|| {
                    format!(
                        "--database {}: expected NAME=postgres://user@host:port/db",
                        redact(flag)
                    )
                })?;
            let entry = all
                .entry(name.to_string())
                .or_insert_with(|| DatabaseConfig {
                    name: name.to_string(),
                    ..Default::default()
                });
            entry.url = url.to_string();
        }
        Ok(all.into_values().collect())
    }
}

impl Config {
    /// The theme settings of the file: the top level's and each context's.
    pub fn theme_settings(&self) -> ThemeSettings<'_> {
        ThemeSettings {
            top: self.theme.as_deref(),
            contexts: self
                .contexts
                .iter()
                .filter_map(|(name, c)| Some((name.as_str(), c.theme.as_deref()?)))
                .collect(),
            ..ThemeSettings::default()
        }
    }
}

impl DatabaseSection {
    fn config(&self, name: &str) -> DatabaseConfig {
        DatabaseConfig {
            name: name.to_string(),
            url: self.url.clone(),
            password_file: self.password_file.clone(),
            password_env: self.password_env.clone(),
            sslmode: self.sslmode,
            sslrootcert: self.sslrootcert.clone(),
            backups: self.backups.source(),
            freshness: self.backups.freshness(),
        }
    }
}

impl BackupsSection {
    /// The source, once `config check` has dropped what does not parse.
    fn source(&self) -> Option<BackupSource> {
        let duration = |text: &Option<String>, default| {
            text.as_deref()
                .and_then(metrics::parse_duration)
                .unwrap_or(default)
        };
        let pgbackrest = self.pgbackrest.as_ref()?;
        Some(BackupSource {
            command: pgbackrest.command.clone(),
            timeout: duration(&pgbackrest.timeout, backups::DEFAULT_TIMEOUT),
            restore_tested_within: duration(
                &self.restore_tested_within,
                backups::DEFAULT_RESTORE_TESTED_WITHIN,
            ),
        })
    }
}

impl BackupsSection {
    /// The Prometheus query, once `config check` has dropped what does
    /// not parse.
    fn freshness(&self) -> Option<FreshnessSource> {
        let section = self.prometheus.as_ref()?;
        Some(FreshnessSource {
            query: section.query.clone(),
            value: FreshnessValue::parse(section.value.as_deref().unwrap_or("age-seconds"))?,
            max_age: section
                .max_age
                .as_deref()
                .and_then(metrics::parse_duration)
                .unwrap_or(freshness::DEFAULT_MAX_AGE),
        })
    }
}

/// A flag's text with anything after a `:` in the user part hidden, so a
/// mistaken password never reaches the screen.
fn redact(flag: &str) -> String {
    match flag.split_once("://") {
        Some((head, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{head}://…@{host}"),
            None => flag.to_string(),
        },
        None => flag.to_string(),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    /// The short name a fleet shows for this context (`eu`); the context's
    /// name when unset.
    pub alias: Option<String>,
    /// `typed`: every action on this context's releases asks for the
    /// context's name; `yes-no` (the default) as elsewhere.
    pub confirm: Option<ConfirmStyle>,
    /// Over the top-level theme in this context, so production looks
    /// different from staging at a glance.
    pub theme: Option<String>,
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Flag sources beside the FeatureFlag resources: `[contexts.X.flags.unleash]`.
    #[serde(default)]
    pub flags: FlagsSection,
    /// Over the top level's `[alerts]`, field by field.
    #[serde(default)]
    pub alerts: alerts::AlertsSection,
}

/// `[fleets.prod]`: the contexts `--fleet prod` reads, in this order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSection {
    pub contexts: Vec<String>,
}

impl Config {
    /// The short name of `context` in a fleet, when the file gives one.
    pub fn alias(&self, context: &str) -> Option<&str> {
        self.contexts.get(context)?.alias.as_deref()
    }

    /// The contexts whose actions ask for the context's name typed.
    pub fn typed_contexts(&self) -> std::collections::BTreeSet<String> {
        self.contexts
            .iter()
            .filter(|(_, c)| c.confirm == Some(ConfirmStyle::Typed))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// `[metrics]`: every field optional; a context's fields win over the
/// top level's, the top level's over the built-in defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub prometheus: Option<PrometheusSection>,
    /// generic, istio, linkerd, nginx-ingress or envoy.
    pub profile: Option<String>,
    /// The span of each current value and of the samples (`5m`).
    pub window: Option<String>,
    /// Between two samples (`15s`).
    pub step: Option<String>,
    /// The `rate()` range of each sample (`1m`).
    pub rate_interval: Option<String>,
    /// Between two refreshes (`15s`).
    pub refresh: Option<String>,
    /// Of the Mann–Whitney test, 0.98 by default.
    pub confidence: Option<f64>,
    /// Fewer canary requests than this in the window is low traffic.
    pub min_canary_requests: Option<f64>,
    /// Replace the default gates (error ratio +0.5 pp, p95 ×1.2).
    pub gates: Option<Vec<GateConfig>>,
    /// Business and custom metrics, judged beside the RED ones.
    #[serde(default)]
    pub custom: Vec<CustomMetricConfig>,
    /// The bake window after a release finishes.
    pub bake: Option<BakeConfig>,
    /// Replace the bake's default SLOs (error ratio ≤ 1%, p95 ≤ 1.2 × the
    /// previous version's): `[[metrics.slo]]`, written as gates are.
    pub slo: Option<Vec<GateConfig>>,
}

/// `[metrics.bake]`: how long a finished release is watched, and how long
/// an SLO must be violated to count.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BakeConfig {
    /// `30m` by default; `0s` turns the bake off.
    pub duration: Option<String>,
    /// `5m` by default, like a Prometheus alerting rule's `for`.
    #[serde(rename = "for")]
    pub hold_for: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSection {
    /// With any path prefix: `https://mimir.example/prometheus`.
    pub url: Option<String>,
    pub timeout: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    /// The name of an environment variable holding the token.
    pub bearer_token_env: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    /// Sent with every request, e.g. `{ "X-Scope-OrgID" = "tenant-1" }`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    pub max_concurrency: Option<usize>,
    /// The longest answer read (16 MiB by default); a longer one fails its query.
    pub max_response_bytes: Option<usize>,
    /// The most series an answer may hold (100 by default).
    pub max_series: Option<usize>,
}

/// One SLO gate: `metric` and exactly one of `max` (absolute, in the
/// metric's unit: a ratio, or milliseconds), `max_ratio` (canary at most
/// baseline × this) or `max_delta` (canary at most baseline + this).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    pub metric: String,
    pub max: Option<f64>,
    pub max_ratio: Option<f64>,
    pub max_delta: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomMetricConfig {
    /// The identifier gates refer to.
    pub name: String,
    /// What the screen calls it (default: the name).
    pub label: Option<String>,
    /// PromQL grouped by `{{version_label}}`, with `{{namespace}}`,
    /// `{{release}}`, `{{app}}`, `{{version_selector}}` and `{{interval}}`.
    pub query: String,
    /// `higher-is-worse` (default) or `lower-is-worse`.
    pub direction: Option<String>,
    /// ratio, seconds, milliseconds, per-second or plain (default).
    pub unit: Option<String>,
    /// A critical metric that is not Pass fails the release.
    #[serde(default)]
    pub critical: bool,
}

/// The config file as cutover uses it: the parts without mistakes, the
/// key bindings they make, and every mistake.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// Whether there was a file: a missing one is the defaults.
    pub found: bool,
    pub config: Config,
    pub keymap: Keymap,
    /// In file order.
    pub problems: Vec<Problem>,
}

impl Loaded {
    /// Each problem as `FILE:LINE:COL: problem: fix`.
    pub fn report(&self) -> Vec<String> {
        self.problems.iter().map(|p| p.render(&self.path)).collect()
    }
}

/// The config at `path`. A missing file is the defaults; in a file with
/// mistakes each is a problem and costs only the part it is in.
/// `database_flags` (`--database NAME=URL`) name databases that the
/// file's links may use.
pub fn load(path: &Path, database_flags: &[String]) -> Loaded {
    let mut loaded = Loaded {
        path: path.to_path_buf(),
        found: true,
        config: Config::default(),
        keymap: Keymap::default(),
        problems: Vec::new(),
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let themes = ThemeLibrary::installed();
            (loaded.config, loaded.keymap, loaded.problems) =
                check::check(&text, database_flags, &themes);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => loaded.found = false,
        Err(e) => loaded.problems.push(Problem {
            at: None,
            problem: format!("cannot read the file: {e}"),
            fix: "the built-in defaults are used".into(),
        }),
    }
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_the_defaults_and_a_good_one_has_no_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let missing = load(&path, &[]);
        assert!(!missing.found && missing.problems.is_empty());
        std::fs::write(&path, "theme = \"mono\"\n[keys]\npromote = [\"ctrl-p\"]\n").unwrap();
        let loaded = load(&path, &[]);
        assert!(loaded.found);
        assert_eq!(loaded.problems, []);
        assert_eq!(loaded.config.theme.as_deref(), Some("mono"));
        assert_eq!(
            loaded.keymap.label(crate::app::keymap::KeyCommand::Promote),
            "Ctrl-p"
        );
        std::fs::write(&path, "theme = [unclosed").unwrap();
        let loaded = load(&path, &[]);
        assert!(loaded.config.theme.is_none());
        assert!(
            loaded.report()[0].starts_with(&format!("{}:1:", path.display())),
            "{:?}",
            loaded.report()
        );
    }

    fn parse(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn databases_come_from_the_file_and_the_flags() {
        let config = parse(
            r#"
            [databases.payments]
            url = "postgres://app@db.example:5432/payments"
            password_env = "PAYMENTS_PGPASSWORD"
            [[links]]
            namespace = "shop"
            release = "payments"
            database = "payments"
            "#,
        );
        let dbs = config
            .databases(&["orders=postgres://app@127.0.0.1:5433/orders".into()])
            .unwrap();
        assert_eq!(dbs.len(), 2);
        assert_eq!(dbs[1].name, "payments");
        assert_eq!(dbs[1].password_env.as_deref(), Some("PAYMENTS_PGPASSWORD"));
        let replaced = config
            .databases(&["payments=postgres://app@127.0.0.1:6000/payments".into()])
            .unwrap();
        assert_eq!(replaced[0].url, "postgres://app@127.0.0.1:6000/payments");
        assert_eq!(
            replaced[0].password_env.as_deref(),
            Some("PAYMENTS_PGPASSWORD")
        );
        let err = config
            .databases(&["postgres://app:hunter2@db/x".into()])
            .unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn a_database_takes_libpq_tls_settings_and_a_flag_keeps_them() {
        let config = parse(
            r#"
            [databases.payments]
            url = "postgres://app@db.example:5432/payments"
            sslmode = "verify-full"
            sslrootcert = "/etc/cutover/payments-ca.pem"
            "#,
        );
        let from_file = &config.databases(&[]).unwrap()[0];
        assert_eq!(from_file.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(
            from_file.sslrootcert.as_deref(),
            Some(Path::new("/etc/cutover/payments-ca.pem"))
        );
        let flagged = &config
            .databases(&["payments=postgres://app@127.0.0.1:6000/payments?sslmode=require".into()])
            .unwrap()[0];
        assert_eq!(
            flagged.sslmode,
            Some(SslMode::VerifyFull),
            "the url's wins when connecting"
        );
        assert!(flagged.url.ends_with("?sslmode=require"));

        let err = toml::from_str::<Config>(
            "[databases.x]\nurl = \"postgres://db/x\"\nsslmode = \"on\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("sslmode \"on\" is not one of disable, allow, prefer, require, verify-ca, verify-full"),
            "{err}"
        );
    }
}
