//! The pace of the main loop, as pure helpers: how much of a flood of
//! messages it takes before drawing, and when its one timer must ring.

use super::update::Msg;
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// Under a flood of messages the screen is still drawn this often.
pub const FRAME: Duration = Duration::from_millis(100);

/// The most messages taken before drawing, however fast they are.
pub const DRAIN_LIMIT: usize = 1024;

/// One drain of the queue: messages are taken until it is empty or the
/// frame's time or count is spent; then the screen is drawn and the loop
/// goes on with the rest.
#[derive(Debug)]
pub struct Drain {
    started: Instant,
    taken: usize,
}

impl Drain {
    pub fn new(started: Instant) -> Drain {
        Drain { started, taken: 0 }
    }

    /// Count one message handled by `now`; whether another may be taken
    /// before drawing.
    pub fn take(&mut self, now: Instant) -> bool {
        self.taken += 1;
        self.taken < DRAIN_LIMIT && now.saturating_duration_since(self.started) < FRAME
    }
}

/// The watch updates waiting behind `first`, taken with it as one
/// message, so a burst rebuilds the releases once; and the first other
/// message met, to handle next.
pub fn take_burst(first: Msg, mut next: impl FnMut() -> Option<Msg>) -> (Msg, Option<Msg>) {
    let Msg::Source { epoch, mut updates } = first else {
        return (first, None);
    };
    while updates.len() < DRAIN_LIMIT {
        match next() {
            Some(Msg::Source {
                epoch: same,
                updates: more,
            }) if same == epoch => updates.extend(more),
            other => return (Msg::Source { epoch, updates }, other),
        }
    }
    (Msg::Source { epoch, updates }, None)
}

/// What the loop's one timer is set for: the next instant the screen
/// changes by itself, or nothing.
#[derive(Debug, Default)]
pub struct Alarm {
    set_for: Option<DateTime<Utc>>,
}

impl Alarm {
    /// Aim at `next`. True when it moved, so the timer must be reset.
    pub fn aim(&mut self, next: Option<DateTime<Utc>>) -> bool {
        let moved = self.set_for != next;
        self.set_for = next;
        moved
    }

    pub fn is_set(&self) -> bool {
        self.set_for.is_some()
    }

    /// The timer rang: it is spent until aimed again.
    pub fn rang(&mut self) {
        self.set_for = None;
    }
}

/// The monotonic instant of wall-clock `at`, the wall clock reading `wall`
/// at `mono`; an instant already past is due at once.
pub fn deadline(at: DateTime<Utc>, wall: DateTime<Utc>, mono: Instant) -> Instant {
    mono + (at - wall).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn health(epoch: u64, source: &str) -> Msg {
        let at = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let update = crate::cluster::watch::SourceUpdate::Health {
            source: source.into(),
            error: None,
            at,
        };
        Msg::Source {
            epoch,
            updates: vec![update],
        }
    }

    fn sources(msg: &Msg) -> Vec<String> {
        let Msg::Source { updates, .. } = msg else {
            return Vec::new();
        };
        updates.iter().map(|u| u.source().to_string()).collect()
    }

    #[test]
    fn a_burst_of_watch_updates_is_one_message_in_order() {
        let mut queue = vec![
            health(1, "pods"),
            health(1, "replicasets"),
            health(2, "pods"),
            Msg::Tick(Utc::now()),
        ]
        .into_iter();
        let (burst, held) = take_burst(health(1, "rollouts"), || queue.next());
        assert_eq!(sources(&burst), ["rollouts", "pods", "replicasets"]);
        let held = held.expect("the next epoch's update waits its turn");
        assert_eq!(sources(&held), ["pods"]);
        let (tick, none) = take_burst(queue.next().unwrap(), || unreachable!());
        assert!(matches!(tick, Msg::Tick(_)) && none.is_none());
    }

    #[test]
    fn a_flood_is_drawn_every_frame() {
        let start = Instant::now();
        let mut drain = Drain::new(start);
        assert!(drain.take(start), "one message, the frame has time");
        assert!(drain.take(start + FRAME / 2));
        assert!(!drain.take(start + FRAME), "the frame is spent: draw");

        let mut quick = Drain::new(start);
        let taken = (1..).take_while(|_| quick.take(start)).count() + 1;
        assert_eq!(taken, DRAIN_LIMIT, "cheap messages are counted too");
    }

    #[test]
    fn the_timer_is_reset_only_when_its_instant_moves() {
        let at = |s| Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, s).unwrap();
        let mut alarm = Alarm::default();
        assert!(!alarm.aim(None), "nothing to wait for");
        assert!(!alarm.is_set());
        assert!(alarm.aim(Some(at(31))));
        assert!(!alarm.aim(Some(at(31))), "a burst of keys keeps the timer");
        assert!(alarm.aim(Some(at(20))), "an earlier change");
        alarm.rang();
        assert!(!alarm.is_set());
        assert!(alarm.aim(Some(at(20))), "rung: set again");
        assert!(alarm.aim(None));
        assert!(!alarm.is_set());
    }

    #[test]
    fn wall_clock_instants_become_timer_deadlines() {
        let wall = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
        let mono = Instant::now();
        let later = wall + chrono::Duration::milliseconds(1500);
        assert_eq!(
            deadline(later, wall, mono),
            mono + Duration::from_millis(1500)
        );
        assert_eq!(
            deadline(wall - chrono::Duration::seconds(1), wall, mono),
            mono,
            "already past: at once"
        );
    }
}
