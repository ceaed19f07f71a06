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
    return_freed_memory_at_once();
    cutover::cli::main(cutover::cli::Cli::parse(), &sim_commands::Simulator)
}

/// mimalloc hands freed memory back to the system a while after it is
/// freed, when it is next called; a screen at rest makes no call, so what a
/// burst of changes freed would stay resident. Handed back at once instead.
fn return_freed_memory_at_once() {
    // `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (mimalloc.h),
    // which the bindings do not name.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets a number in mimalloc's options; called first thing in
    // main, before any other thread exists (the call is not thread-safe).
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) }
}
