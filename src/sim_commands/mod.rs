//! The commands on the simulated cluster: `cutover demo` and `cutover sim …`.
//! Part of the binary, not the library: the only product code that depends
//! on `cutover-sim`.

mod demo;
mod serve;

use color_eyre::eyre::{Result, WrapErr};
use cutover::cli::{DemoArgs, ServeArgs, SimCommands, UiArgs};
use cutover::signals::QuitSignal;
use cutover_sim::{SimCluster, SimConfig};
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
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    }
    sim.write_kubeconfig(&path, namespace)
        .wrap_err_with(|| format!("writing the kubeconfig {}", path.display()))?;
    tracing::info!(addr = %sim.addr(), kubeconfig = %path.display(), "simulated cluster serving");
    Ok((sim, path))
}
