//! When the screen next changes by itself: ages, countdowns and the
//! freshness badge count with the clock, and the main loop sleeps until the
//! next moment one of the visible ones reads differently. Worked out with
//! the views' own formatting, so the two cannot disagree.

use super::{age_text, bars, list, regions};
use crate::app::State;
use crate::app::board::{Board, in_flight, next_move, stale, stale_at};
use crate::app::state::View;
use crate::model::Release;
use crate::model::migration::has_migration;
use crate::time::{seconds_since, seconds_until, when_seconds_since, when_seconds_until};
use chrono::{DateTime, Utc};
use ratatui::layout::Rect;

/// The units a time text is written in, in seconds. A text of whole
/// seconds changes, if at all, when a multiple of the unit it writes is
/// reached (`119s` → `2m` at 120, `2m` → `3m` at 180, `47h` → `2d` at 48h).
const UNITS: [i64; 4] = [1, 60, 3600, 86400];

/// The next instant at which text visible on a screen of `area` changes
/// with no new data (an age, a countdown, the freshness badge), or None
/// when nothing visible counts.
pub fn next_change(state: &State, area: Rect) -> Option<DateTime<Utc>> {
    let [_, body, _] = regions(state, area);
    let mut next = Next {
        now: state.now,
        earliest: None,
    };
    for since in bars::badge_counts_from(state) {
        next.seconds(since);
    }
    // A failing watch turns the badge (and the list's title) from live to
    // reconnecting once it has failed for longer than a hiccup.
    for member in state.members() {
        next.consider(member.sources.outage_begins_at(state.now));
    }
    if let Some(board) = &state.board {
        board_changes(state, board, &mut next);
        return next.earliest;
    }
    match &state.view {
        View::List => list_rows(state, body, &mut next),
        View::Detail(key) => {
            if let Some(r) = state.release(key) {
                detail(r, state, &mut next);
            }
        }
    }
    // The bottom line and the dialogs write clock times (`14:02:11`), which
    // do not change; help writes none.
    next.earliest
}

/// When the text `text` writes of the whole seconds since `t` changes next
/// after `now`; None if it never does.
pub fn next_text_since(
    t: DateTime<Utc>,
    now: DateTime<Utc>,
    text: impl Fn(i64) -> String,
) -> Option<DateTime<Utc>> {
    let seconds = seconds_since(t, now);
    let shown = text(seconds);
    UNITS
        .iter()
        .map(|unit| (seconds / unit + 1) * unit)
        .filter(|k| text(*k) != shown)
        .min()
        .map(|k| when_seconds_since(t, k))
}

/// The earliest change found so far.
struct Next {
    now: DateTime<Utc>,
    earliest: Option<DateTime<Utc>>,
}

