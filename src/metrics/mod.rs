//! Metrics from Prometheus-compatible backends, turned into the model's
//! samples and judged by `model::metrics`.
//!
//! - [`prometheus`]: the HTTP API client (instant and range queries, auth,
//!   tenant headers, path prefixes, bounded concurrency, a request count).

pub mod prometheus;
