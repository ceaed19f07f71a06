//! Profiles: how the baseline and canary series of a release are selected,
//! and the PromQL for their RED metrics. Every query groups by the version
//! label, so one query per metric serves both sides, whatever the number of
//! pods.

use crate::model::{Kind, Release, ReleaseKey, Role};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The application's own `http_requests_total` and
    /// `http_request_duration_seconds`, by the pod-template-hash label.
    #[default]
    Generic,
    /// `istio_requests_total` and `istio_request_duration_milliseconds`.
    Istio,
    /// Linkerd's proxy metrics `response_total` and `response_latency_ms`.
    Linkerd,
    /// ingress-nginx canary: `nginx_ingress_controller_requests` by service.
    NginxIngress,
    /// Envoy-based routers: `envoy_cluster_upstream_rq` by cluster.
    Envoy,
}

impl Profile {
    pub const ALL: [Profile; 5] = [
        Profile::Generic,
        Profile::Istio,
        Profile::Linkerd,
        Profile::NginxIngress,
        Profile::Envoy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Generic => "generic",
            Profile::Istio => "istio",
            Profile::Linkerd => "linkerd",
            Profile::NginxIngress => "nginx-ingress",
            Profile::Envoy => "envoy",
        }
    }

    pub fn parse(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The annotation that overrides a context's profile for one release.
pub const PROFILE_ANNOTATION: &str = "cutover.dev/metrics-profile";

/// Which label tells the versions apart, and its value on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sides {
    pub label: String,
    pub baseline: String,
    pub canary: String,
}

/// The RED metrics, each one PromQL query grouped by the version label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum RedMetric {
    RequestRate,
    ErrorRatio,
    P50,
    P95,
    P99,
    /// Requests in the window: the sample size behind the quantiles.
    Requests,
}

impl RedMetric {
    pub const ALL: [RedMetric; 6] = [
        RedMetric::RequestRate,
        RedMetric::ErrorRatio,
        RedMetric::P50,
        RedMetric::P95,
        RedMetric::P99,
        RedMetric::Requests,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RedMetric::RequestRate => "request rate",
            RedMetric::ErrorRatio => "error ratio",
            RedMetric::P50 => "p50 latency",
            RedMetric::P95 => "p95 latency",
            RedMetric::P99 => "p99 latency",
            RedMetric::Requests => "requests",
        }
    }
}

/// The profile of a release: its annotation, else the context's.
pub fn profile_for(release: &Release, context_default: Profile) -> Result<Profile, String> {
    match release.annotations.get(PROFILE_ANNOTATION) {
        Some(name) => Profile::parse(name).ok_or_else(|| {
            format!(
                "{PROFILE_ANNOTATION}: unknown profile {name:?} (known: {})",
                Profile::ALL.map(Profile::name).join(", ")
            )
        }),
        None => Ok(context_default),
    }
}

fn revision_hash(release: &Release, role: Role) -> Option<&str> {
    release.revision_by_role(role).map(|r| r.hash.as_str())
}

