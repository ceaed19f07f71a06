//! Fault injection for the simulated API server, switchable while it runs:
//! slow answers, failed requests, cut watch streams, forced 410 Gone and
//! (through the server handle) a stopped listener.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::watch;

/// The switchable part of the faults, as read and written by the admin endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultSettings {
    /// Added to every API request before it is answered.
    pub latency_ms: u64,
    /// Fraction (0..=1) of API requests answered with `error_status`.
    pub error_rate: f64,
    /// 500 or 503.
    pub error_status: u16,
}

#[derive(Debug)]
pub struct Faults {
    settings: Mutex<FaultSettings>,
    /// How many of the next watch requests are answered with 410 Gone.
    forced_gone: AtomicU32,
    /// Bumped to end every open watch stream.
    cut: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            settings: Mutex::new(FaultSettings {
                error_status: 503,
                ..FaultSettings::default()
            }),
            forced_gone: AtomicU32::new(0),
            cut: watch::Sender::new(0),
        }
    }
}

impl Faults {
    pub fn settings(&self) -> FaultSettings {
        self.settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set(&self, mut settings: FaultSettings) {
        settings.error_rate = settings.error_rate.clamp(0.0, 1.0);
        if settings.error_status != 500 {
            settings.error_status = 503;
        }
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings;
    }

    /// Back to a healthy server (open watches are not cut).
    pub fn clear(&self) {
        self.set(FaultSettings::default());
        self.forced_gone.store(0, Ordering::SeqCst);
    }

    /// The status code to fail this request with, if the dice say so.
    pub fn roll_error(&self) -> Option<u16> {
        let s = self.settings();
        (s.error_rate > 0.0 && rand::random::<f64>() < s.error_rate).then_some(s.error_status)
    }

    pub fn latency(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.settings().latency_ms)
    }

    /// Answer the next `n` watch requests with 410 Gone.
    pub fn force_gone(&self, n: u32) {
        self.forced_gone.store(n, Ordering::SeqCst);
    }

    pub fn forced_gone_left(&self) -> u32 {
        self.forced_gone.load(Ordering::SeqCst)
    }

    /// Take one forced 410 if any are left.
    pub fn take_gone(&self) -> bool {
        self.forced_gone
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// End every watch stream open now.
    pub fn cut_watches(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn cut_signal(&self) -> watch::Receiver<u64> {
        self.cut.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_gone_counts_down() {
        let f = Faults::default();
        f.force_gone(2);
        assert!(f.take_gone());
        assert!(f.take_gone());
        assert!(!f.take_gone());
    }

    #[test]
    fn error_rate_is_clamped_and_all_or_nothing_is_exact() {
        let f = Faults::default();
        f.set(FaultSettings {
            error_rate: 7.0,
            error_status: 500,
            ..Default::default()
        });
        assert_eq!(f.settings().error_rate, 1.0);
        assert_eq!(f.roll_error(), Some(500));
        f.clear();
        assert_eq!(f.roll_error(), None);
        assert_eq!(f.settings().error_status, 503);
    }

    #[test]
    fn cutting_wakes_watchers() {
        let f = Faults::default();
        let mut rx = f.cut_signal();
        f.cut_watches();
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
    }
}
