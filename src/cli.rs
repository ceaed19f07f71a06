//! The command line: subcommands and kubectl-style flags.

use crate::sim::{SimCluster, SimConfig};
use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "A terminal control room for zero-downtime releases"
)]
pub struct Cli {
    /// Where to write the log (the terminal is the UI's).
    #[arg(long, global = true, env = "CUTOVER_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run against the embedded simulated cluster: nothing else needed.
    Demo(DemoArgs),
    /// The simulated cluster.
    #[command(subcommand)]
    Sim(SimCommand),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulated Kubernetes API until SIGINT or SIGTERM.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address; port 0 lets the OS choose.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Where to write the kubeconfig (contexts sim-admin, sim-viewer, sim-deployer).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Append every request (time, user, method, path, query, status) as JSON lines.
    #[arg(long)]
    pub request_log: Option<PathBuf>,
    /// Start with these objects (YAML or JSON) instead of the built-in set.
    #[arg(long)]
    pub seed_file: Option<PathBuf>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// The namespace the kubeconfig's contexts default to.
    #[arg(long, default_value = "shop")]
    pub namespace: String,
}

pub fn run(cli: Cli) -> Result<()> {
    let log_path = cli
        .log_file
        .clone()
        .unwrap_or_else(crate::logging::default_log_path);
    let _guard = crate::logging::init(&log_path)?;
    let runtime = tokio::runtime::Runtime::new().wrap_err("starting the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Sim(SimCommand::Serve(args)) => sim_serve(args).await,
            Command::Demo(args) => demo(args).await,
        }
    })
}

fn default_kubeconfig_path(addr: SocketAddr) -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join("cutover")
        .join(format!("sim-{}.kubeconfig", addr.port()))
}

async fn start_sim(
    config: SimConfig,
    kubeconfig_out: Option<PathBuf>,
    namespace: &str,
) -> Result<(SimCluster, PathBuf)> {
    let sim = SimCluster::start(config).await?;
    let path = kubeconfig_out.unwrap_or_else(|| default_kubeconfig_path(sim.addr()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    }
    sim.write_kubeconfig(&path, namespace)
        .wrap_err_with(|| format!("writing the kubeconfig {}", path.display()))?;
    tracing::info!(addr = %sim.addr(), kubeconfig = %path.display(), "simulated cluster serving");
    Ok((sim, path))
}

async fn wait_for_signal() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .wrap_err("listening for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.wrap_err("listening for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}

async fn sim_serve(args: ServeArgs) -> Result<()> {
    let config = SimConfig {
        addr: args.addr,
        request_log: args.request_log,
        time_scale: args.time_scale,
        seed_file: args.seed_file,
        ..SimConfig::default()
    };
    let (sim, path) = start_sim(config, args.kubeconfig_out, &args.namespace).await?;
    println!("{}", path.display());
    eprintln!("cutover sim: serving the Kubernetes API at {}", sim.url());
    eprintln!(
        "cutover sim: export KUBECONFIG={}   (contexts sim-admin, sim-viewer, sim-deployer)",
        path.display()
    );
    wait_for_signal().await?;
    sim.shutdown().await;
    let _ = std::fs::remove_file(&path);
    Ok(())
}

async fn demo(args: DemoArgs) -> Result<()> {
    let config = SimConfig {
        time_scale: args.time_scale,
        ..SimConfig::default()
    };
    let (sim, path) = start_sim(config, None, "shop").await?;
    println!(
        "cutover demo: the simulated cluster is serving at {}.",
        sim.url()
    );
    println!("The control room is not built yet; meanwhile the cluster answers kubectl:");
    println!(
        "  KUBECONFIG={} kubectl get rollouts,deploy,rs,pods -n shop",
        path.display()
    );
    println!("Press Ctrl-C to stop.");
    wait_for_signal().await?;
    sim.shutdown().await;
    let _ = std::fs::remove_file(&path);
    Ok(())
}
