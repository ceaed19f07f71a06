//! The bake window: after a release finishes, its new version is judged
//! for a while longer against its SLOs, absolute (error ratio ≤ 1%) or
//! relative to what the previous version had before the final promotion.
//! Pure: the completion comes from the object, the figures from a
//! measurement, the time as an argument, so a fresh process computes the
//! same state as one that watched the whole bake.

use super::metrics::{ERROR_RATIO, Gate, P95_LATENCY, Unit};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// The annotation that sets one release's bake duration (`45m`).
pub const BAKE_ANNOTATION: &str = "cutover.dev/bake";

/// When a release finished, read from its object (conditions' transition
/// times), and which versions it went between.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    pub at: DateTime<Utc>,
    /// The pod-template hash of the version that now serves.
    pub hash: String,
    /// The previous revision's hash: its pods are gone, its history is the
    /// only baseline left.
    pub previous_hash: String,
}

/// How a context bakes its releases (`[metrics.bake]`, `[[metrics.slo]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct BakeSettings {
    /// Zero turns the bake off.
    pub duration: Duration,
    /// How long an SLO must be violated without a break to count, like a
    /// Prometheus alerting rule's `for`.
    pub hold_for: Duration,
    pub slos: Vec<Gate>,
}

impl Default for BakeSettings {
    fn default() -> Self {
        BakeSettings {
            duration: Duration::minutes(30),
            hold_for: Duration::minutes(5),
            slos: default_slos(),
        }
    }
}

/// Error ratio at most 1%, p95 latency at most 1.2 × the previous version's.
pub fn default_slos() -> Vec<Gate> {
    vec![
        Gate::AbsoluteMax {
            metric: ERROR_RATIO.into(),
            max: 0.01,
        },
        Gate::RelativeRatio {
            metric: P95_LATENCY.into(),
            max_ratio: 1.2,
        },
    ]
}

impl BakeSettings {
    /// The bake duration of a release: its annotation's, else the context's.
    pub fn duration_for(
        &self,
        annotations: &std::collections::BTreeMap<String, String>,
    ) -> Result<Duration, String> {
        match annotations.get(BAKE_ANNOTATION) {
            None => Ok(self.duration),
            Some(text) => parse_bake_duration(text).ok_or_else(|| {
                format!("{BAKE_ANNOTATION}: {text:?} is not a duration such as 30m or 0s")
            }),
        }
    }
}

/// A bake duration: `30m`, `1h30m`, or `0s` (off).
pub fn parse_bake_duration(text: &str) -> Option<Duration> {
    crate::time::parse(text, crate::time::PROMETHEUS_UNITS).filter(|d| *d >= Duration::zero())
}

/// One SLO metric as one measurement read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloFigures {
    pub metric: String,
    pub label: String,
    pub unit: Unit,
    /// The previous version over the window before the completion.
    pub before: Option<f64>,
    /// The new version over the bake period so far, one sample per step.
    #[serde(skip)]
    pub samples: Vec<(DateTime<Utc>, f64)>,
}

/// What one measurement of a bake read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BakeFigures {
    pub source: String,
    pub measured_at: DateTime<Utc>,
    /// The completion these figures are of: a new release is a new bake.
    #[serde(skip)]
    pub completion: Completion,
    pub slos: Vec<SloFigures>,
    /// Queries that failed, as the source reported them.
    pub errors: Vec<String>,
}

/// An SLO violated without a break for at least `for`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Breach {
    pub metric: String,
    pub label: String,
    pub unit: Unit,
    /// The worst value while it lasted.
    pub value: f64,
    pub limit: f64,
    pub since: DateTime<Utc>,
    pub lasted_seconds: i64,
    /// Still violated at the latest sample.
    pub ongoing: bool,
}

impl Breach {
    /// `error ratio 3% above its limit 1%`.
    pub fn what(&self) -> String {
        format!(
            "{} {} above its limit {}",
            self.label,
            self.unit.format(self.value),
            self.unit.format(self.limit)
        )
    }

    /// `error ratio 3% above its limit 1% since 04:12:00 (6m)`.
    pub fn describe(&self) -> String {
        format!(
            "{} since {} ({})",
            self.what(),
            self.since.format("%H:%M:%S"),
            minutes_text(self.lasted_seconds)
        )
    }
}