/// The pod label a revision's template sets, for Istio's `destination_version`.
fn version_label(release: &Release, role: Role) -> Option<String> {
    let template = release.revision_by_role(role)?.template()?;
    let labels = template.pointer("/metadata/labels")?;
    labels
        .get("version")
        .or_else(|| labels.get("app.kubernetes.io/version"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// The stable and canary sides of a release under a profile, or why there
/// is nothing to compare (no canary, or labels the profile cannot tell apart).
pub fn sides(profile: Profile, release: &Release) -> Result<Sides, String> {
    let stable_role = if release.blue_green.is_some() {
        Role::Active
    } else {
        Role::Stable
    };
    let canary_role = if release.blue_green.is_some() {
        Role::Preview
    } else {
        Role::Canary
    };
    let flagger = release.flagger.as_ref();
    let pair = |label: &str, b: Option<String>, c: Option<String>| match (b, c) {
        (Some(baseline), Some(canary)) if baseline != canary => Ok(Sides {
            label: label.to_string(),
            baseline,
            canary,
        }),
        (_, None) => Err("no canary revision to compare".to_string()),
        (None, _) => Err("no baseline revision to compare".to_string()),
        _ => Err("baseline and canary are the same revision".to_string()),
    };
    let hashes = || {
        (
            revision_hash(release, stable_role).map(str::to_string),
            revision_hash(release, canary_role).map(str::to_string),
        )
    };
    let hash_label = if release.key.kind == Kind::Rollout {
        "rollouts_pod_template_hash"
    } else {
        "pod_template_hash"
    };
    match profile {
        Profile::Generic => {
            let (b, c) = hashes();
            pair(hash_label, b, c)
        }
        Profile::Istio | Profile::Linkerd => {
            let label = if profile == Profile::Istio {
                "destination_workload"
            } else {
                "deployment"
            };
            match flagger {
                Some(f) => pair(label, Some(f.primary.clone()), Some(f.target.clone())),
                None if profile == Profile::Istio => pair(
                    "destination_version",
                    version_label(release, stable_role),
                    version_label(release, canary_role),
                ),
                None => {
                    let (b, c) = hashes();
                    pair("pod_template_hash", b, c)
                }
            }
        }
        Profile::NginxIngress | Profile::Envoy => {
            let (stable_svc, canary_svc) = services(release)
                .ok_or("no stable and canary services to tell the versions apart")?;
            let label = if profile == Profile::NginxIngress {
                "service"
            } else {
                "envoy_cluster_name"
            };
            pair(label, Some(stable_svc), Some(canary_svc))
        }
    }
}

/// The stable and canary Services of a release (Argo's canaryService and
/// stableService, Flagger's `<svc>-primary` and `<svc>-canary`).
fn services(release: &Release) -> Option<(String, String)> {
    if let Some(f) = &release.flagger {
        return Some((
            format!("{}-primary", f.target),
            format!("{}-canary", f.target),
        ));
    }
    Some((
        release.stable_service.clone()?,
        release.canary_service.clone()?,
    ))
}

/// What the metrics of one release are read from: everything the queries
/// need, without the rest of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricsTarget {
    pub key: ReleaseKey,
    pub app: String,
    /// The `app` label of the baseline's pods when it differs from the
    /// canary's (Flagger's `<target>-primary`).
    pub baseline_app: Option<String>,
    pub profile: Profile,
    pub sides: Sides,
    /// A blue-green preview: it serves no production traffic until promoted.
    pub preview: bool,
}

/// The target of a release under its profile, or why it has none.
pub fn target(release: &Release, context_default: Profile) -> Result<MetricsTarget, String> {
    let profile = profile_for(release, context_default)?;
    Ok(MetricsTarget {
        key: release.key.clone(),
        app: app_of(release).to_string(),
        baseline_app: release.flagger.as_ref().map(|f| f.primary.clone()),
        preview: release.blue_green.is_some(),
        profile,
        sides: sides(profile, release)?,
    })
}

/// The placeholders a custom metric's template may use.
pub struct TemplateVars<'a> {
    pub namespace: &'a str,
    pub release: &'a str,
    pub app: &'a str,
    pub sides: &'a Sides,
    /// A range such as `5m`.
    pub interval: &'a str,
}

impl TemplateVars<'_> {
    /// `{{namespace}}`, `{{release}}`, `{{app}}`, `{{version_label}}`,
    /// `{{version_selector}}` (the label matching both sides), `{{interval}}`.
    pub fn render(&self, template: &str) -> String {
        template
            .replace("{{namespace}}", self.namespace)
            .replace("{{release}}", self.release)
            .replace("{{app}}", self.app)
            .replace("{{version_label}}", &self.sides.label)
            .replace("{{version_selector}}", &version_matcher(self.sides))
            .replace("{{interval}}", self.interval)
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = ".+*?()|[]{}^$\\".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect::<String>()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

fn version_matcher(s: &Sides) -> String {
    format!(
        "{}=~\"{}|{}\"",
        s.label,
        regex_escape(&s.baseline),
        regex_escape(&s.canary)
    )
}

/// The app a release's series carry: the `app` selector label, else its name.
pub fn app_of(release: &Release) -> &str {
    release
        .selector
        .get("app")
        .or_else(|| release.selector.get("app.kubernetes.io/name"))
        .map_or(release.key.name.as_str(), String::as_str)
}

struct Family {
    /// Series matchers shared by every query, before the version matcher.
    matchers: String,
    requests: &'static str,
    errors: &'static str,
    bucket: &'static str,
    /// Multiplier from the histogram's unit to milliseconds.
    to_ms: f64,
}

fn family(target: &MetricsTarget) -> Family {
    let ns = &target.key.namespace;
    match target.profile {
        Profile::Generic => Family {
            matchers: match &target.baseline_app {
                Some(primary) => format!(
                    "namespace=\"{ns}\",app=~\"{}|{}\",",
                    regex_escape(&target.app),
                    regex_escape(primary)
                ),
                None => format!("namespace=\"{ns}\",app=\"{}\",", target.app),
            },
            requests: "http_requests_total",
            errors: "code=~\"5..\",",
            bucket: "http_request_duration_seconds_bucket",
            to_ms: 1000.0,
        },
        Profile::Istio => Family {
            matchers: format!("reporter=\"destination\",destination_workload_namespace=\"{ns}\","),
            requests: "istio_requests_total",
            errors: "response_code=~\"5..\",",
            bucket: "istio_request_duration_milliseconds_bucket",
            to_ms: 1.0,
        },
        Profile::Linkerd => Family {
            matchers: format!("namespace=\"{ns}\",direction=\"inbound\","),
            requests: "response_total",
            errors: "classification=\"failure\",",
            bucket: "response_latency_ms_bucket",
            to_ms: 1.0,
        },
        Profile::NginxIngress => Family {
            matchers: format!("namespace=\"{ns}\","),
            requests: "nginx_ingress_controller_requests",
            errors: "status=~\"5..\",",
            bucket: "nginx_ingress_controller_request_duration_seconds_bucket",
            to_ms: 1000.0,
        },
        Profile::Envoy => Family {
            matchers: String::new(),
            requests: "envoy_cluster_upstream_rq",
            errors: "envoy_response_code_class=\"5\",",
            bucket: "envoy_cluster_upstream_rq_time_bucket",
            to_ms: 1.0,
        },
    }
}

/// The PromQL of one RED metric over `window`, grouped by the version label.
/// Latencies are in milliseconds, ratios between 0 and 1.
pub fn red_query(target: &MetricsTarget, metric: RedMetric, window: &str) -> String {
    let f = family(target);
    let sides = &target.sides;
    let by = &sides.label;
    let sel = format!("{}{}", f.matchers, version_matcher(sides));
    let rate = |extra: &str| {
        format!(
            "sum by ({by}) (rate({}{{{extra}{sel}}}[{window}]))",
            f.requests
        )
    };
    let quantile = |q: &str| {
        let scale = if f.to_ms == 1.0 {
            String::new()
        } else {
            format!(" * {}", f.to_ms)
        };
        format!(
            "histogram_quantile({q}, sum by ({by}, le) (rate({}{{{sel}}}[{window}]))){scale}",
            f.bucket
        )
    };
    match metric {
        RedMetric::RequestRate => rate(""),
        RedMetric::ErrorRatio => format!("{} / {}", rate(f.errors), rate("")),
        RedMetric::P50 => quantile("0.5"),
        RedMetric::P95 => quantile("0.95"),
        RedMetric::P99 => quantile("0.99"),
        RedMetric::Requests => format!(
            "sum by ({by}) (increase({}{{{sel}}}[{window}]))",
            f.requests
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fixture::{ARGO_CANARY, FLAGGER_CANARY, Fixture};

    fn checkout() -> Release {
        Fixture::load(&[ARGO_CANARY]).release(Kind::Rollout, "checkout")
    }

    #[test]
    fn generic_argo_sides_are_the_pod_template_hashes() {
        let r = checkout();
        let t = target(&r, Profile::Generic).unwrap();
        let s = &t.sides;
        assert_eq!(
            (s.label.as_str(), s.baseline.as_str(), s.canary.as_str()),
            ("rollouts_pod_template_hash", "f6db98dff", "6f646bf7b7")
        );
        assert_eq!(
            red_query(&t, RedMetric::ErrorRatio, "5m"),
            "sum by (rollouts_pod_template_hash) (rate(http_requests_total{code=~\"5..\",namespace=\"shop\",app=\"checkout\",rollouts_pod_template_hash=~\"f6db98dff|6f646bf7b7\"}[5m])) \
             / sum by (rollouts_pod_template_hash) (rate(http_requests_total{namespace=\"shop\",app=\"checkout\",rollouts_pod_template_hash=~\"f6db98dff|6f646bf7b7\"}[5m]))"
        );
        assert_eq!(
            red_query(&t, RedMetric::P95, "5m"),
            "histogram_quantile(0.95, sum by (rollouts_pod_template_hash, le) (rate(http_request_duration_seconds_bucket{namespace=\"shop\",app=\"checkout\",rollouts_pod_template_hash=~\"f6db98dff|6f646bf7b7\"}[5m]))) * 1000"
        );
    }

    #[test]
    fn flagger_sides_are_primary_and_target() {
        let r = Fixture::load(&[FLAGGER_CANARY]).release(Kind::Canary, "search");
        let t = target(&r, Profile::Istio).unwrap();
        let istio = &t.sides;
        assert_eq!(
            (istio.baseline.as_str(), istio.canary.as_str()),
            ("search-primary", "search")
        );
        assert_eq!(istio.label, "destination_workload");
        let q = red_query(&t, RedMetric::P99, "1m");
        assert!(q.starts_with("histogram_quantile(0.99, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{reporter=\"destination\""), "{q}");
        assert!(!q.ends_with("* 1000"), "Istio reports milliseconds");
        let nginx = sides(Profile::NginxIngress, &r).unwrap();
        assert_eq!(
            (nginx.baseline.as_str(), nginx.canary.as_str()),
            ("search-primary", "search-canary")
        );
        let generic = target(&r, Profile::Generic).unwrap();
        assert_eq!(generic.sides.label, "pod_template_hash");
        assert!(
            red_query(&generic, RedMetric::Requests, "5m")
                .contains("app=~\"search|search-primary\""),
            "the primary's pods carry app=search-primary"
        );
    }

    #[test]
    fn argo_services_feed_the_ingress_profiles() {
        let r = checkout();
        let s = sides(Profile::NginxIngress, &r).unwrap();
        assert_eq!(
            (s.baseline.as_str(), s.canary.as_str()),
            ("checkout-stable", "checkout-canary")
        );
    }

    #[test]
    fn nothing_to_compare_says_why() {
        let mut r = checkout();
        r.revisions.retain(|rev| !rev.roles.contains(&Role::Canary));
        assert_eq!(
            sides(Profile::Generic, &r).unwrap_err(),
            "no canary revision to compare"
        );
    }

    #[test]
    fn the_annotation_overrides_the_context_profile() {
        let mut r = checkout();
        assert_eq!(profile_for(&r, Profile::Istio), Ok(Profile::Istio));
        r.annotations
            .insert(PROFILE_ANNOTATION.into(), "linkerd".into());
        assert_eq!(profile_for(&r, Profile::Istio), Ok(Profile::Linkerd));
        r.annotations
            .insert(PROFILE_ANNOTATION.into(), "zipkin".into());
        assert!(
            profile_for(&r, Profile::Istio)
                .unwrap_err()
                .contains("unknown profile")
        );
    }

    #[test]
    fn custom_templates_get_their_placeholders() {
        let r = checkout();
        let s = sides(Profile::Generic, &r).unwrap();
        let vars = TemplateVars {
            namespace: "shop",
            release: "checkout",
            app: app_of(&r),
            sides: &s,
            interval: "5m",
        };
        assert_eq!(
            vars.render("sum by ({{version_label}}) (rate(orders_total{namespace=\"{{namespace}}\",{{version_selector}}}[{{interval}}]))"),
            "sum by (rollouts_pod_template_hash) (rate(orders_total{namespace=\"shop\",rollouts_pod_template_hash=~\"f6db98dff|6f646bf7b7\"}[5m]))"
        );
    }
}
