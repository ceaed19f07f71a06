//! The config file (`$XDG_CONFIG_HOME/cutover/config.toml`): theme,
//! read-only default, key bindings, and the metrics source of each context.
//! A broken file never stops the program: the defaults are used and the
//! problem is shown on screen.

use crate::metrics::judge::{MetricDef, MetricQuery, MetricsSettings};
use crate::metrics::profiles::Profile;
use crate::metrics::prometheus::{BasicAuth, PrometheusConfig};
use crate::migrations::{DatabaseConfig, SslMode};
use crate::model::metrics::{Direction, Gate, MetricJudgeConfig, Unit};
use crate::model::migration::DatabaseLink;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A built-in theme name or a theme file.
    pub theme: Option<String>,
    /// Start every session read-only unless `--write` is given.
    #[serde(default)]
    pub read_only: bool,
    /// Command name → keys, e.g. `promote = ["P"]`, `restart = ["ctrl-r"]`.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
    /// Metrics for every context, unless the context says otherwise.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Per kubeconfig context: `[contexts.prod.metrics]`.
    #[serde(default)]
    pub contexts: BTreeMap<String, ContextConfig>,
    /// Databases to read migrations from, by name: `[databases.payments]`.
    #[serde(default)]
    pub databases: BTreeMap<String, DatabaseSection>,
    /// Which releases use which database: `[[links]]`.
    #[serde(default)]
    pub links: Vec<DatabaseLink>,
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
}

impl Config {
    /// The configured databases, with `--database NAME=URL` flags added or
    /// replacing the file's URL.
    pub fn databases(&self, flags: &[String]) -> Result<Vec<DatabaseConfig>, String> {
        let mut all: BTreeMap<String, DatabaseConfig> = self
            .databases
            .iter()
            .map(|(name, d)| {
                let config = DatabaseConfig {
                    name: name.clone(),
                    url: d.url.clone(),
                    password_file: d.password_file.clone(),
                    password_env: d.password_env.clone(),
                    sslmode: d.sslmode,
                    sslrootcert: d.sslrootcert.clone(),
                };
                (name.clone(), config)
            })
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
    #[serde(default)]
    pub metrics: MetricsConfig,
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

/// What a context's metrics resolve to.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedMetrics {
    /// None when no Prometheus is configured.
    pub prometheus: Option<PrometheusConfig>,
    pub profile: Profile,
    pub settings: MetricsSettings,
}

fn duration(field: &str, text: &Option<String>, default: Duration) -> Result<Duration, String> {
    match text {
        None => Ok(default),
        Some(t) => crate::time::parse(t, crate::time::PROMETHEUS_UNITS)
            .and_then(|d| d.to_std().ok())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("metrics.{field}: {t:?} is not a duration such as 30s or 5m")),
    }
}

/// A limit of `[metrics.prometheus]`: zero would fail every query.
fn at_least_one(field: &str, limit: Option<usize>) -> Result<Option<usize>, String> {
    match limit {
        Some(0) => Err(format!(
            "metrics.prometheus.{field}: 0 would refuse every answer; leave it out for the default"
        )),
        limit => Ok(limit),
    }
}

fn unit(name: &str) -> Result<Unit, String> {
    Ok(match name {
        "ratio" => Unit::Ratio,
        "seconds" => Unit::Seconds,
        "milliseconds" => Unit::Milliseconds,
        "per-second" => Unit::PerSecond,
        "plain" => Unit::Plain,
        other => return Err(format!("unknown unit {other:?}")),
    })
}

impl GateConfig {
    fn gate(&self) -> Result<Gate, String> {
        let metric = self.metric.clone();
        match (self.max, self.max_ratio, self.max_delta) {
            (Some(max), None, None) => Ok(Gate::AbsoluteMax { metric, max }),
            (None, Some(max_ratio), None) => Ok(Gate::RelativeRatio { metric, max_ratio }),
            (None, None, Some(max_delta)) => Ok(Gate::RelativeDelta { metric, max_delta }),
            _ => Err(format!(
                "gate on {metric}: give exactly one of max, max_ratio, max_delta"
            )),
        }
    }
}

impl CustomMetricConfig {
    fn def(&self, confidence: f64) -> Result<MetricDef, String> {
        let fail = |e: String| format!("metrics.custom {}: {e}", self.name);
        let direction = match self.direction.as_deref() {
            None | Some("higher-is-worse") => Direction::Increase,
            Some("lower-is-worse") => Direction::Decrease,
            Some(other) => {
                return Err(fail(format!(
                    "direction {other:?} is neither higher-is-worse nor lower-is-worse"
                )));
            }
        };
        let unit = unit(self.unit.as_deref().unwrap_or("plain")).map_err(fail)?;
        let label = self.label.clone().unwrap_or_else(|| self.name.clone());
        let mut judge = MetricJudgeConfig::new(label.clone(), unit, direction);
        judge.critical = self.critical;
        judge.confidence = confidence;
        Ok(MetricDef {
            id: self.name.clone(),
            query: MetricQuery::Custom(self.query.clone()),
            judge: Some(judge),
            unit,
            label,
        })
    }
}

