//! How a context's metrics resolve: its `[contexts.NAME.metrics]` over
//! the top level's `[metrics]`, over the built-in defaults.

use super::{BakeConfig, Config, CustomMetricConfig, GateConfig, MetricsConfig, PrometheusSection};
use crate::metrics::judge::{MetricDef, MetricQuery, MetricsSettings};
use crate::metrics::profiles::Profile;
use crate::metrics::prometheus::{BasicAuth, PrometheusConfig};
use crate::model::bake::{BakeSettings, parse_bake_duration};
use crate::model::metrics::{Direction, Gate, MetricJudgeConfig, Unit};
use std::time::Duration;

/// What a context's metrics resolve to.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedMetrics {
    /// None when no Prometheus is configured.
    pub prometheus: Option<PrometheusConfig>,
    pub profile: Profile,
    pub settings: MetricsSettings,
}

/// A positive Prometheus duration: `30s`, `5m`, `1h30m`.
pub(super) fn parse_duration(text: &str) -> Option<Duration> {
    crate::time::parse(text, crate::time::PROMETHEUS_UNITS)
        .and_then(|d| d.to_std().ok())
        .filter(|d| !d.is_zero())
}

fn duration(field: &str, text: &Option<String>, default: Duration) -> Result<Duration, String> {
    match text {
        None => Ok(default),
        Some(t) => parse_duration(t)
            .ok_or_else(|| format!("metrics.{field}: {t:?} is not a duration such as 30s or 5m")),
    }
}

/// The unit names of custom metrics.
pub(super) const UNITS: [(&str, Unit); 5] = [
    ("ratio", Unit::Ratio),
    ("seconds", Unit::Seconds),
    ("milliseconds", Unit::Milliseconds),
    ("per-second", Unit::PerSecond),
    ("plain", Unit::Plain),
];

/// The direction names of custom metrics.
pub(super) const DIRECTIONS: [(&str, Direction); 2] = [
    ("higher-is-worse", Direction::Increase),
    ("lower-is-worse", Direction::Decrease),
];

pub(super) fn named<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The gates of a list (`gates`, `slo`) by `field`, or the first mistake.
fn gate_list(field: &str, list: &[GateConfig]) -> Result<Vec<Gate>, String> {
    list.iter()
        .map(GateConfig::gate)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("metrics.{field}: {e}"))
}

impl BakeConfig {
    /// A bake duration may be zero (off); `for` may not.
    fn settings(&self, slos: Vec<Gate>) -> Result<BakeSettings, String> {
        let defaults = BakeSettings::default();
        let duration = match &self.duration {
            None => defaults.duration,
            Some(t) => parse_bake_duration(t).ok_or_else(|| {
                format!(
                    "metrics.bake.duration: {t:?} is not a duration such as 30m (0s turns it off)"
                )
            })?,
        };
        let hold_for = match &self.hold_for {
            None => defaults.hold_for,
            Some(t) => parse_duration(t)
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .ok_or_else(|| format!("metrics.bake.for: {t:?} is not a duration such as 5m"))?,
        };
        Ok(BakeSettings {
            duration,
            hold_for,
            slos,
        })
    }
}

impl GateConfig {
    pub(super) fn gate(&self) -> Result<Gate, String> {
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
    pub(super) fn direction(&self) -> Result<Direction, String> {
        let name = self.direction.as_deref().unwrap_or("higher-is-worse");
        named(&DIRECTIONS, name).ok_or_else(|| {
            format!("direction {name:?} is neither higher-is-worse nor lower-is-worse")
        })
    }

    pub(super) fn unit(&self) -> Result<Unit, String> {
        let name = self.unit.as_deref().unwrap_or("plain");
        named(&UNITS, name).ok_or_else(|| format!("unknown unit {name:?}"))
    }

    fn def(&self, confidence: f64) -> Result<MetricDef, String> {
        let fail = |e: String| format!("metrics.custom {}: {e}", self.name);
        let direction = self.direction().map_err(fail)?;
        let unit = self.unit().map_err(fail)?;
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
        if let Some(n) = self.max_response_bytes {
            cfg.max_response_bytes = n;
        }
        if let Some(n) = self.max_series {
            cfg.max_series = n;
        }
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
            Some(list) => gate_list("gates", list)?,
        };
        let slos = match ctx.and_then(|c| c.slo.as_ref()).or(top.slo.as_ref()) {
            None => defaults.bake.slos.clone(),
            Some(list) => gate_list("slo", list)?,
        };
        let bake_section = |m: &MetricsConfig| m.bake.clone().unwrap_or_default();
        let top_bake = bake_section(top);
        let ctx_bake = ctx.map(bake_section).unwrap_or_default();
        let bake = BakeConfig {
            duration: ctx_bake.duration.or(top_bake.duration),
            hold_for: ctx_bake.hold_for.or(top_bake.hold_for),
        }
        .settings(slos)?;
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
            bake,
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_bake_and_its_slos_resolve_per_context() {
        let config = parse(
            r#"
            [metrics.bake]
            duration = "45m"
            [[metrics.slo]]
            metric = "error_ratio"
            max = 0.02
            [contexts.prod.metrics.bake]
            for = "2m"
            [contexts.off.metrics.bake]
            duration = "0s"
            "#,
        );
        let dev = config.metrics_for("dev", None).unwrap().settings.bake;
        assert_eq!(dev.duration, chrono::Duration::minutes(45));
        assert_eq!(dev.hold_for, chrono::Duration::minutes(5));
        assert_eq!(
            dev.slos,
            vec![Gate::AbsoluteMax {
                metric: "error_ratio".into(),
                max: 0.02
            }]
        );
        let prod = config.metrics_for("prod", None).unwrap().settings.bake;
        assert_eq!(
            (prod.duration, prod.hold_for),
            (chrono::Duration::minutes(45), chrono::Duration::minutes(2))
        );
        let off = config.metrics_for("off", None).unwrap().settings.bake;
        assert!(off.duration.is_zero());
        assert_eq!(
            Config::default()
                .metrics_for("x", None)
                .unwrap()
                .settings
                .bake,
            BakeSettings::default()
        );
        let bad = parse("[metrics.bake]\nfor = \"0s\"\n");
        assert!(
            bad.metrics_for("x", None)
                .unwrap_err()
                .contains("metrics.bake.for")
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
