//! How the simulated workloads behave, as a scenario sets it: per version
//! (matched by container image) the error ratio, the latency distribution,
//! whether pods crash and how long they take to become Ready; per release
//! the request rate; and the manual gates (Flagger's confirm-promotion)
//! that a human opens. Shared by the controllers and the traffic model.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

/// How one version of an application behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VersionProfile {
    /// Fraction of requests answered 5xx.
    pub error_ratio: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile latency, milliseconds.
    pub p95_ms: f64,
    /// Pods of this version crash-loop and never become Ready.
    pub crash: bool,
    /// Seconds from pod creation to Ready.
    pub ready_seconds: f64,
}

impl Default for VersionProfile {
    fn default() -> Self {
        VersionProfile {
            error_ratio: 0.002,
            p50_ms: 40.0,
            p95_ms: 120.0,
            crash: false,
            ready_seconds: 5.0,
        }
    }
}

/// A profile for the images that contain `image`, from `from` on (a
/// version can turn bad at minute 3: a later rule for the same image wins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRule {
    pub image: String,
    pub from: DateTime<Utc>,
    pub profile: VersionProfile,
}

/// A version that turns bad some time after its release completes: from
/// `after` past the moment its image first serves all of its application's
/// traffic, it answers `error_ratio` errors (a cache warms up, a nightly
/// job hits the new code path).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DegradeAfterPromotion {
    #[serde(deserialize_with = "crate::scenario::duration_text::deserialize")]
    pub after: chrono::Duration,
    pub error_ratio: f64,
    /// How long it stays bad before it recovers (a fix rolled forward, a
    /// cache rebuilt); None: for good.
    #[serde(
        default,
        deserialize_with = "crate::scenario::duration_text::deserialize_some"
    )]
    pub lasting: Option<chrono::Duration>,
}

/// Requests per second an application receives, split across its pods by traffic weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppTraffic {
    pub namespace: String,
    pub app: String,
    pub rps: f64,
}

#[derive(Debug, Default)]
pub struct Behaviour {
    rules: RwLock<Vec<VersionRule>>,
    apps: RwLock<Vec<AppTraffic>>,
    /// Open confirm-promotion gates, as `namespace/name`.
    open_gates: RwLock<BTreeSet<String>>,
    /// Versions that turn bad after promotion, by image substring.
    degrades: RwLock<Vec<(String, DegradeAfterPromotion)>>,
    /// When each image first served all of its application's traffic.
    promoted: RwLock<HashMap<String, DateTime<Utc>>>,
}

impl Behaviour {
    pub fn add_rule(&self, rule: VersionRule) {
        self.rules
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(rule);
    }

    pub fn add_app(&self, app: AppTraffic) {
        self.apps
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(app);
    }

    pub fn apps(&self) -> Vec<AppTraffic> {
        self.apps.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn add_degrade(&self, image: &str, degrade: DegradeAfterPromotion) {
        self.degrades
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((image.to_string(), degrade));
    }

    /// Note that `image` serves all of its application's traffic at `now`;
    /// only the first time counts.
    pub fn serves_all(&self, image: &str, now: DateTime<Utc>) {
        self.promoted
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(image.to_string())
            .or_insert(now);
    }

    /// When `image` first served all of its application's traffic.
    pub fn promoted_at(&self, image: &str) -> Option<DateTime<Utc>> {
        let promoted = self.promoted.read().unwrap_or_else(|e| e.into_inner());
        promoted.get(image).copied()
    }

    /// The profile in force at `now` for a pod running `image`.
    pub fn profile(&self, image: &str, now: DateTime<Utc>) -> VersionProfile {
        let mut profile = self
            .rules
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|r| image.contains(r.image.as_str()) && r.from <= now)
            .max_by_key(|r| r.from)
            .map(|r| r.profile.clone())
            .unwrap_or_default();
        if let Some(promoted) = self.promoted_at(image) {
            let degrades = self.degrades.read().unwrap_or_else(|e| e.into_inner());
            let degraded = degrades.iter().find(|(i, d)| {
                let from = promoted + d.after;
                image.contains(i.as_str())
                    && from <= now
                    && d.lasting.is_none_or(|lasting| now < from + lasting)
            });
            if let Some((_, d)) = degraded {
                profile.error_ratio = d.error_ratio;
            }
        }
        profile
    }

    /// Open a manual gate (Flagger's loadtester `/gate/open`).
    pub fn open_gate(&self, namespace: &str, name: &str) {
        self.open_gates
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(format!("{namespace}/{name}"));
    }

    pub fn close_gate(&self, namespace: &str, name: &str) {
        self.open_gates
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&format!("{namespace}/{name}"));
    }

    pub fn gate_open(&self, namespace: &str, name: &str) -> bool {
        self.open_gates
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&format!("{namespace}/{name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_latest_rule_in_force_wins() {
        let t0 = Utc::now();
        let b = Behaviour::default();
        b.add_rule(VersionRule {
            image: "search:2.0".into(),
            from: t0,
            profile: VersionProfile::default(),
        });
        b.add_rule(VersionRule {
            image: "search:2.0".into(),
            from: t0 + Duration::minutes(3),
            profile: VersionProfile {
                error_ratio: 0.05,
                ..Default::default()
            },
        });
        assert_eq!(b.profile("reg/search:2.0", t0).error_ratio, 0.002);
        assert_eq!(
            b.profile("reg/search:2.0", t0 + Duration::minutes(4))
                .error_ratio,
            0.05
        );
        assert_eq!(b.profile("reg/other:1", t0), VersionProfile::default());
    }

    /// search 2.0 turning to 3% errors two minutes after its promotion.
    fn degrading(lasting: Option<Duration>) -> Behaviour {
        let b = Behaviour::default();
        b.add_degrade(
            "search:2.0",
            DegradeAfterPromotion {
                after: Duration::minutes(2),
                error_ratio: 0.03,
                lasting,
            },
        );
        b
    }

    #[test]
    fn a_degradation_lasting_a_while_recovers() {
        let t0 = Utc::now();
        let b = degrading(Some(Duration::minutes(1)));
        let image = "reg/search:2.0";
        b.serves_all(image, t0);
        let at = |minutes| {
            b.profile(image, t0 + Duration::minutes(minutes))
                .error_ratio
        };
        assert_eq!((at(1), at(2), at(3)), (0.002, 0.03, 0.002));
    }

    #[test]
    fn a_version_degrades_once_it_has_served_all_traffic_for_a_while() {
        let t0 = Utc::now();
        let b = degrading(None);
        let image = "reg/search:2.0";
        assert_eq!(b.profile(image, t0 + Duration::hours(1)).error_ratio, 0.002);
        b.serves_all(image, t0);
        b.serves_all(image, t0 + Duration::minutes(5));
        assert_eq!(b.promoted_at(image), Some(t0), "the first time counts");
        assert_eq!(
            b.profile(image, t0 + Duration::minutes(1)).error_ratio,
            0.002
        );
        assert_eq!(
            b.profile(image, t0 + Duration::minutes(2)).error_ratio,
            0.03
        );
        assert_eq!(
            b.profile("reg/other:1", t0 + Duration::hours(1))
                .error_ratio,
            0.002
        );
    }

    #[test]
    fn gates_open_and_close() {
        let b = Behaviour::default();
        assert!(!b.gate_open("shop", "search"));
        b.open_gate("shop", "search");
        assert!(b.gate_open("shop", "search"));
        b.close_gate("shop", "search");
        assert!(!b.gate_open("shop", "search"));
    }
}
