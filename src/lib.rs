//! cutover: a terminal control room for zero-downtime releases.
//!
//! The library holds everything; the binary only parses the command line
//! and calls [`cli::main`].

pub mod app;
pub mod audit;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod migrations;
pub mod model;
pub mod signals;
pub mod sim;
pub mod size;
pub mod spelling;
pub mod status;
pub mod time;
pub mod ui;
pub mod user_error;
