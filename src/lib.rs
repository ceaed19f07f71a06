//! cutover: a terminal control room for zero-downtime releases.
//!
//! The library holds the product; the binary parses the command line,
//! calls [`cli::main`] and runs the commands on the simulated cluster
//! (the simulator crate), which the library never names.

pub mod app;
pub mod audit;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod fleet;
pub(crate) mod gate;
pub mod logging;
pub mod metrics;
pub mod migrations;
pub mod model;
pub mod paths;
pub mod signals;
pub(crate) mod size;
pub(crate) mod spelling;
pub(crate) mod status;
#[cfg(test)]
mod test_support;
/// Shared with the simulated cluster, hence its own crate.
pub use cutover_time as time;
pub mod ui;
pub mod unleash;
pub(crate) mod user_error;
pub(crate) mod words;
