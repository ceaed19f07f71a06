//! Kubernetes through kube-rs: connecting, watching, mapping objects to
//! releases, access reviews and the one handle that can mutate.

pub mod answer_limit;
pub(crate) mod argo;
pub mod catalog;
pub mod connect;
pub(crate) mod deployment;
pub(crate) mod feature_flags;
pub(crate) mod fields;
pub(crate) mod fingerprint;
pub(crate) mod flagger;
pub mod index;
pub mod kinds;
pub(crate) mod migration_jobs;
pub mod mutate;
pub mod objects;
pub mod projection;
pub(crate) mod rbac;
pub(crate) mod reconnect;
pub(crate) mod routing;
pub mod velero;
pub mod watch;
pub(crate) mod workload;

#[cfg(test)]
mod tests;

pub use catalog::Catalog;
pub use index::Index;
pub use objects::Objects;
