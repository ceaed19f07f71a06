//! Baseline against canary: the statistics that judge a release's metrics.
//! Pure: samples and current values come in as arguments, judgements go out.
//!
//! The layers, each usable on its own:
//!
//! - [`mann_whitney_u`]: the two-sided Mann–Whitney U test, as SciPy's
//!   `mannwhitneyu(x, y, alternative="two-sided")` computes it (exact
//!   distribution for small samples without ties, otherwise the normal
//!   approximation with tie and continuity corrections).
//! - [`classify`]: one metric's range samples of both sides into a
//!   [`MetricClass`] (Pass, High, Low, NoData, Error) in the manner of
//!   Kayenta's NetflixACAJudge, with the reason written out. The metric's
//!   name, unit, direction and thresholds come in a [`MetricJudgeConfig`].
//! - [`classify_after`]: the same, given the previous refresh's judgement:
//!   a class is held over one refresh whose samples fall one short.
//! - [`Gate::evaluate`]: an SLO gate on current values (absolute maximum,
//!   relative ratio, relative delta) into Pass, Fail or NoData.
//! - [`verdict`]: the metric judgements and gate results into an
//!   [`OverallVerdict`] (Pass, Marginal, Fail, NoData) with Kayenta's
//!   scoring and the reasons.
//!
//! No data, zero traffic or NaN never yields a Pass at any layer.

mod classify;
mod comparison;
mod gate;
mod hold;
mod mann_whitney;
mod unit;
mod verdict;
pub use classify::*;
pub use comparison::*;
pub use gate::*;
pub use hold::*;
pub use mann_whitney::{MannWhitney, Shift, mann_whitney_u};
pub use unit::{Direction, Unit};
pub use verdict::*;

#[cfg(test)]
mod tests;
