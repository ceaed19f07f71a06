//! Simulated time: wall time sped up by a scale factor, plus manual steps,
//! so demos can compress a release night and tests can jump over pauses.

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
pub struct Clock {
    inner: Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    /// Simulated time at `anchor`.
    base: DateTime<Utc>,
    anchor: Instant,
    /// Simulated seconds per real second; 0 freezes time (tests step it).
    scale: f64,
}

impl Clock {
    /// A clock that starts at the current wall time and runs at `scale`.
    pub fn new(scale: f64) -> Self {
        Self::starting_at(Utc::now(), scale)
    }

    pub fn starting_at(start: DateTime<Utc>, scale: f64) -> Self {
        Clock {
            inner: Mutex::new(ClockState {
                base: start,
                anchor: Instant::now(),
                scale: scale.max(0.0),
            }),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let st = self.inner.lock().expect("clock lock");
        st.now()
    }

    /// Jump forward by `by` simulated time.
    pub fn advance(&self, by: Duration) {
        let mut st = self.inner.lock().expect("clock lock");
        let now = st.now();
        st.base = now + by;
        st.anchor = Instant::now();
    }

    pub fn scale(&self) -> f64 {
        self.inner.lock().expect("clock lock").scale
    }

    /// Change the speed from now on, keeping the current simulated time.
    pub fn set_scale(&self, scale: f64) {
        let mut st = self.inner.lock().expect("clock lock");
        st.base = st.now();
        st.anchor = Instant::now();
        st.scale = scale.max(0.0);
    }
}

impl ClockState {
    fn now(&self) -> DateTime<Utc> {
        let real = self.anchor.elapsed().as_secs_f64() * self.scale;
        self.base + Duration::microseconds((real * 1e6) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_stepped() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::starting_at(start, 0.0);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), start + Duration::seconds(90));
    }

    #[test]
    fn changing_scale_keeps_the_current_time() {
        let clock = Clock::new(0.0);
        let before = clock.now();
        clock.set_scale(0.0);
        assert_eq!(clock.now(), before);
        assert_eq!(clock.scale(), 0.0);
    }
}
