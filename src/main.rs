use clap::Parser;

fn main() -> std::process::ExitCode {
    cutover::cli::main(cutover::cli::Cli::parse())
}