impl Next {
    fn consider(&mut self, at: Option<DateTime<Utc>>) {
        self.earliest = match (self.earliest, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// An age as [`super::age`] writes it.
    fn age(&mut self, t: Option<DateTime<Utc>>) {
        if let Some(t) = t {
            self.consider(next_text_since(t, self.now, age_text));
        }
    }

    /// Whole seconds since `t` (`connecting 12s`).
    fn seconds(&mut self, t: DateTime<Utc>) {
        let seconds = seconds_since(t, self.now);
        self.consider(Some(when_seconds_since(t, seconds + 1)));
    }

    /// Whole seconds left until `at` (`⏱ 12s left`), until none are.
    fn countdown(&mut self, at: Option<DateTime<Utc>>) {
        let Some(at) = at else { return };
        let left = seconds_until(at, self.now);
        if left > 0 {
            self.consider(Some(when_seconds_until(at, left - 1)));
        }
    }
}

/// The board: its wall clock's minute, the stale banner coming up and its
/// age, the cycle moving the spotlight, and the countdowns of timed pauses
/// (every release in flight, as the rows show them too).
fn board_changes(state: &State, board: &Board, next: &mut Next) {
    next.consider(Some(next_minute(state.now)));
    // Each cluster's banner comes up on its own, and its age counts.
    for stale in stale(state, board) {
        next.age(Some(stale.since));
    }
    for at in stale_at(state, board) {
        next.consider(Some(at).filter(|at| *at > state.now));
    }
    next.consider(next_move(state, board));
    let flying = state.releases.iter().filter(|r| in_flight(r));
    for r in flying {
        next.countdown(r.pause.as_ref().and_then(|p| p.until));
    }
}

/// The start of the minute after `now`'s, when `HH:MM` changes.
fn next_minute(now: DateTime<Utc>) -> DateTime<Utc> {
    let into = now.timestamp().rem_euclid(60);
    DateTime::from_timestamp(now.timestamp() - into + 60, 0).unwrap_or(now)
}

/// The rows of the list in view: their pause countdowns, their ages
/// when the AGE column is shown, and the end of their flags' "changed".
fn list_rows(state: &State, body: Rect, next: &mut Next) {
    let rows = state.visible();
    let selected = state
        .selected
        .as_ref()
        .and_then(|k| rows.iter().position(|r| &r.key == k));
    let height = list::rows_in_view(body);
    let ages = body.width >= list::COMPACT_BELOW;
    for r in &rows[list::window(rows.len(), selected, height)] {
        next.countdown(r.pause.as_ref().and_then(|p| p.until));
        if ages {
            next.age(r.created);
        }
        for flag in &r.flags {
            next.consider(flag.recent_until().filter(|until| *until > state.now));
        }
    }
}

/// The open release's panels: the pause, the revisions' scale-down delays
/// and pods, the metrics, the migration and when each flag changed.
fn detail(r: &Release, state: &State, next: &mut Next) {
    for flag in &r.flags {
        next.age(flag.changed_at);
    }
    if let Some(p) = &r.pause {
        next.countdown(p.until);
        next.age(p.since);
    }
    for rev in &r.revisions {
        next.countdown(rev.scale_down_at);
        for pod in &rev.pods {
            next.age(pod.created);
        }
    }
    if let Some(m) = state.metrics.get(&r.key) {
        next.age(Some(m.measured_at));
        if !m.errors.is_empty() {
            next.age(m.failing_since);
        }
    }
    if has_migration(r) {
        migration(r, state, next);
    }
}

/// The migration panel: how long its database has failed, and the ages in
/// the last reading.
fn migration(r: &Release, state: &State, next: &mut Next) {
    let Some(db) = r.database.as_deref().and_then(|n| state.databases.get(n)) else {
        return;
    };
    if r.migration_problem.is_some() {
        next.age(db.failing_since);
    }
    let Some(reading) = &db.reading else { return };
    next.age(Some(reading.read_at));
    for tool in reading.tools.iter().filter(|t| t.applied.is_some()) {
        next.age(tool.applied_at);
    }
    for blocked in &reading.blocked {
        next.age(blocked.waiting_since);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::app::state::ConnectionState;
    use crate::model::{Kind, Pause};
    use crate::test_support::fixture::{ARGO_CANARY, Fixture};
    use crate::ui::theme::Theme;
    use chrono::{Duration, TimeZone};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::sync::Arc;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    const WIDE: Rect = Rect::new(0, 0, 160, 40);

    /// A release named `name`, created at `created`, without pause or pods.
    fn release(name: &str, created: DateTime<Utc>) -> Release {
        let mut r = Fixture::load(&[ARGO_CANARY]).release(Kind::Rollout, "checkout");
        r.key.name = name.into();
        r.created = Some(created);
        r.pause = None;
        r.revisions.clear();
        r
    }

    /// Connected and live at `now`, listing `releases`.
    fn screen(now: DateTime<Utc>, releases: Vec<Release>) -> State {
        let mut state = State::new(now, false, Keymap::default());
        state.home.connection = ConnectionState::Connected;
        state.releases = releases.into_iter().map(Arc::new).collect();
        state.selected = state.visible().first().map(|r| r.key.clone());
        state
    }

    #[test]
    fn the_age_format_changes_where_the_clock_says() {
        // Every whole second of three days and a bit, against the next
        // change found by stepping one second at a time.
        let t0 = t(0);
        let end = 3 * 86400 + 7200;
        let mut next_change = None;
        for s in (0..end).rev() {
            if age_text(s) != age_text(s + 1) {
                next_change = Some(s + 1);
            }
            let now = t0 + Duration::seconds(s) + Duration::milliseconds(400);
            if next_change.is_none() {
                continue; // past the last change in range
            }
            assert_eq!(
                next_text_since(t0, now, age_text),
                next_change.map(|k| t0 + Duration::seconds(k)),
                "at {s}s"
            );
        }
    }

    #[test]
    fn an_age_is_redrawn_when_it_reads_differently() {
        let t0 = t(0);
        let at = |s: i64| {
            next_change(
                &screen(t0 + Duration::milliseconds(s), vec![release("a", t0)]),
                WIDE,
            )
        };
        assert_eq!(at(59_500), Some(t(60)), "59s → 60s");
        assert_eq!(at(119_000), Some(t(120)), "119s → 2m");
        assert_eq!(at(150_000), Some(t(180)), "2m → 3m, not every second");
        assert_eq!(at(10_800_000), Some(t(4 * 3600)), "hours: once an hour");
    }

    #[test]
    fn a_flags_change_is_marked_until_half_an_hour_on_and_aged_in_the_detail() {
        use crate::test_support::fixture::{FEATURE_FLAGS, SHOP};
        let mut r = Fixture::load(&[SHOP, FEATURE_FLAGS]).release(Kind::Rollout, "checkout");
        let changed = r.flags[0].changed_at.expect("a change time");
        r.created = Some(changed - Duration::days(30));
        r.pause = None;
        r.revisions.clear();
        let now = changed + Duration::minutes(29) + Duration::seconds(10);
        let list = screen(now, vec![r.clone()]);
        let mark_ends = changed + Duration::minutes(30);
        assert!(r.flags[0].changed_recently(now));
        assert_eq!(next_change(&list, WIDE), Some(mark_ends), "the mark goes");
        assert!(!r.flags[0].changed_recently(mark_ends));
        let mut detail = screen(changed + Duration::seconds(310), vec![r.clone()]);
        detail.view = View::Detail(r.key.clone());
        assert_eq!(
            next_change(&detail, WIDE),
            Some(changed + Duration::minutes(6)),
            "changed 5m ago → 6m ago"
        );
    }

    #[test]
    fn a_countdown_is_redrawn_every_second_until_it_ends() {
        let mut r = release("a", t(-5 * 3600));
        r.pause = Some(Pause {
            reason: "CanaryPauseStep".into(),
            since: Some(t(-5 * 3600)),
            until: Some(t(30)),
            needs_decision: false,
        });
        let pause = r.pause.clone().unwrap();
        let state = screen(t(0) + Duration::milliseconds(250), vec![r.clone()]);
        let next = next_change(&state, WIDE).expect("a countdown");
        assert_eq!(pause.remaining(state.now), Some(29));
        assert_eq!(pause.remaining(next), Some(28), "the text changes then…");
        assert_eq!(
            pause.remaining(next - Duration::nanoseconds(1)),
            Some(29),
            "…and not before"
        );
        let ended = screen(t(31), vec![r]);
        assert_eq!(
            next_change(&ended, WIDE),
            Some(t(3600)),
            "`0s` stays; only the age counts on"
        );
    }

    #[test]
    fn rows_out_of_view_and_hidden_columns_do_not_count() {
        let now = t(0);
        let mut rows = vec![release("a-old", now - Duration::hours(5))];
        rows.extend(
            (0..40).map(|i| release(&format!("z-young-{i:02}"), now - Duration::seconds(10))),
        );
        let state = screen(now, rows);
        assert_eq!(state.visible()[0].key.name, "a-old");
        // One row under the header.
        let small = Rect::new(0, 0, 160, 6);
        assert_eq!(
            next_change(&state, small),
            Some(now - Duration::hours(5) + Duration::hours(6)),
            "the young rows are below the fold"
        );
        assert_eq!(next_change(&state, WIDE), Some(now + Duration::seconds(1)));
        let narrow = Rect::new(0, 0, 100, 40);
        assert_eq!(next_change(&state, narrow), None, "no AGE column");
    }

    #[test]
    fn the_board_changes_with_its_clock_cycle_countdowns_and_staleness() {
        use crate::app::board::{Board, BoardSettings};
        let mut paused = release("paused", t(-600));
        paused.health = crate::model::Health::Paused;
        paused.pause = Some(Pause {
            reason: "CanaryPauseStep".into(),
            since: Some(t(-5)),
            until: Some(t(10)),
            needs_decision: false,
        });
        let mut rolling = release("rolling", t(-600));
        rolling.health = crate::model::Health::Progressing;
        let mut state = screen(t(0) + Duration::milliseconds(300), vec![paused, rolling]);
        let settings = BoardSettings {
            cycle: Some(Duration::seconds(20)),
            stale_after: Duration::seconds(30),
        };
        state.board = Some(Board::new(settings, t(0)));
        assert_eq!(
            next_change(&state, WIDE),
            Some(when_seconds_until(t(10), 8)),
            "the countdown: 9s left, then 8s"
        );
        state.now = t(11);
        assert_eq!(next_change(&state, WIDE), Some(t(20)), "the cycle moves");
        state.board.as_mut().unwrap().paused = true;
        assert_eq!(
            next_change(&state, WIDE),
            Some(t(60)),
            "the clock's next minute"
        );
        state.home.connection = ConnectionState::Connecting { since: t(5) };
        assert_eq!(next_change(&state, WIDE), Some(t(12)), "connecting 6s");
        state.home.connection = ConnectionState::Connected;
        state
            .home
            .sources
            .failed("rollouts", "refused".into(), t(5));
        assert_eq!(
            next_change(&state, WIDE),
            Some(t(35)),
            "the banner at 30s: the reconnecting badge shows at 8s without a count"
        );
        state.now = t(40);
        assert_eq!(
            next_change(&state, WIDE),
            Some(t(41)),
            "the banner's age counts"
        );
    }

    #[test]
    fn an_empty_screen_never_changes_by_itself() {
        assert_eq!(next_change(&screen(t(0), Vec::new()), WIDE), None);
        let mut connecting = screen(t(0), Vec::new());
        connecting.home.connection = ConnectionState::Connecting { since: t(-3) };
        assert_eq!(next_change(&connecting, WIDE), Some(t(1)), "connecting 3s");
    }

    #[test]
    fn the_viewport_is_the_rows_the_list_draws() {
        let now = t(0);
        let rows: Vec<Release> = (0..30).map(|i| release(&format!("r{i:02}"), now)).collect();
        let mut state = screen(now, rows);
        let area = Rect::new(0, 0, 160, 16);
        let theme = Theme::load("mono").unwrap();
        for selected in [0, 5, 12, 13, 20, 29] {
            state.selected = Some(state.visible()[selected].key.clone());
            let mut terminal = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
            terminal
                .draw(|frame| crate::ui::draw(frame, &state, &theme))
                .unwrap();
            let shown = format!("{:?}", terminal.backend().buffer());
            let [_, body, _] = regions(&state, area);
            let in_view = list::window(30, Some(selected), list::rows_in_view(body));
            for (i, r) in state.visible().iter().enumerate() {
                assert_eq!(
                    shown.contains(&format!("shop/{} ", r.key.name)),
                    in_view.contains(&i),
                    "row {i} with row {selected} selected"
                );
            }
        }
    }
}
