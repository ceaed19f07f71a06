use clap::Parser;

fn main() -> color_eyre::Result<()> {
    color_eyre::install()?;
    cutover::cli::run(cutover::cli::Cli::parse())
}
