//! The binary, and the composition root: it parses the command line, runs
//! it with the library, and is the only code that puts the product and the
//! simulated cluster together (the `demo` and `sim` commands, in
//! `sim_commands/`). Nothing the library declares may name the simulator.

mod sim_commands;

use clap::Parser;

fn main() -> std::process::ExitCode {
    cutover::cli::main(cutover::cli::Cli::parse(), &sim_commands::Simulator)
}
