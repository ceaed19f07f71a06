//! Declarative scenarios: what a simulated cluster runs. A scenario is a
//! YAML document (see `sim/src/scenarios/*.yaml`, embedded in the binary,
//! or any file given by path):
//!
//! ```yaml
//! name: default
//! description: what it shows
//! versions:                  # how each version behaves, matched by image substring
//!   - image: shop/search:2.5.0
//!     errorRatio: 0.05       # fraction of 5xx
//!     p50Ms: 90              # latency median and 95th percentile, ms
//!     p95Ms: 420
//!     readySeconds: 5        # pod start-up
//!     crash: false           # crash-loop instead of becoming Ready
//!     after: 3m              # from this scenario time on (default 0s)
//!     degradeAfterPromotion: # turn bad once the release has completed:
//!       after: 2m            #   this long after the image first serves all
//!       errorRatio: 0.03     #   of its application's traffic, this error ratio
//!       lasting: 1m          #   and for this long only (default: for good)
//! traffic:                   # requests per second per application
//!   - {namespace: shop, app: checkout, rps: 120}
//! objects: [...]             # Kubernetes manifests created at start
//! setup: [...]               # actions applied at start, before the cluster is served
//! settle: 2m                 # simulated time the setup is fast-forwarded by
//! timeline:                  # actions at scenario times, once the cluster is served
//!   - at: 10s
//!     setImage: {kind: Deployment, namespace: shop, name: frontend, image: reg/frontend:2.9.0}
//! base: default              # an embedded scenario this one adds to
//! ```
//!
//! With `base`, the base's versions, traffic, objects, setup and timeline
//! come first and this scenario's follow; the settle is this one's.
//!
//! In `objects`, `{{start-22h}}` (or `{{start+5m}}`, `{{start}}`) within a
//! string is the RFC 3339 time that far from the scenario's start,
//! `{{last 02:00-144h}}` that far from the last 02:00 UTC before it (when a
//! nightly job last ran), and `{{start-22h|%Y%m%d%H%M%S}}` a time in a
//! chrono format: for objects that happened before the start, such as
//! last night's backup and its name.
//!
//! Actions: `setImage {kind, namespace, name, container?, image}` (the first
//! container unless named), `patch {apiVersion, kind, namespace, name,
//! subresource?, type: merge|json|strategic, body}`, `create <manifest>`,
//! `delete {apiVersion, kind, namespace, name}`, `openGate {namespace, name}`
//! (Flagger's confirm-promotion gate, as the load tester's `/gate/open`).
//! Actions go through the store like any client's requests, so controllers
//! and watchers see them as they would on a cluster.

use super::behaviour::{AppTraffic, Behaviour, DegradeAfterPromotion, VersionProfile, VersionRule};
use super::controllers::Runtime;
use super::patch::PatchKind;
use super::resources::{self, ResourceDef};
use super::store::{Propagation, Store, WriteScope};
use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The scenarios that ship with cutover.
const EMBEDDED: &[(&str, &str)] = &[
    ("default", include_str!("scenarios/default.yaml")),
    ("bad-canary", include_str!("scenarios/bad-canary.yaml")),
    (
        "bad-after-release",
        include_str!("scenarios/bad-after-release.yaml"),
    ),
    ("blue-green", include_str!("scenarios/blue-green.yaml")),
    ("fixture", include_str!("scenarios/fixture.yaml")),
    (
        "checkout-promoted",
        include_str!("scenarios/checkout-promoted.yaml"),
    ),
    (
        "checkout-paused",
        include_str!("scenarios/checkout-paused.yaml"),
    ),
];

/// Names of the embedded scenarios, plus the generated `scale`.
pub fn names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(n, _)| *n).chain(["scale"]).collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub versions: Vec<VersionSpec>,
    #[serde(default)]
    pub traffic: Vec<AppTraffic>,
    #[serde(default)]
    pub objects: Vec<Value>,
    #[serde(default)]
    pub setup: Vec<Action>,
    #[serde(default = "default_settle", with = "duration_text")]
    pub settle: chrono::Duration,
    #[serde(default)]
    pub timeline: Vec<TimedAction>,
    /// The embedded scenario this one adds to, resolved when it is loaded.
    #[serde(default)]
    pub base: Option<String>,
}

fn default_settle() -> chrono::Duration {
    chrono::Duration::minutes(2)
}

