//! `cutover sim serve` and `cutover sim scenarios`.

use super::start_sim;
use color_eyre::eyre::Result;
use cutover::cli::{ServeArgs, write_out};
use cutover::signals::{QuitSignal, QuitSignals};
use cutover_sim::scenario::{self, Scenario};
use cutover_sim::{SimConfig, Workload};

pub(super) fn list_scenarios() -> Result<()> {
    for name in scenario::names() {
        let description = match name {
            "scale" => Scenario::scale(2000, 20).description,
            _ => Scenario::load(name)?.description,
        };
        write_out(&format!(
            "{name:<12} {}\n",
            description.split_whitespace().collect::<Vec<_>>().join(" ")
        ))?;
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

/// Serve until SIGINT, SIGTERM or SIGHUP, then stop the server and remove
/// the kubeconfig it wrote.
pub(super) async fn sim_serve(args: ServeArgs) -> Result<Option<QuitSignal>> {
    let config = SimConfig {
        addr: args.addr,
        request_log: args.request_log.clone(),
        time_scale: args.time_scale,
        workload: workload(&args)?,
        metrics_addr: args.metrics_addr,
        ..SimConfig::default()
    };
    let started = std::time::Instant::now();
    // Before anyone can learn the server is up.
    let mut quit = QuitSignals::listen()?;
    let (sim, path) = start_sim(config, args.kubeconfig_out, &args.namespace).await?;
    write_out(&format!("{}\n", path.display()))?;
    eprintln!(
        "cutover sim: serving the Kubernetes API at {} (started in {:.2} s)",
        sim.url(),
        started.elapsed().as_secs_f64()
    );
    if let Some(addr) = sim.metrics_addr() {
        eprintln!("cutover sim: Prometheus metrics at http://{addr}/metrics");
    }
    eprintln!(
        "cutover sim: export KUBECONFIG={}   (contexts sim-admin, sim-viewer, sim-deployer, sim-checkout-owner)",
        path.display()
    );
    let signal = quit.recv().await;
    tracing::info!("stopping on {}", signal.name());
    sim.shutdown().await;
    let _ = std::fs::remove_file(&path);
    Ok(Some(signal))
}
