//! Feature flags beside a release: what is released, next to what is
//! deployed. A flag comes from an OpenFeature `FeatureFlag` resource (its
//! spec is its state: the resource has no status) or from Unleash. Pure: time arrives as
//! an argument.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

/// The annotation on a release (or its pod template) naming the flags it
/// depends on, comma-separated.
pub const FLAGS_ANNOTATION: &str = "cutover.dev/flags";
/// Labels that give a FeatureFlag resource to a release by name.
pub const RELEASE_LABELS: [&str; 2] = ["app.kubernetes.io/name", "cutover.dev/release"];

/// How long a change keeps a flag marked in the list.
pub const RECENT_MINUTES: i64 = 30;

/// Where a flag is defined.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FlagSource {
    /// `spec.flagSpec.flags.<key>` of a FeatureFlag resource.
    FeatureFlag { namespace: String, name: String },
    /// A feature of an Unleash project, in one environment.
    Unleash {
        project: String,
        environment: String,
    },
}

impl FlagSource {
    /// "FeatureFlag shop/checkout-flags".
    pub fn describe(&self) -> String {
        match self {
            FlagSource::FeatureFlag { namespace, name } => {
                format!("FeatureFlag {namespace}/{name}")
            }
            FlagSource::Unleash {
                project,
                environment,
            } => format!("Unleash {project}/{environment}"),
        }
    }
}

/// As the resource writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FlagState {
    Enabled,
    Disabled,
    /// A state the operator does not define: never read as on or off.
    Unknown,
}

impl FlagState {
    pub fn word(self) -> &'static str {
        match self {
            FlagState::Enabled => "ENABLED",
            FlagState::Disabled => "DISABLED",
            FlagState::Unknown => "unknown",
        }
    }
}

/// How the flag came to belong to the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FlagLink {
    /// Named by the release's `cutover.dev/flags` annotation.
    Annotation,
    /// Its resource is labelled with the release's name.
    Label,
}

/// One variant's share of a fractional split, in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub variant: String,
    pub percent: f64,
}

/// One flag as the control room shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    pub key: String,
    pub source: FlagSource,
    pub state: FlagState,
    pub default_variant: Option<String>,
    /// Each variant's name and its value as JSON text.
    pub variants: Vec<(String, String)>,
    /// The split when targeting is a `fractional` rule.
    pub rollout: Option<Vec<Share>>,
    /// Targeting other than a plain fractional split (rules on attributes).
    pub rules: bool,
    /// When its definition last changed (the resource's newest
    /// managedFields time).
    pub changed_at: Option<DateTime<Utc>>,
    pub link: FlagLink,
    /// The flag's definition as read: what the kill switch's stale-view
    /// guard compares.
    #[serde(skip)]
    pub definition: Value,
    /// The resourceVersion of the object it was read from.
    #[serde(skip)]
    pub resource_version: String,
}

impl Flag {
    /// On, and split between variants that both get traffic.
    pub fn partially_rolled_out(&self) -> bool {
        self.state == FlagState::Enabled
            && self
                .rollout
                .as_ref()
                .is_some_and(|shares| shares.iter().filter(|s| s.percent > 0.0).count() > 1)
    }

    /// Changed less than [`RECENT_MINUTES`] before `now`.
    pub fn changed_recently(&self, now: DateTime<Utc>) -> bool {
        self.recent_until().is_some_and(|until| now < until)
    }

    /// When a change stops being recent.
    pub fn recent_until(&self) -> Option<DateTime<Utc>> {
        self.changed_at
            .map(|at| at + Duration::minutes(RECENT_MINUTES))
    }

    /// On, and changed at or after `since`: a suspect when metrics fail.
    pub fn turned_on_since(&self, since: DateTime<Utc>) -> bool {
        self.state == FlagState::Enabled && self.changed_at.is_some_and(|at| at >= since)
    }

    /// "on 20% · off 80%".
    pub fn rollout_text(&self) -> Option<String> {
        let shares = self.rollout.as_ref()?;
        Some(
            shares
                .iter()
                .map(|s| format!("{} {}%", s.variant, trim_percent(s.percent)))
                .collect::<Vec<_>>()
                .join(" · "),
        )
    }

