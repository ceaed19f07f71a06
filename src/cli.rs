//! The command line: subcommands and kubectl-style flags.

use crate::sim::scenario::{self, Scenario};
use crate::sim::{SimCluster, SimConfig, Workload};
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
    Serve(Box<ServeArgs>),
    /// List the built-in scenarios.
    Scenarios,
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
    /// The scenario to run: a built-in name (see `cutover sim scenarios`) or a file.
    #[arg(long, default_value = "default", conflicts_with_all = ["seed_file", "static_objects"])]
    pub scenario: String,
    /// Releases of the `scale` scenario.
    #[arg(long, default_value_t = 2000)]
    pub releases: usize,
    /// Pods per release of the `scale` scenario.
    #[arg(long, default_value_t = 20)]
    pub pods: usize,
    /// Serve these objects (YAML or JSON) as they are, with no controllers.
    #[arg(long)]
    pub seed_file: Option<PathBuf>,
    /// Serve a small fixed set of objects as they are, with no controllers.
    #[arg(long = "static")]
    pub static_objects: bool,
    /// Serve the simulated traffic's Prometheus metrics here (plain HTTP; port 0 = any).
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
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
            Command::Sim(SimCommand::Serve(args)) => sim_serve(*args).await,
            Command::Sim(SimCommand::Scenarios) => list_scenarios(),
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

fn list_scenarios() -> Result<()> {
    for name in scenario::names() {
        let description = match name {
            "scale" => Scenario::scale(2000, 20).description,
            _ => Scenario::load(name)?.description,
        };
        println!(
            "{name:<12} {}",
            description.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    Ok(())
}

fn workload(args: &ServeArgs) -> Result<Workload> {
    if args.static_objects || args.seed_file.is_some() {
        return Ok(Workload::Static {
            seed_file: args.seed_file.clone(),
        });
    }
    let scenario = match args.scenario.as_str() {
        "scale" => Scenario::scale(args.releases, args.pods),
        other => Scenario::load(other)?,
    };
    Ok(Workload::Scenario(Box::new(scenario)))
}

async fn sim_serve(args: ServeArgs) -> Result<()> {
    let config = SimConfig {
        addr: args.addr,
        request_log: args.request_log.clone(),
        time_scale: args.time_scale,
        workload: workload(&args)?,
        metrics_addr: args.metrics_addr,
        ..SimConfig::default()
    };
    let started = std::time::Instant::now();
    let (sim, path) = start_sim(config, args.kubeconfig_out, &args.namespace).await?;
    println!("{}", path.display());
    eprintln!(
        "cutover sim: serving the Kubernetes API at {} (started in {:.2} s)",
        sim.url(),
        started.elapsed().as_secs_f64()
    );
    if let Some(addr) = sim.metrics_addr() {
        eprintln!("cutover sim: Prometheus metrics at http://{addr}/metrics");
    }
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
        ..SimConfig::scenario(Scenario::load("default")?)
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
