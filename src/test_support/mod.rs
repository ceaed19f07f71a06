//! Fixtures shared by the unit tests of every layer: real-shaped objects
//! from the YAML files in `tests/fixtures/`, and the releases the cluster
//! mapping builds from them.

pub(crate) mod fixture;
pub(crate) mod migration_jobs;
