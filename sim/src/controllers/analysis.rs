//! The Argo Rollouts AnalysisRun controller: takes each metric's
//! measurements on schedule and writes the run's status field by field as
//! Argo does (`analysis/analysis.go`): metric results with their counters and
//! the latest ten measurements, the run summary, the worst phase with its
//! message, and the completion events.
//!
//! No Prometheus runs in the simulator, so a metric is measured from the
//! simulated traffic ([`MetricsSource`](crate::traffic::MetricsSource))
//! by what it measures. The rules:
//!
//! - **What**: judged from the metric's name, then from its query
//!   (case-insensitive). `success` gives the success ratio, 1 − errors/requests;
//!   `error`, `5xx`, `5..` or `fail` the error ratio, errors/requests;
//!   `latency`, `duration`, `p50`, `p95`, `p99`, `quantile` or `histogram` a
//!   latency: the 99th percentile when `p99`/`0.99` appears, the median for
//!   `p50`/`0.5`/`median`, else the 95th; in milliseconds, or in seconds when
//!   the query divides by 1000 or uses a `_seconds` metric without `* 1000`.
//!   Anything else is read as the error ratio.
//! - **Which version**: the pod-template hash is the value of the first
//!   `{{args.X}}` in the query whose name mentions `hash`, else of an argument
//!   named like `canary-hash`, else the run's `rollouts-pod-template-hash` label.
//! - **Window**: the first `[5m]`-style range in the query, else one minute.
//! - **Value**: a one-element vector `[0.0123]` (a `scalar(...)` query gives
//!   the bare number). Without traffic Prometheus answers the empty vector
//!   `[]`, so a condition on `result[0]` makes an Error measurement; errors
//!   are retried every 10 s, and once more follow in a row than
//!   `consecutiveErrorLimit` (default 4) the metric ends in Error.
//! - **Conditions**: comparisons (`<`, `<=`, `>`, `>=`, `==`, `!=`) between
//!   `result`, `result[N]`, `len(result)` and numbers, `isNaN(…)`, `isInf(…)`,
//!   `!`, `&&`, `||` (also `and`, `or`, `not`) and parentheses. A bare
//!   `result` on a one-element vector means that element.
//!
//! The resolved query is kept in the metric result's `metadata`, as Argo
//! does, and also in each measurement's, where some readers look for it.

use super::events::{self, EventType};
use super::{Controller, Ctx};
use crate::resources::{self, ResourceDef};
use crate::time::{self, parse_rfc3339 as parse_timestamp, timestamp};
use crate::traffic::WindowStats;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub struct AnalysisRunController;

/// Both Argo controllers record their events as this component.
pub const COMPONENT: &str = "rollouts-controller";
const MEASUREMENT_HISTORY_LIMIT: usize = 10;
const ERROR_RETRY_INTERVAL_SECONDS: i64 = 10;
const DEFAULT_CONSECUTIVE_ERROR_LIMIT: i64 = 4;
const DEFAULT_WINDOW_SECONDS: i64 = 60;
const RESOLVED_QUERY: &str = "ResolvedPrometheusQuery";
const HASH_LABEL: &str = super::workload::ARGO_HASH_LABEL;

pub fn analysis_runs() -> &'static ResourceDef {
    resources::lookup("argoproj.io", "v1alpha1", "analysisruns").expect("served")
}

pub fn analysis_templates() -> &'static ResourceDef {
    resources::lookup("argoproj.io", "v1alpha1", "analysistemplates").expect("served")
}

/// A field that is an integer or a string holding one (`intstr.IntOrString`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    Str(String),
}

impl IntOrString {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            IntOrString::Int(i) => Some(*i),
            IntOrString::Str(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnalysisPhase {
    Pending,
    Running,
    Successful,
    Failed,
    Error,
    Inconclusive,
}

impl AnalysisPhase {
    pub fn parse(s: &str) -> Option<AnalysisPhase> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisPhase::Pending => "Pending",
            AnalysisPhase::Running => "Running",
            AnalysisPhase::Successful => "Successful",
            AnalysisPhase::Failed => "Failed",
            AnalysisPhase::Error => "Error",
            AnalysisPhase::Inconclusive => "Inconclusive",
        }
    }

    pub fn is_completed(self) -> bool {
        matches!(
            self,
            AnalysisPhase::Successful
                | AnalysisPhase::Failed
                | AnalysisPhase::Error
                | AnalysisPhase::Inconclusive
        )
    }

    /// Argo's order from best to worst, for picking a run's phase.
    fn severity(self) -> u8 {
        match self {
            AnalysisPhase::Successful => 0,
            AnalysisPhase::Running => 1,
            AnalysisPhase::Pending => 2,
            AnalysisPhase::Inconclusive => 3,
            AnalysisPhase::Error => 4,
            AnalysisPhase::Failed => 5,
        }
    }

    fn event_type(self) -> EventType {
        match self {
            AnalysisPhase::Failed | AnalysisPhase::Error => EventType::Warning,
            _ => EventType::Normal,
        }
    }
}

