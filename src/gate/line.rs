//! What `cutover gate` prints: a line per change of what a pipeline reads
//! (phase, step, weights, verdict), and the end. Pure: the release, its
//! metrics and the time come in, text goes out.

use crate::model::gate::{GateEnd, Until};
use crate::model::metrics::{ReleaseMetrics, Verdict};
use crate::model::{Health, Release};
use crate::status::ReleaseStatus;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// What a line is printed for when it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub health: Health,
    pub phase: String,
    pub step: Option<String>,
    pub weights: String,
    /// cutover's verdict, while both versions are compared.
    pub verdict: Option<Verdict>,
    /// Its bake, once it finished, in a word (`baking`, `breached`, …).
    pub bake: Option<&'static str>,
}

impl Observed {
    pub fn of(
        r: &Release,
        metrics: Option<&ReleaseMetrics>,
        bake: Option<&crate::model::bake::Bake>,
    ) -> Observed {
        Observed {
            health: r.health,
            phase: r.phase.clone(),
            step: r.step_text(),
            weights: r.weights.text(),
            verdict: compared_verdict(metrics),
            bake: bake.map(|b| b.word()),
        }
    }
}

/// The verdict of `metrics` when both versions were compared: without
/// them it judges nothing (as status's VERDICT column shows `-`).
pub fn compared_verdict(metrics: Option<&ReleaseMetrics>) -> Option<Verdict> {
    metrics
        .filter(|m| m.versions.is_some())
        .map(|m| m.verdict.verdict)
}

/// How the gate ended, as the last line says it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Judged(GateEnd),
    /// `--timeout` passed first.
    TimedOut(String),
    /// `--timeout` passed while the watches could not read the cluster.
    Unreadable(String),
}

impl Ending {
    /// The `event` of the last JSON line.
    pub fn event(&self) -> &'static str {
        match self {
            Ending::Judged(GateEnd::Reached) => "reached",
            Ending::Judged(GateEnd::Failed(_)) => "failed",
            Ending::Judged(GateEnd::VerdictFailed(_)) => "verdict-failed",
            Ending::Judged(GateEnd::VerdictNotHeld(_)) => "verdict-not-held",
            Ending::Judged(GateEnd::SloBreached(_)) => "slo-breached",
            Ending::TimedOut(_) => "timeout",
            Ending::Unreadable(_) => "unreadable",
        }
    }

    /// In words, first line first: what happened, then the verdict's
    /// reasons, one a line.
    pub fn lines(&self, name: &str, until: Until) -> Vec<String> {
        match self {
            Ending::Judged(GateEnd::Reached) => {
                vec![format!("gate passed: {name} is {}", until.word())]
            }
            Ending::Judged(GateEnd::Failed(why)) => {
                vec![format!("gate failed: {name} failed: {why}")]
            }
            Ending::Judged(GateEnd::VerdictFailed(reasons)) => std::iter::once(format!(
                "gate failed: cutover's metrics verdict on {name} is Fail"
            ))
            .chain(reasons.iter().map(|r| format!("  {r}")))
            .collect(),
            Ending::Judged(GateEnd::VerdictNotHeld(why)) => {
                vec![format!("gate failed: {name} is {why}")]
            }
            Ending::Judged(GateEnd::SloBreached(why)) => {
                vec![format!(
                    "gate failed: an SLO of {name} was breached during its bake window: {why}"
                )]
            }
            Ending::TimedOut(why) => vec![format!("gate timed out: {why}")],
            Ending::Unreadable(why) => vec![format!("gate timed out, the cluster unread: {why}")],
        }
    }
}

/// Escape sequences around the words, only on a terminal that wants them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Plain,
    Colour,
}

impl Paint {
    fn word(self, text: &str, code: &str) -> String {
        match self {
            Paint::Plain => text.to_string(),
            Paint::Colour => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }

    fn health(self, health: Health, text: &str) -> String {
        let code = match health {
            Health::Healthy => "32",
            Health::Paused => "33",
            Health::Progressing => "36",
            Health::Degraded => "31",
            Health::Unknown => "2",
        };
        self.word(text, code)
    }

    fn verdict(self, verdict: Option<Verdict>) -> String {
        match verdict {
            None => "-".into(),
            Some(v) => {
                let code = match v {
                    Verdict::Pass => "32",
                    Verdict::Marginal => "33",
                    Verdict::Fail => "31",
                    Verdict::NoData => "2",
                };
                self.word(v.word(), code)
            }
        }
    }
}

/// `12:00:03Z Rollout/checkout ॥ Paused step 1/7 weight 20/20 verdict Pass: CanaryPauseStep`
pub fn text(at: DateTime<Utc>, r: &Release, seen: &Observed, paint: Paint) -> String {
    let mut line = format!(
        "{} {}/{} {} step {} weight {} verdict {}",
        at.format("%H:%M:%SZ"),
        r.key.kind.word(),
        r.key.name,
        paint.health(
            seen.health,
            &format!("{} {}", seen.health.symbol(), seen.phase)
        ),
        seen.step.as_deref().unwrap_or("-"),
        seen.weights,
        paint.verdict(seen.verdict),
    );
    if let Some(bake) = seen.bake {
        line.push_str(&format!(" bake {bake}"));
    }
    if !r.message.is_empty() {
        line.push_str(": ");
        line.push_str(&r.message);
    }
    line
}

/// One JSON line: the release as `status -o json` has it, with the event.
#[derive(Debug, Serialize)]
pub struct JsonLine<'a> {
    /// `observed` (the first), `changed`, then how the gate ended.
    pub event: &'static str,
    pub at: String,
    /// What ended the gate, in words; the verdict's reasons are in
    /// `metrics.reasons`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// In a fleet, the context the release is in, as `status -o json`
    /// names it, and its alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<&'a str>,
    #[serde(flatten)]
    pub release: &'a ReleaseStatus,
}

impl JsonLine<'_> {
    pub fn text(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }
}

pub fn json_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ending_says_what_happened_then_each_reason() {
        let ending = Ending::Judged(GateEnd::VerdictFailed(vec![
            "Fail: score 0".into(),
            "error ratio High".into(),
        ]));
        assert_eq!(ending.event(), "verdict-failed");
        assert_eq!(
            ending.lines("checkout", Until::Healthy),
            [
                "gate failed: cutover's metrics verdict on checkout is Fail",
                "  Fail: score 0",
                "  error ratio High"
            ]
        );
        assert_eq!(
            Ending::Judged(GateEnd::Reached).lines("checkout", Until::Paused),
            ["gate passed: checkout is paused"]
        );
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(Paint::Plain.verdict(Some(Verdict::Fail)), "Fail");
        assert_eq!(
            Paint::Colour.verdict(Some(Verdict::Fail)),
            "\x1b[31mFail\x1b[0m"
        );
        assert_eq!(Paint::Colour.verdict(None), "-");
    }
}