// `flatten` rules out `deny_unknown_fields` here: serde cannot combine them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionSpec {
    pub image: String,
    #[serde(default, with = "duration_text")]
    pub after: chrono::Duration,
    #[serde(default)]
    pub degrade_after_promotion: Option<DegradeAfterPromotion>,
    #[serde(flatten)]
    pub profile: VersionProfile,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TimedAction {
    #[serde(with = "duration_text")]
    pub at: chrono::Duration,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    SetImage {
        kind: String,
        namespace: String,
        name: String,
        #[serde(default)]
        container: Option<String>,
        image: String,
    },
    Patch {
        #[serde(rename = "apiVersion")]
        api_version: String,
        kind: String,
        namespace: String,
        name: String,
        #[serde(default)]
        subresource: Option<String>,
        #[serde(rename = "type", default = "merge")]
        patch_type: String,
        body: Value,
    },
    Create(Value),
    Delete {
        #[serde(rename = "apiVersion")]
        api_version: String,
        kind: String,
        namespace: String,
        name: String,
    },
    OpenGate {
        namespace: String,
        name: String,
    },
}

fn merge() -> String {
    "merge".to_string()
}

/// Durations written as `90s`, `5m`, `1h`, `250ms` or a bare number of seconds.
pub mod duration_text {
    use serde::{Deserialize, Deserializer};

    pub fn parse(text: &str) -> Option<chrono::Duration> {
        crate::time::parse_go_or_seconds(text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<chrono::Duration, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("not a duration: {v} (use 30s, 5m, 1h)"))
        })
    }

    /// A duration that may be left out (`#[serde(default)]` beside it).
    pub fn deserialize_some<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<chrono::Duration>, D::Error> {
        deserialize(d).map(Some)
    }
}

impl Scenario {
    /// An embedded scenario by name, or a scenario file by path.
    pub fn load(name_or_path: &str) -> Result<Scenario> {
        if let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(text)
                .wrap_err_with(|| format!("the embedded scenario {name_or_path}"));
        }
        let path = std::path::Path::new(name_or_path);
        if !path.exists() {
            bail!(
                "no scenario {name_or_path:?}: not a file, and not one of {}",
                names().join(", ")
            );
        }
        let text = std::fs::read_to_string(path)
            .wrap_err_with(|| format!("reading {}", path.display()))?;
        Self::parse(&text).wrap_err_with(|| format!("the scenario file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Scenario> {
        // Through JSON values: serde_yaml reads enums only as YAML tags, and
        // scenarios write actions as plain maps (`setImage: {...}`).
        let value: Value = serde_yaml::from_str(text)?;
        let scenario: Scenario = serde_json::from_value(value)?;
        scenario.on_base()
    }

    /// This scenario added to its base, if it has one: an embedded
    /// scenario without a base of its own.
    fn on_base(self) -> Result<Scenario> {
        let Some(name) = self.base.clone() else {
            return Ok(self);
        };
        let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == name) else {
            bail!(
                "base {name:?} is not a built-in scenario ({})",
                names().join(", ")
            );
        };
        let value: Value = serde_yaml::from_str(text)?;
        let mut base: Scenario = serde_json::from_value(value)?;
        if base.base.is_some() {
            bail!("base {name:?} has a base of its own: a scenario adds to one that has none");
        }
        base.versions.extend(self.versions);
        base.traffic.extend(self.traffic);
        base.objects.extend(self.objects);
        base.setup.extend(self.setup);
        base.timeline.extend(self.timeline);
        Ok(Scenario {
            name: self.name,
            description: self.description,
            settle: self.settle,
            base: None,
            ..base
        })
    }