/// An argument of an AnalysisTemplate or AnalysisRun (or a rollout's analysis step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricSpec {
    name: String,
    interval: Option<String>,
    initial_delay: Option<String>,
    count: Option<IntOrString>,
    success_condition: String,
    failure_condition: String,
    failure_limit: Option<IntOrString>,
    inconclusive_limit: Option<IntOrString>,
    consecutive_error_limit: Option<IntOrString>,
    provider: Value,
}

impl MetricSpec {
    /// How many measurements end the metric; None runs until terminated.
    fn effective_count(&self) -> Option<i64> {
        match (&self.count, &self.interval) {
            (Some(c), _) => c.as_int(),
            (None, None) => Some(1),
            (None, Some(_)) => None,
        }
    }

    fn interval(&self) -> Option<Duration> {
        self.interval
            .as_deref()
            .and_then(|d| time::parse(d, time::ARGO_UNITS))
    }

    fn limit(field: &Option<IntOrString>, default: i64) -> i64 {
        field
            .as_ref()
            .and_then(IntOrString::as_int)
            .unwrap_or(default)
    }

    /// The provider's query (`prometheus.query`, or any provider's `query`).
    fn query(&self) -> String {
        let from = |p: &Value| p["query"].as_str().map(str::to_string);
        from(&self.provider["prometheus"])
            .or_else(|| {
                self.provider
                    .as_object()
                    .and_then(|m| m.values().find_map(from))
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RunSpec {
    metrics: Vec<MetricSpec>,
    args: Vec<Argument>,
    terminate: bool,
    dry_run: Vec<MetricName>,
    measurement_retention: Vec<Retention>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricName {
    metric_name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Retention {
    metric_name: String,
    limit: i64,
}

impl RunSpec {
    fn is_dry_run(&self, metric: &str) -> bool {
        self.dry_run
            .iter()
            .any(|d| d.metric_name == metric || d.metric_name == ".*")
    }

    fn history_limit(&self, metric: &str) -> usize {
        self.measurement_retention
            .iter()
            .find(|r| r.metric_name == metric || r.metric_name == ".*")
            .filter(|r| r.limit > 0)
            .map_or(MEASUREMENT_HISTORY_LIMIT, |r| r.limit as usize)
    }
}

/// For `skip_serializing_if`: Go's `omitempty` leaves zero counts out.
pub(super) fn is_zero(n: &i64) -> bool {
    *n == 0
}

pub(super) fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub phase: AnalysisPhase,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    pub name: String,
    pub phase: AnalysisPhase,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<Measurement>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub count: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub successful: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inconclusive: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consecutive_error: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consecutive_success: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub count: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub successful: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inconclusive: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error: i64,
}

impl RunSummary {
    fn add(&mut self, phase: AnalysisPhase) {
        match phase {
            AnalysisPhase::Error => self.error += 1,
            AnalysisPhase::Failed => self.failed += 1,
            AnalysisPhase::Inconclusive => self.inconclusive += 1,
            _ => self.successful += 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AnalysisPhase>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_results: Vec<MetricResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default)]
    pub run_summary: RunSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run_summary: Option<RunSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

impl RunStatus {
    fn result(&self, metric: &str) -> Option<&MetricResult> {
        self.metric_results.iter().find(|r| r.name == metric)
    }

    fn result_mut(&mut self, metric: &str) -> Option<&mut MetricResult> {
        self.metric_results.iter_mut().find(|r| r.name == metric)
    }

    /// A run stops measuring once terminated or once a metric that counts
    /// has failed, errored or been inconclusive.
    fn is_terminating(&self, spec: &RunSpec) -> bool {
        spec.terminate
            || self.metric_results.iter().any(|r| {
                !r.dry_run
                    && matches!(
                        r.phase,
                        AnalysisPhase::Failed | AnalysisPhase::Error | AnalysisPhase::Inconclusive
                    )
            })
    }
}

/// A metric with the run's arguments substituted.
struct ResolvedMetric {
    spec: MetricSpec,
    query: String,
    success_condition: String,
    failure_condition: String,
    /// The hash of the version the query measures.
    hash: String,
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

fn resolve(spec: &RunSpec, run: &Value) -> Result<Vec<ResolvedMetric>, String> {
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
enum Quantity {
    SuccessRatio,
    ErrorRatio,
    Latency {
        percentile: Percentile,
        seconds: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Percentile {
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

fn quantity_of(metric: &ResolvedMetric) -> Quantity {
    let query = metric.query.to_lowercase();
    classify(&metric.spec.name.to_lowercase(), &query)
        .or_else(|| classify(&query, &query))
        .unwrap_or(Quantity::ErrorRatio)
}

/// The first `[5m]`-style range of a query.
fn window_of(query: &str) -> Duration {
    query
        .split('[')
        .skip(1)
        .find_map(|part| time::parse(part.split(']').next()?, time::ARGO_UNITS))
        .unwrap_or_else(|| Duration::seconds(DEFAULT_WINDOW_SECONDS))
}

fn read(quantity: Quantity, stats: &WindowStats) -> Option<f64> {
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
enum QueryResult {
    Scalar(f64),
    Vector(Vec<f64>),
}

/// A number as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it.
fn format_number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

impl QueryResult {
    fn value_string(&self) -> String {
        match self {
            QueryResult::Scalar(v) => format_number(*v),
            QueryResult::Vector(vs) => {
                let items: Vec<String> = vs.iter().map(|v| format_number(*v)).collect();
                format!("[{}]", items.join(","))
            }
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, QueryResult::Vector(v) if v.is_empty())
    }
}

/// The simple expr-lang subset conditions are written in (see the module comment).
mod condition {
    use super::QueryResult;

    #[derive(Debug, Clone, PartialEq)]
    enum Token {
        Number(f64),
        Ident(String),
        Op(&'static str),
    }

    const COMPARISONS: &[&str] = &["<=", ">=", "==", "!=", "<", ">"];
    const OPS: &[&str] = &[
        "<=", ">=", "==", "!=", "&&", "||", "<", ">", "!", "(", ")", "[", "]",
    ];

    fn number_len(s: &str) -> usize {
        let bytes = s.as_bytes();
        let mut end = 0;
        while end < bytes.len() {
            let c = bytes[end];
            let exponent_sign =
                (c == b'-' || c == b'+') && end > 0 && matches!(bytes[end - 1], b'e' | b'E');
            if !(c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E' || exponent_sign) {
                break;
            }
            end += 1;
        }
        end
    }

    fn tokenize(s: &str) -> Result<Vec<Token>, String> {
        let mut out: Vec<Token> = Vec::new();
        let mut rest = s.trim_start();
        while !rest.is_empty() {
            // A minus sign where an operand starts belongs to a number.
            let operand_expected = !matches!(out.last(), Some(Token::Number(_) | Token::Ident(_)))
                && !matches!(out.last(), Some(Token::Op(")" | "]")));
            let signed = operand_expected && rest.starts_with('-');
            let unsigned = &rest[usize::from(signed)..];
            if unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                let len = number_len(unsigned);
                let n: f64 = unsigned[..len]
                    .parse()
                    .map_err(|_| format!("invalid number {}", &unsigned[..len]))?;
                out.push(Token::Number(if signed { -n } else { n }));
                rest = &unsigned[len..];
            } else if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
                out.push(Token::Op(op));
                rest = &rest[op.len()..];
            } else if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                out.push(match &rest[..end] {
                    "and" => Token::Op("&&"),
                    "or" => Token::Op("||"),
                    "not" => Token::Op("!"),
                    ident => Token::Ident(ident.to_string()),
                });
                rest = &rest[end..];
            } else {
                return Err(format!(
                    "unexpected token {:?}",
                    rest.chars().next().unwrap_or(' ')
                ));
            }
            rest = rest.trim_start();
        }
        Ok(out)
    }

    /// Evaluates while parsing: the grammar is small enough that a tree buys nothing.
    struct Parser<'a> {
        tokens: Vec<Token>,
        at: usize,
        result: &'a QueryResult,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<&Token> {
            self.tokens.get(self.at)
        }

        fn eat(&mut self, op: &str) -> bool {
            let found = matches!(self.peek(), Some(Token::Op(o)) if *o == op);
            self.at += usize::from(found);
            found
        }

        fn eat_ident(&mut self, name: &str) -> bool {
            let found = matches!(self.peek(), Some(Token::Ident(i)) if i == name);
            self.at += usize::from(found);
            found
        }

        fn expect(&mut self, op: &str) -> Result<(), String> {
            if self.eat(op) {
                Ok(())
            } else {
                Err(format!("expected {op}"))
            }
        }

        fn or(&mut self) -> Result<bool, String> {
            let mut v = self.and()?;
            while self.eat("||") {
                let rhs = self.and()?;
                v = v || rhs;
            }
            Ok(v)
        }

        fn and(&mut self) -> Result<bool, String> {
            let mut v = self.unary()?;
            while self.eat("&&") {
                let rhs = self.unary()?;
                v = v && rhs;
            }
            Ok(v)
        }

        fn comparison_next(&self) -> Option<&'static str> {
            match self.peek() {
                Some(Token::Op(op)) if COMPARISONS.contains(op) => Some(op),
                _ => None,
            }
        }

        fn unary(&mut self) -> Result<bool, String> {
            if self.eat("!") {
                return Ok(!self.unary()?);
            }
            let save = self.at;
            if self.eat("(") {
                // A parenthesised condition, or the left operand of a comparison.
                if let Ok(v) = self.or()
                    && self.eat(")")
                    && self.comparison_next().is_none()
                {
                    return Ok(v);
                }
                self.at = save;
            }
            for (name, test) in [
                ("isNaN", f64::is_nan as fn(f64) -> bool),
                ("isInf", f64::is_infinite),
            ] {
                if self.eat_ident(name) {
                    self.expect("(")?;
                    let x = self.operand()?;
                    self.expect(")")?;
                    return Ok(test(x));
                }
            }
            for (name, value) in [("true", true), ("false", false)] {
                if self.eat_ident(name) {
                    return Ok(value);
                }
            }
            let lhs = self.operand()?;
            let op = self.comparison_next().ok_or("expected a comparison")?;
            self.at += 1;
            let rhs = self.operand()?;
            Ok(match op {
                "<" => lhs < rhs,
                "<=" => lhs <= rhs,
                ">" => lhs > rhs,
                ">=" => lhs >= rhs,
                "==" => lhs == rhs,
                _ => lhs != rhs,
            })
        }

        fn operand(&mut self) -> Result<f64, String> {
            if let Some(Token::Number(n)) = self.peek() {
                let n = *n;
                self.at += 1;
                return Ok(n);
            }
            if self.eat("(") {
                let v = self.operand()?;
                self.expect(")")?;
                return Ok(v);
            }
            if self.eat_ident("len") {
                self.expect("(")?;
                if !self.eat_ident("result") {
                    return Err("len() takes result".into());
                }
                self.expect(")")?;
                return match self.result {
                    QueryResult::Vector(v) => Ok(v.len() as f64),
                    QueryResult::Scalar(_) => Err("len() of a scalar".into()),
                };
            }
            if !self.eat_ident("result") {
                return Err(format!("unexpected {:?}", self.peek()));
            }
            if !self.eat("[") {
                return self.whole_result();
            }
            let Some(Token::Number(i)) = self.peek().cloned() else {
                return Err("expected an index".into());
            };
            self.at += 1;
            self.expect("]")?;
            match self.result {
                QueryResult::Vector(v) => v.get(i as usize).copied().ok_or_else(|| {
                    format!(
                        "runtime error: index out of range [{i}] with length {}",
                        v.len()
                    )
                }),
                QueryResult::Scalar(_) => Err("cannot index a scalar".into()),
            }
        }

        fn whole_result(&self) -> Result<f64, String> {
            match self.result {
                QueryResult::Scalar(x) => Ok(*x),
                QueryResult::Vector(v) if v.len() == 1 => Ok(v[0]),
                QueryResult::Vector(_) => {
                    Err("invalid operation: mismatched types []float64 and float64".into())
                }
            }
        }
    }

    /// Whether `condition` holds for `result`.
    pub fn eval(condition: &str, result: &QueryResult) -> Result<bool, String> {
        let mut p = Parser {
            tokens: tokenize(condition)?,
            at: 0,
            result,
        };
        let v = p.or()?;
        match p.peek() {
            None => Ok(v),
            Some(t) => Err(format!("unexpected {t:?}")),
        }
    }
}

/// Judge a measurement as Argo's `EvaluateResult` does.
fn evaluate(metric: &ResolvedMetric, result: &QueryResult) -> Result<AnalysisPhase, String> {
    let check = |kind: &str, expression: &str| -> Result<bool, String> {
        condition::eval(expression, result).map_err(|e| {
            if result.is_empty() {
                format!(
                    "could not evaluate {kind} \"{expression}\": metric result is nil or empty: no data returned from the metric provider"
                )
            } else {
                format!("could not evaluate {kind} \"{expression}\": {e}")
            }
        })
    };
    let (has_success, has_failure) = (
        !metric.success_condition.is_empty(),
        !metric.failure_condition.is_empty(),
    );
    let mut success = has_success && check("successCondition", &metric.success_condition)?;
    let mut failure = has_failure && check("failureCondition", &metric.failure_condition)?;
    match (has_success, has_failure) {
        (false, false) => return Ok(AnalysisPhase::Successful),
        (true, false) => failure = !success,
        (false, true) => success = !failure,
        (true, true) => {}
    }
    Ok(if failure {
        AnalysisPhase::Failed
    } else if !success {
        AnalysisPhase::Inconclusive
    } else {
        AnalysisPhase::Successful
    })
}

/// Take one measurement of `metric` from the simulated traffic.
fn measure(ctx: &Ctx<'_>, namespace: &str, metric: &ResolvedMetric) -> Measurement {
    let now = timestamp(ctx.now);
    let quantity = quantity_of(metric);
    let value = ctx
        .metrics
        .window(namespace, &metric.hash, window_of(&metric.query))
        .and_then(|stats| read(quantity, &stats));
    let result = if metric.query.trim_start().starts_with("scalar(") {
        QueryResult::Scalar(value.unwrap_or(f64::NAN))
    } else {
        QueryResult::Vector(value.into_iter().collect())
    };
    let metadata = BTreeMap::from([(RESOLVED_QUERY.to_string(), metric.query.clone())]);
    match evaluate(metric, &result) {
        Ok(phase) => Measurement {
            phase,
            message: String::new(),
            started_at: Some(now.clone()),
            finished_at: Some(now),
            value: result.value_string(),
            metadata,
        },
        Err(message) => Measurement {
            phase: AnalysisPhase::Error,
            message,
            started_at: Some(now.clone()),
            finished_at: Some(now),
            value: String::new(),
            metadata,
        },
    }
}

fn finished_at(m: &Measurement) -> Option<DateTime<Utc>> {
    m.finished_at.as_deref().and_then(parse_timestamp)
}

/// When a metric's next measurement is due, or None when it needs no more.
fn next_measurement(
    metric: &ResolvedMetric,
    status: &RunStatus,
    started: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let result = status.result(&metric.spec.name);
    if result.is_some_and(|r| r.phase.is_completed()) {
        return None;
    }
    let Some(last) = result.and_then(|r| r.measurements.last()) else {
        let delay = metric
            .spec
            .initial_delay
            .as_deref()
            .and_then(|d| time::parse(d, time::ARGO_UNITS))
            .unwrap_or_else(Duration::zero);
        return Some(started.unwrap_or(now) + delay);
    };
    let count = result.map_or(0, |r| r.count);
    if metric.spec.effective_count().is_some_and(|c| count >= c) {
        return None;
    }
    let interval = if last.phase == AnalysisPhase::Error {
        Duration::seconds(ERROR_RETRY_INTERVAL_SECONDS)
    } else {
        metric
            .spec
            .interval()
            .unwrap_or_else(|| Duration::seconds(ERROR_RETRY_INTERVAL_SECONDS))
    };
    Some(finished_at(last).unwrap_or(now) + interval)
}

fn record_measurement(result: &mut MetricResult, m: Measurement) {
    match m.phase {
        AnalysisPhase::Successful => {
            result.successful += 1;
            result.count += 1;
            result.consecutive_error = 0;
            result.consecutive_success += 1;
        }
        AnalysisPhase::Error => {
            result.error += 1;
            result.consecutive_error += 1;
            result.consecutive_success = 0;
        }
        phase => {
            if phase == AnalysisPhase::Failed {
                result.failed += 1;
            } else {
                result.inconclusive += 1;
            }
            result.count += 1;
            result.consecutive_error = 0;
            result.consecutive_success = 0;
        }
    }
    result.measurements.push(m);
}

/// Whether a metric's counters passed a limit, with Argo's reason.
fn over_limit(metric: &MetricSpec, r: &MetricResult) -> Option<(AnalysisPhase, String)> {
    let failure_limit = MetricSpec::limit(&metric.failure_limit, 0);
    let inconclusive_limit = MetricSpec::limit(&metric.inconclusive_limit, 0);
    let error_limit = MetricSpec::limit(
        &metric.consecutive_error_limit,
        DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    );
    let mut verdict = None;
    if failure_limit >= 0 && r.failed > failure_limit {
        verdict = Some((
            AnalysisPhase::Failed,
            format!("failed ({}) > failureLimit ({failure_limit})", r.failed),
        ));
    }
    if inconclusive_limit >= 0 && r.inconclusive > inconclusive_limit {
        verdict = Some((
            AnalysisPhase::Inconclusive,
            format!(
                "inconclusive ({}) > inconclusiveLimit ({inconclusive_limit})",
                r.inconclusive
            ),
        ));
    }
    if error_limit >= 0 && r.consecutive_error > error_limit {
        verdict = Some((
            AnalysisPhase::Error,
            format!(
                "consecutiveErrors ({}) > consecutiveErrorLimit ({error_limit})",
                r.consecutive_error
            ),
        ));
    }
    verdict
}

/// A metric's phase from its measurements, as Argo's `assessMetricStatus`.
fn metric_phase(metric: &MetricSpec, r: &MetricResult, terminating: bool) -> AnalysisPhase {
    if r.phase.is_completed() {
        return r.phase;
    }
    if r.measurements.is_empty() {
        return if terminating {
            AnalysisPhase::Successful
        } else {
            AnalysisPhase::Pending
        };
    }
    if let Some((phase, _)) = over_limit(metric, r) {
        return phase;
    }
    if metric.effective_count().is_some_and(|c| r.count >= c) || terminating {
        return AnalysisPhase::Successful;
    }
    AnalysisPhase::Running
}

/// An event for the run to record once its status is written.
type Pending = (EventType, String, String);

/// The run's phase and message from its metrics, as Argo's `assessRunStatus`.
fn assess(
    status: &mut RunStatus,
    spec: &RunSpec,
    metrics: &[ResolvedMetric],
    terminating: bool,
    events: &mut Vec<Pending>,
) -> (AnalysisPhase, String) {
    let mut worst: Option<AnalysisPhase> = None;
    let mut message = if spec.terminate {
        "Run Terminated".to_string()
    } else {
        String::new()
    };
    let mut everything_completed = true;
    let mut summary = RunSummary::default();
    let mut dry_summary = RunSummary::default();
    for metric in metrics {
        let name = &metric.spec.name;
        let dry_run = spec.is_dry_run(name);
        if dry_run {
            dry_summary.count += 1;
        } else {
            summary.count += 1;
        }
        let Some(result) = status.result_mut(name) else {
            everything_completed = false;
            continue;
        };
        let phase = metric_phase(&metric.spec, result, terminating);
        if result.phase != phase {
            if phase.is_completed() {
                events.push((
                    phase.event_type(),
                    format!("Metric{}", phase.as_str()),
                    format!("Metric '{name}' Completed. Result: {}", phase.as_str()),
                ));
            }
            if let Some(last) = result.measurements.last() {
                result.message = last.message.clone();
            }
            result.phase = phase;
        }
        if !phase.is_completed() {
            everything_completed = false;
            continue;
        }
        let limit = over_limit(&metric.spec, result);
        let counted = limit.as_ref().map_or(phase, |(p, _)| *p);
        if dry_run {
            worst.get_or_insert(AnalysisPhase::Successful);
            if let Some((_, why)) = &limit {
                result.message = format!("Metric assessed {} due to {why}", phase.as_str());
            }
            dry_summary.add(counted);
        } else {
            if worst.is_none_or(|w| phase.severity() > w.severity()) {
                worst = Some(phase);
                if let Some((_, why)) = &limit {
                    message = format!("Metric \"{name}\" assessed {} due to {why}", phase.as_str());
                    if !result.message.is_empty() {
                        message.push_str(&format!(": \"Error Message: {}\"", result.message));
                    }
                }
            }
            summary.add(counted);
        }
    }
    status.run_summary = summary;
    status.dry_run_summary = Some(dry_summary);
    let message = message.trim().to_string();
    if terminating {
        return (worst.unwrap_or(AnalysisPhase::Successful), message);
    }
    match worst {
        Some(w) if everything_completed => (w, message),
        _ => (AnalysisPhase::Running, String::new()),
    }
}

/// Take the measurements that are due, and judge the run.
fn run_metrics(
    ctx: &Ctx<'_>,
    run: &Value,
    spec: &RunSpec,
    status: &mut RunStatus,
    events: &mut Vec<Pending>,
) -> Option<DateTime<Utc>> {
    let namespace = run["metadata"]["namespace"].as_str().unwrap_or("");
    let metrics = match resolve(spec, run) {
        Ok(m) => m,
        Err(e) => {
            status.phase = Some(AnalysisPhase::Error);
            status.message = format!("Unable to resolve metric arguments: {e}");
            return None;
        }
    };
    let started = status.started_at.as_deref().and_then(parse_timestamp);
    if !status.is_terminating(spec) {
        for metric in &metrics {
            let due = next_measurement(metric, status, started, ctx.now);
            if due.is_none_or(|at| at > ctx.now)
                || (metric.spec.initial_delay.is_some() && started.is_none())
            {
                continue;
            }
            let m = measure(ctx, namespace, metric);
            let name = &metric.spec.name;
            if status.result(name).is_none() {
                status.metric_results.push(MetricResult {
                    name: name.clone(),
                    phase: AnalysisPhase::Running,
                    measurements: Vec::new(),
                    message: String::new(),
                    count: 0,
                    successful: 0,
                    failed: 0,
                    inconclusive: 0,
                    error: 0,
                    consecutive_error: 0,
                    dry_run: spec.is_dry_run(name),
                    metadata: BTreeMap::from([(RESOLVED_QUERY.to_string(), metric.query.clone())]),
                    consecutive_success: 0,
                });
            }
            record_measurement(status.result_mut(name).expect("just added"), m);
        }
    }
    if status.started_at.is_none() {
        status.started_at = Some(timestamp(ctx.now));
    }
    let terminating = status.is_terminating(spec);
    let (phase, message) = assess(status, spec, &metrics, terminating, events);
    if status.phase != Some(phase) {
        status.phase = Some(phase);
        status.message = message;
    }
    for result in &mut status.metric_results {
        let limit = spec.history_limit(&result.name);
        let excess = result.measurements.len().saturating_sub(limit);
        result.measurements.drain(..excess);
    }
    if phase.is_completed() {
        return None;
    }
    let started = status.started_at.as_deref().and_then(parse_timestamp);
    metrics
        .iter()
        .filter_map(|m| next_measurement(m, status, started, ctx.now))
        .min()
        .map(|at| at.max(ctx.now + Duration::seconds(1)))
}

impl Controller for AnalysisRunController {
    fn name(&self) -> &'static str {
        "analysisrun-controller"
    }

    fn primary(&self) -> &'static ResourceDef {
        analysis_runs()
    }

    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>> {
        let run = ctx.store.get(analysis_runs(), namespace, name).ok()?;
        let old: RunStatus = serde_json::from_value(run["status"].clone()).unwrap_or_default();
        if old.phase.is_some_and(AnalysisPhase::is_completed) {
            return None;
        }
        let mut status = old.clone();
        let mut events = Vec::new();
        let next = match serde_json::from_value::<RunSpec>(run["spec"].clone()) {
            Ok(spec) => run_metrics(ctx, &run, &spec, &mut status, &mut events),
            Err(e) => {
                status.phase = Some(AnalysisPhase::Error);
                status.message = format!("Analysis spec invalid: {e}");
                None
            }
        };
        if let Some(phase) = status.phase.filter(|p| p.is_completed()) {
            status.completed_at = Some(timestamp(ctx.now));
            events.push((
                phase.event_type(),
                format!("AnalysisRun{}", phase.as_str()),
                format!("Analysis Completed. Result: {}", phase.as_str()),
            ));
        }
        if status != old {
            let value = serde_json::to_value(&status).expect("serializable");
            if let Err(e) = ctx.store.modify(analysis_runs(), namespace, name, |r| {
                r["status"] = value;
            }) {
                tracing::warn!("writing the status of analysisrun {namespace}/{name}: {e}");
                return next;
            }
        }
        for (kind, reason, message) in events {
            events::record(ctx.store, ctx.now, &run, kind, &reason, &message, COMPONENT);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::Behaviour;
    use crate::clock::Clock;
    use crate::controllers::Runtime;
    use crate::store::Store;
    use crate::traffic::MetricsSource;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    #[test]
    fn conditions_cover_the_usual_forms() {
        let one = QueryResult::Vector(vec![0.004]);
        let eval = |c: &str, r: &QueryResult| condition::eval(c, r);
        assert_eq!(eval("result[0] <= 0.01", &one), Ok(true));
        assert_eq!(eval("result[0] >= 0.95", &one), Ok(false));
        assert_eq!(eval("result < 0.01", &one), Ok(true));
        assert_eq!(eval("result[0] > -1 && result[0] != 0", &one), Ok(true));
        assert_eq!(eval("result[0] > 1 || result[0] < 1e-2", &one), Ok(true));
        assert_eq!(eval("len(result) == 0 || result[0] < 0.5", &one), Ok(true));
        assert_eq!(
            eval("!(result[0] > 0.5) and not isNaN(result[0])", &one),
            Ok(true)
        );
        assert_eq!(eval("(result[0]) < 0.5", &one), Ok(true));
        assert!(eval("result[1] < 0.5", &one).is_err());
        assert!(eval("all(result, # < 1)", &one).is_err());
        assert_eq!(eval("result >= 120", &QueryResult::Scalar(120.0)), Ok(true));
    }

    fn metric(success: &str, failure: &str) -> ResolvedMetric {
        ResolvedMetric {
            spec: MetricSpec::default(),
            query: String::new(),
            success_condition: success.into(),
            failure_condition: failure.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn measurements_are_judged_as_argo_judges_them() {
        let v = |x: f64| QueryResult::Vector(vec![x]);
        let only_success = metric("result[0] <= 0.01", "");
        assert_eq!(
            evaluate(&only_success, &v(0.001)),
            Ok(AnalysisPhase::Successful)
        );
        assert_eq!(evaluate(&only_success, &v(0.2)), Ok(AnalysisPhase::Failed));
        let both = metric("result[0] <= 0.01", "result[0] > 0.05");
        assert_eq!(evaluate(&both, &v(0.03)), Ok(AnalysisPhase::Inconclusive));
        assert_eq!(evaluate(&both, &v(0.06)), Ok(AnalysisPhase::Failed));
        assert_eq!(
            evaluate(&metric("", ""), &v(5.0)),
            Ok(AnalysisPhase::Successful)
        );
        assert_eq!(
            evaluate(&only_success, &QueryResult::Vector(vec![])),
            Err("could not evaluate successCondition \"result[0] <= 0.01\": metric result is nil or empty: no data returned from the metric provider".into())
        );
    }

    #[test]
    fn what_a_metric_reads_follows_its_name_then_its_query() {
        let q = |name: &str, query: &str| {
            let mut m = metric("", "");
            m.spec.name = name.into();
            m.query = query.into();
            quantity_of(&m)
        };
        assert_eq!(
            q("success-rate", "sum(x{code!~\"5..\"})"),
            Quantity::SuccessRatio
        );
        assert_eq!(q("errors", ""), Quantity::ErrorRatio);
        assert_eq!(
            q("check", "sum(rate(x{status=~\"5..\"}[1m]))"),
            Quantity::ErrorRatio
        );
        assert_eq!(
            q(
                "latency",
                "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))"
            ),
            Quantity::Latency {
                percentile: Percentile::P99,
                seconds: true
            }
        );
        assert_eq!(
            q(
                "p50",
                "histogram_quantile(0.5, rate(latency_ms_bucket[1m]))"
            ),
            Quantity::Latency {
                percentile: Percentile::P50,
                seconds: false
            }
        );
        assert_eq!(
            window_of("sum(rate(x[5m])) / sum(rate(x[5m]))"),
            Duration::minutes(5)
        );
        assert_eq!(window_of("up"), Duration::minutes(1));
        assert_eq!(format_number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_number(1.0), "1");
    }

    #[derive(Default)]
    struct Fixed(Mutex<Option<WindowStats>>);

    impl MetricsSource for Fixed {
        fn window(&self, _: &str, hash: &str, _: Duration) -> Option<WindowStats> {
            assert_eq!(hash, "abc123");
            *self.0.lock().unwrap()
        }
    }

    fn setup(stats: Option<WindowStats>) -> (Arc<Runtime>, Arc<Store>) {
        let store = Arc::new(Store::new(Arc::new(Clock::new(0.0))));
        let rt = Runtime::new(
            store.clone(),
            Arc::new(Behaviour::default()),
            Arc::new(Fixed(Mutex::new(stats))),
            vec![Arc::new(AnalysisRunController)],
        );
        (rt, store)
    }

    fn run(metric: Value) -> Value {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
               "metadata": {"name": "checkout-abc123-2-1", "namespace": "shop",
                            "labels": {"rollouts-pod-template-hash": "abc123"}},
               "spec": {"args": [{"name": "canary-hash", "value": "abc123"}], "metrics": [metric]}})
    }

    const QUERY: &str = "sum(rate(http_requests_total{hash=\"{{args.canary-hash}}\",code=~\"5..\"}[2m])) / sum(rate(http_requests_total{hash=\"{{args.canary-hash}}\"}[2m]))";

    fn status(store: &Store) -> Value {
        store
            .get(analysis_runs(), "shop", "checkout-abc123-2-1")
            .unwrap()["status"]
            .clone()
    }

    fn stats(requests: f64, errors: f64) -> WindowStats {
        WindowStats {
            requests,
            errors,
            ..Default::default()
        }
    }

    #[test]
    fn a_counted_metric_measures_on_its_interval() {
        let (rt, store) = setup(Some(stats(200.0, 1.0)));
        crate::seed::insert(&store, run(json!({"name": "error-rate", "interval": "1m", "count": 3,
            "successCondition": "result[0] <= 0.01", "provider": {"prometheus": {"query": QUERY}}}))).unwrap();
        rt.settle();
        let s = status(&store);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["metricResults"][0]["count"], 1);
        assert_eq!(
            s["metricResults"][0]["metadata"]["ResolvedPrometheusQuery"],
            QUERY.replace("{{args.canary-hash}}", "abc123")
        );
        rt.advance(Duration::minutes(2));
        let s = status(&store);
        assert_eq!(s["phase"], "Successful");
        assert!(s["completedAt"].is_string());
        assert_eq!(s["runSummary"], json!({"count": 1, "successful": 1}));
        assert_eq!(s["dryRunSummary"], json!({}));
        let result = &s["metricResults"][0];
        assert_eq!(result["phase"], "Successful");
        assert_eq!(result["count"], 3);
        assert_eq!(result["successful"], 3);
        assert_eq!(result["consecutiveSuccess"], 3);
        assert_eq!(result["measurements"].as_array().unwrap().len(), 3);
        assert_eq!(result["measurements"][2]["value"], "[0.005]");
        assert_eq!(result["measurements"][2]["phase"], "Successful");
    }

    #[test]
    fn no_traffic_errors_until_the_consecutive_error_limit() {
        let (rt, store) = setup(None);
        crate::seed::insert(&store, run(json!({"name": "error-rate",
            "successCondition": "result[0] <= 0.01", "provider": {"prometheus": {"query": QUERY}}}))).unwrap();
        rt.advance(Duration::seconds(35));
        let s = status(&store);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["metricResults"][0]["consecutiveError"], 4);
        rt.advance(Duration::seconds(10));
        let s = status(&store);
        assert_eq!(s["phase"], "Error");
        let empty = "could not evaluate successCondition \"result[0] <= 0.01\": metric result is nil or empty: no data returned from the metric provider";
        assert_eq!(
            s["message"],
            format!(
                "Metric \"error-rate\" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): \"Error Message: {empty}\""
            )
        );
        let result = &s["metricResults"][0];
        assert_eq!(result["error"], 5);
        assert_eq!(result["count"], Value::Null);
        assert_eq!(result["measurements"][0]["phase"], "Error");
        assert_eq!(result["measurements"][0]["message"], empty);
        assert_eq!(result["measurements"][0]["value"], Value::Null);
        assert_eq!(s["runSummary"], json!({"count": 1, "error": 1}));
    }

    #[test]
    fn terminate_stops_an_endless_metric_as_successful() {
        let (rt, store) = setup(Some(stats(200.0, 0.0)));
        crate::seed::insert(&store, run(json!({"name": "error-rate", "interval": "30s",
            "successCondition": "result[0] <= 0.01", "provider": {"prometheus": {"query": QUERY}}}))).unwrap();
        rt.advance(Duration::minutes(10));
        let s = status(&store);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["metricResults"][0]["count"], 21);
        assert_eq!(
            s["metricResults"][0]["measurements"]
                .as_array()
                .unwrap()
                .len(),
            10
        );
        store
            .modify(analysis_runs(), "shop", "checkout-abc123-2-1", |r| {
                r["spec"]["terminate"] = json!(true)
            })
            .unwrap();
        rt.settle();
        let s = status(&store);
        assert_eq!(s["phase"], "Successful");
        assert_eq!(s["message"], "Run Terminated");
    }

    #[test]
    fn an_initial_delay_postpones_the_first_measurement() {
        let (rt, store) = setup(Some(stats(200.0, 0.0)));
        crate::seed::insert(&store, run(json!({"name": "error-rate", "initialDelay": "1m",
            "successCondition": "result[0] <= 0.01", "provider": {"prometheus": {"query": QUERY}}}))).unwrap();
        rt.advance(Duration::seconds(59));
        let s = status(&store);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["metricResults"], Value::Null);
        rt.advance(Duration::seconds(2));
        assert_eq!(status(&store)["phase"], "Successful");
    }

    #[test]
    fn an_unresolved_argument_is_an_error() {
        let (rt, store) = setup(None);
        crate::seed::insert(
            &store,
            run(json!({"name": "error-rate",
            "provider": {"prometheus": {"query": "sum(x{hash=\"{{args.stable-hash}}\"})"}}})),
        )
        .unwrap();
        rt.settle();
        let s = status(&store);
        assert_eq!(s["phase"], "Error");
        assert_eq!(
            s["message"],
            "Unable to resolve metric arguments: failed to resolve {{args.stable-hash}}"
        );
    }
}
