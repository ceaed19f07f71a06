//! Logging goes to a file, never to the terminal the UI draws on.

use color_eyre::eyre::{Result, WrapErr};
use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;

/// Lines waiting for the log file's thread at most.
const LOG_QUEUE_LINES: usize = 4_096;

/// Send `tracing` output to `path` (filter from `CUTOVER_LOG`, default `info`).
/// Keep the guard alive for as long as the program runs: dropping it flushes.
pub fn init(path: &Path) -> Result<WorkerGuard> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .wrap_err_with(|| format!("creating the log folder {}", dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .wrap_err_with(|| format!("opening the log file {}", path.display()))?;
    // The queue to the writing thread is allocated whole at start: the
    // default of 128,000 lines would hold 4 MB for a log of a few lines a
    // second. Lines beyond it are dropped, never the program slowed.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("CUTOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests, embedding) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok(guard)
}
