//! `cutover sim serve` and `cutover sim scenarios`.

use super::{start_fleet, start_sim};
use color_eyre::eyre::{Result, eyre};
use cutover::cli::{ServeArgs, write_out};
use cutover::signals::{QuitSignal, QuitSignals};
use cutover_sim::scenario::{self, Scenario};
use cutover_sim::{FleetMember, SimCluster, SimConfig, SimFleet, Workload};
use std::path::Path;

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

fn workload(args: &ServeArgs, scenario: &str) -> Result<Workload> {
    if args.static_objects || args.seed_file.is_some() {
        return Ok(Workload::Static {
            seed_file: args.seed_file.clone(),
        });
    }
    let scenario = match scenario {
        "scale" => Scenario::scale(args.releases, args.pods),
        other => Scenario::load(other)?,
    };
    Ok(Workload::Scenario(Box::new(scenario)))
}

/// Serve until SIGINT, SIGTERM or SIGHUP, then stop the servers and remove
/// the kubeconfig they were written in.
pub(super) async fn sim_serve(args: ServeArgs) -> Result<Option<QuitSignal>> {
    let fleet = args.fleet().map_err(|e| eyre!(e))?;
    let started = std::time::Instant::now();
    // Before anyone can learn the servers are up.
    let mut quit = QuitSignals::listen()?;
    let configs = fleet
        .iter()
        .map(|c| {
            Ok(FleetMember {
                name: c.name.clone(),
                config: SimConfig {
                    addr: c.addr,
                    request_log: c.request_log.clone(),
                    time_scale: args.time_scale,
                    workload: workload(&args, &c.scenario)?,
                    metrics_addr: c.metrics_addr,
                    ..SimConfig::default()
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (served, path) = if configs.is_empty() {
        let config = SimConfig {
            addr: args.addr,
            request_log: args.request_log.clone(),
            time_scale: args.time_scale,
            workload: workload(&args, &args.scenario)?,
            metrics_addr: args.metrics_addr,
            ..SimConfig::default()
        };
        let (sim, path) = start_sim(config, args.kubeconfig_out, &args.namespace).await?;
        write_out(&format!("{}\n", path.display()))?;
        say_serving(None, &sim, started);
        say_contexts(
            &path,
            "sim-admin, sim-viewer, sim-deployer, sim-checkout-owner",
        );
        (Served::One(sim), path)
    } else {
        let (fleet, path) = start_fleet(configs, args.kubeconfig_out, &args.namespace).await?;
        write_out(&format!("{}\n", path.display()))?;
        for (name, sim) in fleet.clusters() {
            say_serving(Some(name), sim, started);
        }
        let names: Vec<&str> = fleet.clusters().map(|(name, _)| name).collect();
        say_contexts(
            &path,
            &format!(
                "NAME-admin, NAME-viewer, NAME-deployer, NAME-checkout-owner for NAME in {}",
                names.join(", ")
            ),
        );
        (Served::Fleet(fleet), path)
    };
    let signal = quit.recv().await;
    tracing::info!("stopping on {}", signal.name());
    match served {
        Served::One(sim) => sim.shutdown().await,
        Served::Fleet(fleet) => fleet.shutdown().await,
    }
    let _ = std::fs::remove_file(&path);
    Ok(Some(signal))
}

/// What `sim serve` runs: one cluster, or a fleet (`--clusters`).
enum Served {
    One(SimCluster),
    Fleet(SimFleet),
}

fn say_serving(name: Option<&str>, sim: &SimCluster, started: std::time::Instant) {
    let who = name.map_or(String::new(), |n| format!("cluster {n}: "));
    eprintln!(
        "cutover sim: {who}serving the Kubernetes API at {} (started in {:.2} s)",
        sim.url(),
        started.elapsed().as_secs_f64()
    );
    if let Some(addr) = sim.metrics_addr() {
        eprintln!("cutover sim: {who}Prometheus metrics at http://{addr}/metrics");
    }
}

fn say_contexts(path: &Path, contexts: &str) {
    eprintln!(
        "cutover sim: export KUBECONFIG={}   (contexts {contexts})",
        path.display()
    );
}
