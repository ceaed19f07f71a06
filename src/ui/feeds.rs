//! The header's word on the feeds beside the cluster: the metrics source
//! and each database, `● metrics  ● db payments  ✖ db orders since
//! 14:02:11`. Times are wall-clock, so a failing feed's badge does not
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
    let metrics = feeds::metrics(state).map(|f| ("metrics".to_string(), f));
    let databases = feeds::databases(state)
        .into_iter()
        .map(|(name, f)| (format!("db {name}"), f));
    let mut spans = Vec::new();
    for (what, feed) in metrics.into_iter().chain(databases) {
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
}
