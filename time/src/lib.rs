//! Times and durations as the controllers' own languages write them:
//! Kubernetes timestamps (`metav1.Time`), Go's `time.ParseDuration`
//! (`1m30s`), Prometheus ranges (`5m`, `1d`), and Go's
//! `time.Duration.String()` for messages.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// A time as Kubernetes writes it (`metav1.Time`: RFC 3339, whole seconds).
pub fn timestamp(t: DateTime<Utc>) -> String {
    // Not `format(...)`: parsing a format string on every call is slow in hot paths.
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A timestamp field of an object; None when absent or malformed.
pub fn parse_timestamp(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(parse_rfc3339)
}

/// Units of Go's `time.ParseDuration` (Flagger's `analysis.interval`, Argo's pause durations), in milliseconds.
pub const GO_UNITS: &[(&str, f64)] = &[
    ("ns", 1e-6),
    ("us", 1e-3),
    ("µs", 1e-3),
    ("ms", 1.0),
    ("s", 1e3),
    ("m", 6e4),
    ("h", 3.6e6),
];
/// Units of Argo's durations: Go's plus days.
pub const ARGO_UNITS: &[(&str, f64)] = &[
    ("ms", 1.0),
    ("s", 1e3),
    ("m", 6e4),
    ("h", 3.6e6),
    ("d", 8.64e7),
];
/// Units of Prometheus range durations, which metric intervals are, in milliseconds.
pub const PROMETHEUS_UNITS: &[(&str, f64)] = &[
    ("ms", 1.0),
    ("s", 1e3),
    ("m", 6e4),
    ("h", 3.6e6),
    ("d", 8.64e7),
    ("w", 6.048e8),
    ("y", 3.1536e10),
];

/// A duration such as `1m30s` in the given units; None when unparsable.
pub fn parse(text: &str, units: &[(&str, f64)]) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut millis = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = units.iter().find(|(u, _)| *u == &rest[..unit_len])?.1;
        millis += value * factor;
        rest = &rest[unit_len..];
    }
    Some(Duration::microseconds((millis * 1000.0) as i64))
}

/// Whole milliseconds as Go prints a `time.Duration` (`500ms`, `1.2s`, `1m30s`).
pub fn format_go(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let (hours, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let seconds = if rest % 1000 == 0 {
        (rest / 1000).to_string()
    } else {
        format!("{}.{:03}", rest / 1000, rest % 1000)
            .trim_end_matches('0')
            .to_string()
    };
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// Whole seconds from `t` to `now`, as ages count them: never negative.
pub fn seconds_since(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - t).num_seconds().max(0)
}

/// Whole seconds left from `now` until `at`, as countdowns show them:
/// never negative.
pub fn seconds_until(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (at - now).num_seconds().max(0)
}

/// The first instant after `now` at which [`seconds_since`] `t` is `k`
/// (`k` above its value at `now`).
pub fn when_seconds_since(t: DateTime<Utc>, k: i64) -> DateTime<Utc> {
    t + Duration::seconds(k)
}

/// The first instant at which [`seconds_until`] `at` drops to `k`: just
/// after `k + 1` whole seconds were left.
pub fn when_seconds_until(at: DateTime<Utc>, k: i64) -> DateTime<Utc> {
    at - Duration::seconds(k + 1) + Duration::nanoseconds(1)
}

/// Go units, or a bare number of seconds (annotations and scenario files).
pub fn parse_go_or_seconds(text: &str) -> Option<Duration> {
    match text.trim().parse::<f64>() {
        Ok(seconds) => (seconds >= 0.0).then(|| Duration::milliseconds((seconds * 1000.0) as i64)),
        Err(_) => parse(text, GO_UNITS),
    }
}

/// A timeout as kubectl's `--request-timeout` reads it: a whole number of
/// seconds, or a Go duration (`1s`, `2m`, `1m30s`); never negative.
pub fn parse_timeout(text: &str) -> Option<std::time::Duration> {
    if let Ok(seconds) = text.trim().parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    parse(text, GO_UNITS).and_then(|d| d.to_std().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_like_kubectl_request_timeout() {
        use std::time::Duration as Std;
        assert_eq!(parse_timeout("0"), Some(Std::ZERO));
        assert_eq!(parse_timeout("5"), Some(Std::from_secs(5)));
        assert_eq!(parse_timeout("1m30s"), Some(Std::from_secs(90)));
        assert_eq!(parse_timeout("250ms"), Some(Std::from_millis(250)));
        for bad in ["", "-1", "-1s", "5x", "1d"] {
            assert_eq!(parse_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn go_and_prometheus_units() {
        assert_eq!(parse("1m30s", GO_UNITS), Some(Duration::seconds(90)));
        assert_eq!(parse("1d", GO_UNITS), None);
        assert_eq!(parse("1d", PROMETHEUS_UNITS), Some(Duration::days(1)));
        assert_eq!(parse_go_or_seconds("30"), Some(Duration::seconds(30)));
        assert_eq!(
            parse_go_or_seconds("250ms"),
            Some(Duration::milliseconds(250))
        );
        assert_eq!(parse_go_or_seconds("soon"), None);
        assert_eq!(format_go(300_000), "5m0s");
        assert_eq!(format_go(1_200), "1.2s");
    }

    #[test]
    fn whole_seconds_change_when_they_say() {
        let t = parse_rfc3339("2026-11-23T14:00:00.250Z").unwrap();
        for offset_ms in [-1_500, -300, 0, 1, 999, 1_000, 59_999, 61_250] {
            let now = t + Duration::milliseconds(offset_ms);
            let since = seconds_since(t, now);
            let next = when_seconds_since(t, since + 1);
            assert!(next > now, "{offset_ms}");
            assert_eq!(seconds_since(t, next), since + 1, "{offset_ms}");
            assert_eq!(seconds_since(t, next - Duration::nanoseconds(1)), since);

            let until = seconds_until(t, now);
            if until > 0 {
                let next = when_seconds_until(t, until - 1);
                assert!(next > now, "{offset_ms}");
                assert_eq!(seconds_until(t, next), until - 1, "{offset_ms}");
                assert_eq!(seconds_until(t, next - Duration::nanoseconds(1)), until);
            }
        }
    }
}