/// `12m`, `45s`, `1h5m`.
pub fn minutes_text(seconds: i64) -> String {
    super::format_seconds(seconds.max(0) as u64)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state", content = "detail")]
pub enum BakeState {
    /// Inside the window, every SLO held so far.
    Baking,
    Breached(Breach),
    /// A breach that has since ended; the release is not baked.
    Cleared(Breach),
    /// The window ended and every SLO held.
    Baked,
    /// No data to judge by: never shown as good.
    Unknown(String),
}

/// One SLO against its limit at the latest sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloStatus {
    pub metric: String,
    pub label: String,
    pub unit: Unit,
    pub before: Option<f64>,
    pub after: Option<f64>,
    pub limit: Option<f64>,
    /// How the limit is reached: `previous 140 ms × 1.2 = 168 ms`.
    pub limit_text: String,
    /// The latest value is within the limit; None without one of them.
    pub ok: Option<bool>,
}

/// A release's bake window as judged at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bake {
    #[serde(flatten)]
    pub state: BakeState,
    pub started: DateTime<Utc>,
    pub duration_seconds: i64,
    pub elapsed_seconds: i64,
    pub hold_for_seconds: i64,
    pub measured_at: Option<DateTime<Utc>>,
    pub slos: Vec<SloStatus>,
}

impl Bake {
    /// The window is over (whatever it found).
    pub fn window_ended(&self) -> bool {
        self.elapsed_seconds >= self.duration_seconds
    }

    /// The breach, ongoing or cleared.
    pub fn breach(&self) -> Option<&Breach> {
        match &self.state {
            BakeState::Breached(b) | BakeState::Cleared(b) => Some(b),
            _ => None,
        }
    }

    /// What the list's VERDICT column says: `baking 12m/30m ✔`,
    /// `SLO breached`, `baked ✔`. The elapsed time is in whole minutes so
    /// the row changes once a minute.
    pub fn verdict_text(&self) -> String {
        match &self.state {
            BakeState::Baking => {
                let over = self.slos.iter().any(|s| s.ok == Some(false));
                format!(
                    "baking {}m/{} {}",
                    self.elapsed_seconds / 60,
                    minutes_text(self.duration_seconds),
                    if over { "⚠" } else { "✔" }
                )
            }
            BakeState::Breached(_) => "SLO breached".into(),
            BakeState::Cleared(_) => "SLO breached, cleared".into(),
            BakeState::Baked => "baked ✔".into(),
            BakeState::Unknown(_) => "bake ?".into(),
        }
    }

    /// One word for narrow tables (`status`): `baking`, `breached`, …
    pub fn word(&self) -> &'static str {
        match self.state {
            BakeState::Baking => "baking",
            BakeState::Breached(_) => "breached",
            BakeState::Cleared(_) => "cleared",
            BakeState::Baked => "baked",
            BakeState::Unknown(_) => "bake ?",
        }
    }
}

/// How long a bake's outcome is shown after its window ends. Older bakes
/// are history: every steady release would otherwise be read from
/// Prometheus at each start, and show `bake ?` once its window is beyond
/// Prometheus's retention.
pub const BAKE_KEPT_AFTER_END: Duration = Duration::hours(24);

/// The bake of a release that finished as `completion`, judged at `now`
/// on `figures` (None before the first measurement); None when the bake
/// is off (`duration` zero) or ended more than [`BAKE_KEPT_AFTER_END`] ago.
pub fn judge(
    completion: &Completion,
    duration: Duration,
    settings: &BakeSettings,
    figures: Option<&BakeFigures>,
    now: DateTime<Utc>,
) -> Option<Bake> {
    if duration <= Duration::zero() {
        return None;
    }
    let started = completion.at;
    let end = started + duration;
    if now >= end + BAKE_KEPT_AFTER_END {
        return None;
    }
    let elapsed = (now.min(end) - started).max(Duration::zero());
    let figures = figures.filter(|f| f.completion == *completion);
    let slos: Vec<(SloStatus, Option<Breach>)> = settings
        .slos
        .iter()
        .map(|gate| slo(gate, figures, started, end, settings.hold_for))
        .collect();
    let earliest = slos
        .iter()
        .filter_map(|(_, b)| b.as_ref())
        .min_by_key(|b| b.since);
    let state = match (figures, earliest) {
        (None, _) => BakeState::Unknown("not measured yet".into()),
        (_, Some(b)) if b.ongoing => BakeState::Breached(b.clone()),
        (_, Some(b)) => BakeState::Cleared(b.clone()),
        (Some(f), None) => match missing(f, &slos, now >= end) {
            Some(why) => BakeState::Unknown(why),
            None if now >= end => BakeState::Baked,
            None => BakeState::Baking,
        },
    };
    Some(Bake {
        state,
        started,
        duration_seconds: duration.num_seconds(),
        elapsed_seconds: elapsed.num_seconds(),
        hold_for_seconds: settings.hold_for.num_seconds(),
        measured_at: figures.map(|f| f.measured_at),
        slos: slos.into_iter().map(|(s, _)| s).collect(),
    })
}

