//! How far a source's list has come while it streams in: the objects
//! counted as they arrive, the total when the server says it, and when to
//! report them, so a cluster of 200,000 pods says what it is doing long
//! before the last page.

use kube::Api;
use kube::api::ListParams;
use std::time::{Duration, Instant};

/// How long a source waits for the server's count of its objects before
/// listing without it: the count is a nicety, never a reason to hold the
/// list up.
const TOTAL_WAIT: Duration = Duration::from_secs(5);

/// A list in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// The objects arrived so far.
    pub loaded: usize,
    /// How many the list holds, when the server said.
    pub total: Option<usize>,
    /// When the count was last reported; None before the first report.
    reported_at: Option<Instant>,
    /// The count or the total changed since they were last reported.
    unreported: bool,
}

impl Listing {
    pub fn new() -> Listing {
        Listing {
            loaded: 0,
            total: None,
            reported_at: None,
            unreported: true,
        }
    }

    /// One more object arrived.
    pub fn count(&mut self) {
        self.loaded += 1;
        self.unreported = true;
    }

    pub fn set_total(&mut self, total: Option<usize>) {
        self.unreported |= total != self.total;
        self.total = total;
    }

    /// Whether to report the listing at `now`: something changed since the
    /// last report, at least `every` ago. A report is taken as made.
    pub fn report(&mut self, now: Instant, every: Duration) -> bool {
        let due = self.unreported
            && self
                .reported_at
                .is_none_or(|at| now.saturating_duration_since(at) >= every);
        if due {
            self.reported_at = Some(now);
            self.unreported = false;
        }
        due
    }

    /// When a change held back by [`Listing::report`] is due; None when
    /// everything has been reported.
    pub fn next_report(&self, every: Duration) -> Option<Instant> {
        self.unreported
            .then(|| self.reported_at.map(|at| at + every))
            .flatten()
    }
}

/// How many objects `api` lists with `params`' selectors, as the server
/// counts them: the first item and its `remainingItemCount`. None when
/// the server does not say (a real API server does not count lists
/// filtered by a selector; servers before 1.15 never do), or does not
/// answer soon.
pub async fn total<K>(api: &Api<K>, params: &ListParams) -> Option<usize>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = ListParams {
        limit: Some(1),
        continue_token: None,
        ..params.clone()
    };
    let list = tokio::time::timeout(TOTAL_WAIT, api.list_metadata(&params))
        .await
        .ok()?
        .inspect_err(|e| tracing::debug!("counting {}: {e}", api.resource_url()))
        .ok()?;
    let more = list
        .metadata
        .continue_
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    match (list.metadata.remaining_item_count, more) {
        (Some(remaining), _) => Some(list.items.len() + usize::try_from(remaining).ok()?),
        // The whole list fitted in the one item asked for.
        (None, false) => Some(list.items.len()),
        (None, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: Duration = Duration::from_millis(150);

    #[test]
    fn the_first_count_is_reported_at_once_and_the_next_after_a_pause() {
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        let mut listing = Listing::new();
        assert!(listing.report(ms(0), EVERY), "the listing has begun");
        assert!(!listing.report(ms(10), EVERY), "nothing new");
        assert_eq!(listing.next_report(EVERY), None);
        listing.count();
        listing.count();
        assert!(!listing.report(ms(100), EVERY), "too soon");
        assert_eq!(listing.next_report(EVERY), Some(ms(150)));
        assert!(listing.report(ms(150), EVERY));
        assert_eq!(listing.loaded, 2);
        assert_eq!(listing.next_report(EVERY), None);
    }

    #[test]
    fn a_total_learnt_is_news_and_the_same_one_is_not() {
        let now = Instant::now();
        let mut listing = Listing::new();
        listing.set_total(Some(200_000));
        assert!(listing.report(now, EVERY));
        listing.set_total(Some(200_000));
        assert!(!listing.report(now + EVERY, EVERY));
        assert_eq!(listing.total, Some(200_000));
    }
}
