//! The header's word on the feeds beside the cluster: the metrics source
//! (in a fleet, each cluster's: `● metrics eu  ✖ metrics us since
//! 14:02:11`) and each database, `● metrics  ● db payments  ✖ db orders
//! since 14:02:11`, and an alert sink while it fails (`✖ alerts webhook
//! team: answered HTTP 500 since 14:02:11`). Times are wall-clock, so a failing feed's badge does not
//! change every second.

use super::theme::Theme;
use crate::app::State;
use crate::app::feeds::{self, FeedState};
use ratatui::text::Span;

/// How much the header says of the feeds, from most to nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FeedDetail {
    None,
    /// Only the failing feeds, without since when.
    FailingShort,
    /// Only the failing feeds.
    Failing,
    All,
}

/// One feed's badge at `detail`, if it shows.
fn badge(what: &str, feed: &FeedState, detail: FeedDetail) -> Option<String> {
    let failing = matches!(feed, FeedState::Failing { .. });
    if detail == FeedDetail::None || (!failing && detail < FeedDetail::All) {
        return None;
    }
    let text = match feed {
        FeedState::Absent => format!("○ no {what}"),
        FeedState::Idle => format!("○ {what} idle"),
        FeedState::Waiting => format!("◌ {what}"),
        FeedState::Ok => format!("● {what}"),
        FeedState::Failing { since, partly } => {
            let share = partly.map_or(String::new(), |(n, of)| format!(" {n}/{of}"));
            match detail {
                FeedDetail::FailingShort => format!("✖ {what}{share}"),
                _ => format!("✖ {what}{share} since {}", since.format("%H:%M:%S")),
            }
        }
    };
    Some(text)
}

/// The feeds' badges at `detail`, each after a separator.
pub fn spans(state: &State, detail: FeedDetail, theme: &Theme) -> Vec<Span<'static>> {
    // In a fleet, each cluster's own: one cluster's Prometheus down says
    // nothing of another's.
    let metrics = feeds::metrics(state).into_iter().map(|(cluster, f)| {
        let what = match cluster {
            "" => "metrics".to_string(),
            cluster => format!("metrics {cluster}"),
        };
        (what, f)
    });
    let databases = feeds::databases(state)
        .into_iter()
        .map(|(name, f)| (format!("db {name}"), f));
    // An alert sink shows only while it fails: with the plain cause.
    let alert_sinks = state.alerts.failing.iter().map(|(sink, failure)| {
        let feed = FeedState::Failing {
            since: failure.since,
            partly: None,
        };
        (format!("alerts {sink}: {}", failure.cause), feed)
    });
    let mut spans = Vec::new();
    for (what, feed) in metrics.chain(databases).chain(alert_sinks) {
        let Some(text) = badge(&what, &feed, detail) else {
            continue;
        };
        let style = match feed {
            FeedState::Ok => theme.fg(theme.ok),
            FeedState::Failing { .. } => theme.attention(),
            FeedState::Absent | FeedState::Idle | FeedState::Waiting => theme.muted(),
        };
        spans.push(Span::styled(" │ ", theme.muted()));
        spans.push(Span::styled(text, style));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::app::member::Member;
    use crate::app::state::MetricsSource;

    /// The feeds' text at `detail`, as the header shows it.
    fn text(state: &State, detail: FeedDetail) -> String {
        let theme = Theme::load("mono").unwrap();
        spans(state, detail, &theme)
            .iter()
            .map(|s| s.content.as_ref())
            .collect()
    }

    #[test]
    fn each_cluster_of_a_fleet_has_its_own_metrics_badge() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T14:02:11Z")
            .unwrap()
            .to_utc();
        let mut state = State::new(now, true, Keymap::default());
        assert_eq!(text(&state, FeedDetail::All), "", "no source said yet");
        state.home.metrics_source = Some(MetricsSource {
            description: "Prometheus http://127.0.0.1:9090".into(),
            profile: Default::default(),
            warning: None,
            bake: Default::default(),
        });
        assert_eq!(
            text(&state, FeedDetail::All),
            " │ ○ metrics idle",
            "one context"
        );
        state.home.alias = "eu".into();
        let mut us = Member::new("us", 1, now);
        us.metrics_problem = Some("no Prometheus configured for context us-admin".into());
        state.more.push(us);
        state.more.push(Member::new("ap", 2, now));
        assert_eq!(
            text(&state, FeedDetail::All),
            " │ ○ metrics eu idle │ ○ no metrics us",
            "ap's source is not known yet"
        );
    }

    #[test]
    fn a_failing_feed_keeps_its_badge_longest() {
        let since = chrono::DateTime::parse_from_rfc3339("2026-12-04T14:02:11Z")
            .unwrap()
            .to_utc();
        let failing = FeedState::Failing {
            since,
            partly: Some((1, 3)),
        };
        let text = |feed, detail| badge("metrics", feed, detail);
        assert_eq!(
            text(&failing, FeedDetail::All).as_deref(),
            Some("✖ metrics 1/3 since 14:02:11")
        );
        assert_eq!(
            text(&failing, FeedDetail::FailingShort).as_deref(),
            Some("✖ metrics 1/3")
        );
        assert_eq!(text(&failing, FeedDetail::None), None);
        assert_eq!(text(&FeedState::Ok, FeedDetail::Failing), None);
        assert_eq!(
            text(&FeedState::Ok, FeedDetail::All).as_deref(),
            Some("● metrics")
        );
    }

    #[test]
    fn a_failing_alert_sink_shows_with_its_cause_until_it_sends() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-04T14:02:11Z")
            .unwrap()
            .to_utc();
        let mut state = State::new(at, true, Keymap::default());
        let sink = || "webhook team".to_string();
        state
            .alerts
            .sink_result(sink(), Err("answered HTTP 500".into()), at);
        assert_eq!(
            text(&state, FeedDetail::Failing),
            " │ ✖ alerts webhook team: answered HTTP 500 since 14:02:11"
        );
        state.alerts.sink_result(sink(), Ok(()), at);
        assert_eq!(text(&state, FeedDetail::All), "");
    }
}