/// Why the figures cannot tell the bake is good, if they cannot.
fn missing(
    figures: &BakeFigures,
    slos: &[(SloStatus, Option<Breach>)],
    window_ended: bool,
) -> Option<String> {
    if let Some(e) = figures.errors.first() {
        return Some(e.clone());
    }
    let no_samples = slos.iter().all(|(s, _)| s.after.is_none());
    if no_samples && window_ended {
        return Some(
            "no figures for the bake window: older than Prometheus keeps, or never scraped".into(),
        );
    }
    if let Some((s, _)) = slos.iter().find(|(s, _)| s.after.is_none()) {
        return Some(format!("no {} of the new version yet", s.label));
    }
    if let Some((s, _)) = slos.iter().find(|(s, _)| s.limit.is_none()) {
        return Some(format!(
            "no {} of the previous version before the promotion (beyond Prometheus's retention?)",
            s.label
        ));
    }
    None
}

fn slo(
    gate: &Gate,
    figures: Option<&BakeFigures>,
    started: DateTime<Utc>,
    end: DateTime<Utc>,
    hold_for: Duration,
) -> (SloStatus, Option<Breach>) {
    let measured = figures.and_then(|f| f.slos.iter().find(|s| s.metric == gate.metric()));
    let (label, unit) = measured.map_or((gate.metric().to_string(), Unit::Plain), |m| {
        (m.label.clone(), m.unit)
    });
    let before = measured.and_then(|m| m.before).filter(|v| v.is_finite());
    let limit = gate.limit(before);
    let samples: Vec<(DateTime<Utc>, f64)> = measured
        .map(|m| {
            m.samples
                .iter()
                .filter(|(t, v)| *t >= started && *t <= end && v.is_finite())
                .copied()
                .collect()
        })
        .unwrap_or_default();
    let after = samples.last().map(|(_, v)| *v);
    let status = SloStatus {
        metric: gate.metric().to_string(),
        label: label.clone(),
        unit,
        before,
        after,
        limit,
        limit_text: limit.map_or_else(
            || "no limit without the previous version's figure".into(),
            |l| gate.limit_text(unit, before, l, "previous"),
        ),
        ok: after.zip(limit).map(|(a, l)| a <= l),
    };
    let breach = limit.and_then(|limit| {
        first_breach(&samples, limit, hold_for).map(|(since, last, value, ongoing)| Breach {
            metric: gate.metric().to_string(),
            label,
            unit,
            value,
            limit,
            since,
            lasted_seconds: (last - since).num_seconds(),
            ongoing,
        })
    });
    (status, breach)
}

/// The first run of samples above `limit` that lasted at least `hold_for`
/// (from its first sample to its last): its start, its last sample, its
/// worst value, and whether it runs to the latest sample.
fn first_breach(
    samples: &[(DateTime<Utc>, f64)],
    limit: f64,
    hold_for: Duration,
) -> Option<(DateTime<Utc>, DateTime<Utc>, f64, bool)> {
    let mut i = 0;
    while i < samples.len() {
        if samples[i].1 <= limit {
            i += 1;
            continue;
        }
        let run_end = samples[i..]
            .iter()
            .position(|(_, v)| *v <= limit)
            .map_or(samples.len(), |n| i + n);
        let run = &samples[i..run_end];
        let (since, last) = (run[0].0, run[run.len() - 1].0);
        if last - since >= hold_for {
            let worst = run.iter().map(|(_, v)| *v).fold(f64::MIN, f64::max);
            return Some((since, last, worst, run_end == samples.len()));
        }
        i = run_end;
    }
    None
}

#[cfg(test)]
mod tests;