impl PrometheusSection {
    fn client_config(&self, url: String) -> Result<PrometheusConfig, String> {
        let mut cfg = PrometheusConfig::new(url);
        cfg.timeout = duration("prometheus.timeout", &self.timeout, cfg.timeout)?;
        cfg.bearer_token_file = self.bearer_token_file.clone();
        cfg.bearer_token_env = self.bearer_token_env.clone();
        cfg.basic_auth = self.username.clone().map(|username| BasicAuth {
            username,
            password_file: self.password_file.clone(),
            password_env: self.password_env.clone(),
        });
        cfg.headers = self.headers.clone().into_iter().collect();
        cfg.ca_file = self.ca_file.clone();
        cfg.insecure_skip_verify = self.insecure_skip_verify;
        if let Some(n) = self.max_concurrency {
            cfg.max_concurrency = n;
        }
        cfg.max_response_bytes = at_least_one("max_response_bytes", self.max_response_bytes)?
            .unwrap_or(cfg.max_response_bytes);
        cfg.max_series = at_least_one("max_series", self.max_series)?.unwrap_or(cfg.max_series);
        Ok(cfg)
    }
}

impl Config {
    /// The metrics of `context`: its section over the top level's, and
    /// `url_override` (`--prometheus`, `CUTOVER_PROMETHEUS_URL`) over both.
    pub fn metrics_for(
        &self,
        context: &str,
        url_override: Option<&str>,
    ) -> Result<ResolvedMetrics, String> {
        let top = &self.metrics;
        let ctx = self.contexts.get(context).map(|c| &c.metrics);
        let pick = |f: fn(&MetricsConfig) -> &Option<String>| {
            ctx.and_then(|c| f(c).clone()).or_else(|| f(top).clone())
        };
        let defaults = MetricsSettings::default();
        let profile = match pick(|m| &m.profile) {
            None => Profile::default(),
            Some(name) => Profile::parse(&name).ok_or_else(|| {
                format!(
                    "metrics.profile: unknown profile {name:?} (known: {})",
                    Profile::ALL.map(Profile::name).join(", ")
                )
            })?,
        };
        let confidence = ctx
            .and_then(|c| c.confidence)
            .or(top.confidence)
            .unwrap_or(0.98);
        if !(0.5..1.0).contains(&confidence) {
            return Err(format!(
                "metrics.confidence: {confidence} is not between 0.5 and 1"
            ));
        }
        let gates = match ctx.and_then(|c| c.gates.as_ref()).or(top.gates.as_ref()) {
            None => defaults.gates.clone(),
            Some(list) => list
                .iter()
                .map(GateConfig::gate)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("metrics.gates: {e}"))?,
        };
        let custom = match ctx.filter(|c| !c.custom.is_empty()) {
            Some(c) => &c.custom,
            None => &top.custom,
        };
        let mut metrics = MetricDef::red_defaults(confidence);
        for c in custom {
            metrics.push(c.def(confidence)?);
        }
        let settings = MetricsSettings {
            window: duration("window", &pick(|m| &m.window), defaults.window)?,
            step: duration("step", &pick(|m| &m.step), defaults.step)?,
            rate_interval: duration(
                "rate_interval",
                &pick(|m| &m.rate_interval),
                defaults.rate_interval,
            )?,
            refresh: duration("refresh", &pick(|m| &m.refresh), defaults.refresh)?,
            metrics,
            gates,
            thresholds: defaults.thresholds,
            min_canary_requests: ctx
                .and_then(|c| c.min_canary_requests)
                .or(top.min_canary_requests)
                .unwrap_or(defaults.min_canary_requests),
        };
        let section = ctx
            .and_then(|c| c.prometheus.as_ref())
            .or(top.prometheus.as_ref());
        let url = url_override
            .map(str::to_string)
            .or_else(|| section.and_then(|s| s.url.clone()));
        let prometheus = match url {
            None => None,
            Some(url) => Some(section.cloned().unwrap_or_default().client_config(url)?),
        };
        Ok(ResolvedMetrics {
            prometheus,
            profile,
            settings,
        })
    }
}

pub fn default_path() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(std::env::temp_dir)
        .join("cutover")
        .join("config.toml")
}