    /// What the kill switch may do to it: turn it off, or serve another
    /// variant by default (when its owners keep it enabled).
    pub fn kill_moves(&self) -> Vec<FlagMove> {
        if self.state != FlagState::Enabled {
            return Vec::new();
        }
        let others = self
            .variants
            .iter()
            .filter(|(name, _)| Some(name) != self.default_variant.as_ref())
            .map(|(name, _)| FlagMove::DefaultVariant(name.clone()));
        std::iter::once(FlagMove::Off).chain(others).collect()
    }

    /// The same flag as `other`: same key from the same source.
    pub fn same_as(&self, other: &Flag) -> bool {
        self.key == other.key && self.source == other.source
    }
}

/// What the kill switch does to one flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FlagMove {
    /// `state: DISABLED`.
    Off,
    /// `defaultVariant` set to this variant.
    DefaultVariant(String),
}

impl FlagMove {
    /// What it does to a flag of `source`, in that source's words.
    pub fn describe(&self, source: &FlagSource) -> String {
        match (self, source) {
            (FlagMove::Off, FlagSource::Unleash { environment, .. }) => {
                format!("off in environment {environment}")
            }
            (FlagMove::Off, FlagSource::FeatureFlag { .. }) => "off (state DISABLED)".into(),
            (FlagMove::DefaultVariant(v), _) => {
                format!("default variant \"{v}\" (stays ENABLED)")
            }
        }
    }
}

/// What the kill switch can do on a release, in order: for each flag that
/// is on, turn it off, then serve each of its other variants by default.
pub fn kill_options(release: &crate::model::Release) -> Vec<(&Flag, FlagMove)> {
    release
        .flags
        .iter()
        .flat_map(|f| f.kill_moves().into_iter().map(move |m| (f, m)))
        .collect()
}

/// When cutover's metrics say Fail: the linked flag turned on (or
/// changed while on) within the window the verdict looked at, the latest
/// first. Switching it off is a cheaper first move than aborting the
/// release: the code stays, the feature goes dark.
pub fn suspect<'a>(
    release: &'a crate::model::Release,
    metrics: &crate::model::metrics::ReleaseMetrics,
) -> Option<&'a Flag> {
    if metrics.verdict.verdict != crate::model::metrics::Verdict::Fail {
        return None;
    }
    let window = i64::try_from(metrics.window_seconds).unwrap_or(i64::MAX);
    let since = metrics.measured_at - Duration::seconds(window);
    release
        .flags
        .iter()
        .filter(|f| f.turned_on_since(since) && !f.kill_moves().is_empty())
        .max_by_key(|f| f.changed_at)
}

/// 20 for 20.0, 33.3 for 33.333….
fn trim_percent(p: f64) -> String {
    if (p - p.round()).abs() < 0.05 {
        format!("{}", p.round())
    } else {
        format!("{p:.1}")
    }
}

/// The split of the first `fractional` rule in `targeting` (JSON Logic,
/// as flagd evaluates it): `{"fractional": [bucketBy?, [variant, weight],
/// …]}`, weights relative to their sum. None when there is none, or when
/// it cannot be read (no weights, a negative one).
pub fn fractional(targeting: &Value) -> Option<Vec<Share>> {
    match targeting {
        Value::Object(map) => {
            if let Some(args) = map.get("fractional") {
                return shares(args);
            }
            map.values().find_map(fractional)
        }
        Value::Array(items) => items.iter().find_map(fractional),
        _ => None,
    }
}

fn shares(args: &Value) -> Option<Vec<Share>> {
    let buckets: Vec<(String, f64)> = args
        .as_array()?
        .iter()
        // The optional first argument is what to bucket by, not a bucket.
        .filter_map(|a| a.as_array())
        .map(|pair| {
            let variant = pair.first()?.as_str()?.to_string();
            // flagd: a bucket without a weight weighs 1.
            let weight = match pair.get(1) {
                None => 1.0,
                Some(w) => w.as_f64()?,
            };
            (weight >= 0.0).then_some((variant, weight))
        })
        .collect::<Option<_>>()?;
    let total: f64 = buckets.iter().map(|(_, w)| w).sum();
    (total > 0.0).then(|| {
        buckets
            .into_iter()
            .map(|(variant, w)| Share {
                variant,
                percent: w * 100.0 / total,
            })
            .collect()
    })
}

/// The flag keys `annotation` names: comma-separated, blanks ignored.
pub fn named_in(annotation: &str) -> impl Iterator<Item = &str> {
    annotation
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

pub mod feed;
#[cfg(test)]
mod tests;
