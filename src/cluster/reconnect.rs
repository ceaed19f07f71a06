//! How a failing watch comes back: a short backoff, so the data is listed
//! again within seconds of the API answering, and the name its errors go
//! by on screen.

use kube::runtime::utils::Backoff;
use kube::runtime::watcher;
use std::time::Duration;

/// The first wait after an error; it doubles with every error after it.
const FIRST_DELAY: Duration = Duration::from_millis(500);

/// The longest wait between two tries, for the watches and for
/// connecting: an API that answers again is seen within this.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// The waits between the tries of a failing watch: doubling from
/// [`FIRST_DELAY`] up to [`MAX_DELAY`], each drawn between half and all of
/// its step so the watches of one client do not retry in step. kube's
/// stream backoff resets it at the first item that is not an error.
#[derive(Debug, Clone)]
pub struct WatchBackoff {
    step: Duration,
}

impl Default for WatchBackoff {
    fn default() -> Self {
        WatchBackoff { step: FIRST_DELAY }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let step = self.step;
        self.step = (step * 2).min(MAX_DELAY);
        Some(step.mul_f64(0.5 + rand::random::<f64>() / 2.0))
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.step = FIRST_DELAY;
    }
}

/// What a watch error is called on screen: the API's answer
/// (`503 Service Unavailable`), or, when there was none, the innermost
/// cause (`Connection refused (os error 111)`). The whole error goes to
/// the log.
pub fn cause(error: &watcher::Error) -> String {
    use watcher::Error as E;
    let status = match error {
        E::InitialListFailed(kube::Error::Api(s))
        | E::WatchStartFailed(kube::Error::Api(s))
        | E::WatchFailed(kube::Error::Api(s))
        | E::WatchError(s) => Some(s.code),
        _ => None,
    };
    if let Some(code) = status.filter(|c| *c != 0) {
        let reason = http::StatusCode::from_u16(code)
            .ok()
            .and_then(|c| c.canonical_reason());
        return match reason {
            Some(reason) => format!("{code} {reason}"),
            None => format!("HTTP {code}"),
        };
    }
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    #[test]
    fn the_backoff_is_capped_jittered_and_reset_by_a_success() {
        let mut backoff = WatchBackoff::default();
        let delays: Vec<Duration> = backoff.by_ref().take(20).collect();
        assert!(delays[0] <= FIRST_DELAY && delays[0] >= FIRST_DELAY / 2);
        assert!(delays.iter().all(|d| *d <= MAX_DELAY), "{delays:?}");
        assert!(
            delays[10..].iter().all(|d| *d >= MAX_DELAY / 2),
            "{delays:?}"
        );
        backoff.reset();
        assert!(backoff.next().is_some_and(|d| d <= FIRST_DELAY));
    }

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(
            Status::failure("the server is busy", "").with_code(code),
        ))
    }

    #[test]
    fn an_api_error_is_called_by_its_status() {
        assert_eq!(
            cause(&watcher::Error::InitialListFailed(api_error(503))),
            "503 Service Unavailable"
        );
        assert_eq!(
            cause(&watcher::Error::WatchStartFailed(api_error(500))),
            "500 Internal Server Error"
        );
        assert_eq!(
            cause(&watcher::Error::WatchError(Box::new(
                Status::failure("too old resource version", "Expired").with_code(410)
            ))),
            "410 Gone"
        );
    }

    #[test]
    fn an_error_without_an_answer_is_called_by_its_innermost_cause() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = watcher::Error::WatchStartFailed(kube::Error::Service(Box::new(refused)));
        assert_eq!(cause(&error), "refused");
        assert_eq!(
            cause(&watcher::Error::NoResourceVersion),
            watcher::Error::NoResourceVersion.to_string()
        );
    }
}