/// The config at `path`; a missing file is the defaults, a broken one is
/// the defaults and a warning.
pub fn load(path: &Path) -> (Config, Vec<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str(&text) {
            Ok(config) => (config, Vec::new()),
            Err(e) => (
                Config::default(),
                vec![format!(
                    "config {} ignored: {}",
                    path.display(),
                    e.to_string().lines().next().unwrap_or_default()
                )],
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), Vec::new()),
        Err(e) => (
            Config::default(),
            vec![format!("config {} unreadable: {e}", path.display())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_config_gives_defaults_and_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(load(&path).1.is_empty(), "a missing file is fine");
        std::fs::write(&path, "theme = \"mono\"\n[keys]\npromote = [\"ctrl-p\"]\n").unwrap();
        let (config, warnings) = load(&path);
        assert!(warnings.is_empty());
        assert_eq!(config.theme.as_deref(), Some("mono"));
        assert_eq!(config.keys["promote"], vec!["ctrl-p".to_string()]);
        std::fs::write(&path, "theme = [unclosed").unwrap();
        let (config, warnings) = load(&path);
        assert!(config.theme.is_none());
        assert!(warnings[0].contains("ignored"), "{warnings:?}");
    }

    fn parse(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_context_overrides_the_top_level_and_the_flag_overrides_both() {
        let config = parse(
            r#"
            [metrics]
            window = "10m"
            [metrics.prometheus]
            url = "http://prometheus.monitoring:9090"
            headers = { "X-Scope-OrgID" = "tenant-1" }
            [contexts.prod.metrics]
            profile = "istio"
            [contexts.prod.metrics.prometheus]
            url = "https://mimir.example/prometheus"
            timeout = "3s"
            max_response_bytes = 67_108_864
            max_series = 500
            [[contexts.prod.metrics.gates]]
            metric = "p99_latency"
            max = 500
            [[contexts.prod.metrics.custom]]
            name = "conversion"
            query = "sum by ({{version_label}}) (rate(orders_total{ {{version_selector}} }[{{interval}}]))"
            direction = "lower-is-worse"
            unit = "per-second"
            critical = true
            "#,
        );
        let dev = config.metrics_for("dev", None).unwrap();
        let prom = dev.prometheus.unwrap();
        assert_eq!(prom.url, "http://prometheus.monitoring:9090");
        assert_eq!(
            prom.headers,
            vec![("X-Scope-OrgID".into(), "tenant-1".into())]
        );
        assert_eq!(
            (prom.max_response_bytes, prom.max_series),
            (16 << 20, 100),
            "the defaults"
        );
        assert_eq!(dev.profile, Profile::Generic);
        assert_eq!(dev.settings.window, Duration::from_secs(600));
        assert_eq!(dev.settings.gates, Gate::defaults());

        let prod = config.metrics_for("prod", None).unwrap();
        let prom = prod.prometheus.unwrap();
        assert_eq!(prom.url, "https://mimir.example/prometheus");
        assert_eq!(prom.timeout, Duration::from_secs(3));
        assert_eq!((prom.max_response_bytes, prom.max_series), (64 << 20, 500));
        assert!(
            prom.headers.is_empty(),
            "the context's section replaces the top level's"
        );
        assert_eq!(prod.profile, Profile::Istio);
        assert_eq!(prod.settings.window, Duration::from_secs(600));
        assert_eq!(
            prod.settings.gates,
            vec![Gate::AbsoluteMax {
                metric: "p99_latency".into(),
                max: 500.0
            }]
        );
        let conversion = prod.settings.metrics.last().unwrap();
        assert_eq!(conversion.id, "conversion");
        let judge = conversion.judge.as_ref().unwrap();
        assert_eq!(
            (judge.direction, judge.critical),
            (Direction::Decrease, true)
        );

        let flagged = config
            .metrics_for("prod", Some("http://127.0.0.1:9090"))
            .unwrap();
        assert_eq!(flagged.prometheus.unwrap().url, "http://127.0.0.1:9090");
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

    #[test]
    fn no_prometheus_configured_is_none_and_mistakes_are_named() {
        assert!(
            Config::default()
                .metrics_for("any", None)
                .unwrap()
                .prometheus
                .is_none()
        );
        let bad = parse("[metrics]\nwindow = \"soon\"\n");
        assert!(
            bad.metrics_for("x", None)
                .unwrap_err()
                .contains("metrics.window")
        );
        let bad = parse("[metrics.prometheus]\nurl = \"http://p:9090\"\nmax_series = 0\n");
        assert!(
            bad.metrics_for("x", None)
                .unwrap_err()
                .contains("metrics.prometheus.max_series: 0 would refuse every answer")
        );
        let bad = parse("[metrics]\nprofile = \"zipkin\"\n");
        assert!(
            bad.metrics_for("x", None)
                .unwrap_err()
                .contains("unknown profile")
        );
        let bad = parse("[[metrics.gates]]\nmetric = \"p95_latency\"\nmax = 1\nmax_ratio = 2\n");
        assert!(
            bad.metrics_for("x", None)
                .unwrap_err()
                .contains("exactly one")
        );
    }
}
