//! What a metric measures: which change of it is bad, and how its values
//! are written.

use serde::Serialize;

/// Which change of a metric is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// Higher is worse (latency, errors).
    Increase,
    /// Lower is worse (success rate, conversions).
    Decrease,
    Either,
}

impl Direction {
    pub(super) fn flags_increase(self) -> bool {
        matches!(self, Direction::Increase | Direction::Either)
    }

    pub(super) fn flags_decrease(self) -> bool {
        matches!(self, Direction::Decrease | Direction::Either)
    }
}

/// How a metric's values are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Unit {
    /// A fraction (0.005), shown as a percentage (0.5%).
    Ratio,
    /// Shown in ms below a second.
    Seconds,
    /// Istio reports latency in ms.
    Milliseconds,
    /// A rate, shown as n/s.
    PerSecond,
    Plain,
}

impl Unit {
    /// A value with three significant digits and its unit: `120 ms`, `0.5%`.
    pub fn format(self, value: f64) -> String {
        if !value.is_finite() {
            return format!("{value}");
        }
        match self {
            Unit::Ratio => format!("{}%", significant(value * 100.0)),
            Unit::Seconds if value.abs() >= 1.0 => format!("{} s", significant(value)),
            Unit::Seconds => format!("{} ms", significant(value * 1000.0)),
            Unit::Milliseconds => Unit::Seconds.format(value / 1000.0),
            Unit::PerSecond => format!("{}/s", significant(value)),
            Unit::Plain => significant(value),
        }
    }

    /// A difference between two values: a ratio's in percentage points.
    pub fn format_delta(self, delta: f64) -> String {
        match self {
            Unit::Ratio => format!("{} pp", significant(delta * 100.0)),
            _ => self.format(delta),
        }
    }
}

/// Three significant digits, without an exponent or trailing zeros.
pub(super) fn significant(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let decimals = (2 - value.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A percentage of a fraction for prose: 0.98 → `98%`, 0.995 → `99.5%`.
pub(super) fn percent(fraction: f64) -> String {
    format!("{}%", significant(fraction * 100.0))
}
