//! The mapping from real-shaped objects to releases, the action plans on
//! those releases and the stale-view fingerprint, driven by YAML fixtures.

mod argo_blue_green;
mod argo_canary;
mod argo_cli;
mod catalog;
mod deployment;
mod fingerprint;
mod flagger;
mod migration_jobs;
mod plans;
