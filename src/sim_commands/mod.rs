//! The commands on the simulated cluster: `cutover demo` and `cutover sim …`.
//! Part of the binary, not the library: the only product code that depends
//! on `cutover-sim`.

mod demo;
mod serve;

use color_eyre::eyre::{Result, WrapErr};
use cutover::cli::{DemoArgs, ServeArgs, SimCommands, UiArgs};
use cutover::signals::QuitSignal;
use cutover_sim::{FleetMember, SimCluster, SimConfig, SimFleet};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Runs the commands the library parses but does not run.
pub struct Simulator;

impl SimCommands for Simulator {
    async fn demo(&self, args: DemoArgs, ui: &UiArgs) -> Result<Option<QuitSignal>> {
        demo::demo(args, ui).await
    }

    async fn serve(&self, args: ServeArgs) -> Result<Option<QuitSignal>> {
        serve::sim_serve(args).await
    }

    fn list_scenarios(&self) -> Result<()> {
        serve::list_scenarios()
    }
}

fn default_kubeconfig_path(addr: SocketAddr) -> PathBuf {
    cutover::paths::runtime_dir().join(format!("sim-{}.kubeconfig", addr.port()))
}

/// Start a simulated cluster and write its kubeconfig (by default in
/// `$XDG_RUNTIME_DIR/cutover/`).
async fn start_sim(
    config: SimConfig,
    kubeconfig_out: Option<PathBuf>,
    namespace: &str,
) -> Result<(SimCluster, PathBuf)> {
    let sim = SimCluster::start(config).await?;
    let path = kubeconfig_out.unwrap_or_else(|| default_kubeconfig_path(sim.addr()));
    write_kubeconfig(&path, &sim.kubeconfig_yaml(namespace))?;
    tracing::info!(addr = %sim.addr(), kubeconfig = %path.display(), "simulated cluster serving");
    Ok((sim, path))
}

/// Start a fleet of simulated clusters and write one kubeconfig for all
/// (by default in `$XDG_RUNTIME_DIR/cutover/`, named after the first's port).
async fn start_fleet(
    members: Vec<FleetMember>,
    kubeconfig_out: Option<PathBuf>,
    namespace: &str,
) -> Result<(SimFleet, PathBuf)> {
    let fleet = SimFleet::start(members).await?;
    let path = kubeconfig_out.unwrap_or_else(|| {
        let (_, first) = fleet.clusters().next().expect("a fleet has a cluster");
        default_kubeconfig_path(first.addr())
    });
    write_kubeconfig(&path, &fleet.kubeconfig_yaml(namespace))?;
    for (name, sim) in fleet.clusters() {
        tracing::info!(cluster = name, addr = %sim.addr(), kubeconfig = %path.display(), "simulated cluster serving");
    }
    Ok((fleet, path))
}

fn write_kubeconfig(path: &std::path::Path, yaml: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    }
    cutover_sim::write_kubeconfig(path, yaml)
        .wrap_err_with(|| format!("writing the kubeconfig {}", path.display()))
}
