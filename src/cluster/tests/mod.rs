//! The mapping from real-shaped objects to releases, the action plans on
//! those releases and the stale-view fingerprint, driven by YAML fixtures.

mod argo_blue_green;
mod argo_canary;
mod argo_cli;
mod deployment;
mod fingerprint;
pub(crate) mod fixture;
mod flagger;
pub(crate) mod migration_jobs;
mod plans;
