use clap::Parser;

fn main() -> color_eyre::Result<std::process::ExitCode> {
    color_eyre::install()?;
    cutover::cli::run(cutover::cli::Cli::parse())
}
