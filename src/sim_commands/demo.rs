//! `cutover demo`: the simulated cluster in-process, or a fleet of them,
//! and the control room on it, measuring the simulated traffic directly.

use super::{start_fleet, start_sim};
use color_eyre::eyre::{Result, bail, eyre};
use cutover::cli::{DemoArgs, DemoPlan, UiArgs};
use cutover::cluster::answer_limit::DEFAULT_MAX_ANSWER_BYTES;
use cutover::cluster::connect::ConnectOptions;
use cutover::fleet::ContextPlan;
use cutover::metrics::source::{TrafficWindow, TrafficWindowSource};
use cutover::signals::QuitSignal;
use cutover_sim::scenario::Scenario;
use cutover_sim::traffic::Traffic;
use cutover_sim::{FleetMember, SimCluster, SimConfig};
use std::path::Path;
use std::sync::Arc;

/// The adapter from the simulator's traffic to the product's in-process
/// metrics source: the same numbers its Prometheus endpoint serves, without
/// a Prometheus.
struct SimulatedTraffic(Arc<Traffic>);

impl TrafficWindowSource for SimulatedTraffic {
    fn describe(&self) -> String {
        "the simulated cluster's traffic (in-process)".into()
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.now()
    }

    fn window(
        &self,
        namespace: &str,
        version: &str,
        span: std::time::Duration,
        ago: std::time::Duration,
    ) -> Option<TrafficWindow> {
        let chrono = |d| chrono::Duration::from_std(d).unwrap_or_default();
        let w = self
            .0
            .window_ending(namespace, version, chrono(span), chrono(ago))?;
        Some(TrafficWindow {
            requests: w.requests,
            errors: w.errors,
            p50_ms: w.p50_ms,
            p95_ms: w.p95_ms,
            p99_ms: w.p99_ms,
        })
    }
}

/// The simulated cluster in-process (or a fleet of them), and the control
/// room on it.
pub(super) async fn demo(args: DemoArgs, ui: &UiArgs) -> Result<Option<QuitSignal>> {
    let plan = args.plan().map_err(|e| eyre!(e))?;
    let scenarios = match &plan {
        DemoPlan::One(scenario) => vec![scenario.as_str()],
        DemoPlan::Fleet(clusters) => clusters.iter().map(|(_, s)| s.as_str()).collect(),
    };
    if scenarios.contains(&"scale") {
        bail!(
            "the scale scenario has no releases in namespace shop, the demo's: run it with \
             `cutover sim serve --scenario scale`, then `cutover -A --kubeconfig FILE` with the \
             kubeconfig it prints"
        );
    }
    let config = |scenario: &str| -> Result<SimConfig> {
        Ok(SimConfig {
            time_scale: args.time_scale,
            ..SimConfig::scenario(Scenario::load(scenario)?)
        })
    };
    let keep_kubeconfig = args.kubeconfig_out.is_some();
    let (result, path) = match plan {
        DemoPlan::One(scenario) => {
            let (sim, path) = start_sim(config(&scenario)?, args.kubeconfig_out, "shop").await?;
            let shown = vec![ContextPlan::one(connect(&path, "sim-admin"))];
            let in_process = vec![("sim-admin".to_string(), simulated(&sim))];
            let result = cutover::cli::control_room(shown, ui, None, in_process).await;
            sim.shutdown().await;
            (result, path)
        }
        DemoPlan::Fleet(clusters) => {
            let members = clusters
                .iter()
                .map(|(name, scenario)| {
                    Ok(FleetMember {
                        name: name.clone(),
                        config: config(scenario)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let (fleet, path) = start_fleet(members, args.kubeconfig_out, "shop").await?;
            let mut shown = Vec::new();
            let mut in_process = Vec::new();
            for (name, sim) in fleet.clusters() {
                let context = format!("{name}-admin");
                shown.push(ContextPlan {
                    connect: connect(&path, &context),
                    alias: Some(name.to_string()),
                });
                in_process.push((context, simulated(sim)));
            }
            let result = cutover::cli::control_room(shown, ui, None, in_process).await;
            fleet.shutdown().await;
            (result, path)
        }
    };
    if !keep_kubeconfig {
        let _ = std::fs::remove_file(&path);
    }
    result
}

/// The demo's connection to `context` of the kubeconfig at `path`, in shop.
fn connect(path: &Path, context: &str) -> ConnectOptions {
    ConnectOptions {
        kubeconfig: Some(path.to_path_buf()),
        context: Some(context.into()),
        namespace: Some("shop".into()),
        all_namespaces: false,
        request_timeout: None,
        max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
    }
}

/// The traffic of `sim`, measured in-process.
fn simulated(sim: &SimCluster) -> Arc<dyn TrafficWindowSource> {
    Arc::new(SimulatedTraffic(sim.traffic().clone()))
}
