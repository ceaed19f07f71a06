//! cutover: a terminal control room for zero-downtime releases.
//!
//! The library holds everything; the binary only parses the command line
//! and calls [`cli::run`].

pub mod cli;
pub mod logging;
pub mod sim;
