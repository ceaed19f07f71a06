//! A metric's query with the run's arguments substituted, and what it
//! measures: which quantity, of which pod-template hash, over which window.

use super::{Argument, DEFAULT_WINDOW_SECONDS, HASH_LABEL, MetricSpec, RunSpec};
use crate::time;
use crate::traffic::WindowStats;
use chrono::Duration;
use serde_json::Value;

/// A metric with the run's arguments substituted.
pub(super) struct ResolvedMetric {
    pub(super) spec: MetricSpec,
    pub(super) query: String,
    pub(super) success_condition: String,
    pub(super) failure_condition: String,
    /// The hash of the version the query measures.
    pub(super) hash: String,
}

/// Replace every `{{args.NAME}}` in `text`.
fn substitute(text: &str, args: &[Argument]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let tag = rest[start + 2..start + len].trim();
        out.push_str(&rest[..start]);
        match tag.strip_prefix("args.") {
            Some(name) => {
                let value = args
                    .iter()
                    .find(|a| a.name == name)
                    .and_then(|a| a.value.as_deref())
                    .ok_or_else(|| format!("failed to resolve {{{{args.{name}}}}}"))?;
                out.push_str(value);
            }
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The hash of the version a metric measures (see the module comment).
fn measured_hash(query: &str, args: &[Argument], run: &Value) -> String {
    let value_of = |name: &str| {
        args.iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.clone())
    };
    let referenced = query.split("{{").skip(1).find_map(|part| {
        let tag = part.split("}}").next()?.trim();
        let name = tag.strip_prefix("args.")?;
        name.contains("hash").then(|| value_of(name)).flatten()
    });
    referenced
        .or_else(|| {
            args.iter()
                .find(|a| a.name.contains("canary") && a.name.contains("hash"))
                .and_then(|a| a.value.clone())
        })
        .unwrap_or_else(|| {
            run["metadata"]["labels"][HASH_LABEL]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
}

pub(super) fn resolve(spec: &RunSpec, run: &Value) -> Result<Vec<ResolvedMetric>, String> {
    spec.metrics
        .iter()
        .map(|m| {
            let raw_query = m.query();
            Ok(ResolvedMetric {
                query: substitute(&raw_query, &spec.args)?,
                success_condition: substitute(&m.success_condition, &spec.args)?,
                failure_condition: substitute(&m.failure_condition, &spec.args)?,
                hash: measured_hash(&raw_query, &spec.args, run),
                spec: m.clone(),
            })
        })
        .collect()
}

/// What a metric reads from the traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Quantity {
    SuccessRatio,
    ErrorRatio,
    Latency {
        percentile: Percentile,
        seconds: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Percentile {
    P50,
    P95,
    P99,
}

fn classify(text: &str, query: &str) -> Option<Quantity> {
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["success"]) {
        return Some(Quantity::SuccessRatio);
    }
    if has(&["error", "5xx", "5..", "fail"]) {
        return Some(Quantity::ErrorRatio);
    }
    if has(&[
        "latency",
        "duration",
        "p50",
        "p95",
        "p99",
        "quantile",
        "histogram",
    ]) {
        // The percentile may be in the name or in the query.
        let both = format!("{text} {query}");
        let mentions = |words: &[&str]| words.iter().any(|w| both.contains(w));
        let percentile = if mentions(&["p99", "0.99"]) {
            Percentile::P99
        } else if mentions(&["p95", "0.95"]) {
            Percentile::P95
        } else if mentions(&["p50", "0.5", "median"]) {
            Percentile::P50
        } else {
            Percentile::P95
        };
        let compact: String = query.chars().filter(|c| !c.is_whitespace()).collect();
        let seconds = compact.contains("/1000")
            || (compact.contains("_seconds") && !compact.contains("*1000"));
        return Some(Quantity::Latency {
            percentile,
            seconds,
        });
    }
    None
}

pub(super) fn quantity_of(metric: &ResolvedMetric) -> Quantity {
    let query = metric.query.to_lowercase();
    classify(&metric.spec.name.to_lowercase(), &query)
        .or_else(|| classify(&query, &query))
        .unwrap_or(Quantity::ErrorRatio)
}

/// The first `[5m]`-style range of a query.
pub(super) fn window_of(query: &str) -> Duration {
    query
        .split('[')
        .skip(1)
        .find_map(|part| time::parse(part.split(']').next()?, time::ARGO_UNITS))
        .unwrap_or_else(|| Duration::seconds(DEFAULT_WINDOW_SECONDS))
}

pub(super) fn read(quantity: Quantity, stats: &WindowStats) -> Option<f64> {
    match quantity {
        Quantity::ErrorRatio => stats.error_ratio(),
        Quantity::SuccessRatio => stats.error_ratio().map(|r| 1.0 - r),
        Quantity::Latency {
            percentile,
            seconds,
        } => (stats.requests > 0.0).then(|| {
            let ms = match percentile {
                Percentile::P50 => stats.p50_ms,
                Percentile::P95 => stats.p95_ms,
                Percentile::P99 => stats.p99_ms,
            };
            if seconds { ms / 1000.0 } else { ms }
        }),
    }
}

/// A query result as the Prometheus provider hands it to the conditions.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum QueryResult {
    Scalar(f64),
    Vector(Vec<f64>),
}

/// A number as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it.
pub(super) fn format_number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

impl QueryResult {
    pub(super) fn value_string(&self) -> String {
        match self {
            QueryResult::Scalar(v) => format_number(*v),
            QueryResult::Vector(vs) => {
                let items: Vec<String> = vs.iter().map(|v| format_number(*v)).collect();
                format!("[{}]", items.join(","))
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, QueryResult::Vector(v) if v.is_empty())
    }
}
