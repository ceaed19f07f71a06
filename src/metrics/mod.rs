//! Metrics from Prometheus-compatible backends, turned into the model's
//! samples and judged by `model::metrics`.
//!
//! - [`prometheus`]: the HTTP API client (instant and range queries, auth,
//!   tenant headers, path prefixes, bounded concurrency, a request count).
//! - [`profiles`]: which series are the baseline and which the canary, and
//!   one RED query per metric grouped by version.

pub mod profiles;
pub mod prometheus;