    /// The `scale` scenario: `releases` Deployments of `pods` pods each,
    /// spread over namespaces of at most 10 releases (as teams split them), with traffic.
    pub fn scale(releases: usize, pods: usize) -> Scenario {
        let mut objects = Vec::new();
        let mut traffic = Vec::new();
        for i in 0..releases {
            let ns = format!("scale-{:04}", i / 10);
            if i % 10 == 0 {
                objects.push(
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                );
            }
            let app = format!("svc-{i:05}");
            objects.push(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": app, "namespace": ns, "labels": {"app": app}},
                "spec": {
                    "replicas": pods,
                    "selector": {"matchLabels": {"app": app}},
                    "template": {
                        "metadata": {"labels": {"app": app}},
                        "spec": {"containers": [{"name": "app", "image": format!("registry.example/scale/{app}:1.0.0")}]},
                    },
                },
            }));
            traffic.push(AppTraffic {
                namespace: ns,
                app,
                rps: 20.0,
            });
        }
        Scenario {
            name: "scale".into(),
            description: format!("{releases} Deployments × {pods} pods, for benchmarks"),
            versions: Vec::new(),
            traffic,
            objects,
            setup: Vec::new(),
            settle: chrono::Duration::seconds(30),
            timeline: Vec::new(),
            base: None,
        }
    }

    /// How much simulated time [`Scenario::start`] fast-forwards.
    pub fn warmup(&self) -> chrono::Duration {
        if self.setup.is_empty() {
            self.settle
        } else {
            self.settle * 2
        }
    }

    /// Register behaviour, create the objects and fast-forward the clock by
    /// `settle`; then apply the setup and fast-forward again, so the cluster
    /// is served in a steady state. Returns the scenario's start time, from
    /// which timeline and version times count.
    pub fn start(
        &self,
        store: &Store,
        behaviour: &Behaviour,
        runtime: &Runtime,
    ) -> Result<DateTime<Utc>> {
        let start = store.clock().now() + self.warmup();
        for v in &self.versions {
            behaviour.add_rule(VersionRule {
                image: v.image.clone(),
                // Rules in force from the start also cover pods created during the settle.
                from: if v.after.is_zero() {
                    DateTime::<Utc>::MIN_UTC
                } else {
                    start + v.after
                },
                profile: v.profile.clone(),
            });
            if let Some(degrade) = &v.degrade_after_promotion {
                behaviour.add_degrade(&v.image, degrade.clone());
            }
        }
        for app in &self.traffic {
            behaviour.add_app(app.clone());
        }
        let mut objects = self.objects.clone();
        for obj in &mut objects {
            at_start(obj, start)?;
        }
        objects.sort_by_key(|o| o["kind"] != "Namespace");
        for obj in objects {
            super::seed::insert(store, obj)?;
        }
        runtime.advance(self.settle);
        if !self.setup.is_empty() {
            for action in &self.setup {
                apply(store, behaviour, action)?;
                runtime.settle();
            }
            runtime.advance(self.settle);
        }
        Ok(start)
    }
}

/// Replace every `{{start±DURATION}}` and `{{last HH:MM±DURATION}}` in the
/// strings of `value` with that time; other `{{…}}` (an analysis
/// template's `{{args.service}}`) are left as they are.
fn at_start(value: &mut Value, start: DateTime<Utc>) -> Result<()> {
    match value {
        Value::String(text) => {
            let mut from = 0;
            while let Some(open) = text[from..].find("{{").map(|o| from + o) {
                let Some(close) = text[open..].find("}}").map(|c| open + c) else {
                    break;
                };
                let inner = &text[open + 2..close];
                if !(inner.starts_with("start") || inner.starts_with("last ")) {
                    from = close + 2;
                    continue;
                }
                let time = scenario_time(inner, start).ok_or_else(|| {
                    eyre!("{text:?}: write {{{{start-22h}}}}, {{{{last 02:00-144h}}}} or {{{{start+5m|%H%M}}}}")
                })?;
                text.replace_range(open..close + 2, &time);
                from = open + time.len();
            }
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| at_start(v, start))?,
        Value::Object(map) => map.values_mut().try_for_each(|v| at_start(v, start))?,
        _ => {}
    }
    Ok(())
}

/// `start-22h`, or `last 02:00` (the last 02:00 UTC at or before the
/// start, as a nightly cron job last ran) with an offset, then `|FORMAT`
/// optionally: that time, RFC 3339 or in the chrono format.
fn scenario_time(expression: &str, start: DateTime<Utc>) -> Option<String> {
    let (expression, format) = match expression.split_once('|') {
        Some((e, f)) => (e, Some(f)),
        None => (expression, None),
    };
    let (base, offset) = match expression.strip_prefix("last ") {
        Some(rest) => {
            let (clock, offset) = rest.split_at_checked(5)?;
            let clock = chrono::NaiveTime::parse_from_str(clock, "%H:%M").ok()?;
            let today = start.date_naive().and_time(clock).and_utc();
            let last = if today > start {
                today - chrono::Duration::days(1)
            } else {
                today
            };
            (last, offset)
        }
        None => (start, expression.strip_prefix("start")?),
    };
    let shift = match offset.split_at_checked(1) {
        None => chrono::Duration::zero(),
        Some(("-", d)) => -duration_text::parse(d)?,
        Some(("+", d)) => duration_text::parse(d)?,
        Some(_) => return None,
    };
    let at = base + shift;
    Some(match format {
        Some(f) => at.format(f).to_string(),
        None => crate::time::timestamp(at),
    })
}

