//! Metrics from Prometheus: profiles that select the baseline and canary
//! series of a release, and the queries for them.

pub mod profiles;
