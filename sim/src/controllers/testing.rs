//! What controller tests share: a metrics source with no traffic, and a fixed start time.

use crate::traffic::{MeasurementSource, WindowStats};
use chrono::{DateTime, Duration, Utc};

/// Analysis sees no traffic at all.
pub struct NoTraffic;

impl MeasurementSource for NoTraffic {
    fn window(&self, _: &str, _: &str, _: Duration) -> Option<WindowStats> {
        None
    }
}

/// The simulated time tests start at.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .expect("a valid time")
        .with_timezone(&Utc)
}