fn resource_for(api_version: &str, kind: &str) -> Result<&'static ResourceDef> {
    resources::by_kind(api_version, kind)
        .ok_or_else(|| eyre!("the simulated cluster does not serve {kind} in {api_version}"))
}

fn workload_resource(kind: &str) -> Result<&'static ResourceDef> {
    match kind {
        "Rollout" => resource_for("argoproj.io/v1alpha1", kind),
        "Deployment" => resource_for("apps/v1", kind),
        other => bail!("setImage works on Rollouts and Deployments, not {other}"),
    }
}

/// Apply one action through the store, as a client would.
pub fn apply(store: &Store, behaviour: &Behaviour, action: &Action) -> Result<()> {
    match action {
        Action::SetImage {
            kind,
            namespace,
            name,
            container,
            image,
        } => {
            let res = workload_resource(kind)?;
            let current = store.get(res, namespace, name)?;
            let mut next = Value::clone(&current);
            let containers = next["spec"]["template"]["spec"]["containers"]
                .as_array_mut()
                .ok_or_else(|| eyre!("{kind} {namespace}/{name} has no containers"))?;
            let target = match container {
                Some(c) => containers
                    .iter_mut()
                    .find(|x| x["name"] == c.as_str())
                    .ok_or_else(|| eyre!("{kind} {namespace}/{name} has no container {c}"))?,
                None => containers
                    .first_mut()
                    .ok_or_else(|| eyre!("{kind} {namespace}/{name} has no containers"))?,
            };
            target["image"] = json!(image);
            store.update(res, namespace, name, next, WriteScope::Main, false)?;
        }
        Action::Patch {
            api_version,
            kind,
            namespace,
            name,
            subresource,
            patch_type,
            body,
        } => {
            let res = resource_for(api_version, kind)?;
            let kind_of_patch = match patch_type.as_str() {
                "merge" => PatchKind::Merge,
                "json" => PatchKind::Json,
                "strategic" => PatchKind::Strategic,
                other => bail!("unknown patch type {other:?} (merge, json or strategic)"),
            };
            let target = match subresource.as_deref() {
                Some("status") => WriteScope::Status,
                None => WriteScope::Main,
                Some(other) => bail!("unknown subresource {other:?}"),
            };
            store.patch(
                res,
                namespace,
                name,
                kind_of_patch,
                body.to_string().as_bytes(),
                target,
                false,
            )?;
        }
        Action::Create(manifest) => {
            let api = manifest["apiVersion"].as_str().unwrap_or("");
            let kind = manifest["kind"].as_str().unwrap_or("");
            let res = resource_for(api, kind)?;
            let ns = manifest["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default");
            store.create(res, ns, manifest.clone(), WriteScope::Main, false)?;
        }
        Action::Delete {
            api_version,
            kind,
            namespace,
            name,
        } => {
            let res = resource_for(api_version, kind)?;
            store.delete(res, namespace, name, Propagation::Background, false)?;
        }
        Action::OpenGate { namespace, name } => behaviour.open_gate(namespace, name),
    }
    Ok(())
}

