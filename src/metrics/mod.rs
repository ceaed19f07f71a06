//! Metrics from Prometheus-compatible backends, turned into the model's
//! samples and judged by `model::metrics`.
//!
//! - [`prometheus`]: the HTTP API client (instant and range queries, auth,
//!   tenant headers, path prefixes, bounded concurrency, a request count,
//!   and limits on the size and series of an answer).
//! - [`profiles`]: which series are the baseline and which the canary, and
//!   one RED query per metric grouped by version.
//! - [`judge`]: the compared metrics, gates and thresholds, and the step
//!   from fetched values to a release's verdict.
//! - [`bake`]: a finished release's figures for its bake window.
//! - [`source`]: the backends (Prometheus, or traffic counted in-process)
//!   and the task that refreshes the measured releases.

pub mod bake;
pub mod judge;
pub mod profiles;
pub mod prometheus;
pub mod source;
