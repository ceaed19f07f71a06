//! The binary, and the composition root: it parses the command line, runs
//! it with the library, and is the only code that puts the product and the
//! simulated cluster together (the `demo` and `sim` commands, in
//! `sim_commands/`). Nothing the library declares may name the simulator.

mod sim_commands;

use clap::Parser;

/// A big cluster is tens of thousands of small objects (pods, their names
/// and owners): mimalloc keeps them with less overhead than the system
/// allocator. Without transparent huge pages (`no_thp`, for this process
/// only): a huge page is resident whole however little of it is used, which
/// at 2,000 releases cost a fifth of the memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cutover::cli::main(cutover::cli::Cli::parse(), &sim_commands::Simulator)
}