/// Play the timeline on the simulated clock; each action is logged, and a
/// failing one is logged and skipped (a scenario must not stop the cluster).
pub fn spawn_timeline(
    scenario: &Scenario,
    start: DateTime<Utc>,
    store: Arc<Store>,
    behaviour: Arc<Behaviour>,
) -> tokio::task::JoinHandle<()> {
    let mut timeline = scenario.timeline.clone();
    timeline.sort_by_key(|t| t.at);
    tokio::spawn(async move {
        for item in timeline {
            let due = start + item.at;
            loop {
                let now = store.clock().now();
                if now >= due {
                    break;
                }
                let scale = store.clock().scale().max(1e-3);
                let wait = ((due - now).num_milliseconds() as f64 / scale).clamp(10.0, 1000.0);
                tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
            }
            match apply(&store, &behaviour, &item.action) {
                Ok(()) => tracing::info!(at = ?item.at, action = ?item.action, "scenario action"),
                Err(e) => tracing::warn!(at = ?item.at, "scenario action failed: {e:#}"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_scenario_parses() {
        for (name, text) in EMBEDDED {
            let s = Scenario::parse(text).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!(&s.name, name);
            assert!(!s.description.is_empty(), "{name} describes itself");
        }
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(
            duration_text::parse("90s"),
            Some(chrono::Duration::seconds(90))
        );
        assert_eq!(
            duration_text::parse("5m"),
            Some(chrono::Duration::minutes(5))
        );
        assert_eq!(
            duration_text::parse("250ms"),
            Some(chrono::Duration::milliseconds(250))
        );
        assert_eq!(
            duration_text::parse("30"),
            Some(chrono::Duration::seconds(30))
        );
        assert_eq!(duration_text::parse("soon"), None);
    }

    #[test]
    fn unknown_fields_and_bad_durations_are_clear_errors() {
        let err = Scenario::parse("name: x\nbogus: 1\n").unwrap_err();
        assert!(format!("{err:#}").contains("bogus"), "{err:#}");
        let err = Scenario::parse(
            "name: x\ntimeline:\n- at: later\n  openGate: {namespace: a, name: b}\n",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("not a duration"), "{err:#}");
        assert!(Scenario::load("no-such-scenario").is_err());
    }

    /// The store of a cluster that ran `scenario`'s warm-up, as served.
    fn started(scenario: &Scenario) -> Arc<Store> {
        started_with(scenario).0
    }

    /// The store, behaviour and traffic of a cluster that ran `scenario`'s
    /// warm-up.
    fn started_with(
        scenario: &Scenario,
    ) -> (Arc<Store>, Arc<Behaviour>, Arc<crate::traffic::Traffic>) {
        use crate::{clock::Clock, controllers, traffic::Traffic};
        let store = Arc::new(Store::new(Arc::new(Clock::new(0.0))));
        let behaviour = Arc::new(Behaviour::default());
        let traffic = Arc::new(Traffic::new(store.clone(), behaviour.clone()));
        let runtime = Runtime::new(
            store.clone(),
            behaviour.clone(),
            traffic.clone(),
            controllers::all(),
        );
        scenario.start(&store, &behaviour, &runtime).unwrap();
        (store, behaviour, traffic)
    }

    #[test]
    fn an_analysis_during_the_warm_up_measures_the_traffic() {
        // The bad canary, with its new version rolled out during the warm-up:
        // the analysis step (after a 1 m pause) runs before serving begins.
        let mut scenario = Scenario::load("bad-canary").unwrap();
        let rollout = scenario.timeline.remove(0).action;
        scenario.setup.push(rollout);
        scenario.settle = chrono::Duration::minutes(3);
        let store = started(&scenario);
        let runs = resources::lookup("argoproj.io", "v1alpha1", "analysisruns").unwrap();
        let runs = store.list(runs, Some("shop"), &Default::default()).unwrap();
        let run = runs.items.first().expect("the analysis step started a run");
        let first = &run["status"]["metricResults"][0]["measurements"][0];
        let value: f64 = first["value"]
            .as_str()
            .and_then(|v| v.trim_matches(['[', ']']).parse().ok())
            .unwrap_or_else(|| panic!("a measured value: {first}"));
        assert!(
            (value - 0.06).abs() < 1e-9,
            "the new version's error ratio: {value}"
        );
        assert_eq!(run["status"]["phase"], "Failed");
    }

    #[test]
    fn after_release_both_releases_complete_and_then_turn_bad() {
        use crate::traffic::MeasurementSource;
        let mut scenario = Scenario::load("bad-after-release").unwrap();
        scenario.setup = scenario.timeline.drain(..).map(|t| t.action).collect();
        scenario.settle = chrono::Duration::minutes(6);
        let (store, behaviour, traffic) = started_with(&scenario);
        let rollouts = resources::lookup("argoproj.io", "v1alpha1", "rollouts").unwrap();
        let checkout = store.get(rollouts, "shop", "checkout").unwrap();
        let status = &checkout["status"];
        assert_eq!(status["phase"], "Healthy", "{status:#}");
        assert_eq!(status["stableRS"], status["currentPodHash"], "{status:#}");
        let canaries = resources::lookup("flagger.app", "v1beta1", "canaries").unwrap();
        let search = store.get(canaries, "shop", "search").unwrap();
        assert_eq!(
            search["status"]["phase"], "Succeeded",
            "{:#}",
            search["status"]
        );
        let promoted = behaviour
            .promoted_at("registry.example/shop/checkout:1.5.0")
            .expect("the new version served all traffic");
        assert!(store.clock().now() - promoted > chrono::Duration::minutes(2));
        let hash = status["currentPodHash"].as_str().unwrap();
        let recent = traffic
            .window("shop", hash, chrono::Duration::seconds(30))
            .expect("the new version serves");
        let ratio = recent.error_ratio().unwrap();
        assert!((ratio - 0.03).abs() < 1e-9, "turned bad: {ratio}");
    }

    /// Checkout of `scenario` as it is served, after its warm-up.
    fn checkout_served(scenario: &str) -> Value {
        let store = started(&Scenario::load(scenario).unwrap());
        let rollouts = resources::lookup("argoproj.io", "v1alpha1", "rollouts").unwrap();
        Value::clone(&store.get(rollouts, "shop", "checkout").unwrap())
    }

    #[test]
    fn the_fleet_demo_serves_checkout_promoted_in_one_region_and_paused_in_the_next() {
        let image = |ro: &Value| ro["spec"]["template"]["spec"]["containers"][0]["image"].clone();
        let promoted = checkout_served("checkout-promoted");
        assert_eq!(image(&promoted), "registry.example/shop/checkout:1.5.0");
        let status = &promoted["status"];
        assert_eq!(status["phase"], "Healthy", "{status:#}");
        assert_eq!(status["stableRS"], status["currentPodHash"], "{status:#}");

        let paused = checkout_served("checkout-paused");
        assert_eq!(image(&paused), "registry.example/shop/checkout:1.5.0");
        let status = &paused["status"];
        assert_eq!(status["phase"], "Paused", "{status:#}");
        assert_eq!(
            status["currentStepIndex"], 4,
            "at `pause: {{}}`: {status:#}"
        );
        let default = Scenario::load("default").unwrap();
        let added = Scenario::load("checkout-paused").unwrap();
        assert_eq!(
            added.objects.len(),
            default.objects.len(),
            "default's objects"
        );
        assert_eq!(
            added.timeline.len(),
            default.timeline.len(),
            "and its night"
        );
    }

    #[test]
    fn times_in_objects_count_from_the_start() {
        let start = crate::controllers::testing::t0();
        let mut obj = json!({"a": ["{{start-22h}}", "{{start+90s}}", "{{start}}"],
                             "b": "{{args.service}} and {{args.namespace}}",
                             "c": "nightly-{{start-10h|%Y%m%d%H%M%S}}",
                             "d": ["{{last 02:00}}", "{{last 13:00+6m}}", "{{last 12:00-144h}}"]});
        at_start(&mut obj, start).unwrap();
        assert_eq!(
            obj,
            json!({"a": ["2026-02-28T14:00:00Z", "2026-03-01T12:01:30Z", "2026-03-01T12:00:00Z"],
                   "b": "{{args.service}} and {{args.namespace}}",
                   "c": "nightly-20260301020000",
                   "d": ["2026-03-01T02:00:00Z", "2026-02-28T13:06:00Z", "2026-02-23T12:00:00Z"]})
        );
        let e = at_start(&mut json!("{{start-soon}}"), start).unwrap_err();
        assert!(e.to_string().contains("write {{start-22h}}"), "{e}");
    }

    #[test]
    fn the_demo_has_velero_s_nightly_backup_and_a_restore_drill() {
        let store = started(&Scenario::load("default").unwrap());
        let velero = |plural| {
            let res = resources::lookup(resources::VELERO, "v1", plural).unwrap();
            store
                .list(res, Some("velero"), &Default::default())
                .unwrap()
                .items
        };
        let schedules = velero("schedules");
        assert_eq!(schedules[0]["spec"]["schedule"], "0 2 * * *");
        let backups = velero("backups");
        assert!(backups.iter().all(|b| b["status"]["phase"] == "Completed"));
        let restores = velero("restores");
        assert_eq!(restores[0]["status"]["phase"], "Completed");
    }

    #[test]
    fn a_base_is_a_built_in_scenario_without_a_base() {
        let err = Scenario::parse("name: x\ndescription: y\nbase: nowhere\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("not a built-in scenario"),
            "{err:#}"
        );
        let err = Scenario::parse("name: x\nbase: checkout-paused\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("has a base of its own"),
            "{err:#}"
        );
    }

    #[test]
    fn the_scale_scenario_spreads_releases_over_namespaces() {
        let s = Scenario::scale(25, 3);
        let namespaces = s
            .objects
            .iter()
            .filter(|o| o["kind"] == "Namespace")
            .count();
        assert_eq!(namespaces, 3);
        assert_eq!(s.traffic.len(), 25);
    }
}
