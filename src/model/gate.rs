//! `cutover gate`: whether one release watched by a pipeline has reached
//! what the pipeline waits for, has failed, or is stopped by cutover's own
//! metrics verdict. Pure: what the release says and the last verdict come
//! in, the end (or none yet) goes out. (The SLO gates that judge metrics
//! are [`super::metrics::Gate`], another thing.)

use super::metrics::Verdict;
use super::{Health, Kind, Release};
use std::str::FromStr;

/// What the pipeline waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Fully promoted and healthy.
    Healthy,
    /// Stopped at a pause that waits for a decision (not a timed pause).
    Paused,
    /// Flagger's `Succeeded`; for the other kinds, the same as healthy.
    Promoted,
    /// Finished, and its bake window ended with every SLO held.
    Baked,
}

impl Until {
    pub const WORDS: [&str; 4] = ["healthy", "paused", "promoted", "baked"];

    pub fn word(self) -> &'static str {
        match self {
            Until::Healthy => "healthy",
            Until::Paused => "paused",
            Until::Promoted => "promoted",
            Until::Baked => "baked",
        }
    }
}

impl FromStr for Until {
    type Err = String;

    fn from_str(text: &str) -> Result<Until, String> {
        one_of(
            text,
            Until::WORDS,
            [Until::Healthy, Until::Paused, Until::Promoted, Until::Baked],
        )
    }
}

/// The value whose word `text` is.
fn one_of<T: Copy, const N: usize>(
    text: &str,
    words: [&str; N],
    values: [T; N],
) -> Result<T, String> {
    words
        .iter()
        .position(|w| *w == text)
        .map(|i| values[i])
        .ok_or_else(|| format!("{text:?} is not one of {words:?}"))
}

/// What cutover's verdict must be for the gate to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredVerdict {
    /// Measured, and Pass.
    Pass,
    /// Anything but Fail; no metrics at all is not a Fail.
    NotFail,
    /// The verdict is shown, never decides.
    Any,
}

impl RequiredVerdict {
    pub const WORDS: [&str; 3] = ["pass", "not-fail", "any"];
}

impl FromStr for RequiredVerdict {
    type Err = String;

    fn from_str(text: &str) -> Result<RequiredVerdict, String> {
        use RequiredVerdict::{Any, NotFail, Pass};
        one_of(text, RequiredVerdict::WORDS, [Pass, NotFail, Any])
    }
}

/// What the gate reads of a release: only what decides its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFacts {
    pub kind: Kind,
    pub health: Health,
    pub phase: String,
    pub message: String,
    /// Argo's `status.abort`, which may be set before the phase says Degraded.
    pub aborted: bool,
    /// Paused, and the controller waits for a human (no timed pause).
    pub waiting_for_decision: bool,
    /// Argo: stableRS == currentPodHash.
    pub fully_promoted: bool,
    /// Where its bake window stands, once it finished.
    pub bake: BakeSeen,
}

/// A release's bake as the gate reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BakeSeen {
    /// Not finished, no metrics source, or the bake is off.
    #[default]
    None,
    /// In the window, or its end not judged yet.
    Baking,
    Baked,
    /// An SLO was breached (and may since have cleared): the breach.
    Breached(String),
}

impl BakeSeen {
    pub fn of(bake: Option<&super::bake::Bake>) -> BakeSeen {
        use super::bake::BakeState;
        match bake.map(|b| &b.state) {
            None => BakeSeen::None,
            Some(BakeState::Baked) => BakeSeen::Baked,
            Some(BakeState::Breached(b) | BakeState::Cleared(b)) => {
                BakeSeen::Breached(b.describe())
            }
            Some(BakeState::Baking | BakeState::Unknown(_)) => BakeSeen::Baking,
        }
    }
}

impl GateFacts {
    pub fn of(r: &Release, bake: BakeSeen) -> GateFacts {
        GateFacts {
            bake,
            kind: r.key.kind,
            health: r.health,
            phase: r.phase.clone(),
            message: r.message.clone(),
            aborted: r.aborted,
            waiting_for_decision: r.health == Health::Paused
                && r.pause.as_ref().is_some_and(|p| p.needs_decision),
            fully_promoted: r.fully_promoted(),
        }
    }

    fn healthy(&self) -> bool {
        self.health == Health::Healthy && (self.kind != Kind::Rollout || self.fully_promoted)
    }

    fn reached(&self, until: Until) -> bool {
        match (until, self.kind) {
            (Until::Paused, _) => self.waiting_for_decision,
            (Until::Promoted, Kind::Canary) => self.phase == "Succeeded",
            (Until::Healthy | Until::Promoted, _) => self.healthy(),
            (Until::Baked, _) => self.bake == BakeSeen::Baked,
        }
    }

    fn failed(&self) -> Option<String> {
        if self.health != Health::Degraded && !self.aborted {
            return None;
        }
        let phase = if self.aborted && self.health != Health::Degraded {
            "aborted"
        } else {
            self.phase.as_str()
        };
        Some(if self.message.is_empty() {
            phase.to_string()
        } else {
            format!("{phase}: {}", self.message)
        })
    }
}

/// cutover's last verdict on the release while it had a canary to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictSeen {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

/// How a gate ended, when it ended by what the release or its verdict did
/// (a timeout, or a release that cannot be read, is the watcher's).
#[derive(Debug, Clone, PartialEq)]
pub enum GateEnd {
    /// The target is reached and the verdict requirement holds.
    Reached,
    /// The release failed: Degraded, aborted, Flagger's Failed. Why.
    Failed(String),
    /// cutover's verdict is Fail, with its reasons.
    VerdictFailed(Vec<String>),
    /// The target is reached but the required verdict did not hold: why.
    VerdictNotHeld(String),
    /// An SLO was breached during the bake window: the breach.
    SloBreached(String),
}

/// Whether the gate ends now. `verdict` is the last verdict seen with both
/// versions compared; `measuring` is true while the release is being
/// measured and no measurement has come yet (a Pass may still come).
/// A release failing comes first, then a Fail verdict, then the target.
pub fn judge(
    facts: &GateFacts,
    verdict: Option<&VerdictSeen>,
    measuring: bool,
    until: Until,
    required: RequiredVerdict,
) -> Option<GateEnd> {
    if let Some(why) = facts.failed() {
        return Some(GateEnd::Failed(why));
    }
    if let BakeSeen::Breached(why) = &facts.bake
        && until == Until::Baked
    {
        return Some(GateEnd::SloBreached(why.clone()));
    }
    if let Some(v) = verdict.filter(|v| v.verdict == Verdict::Fail)
        && required != RequiredVerdict::Any
    {
        return Some(GateEnd::VerdictFailed(v.reasons.clone()));
    }
    if !facts.reached(until) {
        return None;
    }
    match (required, verdict.map(|v| v.verdict)) {
        (RequiredVerdict::Any | RequiredVerdict::NotFail, _) | (_, Some(Verdict::Pass)) => {
            Some(GateEnd::Reached)
        }
        (RequiredVerdict::Pass, None) if measuring => None,
        (RequiredVerdict::Pass, seen) => Some(GateEnd::VerdictNotHeld(format!(
            "{} with {}: --require-verdict pass needs a Pass",
            until.word(),
            match seen {
                Some(v) => format!("the verdict {v}"),
                None => "no verdict (nothing was measured)".into(),
            }
        ))),
    }
}

#[cfg(test)]
mod tests;
