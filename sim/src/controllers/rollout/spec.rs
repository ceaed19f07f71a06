//! The parts of a Rollout's spec the controller reads, typed, and the
//! validation that turns a bad spec into an `InvalidSpec` condition with
//! Argo's field-error messages.

use super::super::analysis::{Argument, IntOrString, analysis_templates};
use super::traffic::{http_routes, services, virtual_services};
use crate::api_error::ApiError;
use crate::resources;
use crate::store::Store;
use crate::time;
use chrono::Duration;
use serde::Deserialize;
use serde_json::Value;

/// Argo's defaults (`utils/defaults`).
pub const DEFAULT_SCALE_DOWN_DELAY_SECONDS: i64 = 30;
pub const DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS: i64 = 30;
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i64 = 600;
pub const DEFAULT_REVISION_HISTORY_LIMIT: usize = 10;
const DEFAULT_MAX_SURGE: &str = "25%";
const DEFAULT_MAX_UNAVAILABLE: &str = "25%";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutSpec {
    pub replicas: Option<i64>,
    pub selector: Option<Value>,
    pub template: Value,
    pub paused: bool,
    pub restart_at: Option<String>,
    pub revision_history_limit: Option<i64>,
    pub progress_deadline_seconds: Option<i64>,
    pub progress_deadline_abort: bool,
    pub strategy: Strategy,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Strategy {
    pub canary: Option<CanaryStrategy>,
    pub blue_green: Option<BlueGreenStrategy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStrategy {
    pub canary_service: String,
    pub stable_service: String,
    pub steps: Vec<CanaryStep>,
    pub traffic_routing: Option<TrafficRouting>,
    pub max_surge: Option<IntOrString>,
    pub max_unavailable: Option<IntOrString>,
    pub scale_down_delay_seconds: Option<i64>,
    pub scale_down_delay_revision_limit: Option<i64>,
    pub abort_scale_down_delay_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStep {
    pub set_weight: Option<i64>,
    pub pause: Option<PauseStep>,
    pub analysis: Option<RolloutAnalysis>,
    pub set_canary_scale: Option<SetCanaryScale>,
    pub set_header_route: Option<SetHeaderRoute>,
    pub experiment: Option<Value>,
    pub set_mirror_route: Option<Value>,
    pub plugin: Option<Value>,
}

impl CanaryStep {
    /// How Argo names a step in events (`CanaryStepString`).
    pub fn describe(&self) -> String {
        if let Some(w) = self.set_weight {
            return format!("setWeight: {w}");
        }
        if let Some(p) = &self.pause {
            return match p.duration_seconds() {
                Some(s) => format!("pause: {}", time::format_go(s * 1000)),
                None => "pause".into(),
            };
        }
        if self.experiment.is_some() {
            return "experiment".into();
        }
        if self.analysis.is_some() {
            return "analysis".into();
        }
        if let Some(scale) = &self.set_canary_scale {
            if let Some(w) = scale.weight {
                return format!("setCanaryScale{{weight: {w}}}");
            }
            if scale.match_traffic_weight {
                return "setCanaryScale{matchTrafficWeight: true}".into();
            }
            if let Some(r) = scale.replicas {
                return format!("setCanaryScale{{replicas: {r}}}");
            }
        }
        "invalid".into()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PauseStep {
    pub duration: Option<IntOrString>,
}

impl PauseStep {
    /// An int is seconds; a string is a number of seconds or a Go duration.
    pub fn duration_seconds(&self) -> Option<i64> {
        match self.duration.as_ref()? {
            IntOrString::Int(s) => Some(*s),
            IntOrString::Str(s) => s
                .trim()
                .parse()
                .ok()
                .or_else(|| time::parse(s, time::ARGO_UNITS).map(|d| d.num_seconds())),
        }
    }

    pub fn duration(&self) -> Option<Duration> {
        self.duration_seconds().map(Duration::seconds)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutAnalysis {
    pub templates: Vec<TemplateRef>,
    pub args: Vec<Argument>,
    pub dry_run: Vec<Value>,
    pub measurement_retention: Vec<Value>,
    pub analysis_run_metadata: RunMetadata,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TemplateRef {
    pub template_name: String,
    pub cluster_scope: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunMetadata {
    pub labels: serde_json::Map<String, Value>,
    pub annotations: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetCanaryScale {
    pub weight: Option<i64>,
    pub replicas: Option<i64>,
    pub match_traffic_weight: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SetHeaderRoute {
    pub name: String,
    #[serde(rename = "match")]
    pub matches: Vec<HeaderMatch>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeaderMatch {
    pub header_name: String,
    pub header_value: StringMatch,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StringMatch {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub regex: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrafficRouting {
    pub istio: Option<IstioRouting>,
    pub plugins: serde_json::Map<String, Value>,
    pub managed_routes: Vec<ManagedRoute>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IstioRouting {
    pub virtual_service: Option<VirtualServiceRef>,
    pub virtual_services: Vec<VirtualServiceRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VirtualServiceRef {
    pub name: String,
    pub routes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManagedRoute {
    pub name: String,
}

/// The Gateway API plugin's key under `trafficRouting.plugins`.
pub const GATEWAY_API_PLUGIN: &str = "argoproj-labs/gatewayAPI";

impl TrafficRouting {
    pub fn virtual_services(&self) -> Vec<&VirtualServiceRef> {
        self.istio
            .iter()
            .flat_map(|i| i.virtual_service.iter().chain(&i.virtual_services))
            .collect()
    }

    /// The HTTPRoutes the Gateway API plugin manages (`httpRoute` or `httpRoutes[].name`).
    pub fn http_routes(&self) -> Vec<String> {
        let Some(cfg) = self.plugins.get(GATEWAY_API_PLUGIN) else {
            return Vec::new();
        };
        let single = cfg["httpRoute"].as_str().map(str::to_string);
        let many = cfg["httpRoutes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str().map(str::to_string));
        single.into_iter().chain(many).collect()
    }

    pub fn is_managed(&self, route: &str) -> bool {
        self.managed_routes.iter().any(|r| r.name == route)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlueGreenStrategy {
    pub active_service: String,
    pub preview_service: String,
    pub preview_replica_count: Option<i64>,
    pub auto_promotion_enabled: Option<bool>,
    pub auto_promotion_seconds: i64,
    pub scale_down_delay_seconds: Option<i64>,
    pub scale_down_delay_revision_limit: Option<i64>,
    pub abort_scale_down_delay_seconds: Option<i64>,
    pub pre_promotion_analysis: Option<RolloutAnalysis>,
}

impl BlueGreenStrategy {
    /// Whether the controller pauses before promoting (`needsBlueGreenControllerPause`).
    pub fn controller_pauses(&self) -> bool {
        self.auto_promotion_enabled == Some(false) || self.auto_promotion_seconds > 0
    }
}

impl RolloutSpec {
    pub fn replicas(&self) -> i64 {
        self.replicas.unwrap_or(1)
    }

    pub fn canary(&self) -> Option<&CanaryStrategy> {
        self.strategy.canary.as_ref()
    }

    pub fn blue_green(&self) -> Option<&BlueGreenStrategy> {
        self.strategy.blue_green.as_ref()
    }

    pub fn steps(&self) -> &[CanaryStep] {
        self.canary().map_or(&[], |c| &c.steps)
    }

    pub fn traffic_routing(&self) -> Option<&TrafficRouting> {
        self.canary().and_then(|c| c.traffic_routing.as_ref())
    }

    pub fn scale_down_delay(&self) -> Duration {
        let seconds = match (self.blue_green(), self.canary()) {
            (Some(bg), _) => bg
                .scale_down_delay_seconds
                .unwrap_or(DEFAULT_SCALE_DOWN_DELAY_SECONDS),
            (None, Some(c)) if c.traffic_routing.is_some() => c
                .scale_down_delay_seconds
                .unwrap_or(DEFAULT_SCALE_DOWN_DELAY_SECONDS),
            _ => 0,
        };
        Duration::seconds(seconds)
    }

    pub fn scale_down_delay_revision_limit(&self) -> i64 {
        self.blue_green()
            .and_then(|b| b.scale_down_delay_revision_limit)
            .or_else(|| {
                self.canary()
                    .and_then(|c| c.scale_down_delay_revision_limit)
            })
            .unwrap_or(i64::MAX)
    }

    /// How long an aborted update keeps its pods; None keeps them (an explicit 0).
    pub fn abort_scale_down_delay(&self) -> Option<Duration> {
        let explicit = self
            .blue_green()
            .and_then(|b| b.abort_scale_down_delay_seconds)
            .or_else(|| self.canary().and_then(|c| c.abort_scale_down_delay_seconds));
        match explicit.unwrap_or(DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS) {
            0 => None,
            s => Some(Duration::seconds(s)),
        }
    }

    pub fn progress_deadline(&self) -> Duration {
        Duration::seconds(
            self.progress_deadline_seconds
                .unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS),
        )
    }

    pub fn revision_history_limit(&self) -> usize {
        self.revision_history_limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT)
    }

    fn scaled(value: Option<&IntOrString>, default: &str, total: i64, round_up: bool) -> i64 {
        let raw = value
            .cloned()
            .unwrap_or_else(|| IntOrString::Str(default.into()));
        match raw {
            IntOrString::Int(i) => i,
            IntOrString::Str(s) => match s.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
                Some(percent) => {
                    let v = percent * total as f64 / 100.0;
                    (if round_up { v.ceil() } else { v.floor() }) as i64
                }
                None => s.parse().unwrap_or(0),
            },
        }
    }

    /// `maxSurge` in pods (percentages round up).
    pub fn max_surge(&self) -> i64 {
        let c = self.canary();
        Self::scaled(
            c.and_then(|c| c.max_surge.as_ref()),
            DEFAULT_MAX_SURGE,
            self.replicas(),
            true,
        )
    }

    /// `maxUnavailable` in pods (percentages round down), at most all replicas.
    pub fn max_unavailable(&self) -> i64 {
        let c = self.canary();
        Self::scaled(
            c.and_then(|c| c.max_unavailable.as_ref()),
            DEFAULT_MAX_UNAVAILABLE,
            self.replicas(),
            false,
        )
        .min(self.replicas())
    }
}

/// A Kubernetes field error, as `field.Error.Error()` prints it.
fn invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {value}: {detail}")
}

fn required(path: &str, detail: &str) -> String {
    format!("{path}: Required value: {detail}")
}

/// The first reason the spec is invalid, if any (Argo's `ValidateRollout`
/// and the referenced-resource checks, for the fields the simulator reads).
pub fn validate(raw: &Value, spec: &RolloutSpec, store: &Store, namespace: &str) -> Option<String> {
    let selector = &raw["spec"]["selector"];
    if !selector.is_object() {
        return Some(required(
            "spec.selector",
            "Rollout has missing field '.spec.selector'",
        ));
    }
    let empty = |v: &Value| v.as_object().is_none_or(|m| m.is_empty());
    let expressions_empty = selector["matchExpressions"]
        .as_array()
        .is_none_or(|a| a.is_empty());
    if empty(&selector["matchLabels"]) && expressions_empty {
        return Some(invalid(
            "spec.selector",
            &selector.to_string(),
            "empty selector is invalid for deployment",
        ));
    }
    if spec.replicas() < 0 {
        return Some(invalid(
            "spec.replicas",
            &spec.replicas().to_string(),
            "must be greater than or equal to 0",
        ));
    }
    match (spec.canary(), spec.blue_green()) {
        (None, None) => Some(required(
            "spec.strategy.strategy",
            "Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'",
        )),
        (Some(_), Some(_)) => Some(invalid(
            "spec.strategy.strategy",
            "\"blueGreen: true canary: true\"",
            "Multiple Strategies can not be listed",
        )),
        (Some(c), None) => validate_canary(c, store, namespace),
        (None, Some(bg)) => validate_blue_green(bg, store, namespace),
    }
}

/// A missing referenced object as Argo reports it: `field.Invalid(path, name, err)`.
fn reference(
    store: &Store,
    res: &'static resources::ResourceDef,
    ns: &str,
    name: &str,
    path: &str,
    not_found: impl FnOnce(ApiError) -> String,
) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let err = store.get(res, ns, name).err()?;
    Some(invalid(path, &format!("{name:?}"), &not_found(err)))
}

/// Services are read from an informer's lister, whose errors name the kind in the singular.
fn validate_service(path: &str, name: &str, store: &Store, ns: &str) -> Option<String> {
    reference(store, services(), ns, name, path, |_| {
        format!("service {name:?} not found")
    })
}

fn validate_analysis(
    path: &str,
    analysis: &RolloutAnalysis,
    store: &Store,
    ns: &str,
) -> Option<String> {
    analysis.templates.iter().find_map(|t| {
        let name = &t.template_name;
        if t.cluster_scope {
            return Some(invalid(
                path,
                &format!("{name:?}"),
                &format!("clusteranalysistemplate.argoproj.io {name:?} not found"),
            ));
        }
        reference(store, analysis_templates(), ns, name, path, |_| {
            format!("analysistemplate.argoproj.io {name:?} not found")
        })
    })
}

fn validate_canary(c: &CanaryStrategy, store: &Store, ns: &str) -> Option<String> {
    // Argo validates the canary strategy with the path of `spec.strategy`.
    const PATH: &str = "spec.strategy";
    if !c.canary_service.is_empty() && c.canary_service == c.stable_service {
        return Some(invalid(
            &format!("{PATH}.stableService"),
            &format!("{:?}", c.stable_service),
            "This rollout uses the same service for the stable and canary services, but two different services are required.",
        ));
    }
    if c.traffic_routing.is_some() {
        for (field, name) in [
            ("stableService", &c.stable_service),
            ("canaryService", &c.canary_service),
        ] {
            if name.is_empty() {
                return Some(invalid(
                    &format!("{PATH}.{field}"),
                    "\"\"",
                    "Canary service and Stable service must to be set to use Traffic Routing",
                ));
            }
        }
    }
    for (i, step) in c.steps.iter().enumerate() {
        let at = format!("{PATH}.steps[{i}]");
        if let Some(w) = step.set_weight
            && !(0..=100).contains(&w)
        {
            return Some(invalid(
                &format!("{at}.setWeight"),
                &w.to_string(),
                "SetWeight needs to be between 0 and 100",
            ));
        }
        if let Some(p) = &step.pause
            && p.duration_seconds().is_some_and(|s| s < 0)
        {
            return Some(invalid(
                &format!("{at}.pause.duration"),
                &p.duration_seconds().unwrap_or(0).to_string(),
                "Duration needs to be greater than 0",
            ));
        }
        if step.set_canary_scale.is_some() && c.traffic_routing.is_none() {
            return Some(required(
                &format!("{PATH}.trafficRouting"),
                "SetCanaryScale requires TrafficRouting to be set",
            ));
        }
        if step.set_header_route.is_some() && c.traffic_routing.is_none() {
            return Some(invalid(
                &format!("{at}.setHeaderRoute"),
                "{}",
                "SetHeaderRoute requires TrafficRouting, supports Istio and ALB and Apisix",
            ));
        }
        if let Some(a) = &step.analysis
            && let Some(e) = validate_analysis(
                &format!("spec.strategy.canary.steps[{i}].analysis.templates"),
                a,
                store,
                ns,
            )
        {
            return Some(e);
        }
    }
    let tr = c.traffic_routing.as_ref()?;
    validate_service(
        "spec.strategy.canary.canaryService",
        &c.canary_service,
        store,
        ns,
    )
    .or_else(|| {
        validate_service(
            "spec.strategy.canary.stableService",
            &c.stable_service,
            store,
            ns,
        )
    })
    .or_else(|| {
        tr.virtual_services().into_iter().find_map(|vs| {
            let (name, vs_ns) = split_namespaced(&vs.name, ns);
            reference(
                store,
                virtual_services(),
                vs_ns,
                name,
                "spec.strategy.canary.trafficRouting.istio.virtualService.name",
                |e| e.message,
            )
        })
    })
    .or_else(|| {
        let route_ns = tr
            .plugins
            .get(GATEWAY_API_PLUGIN)
            .and_then(|p| p["namespace"].as_str())
            .unwrap_or(ns);
        tr.http_routes().into_iter().find_map(|name| {
            reference(
                store,
                http_routes(),
                route_ns,
                &name,
                &format!(
                    "spec.strategy.canary.trafficRouting.plugins.{GATEWAY_API_PLUGIN}.httpRoute"
                ),
                |e| e.message,
            )
        })
    })
}

fn validate_blue_green(bg: &BlueGreenStrategy, store: &Store, ns: &str) -> Option<String> {
    if bg.active_service == bg.preview_service {
        return Some(invalid(
            "spec.strategy.activeService",
            &format!("{:?}", bg.active_service),
            "This rollout uses the same service for the active and preview services, but two different services are required.",
        ));
    }
    validate_service(
        "spec.strategy.blueGreen.activeService",
        &bg.active_service,
        store,
        ns,
    )
    .or_else(|| {
        validate_service(
            "spec.strategy.blueGreen.previewService",
            &bg.preview_service,
            store,
            ns,
        )
    })
    .or_else(|| {
        bg.pre_promotion_analysis.as_ref().and_then(|a| {
            validate_analysis(
                "spec.strategy.blueGreen.prePromotionAnalysis.templates",
                a,
                store,
                ns,
            )
        })
    })
}

/// `name.namespace` names an object in another namespace (Istio's convention).
pub fn split_namespaced<'a>(name: &'a str, default_ns: &'a str) -> (&'a str, &'a str) {
    match name.split_once('.') {
        Some((n, ns)) => (n, ns),
        None => (name, default_ns),
    }
}
