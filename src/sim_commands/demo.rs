//! `cutover demo`: the simulated cluster in-process, and the control room
//! on it, measuring the simulated traffic directly.

use super::start_sim;
use color_eyre::eyre::{Result, bail};
use cutover::cli::{DemoArgs, UiArgs};
use cutover::cluster::answer_limit::DEFAULT_MAX_ANSWER_BYTES;
use cutover::cluster::connect::ConnectOptions;
use cutover::metrics::source::{TrafficWindow, TrafficWindowSource};
use cutover::signals::QuitSignal;
use cutover_sim::SimConfig;
use cutover_sim::scenario::Scenario;
use cutover_sim::traffic::Traffic;
use std::sync::Arc;

/// The adapter from the simulator's traffic to the product's in-process
/// metrics source: the same numbers its Prometheus endpoint serves, without
/// a Prometheus.
struct SimulatedTraffic(Arc<Traffic>);

impl TrafficWindowSource for SimulatedTraffic {
    fn describe(&self) -> String {
        "the simulated cluster's traffic (in-process)".into()
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

/// The simulated cluster in-process, and the control room on it.
pub(super) async fn demo(args: DemoArgs, ui: &UiArgs) -> Result<Option<QuitSignal>> {
    if args.scenario == "scale" {
        bail!(
            "the scale scenario has no releases in namespace shop, the demo's: run it with \
             `cutover sim serve --scenario scale`, then `cutover -A --kubeconfig FILE` with the \
             kubeconfig it prints"
        );
    }
    let config = SimConfig {
        time_scale: args.time_scale,
        ..SimConfig::scenario(Scenario::load(&args.scenario)?)
    };
    let keep_kubeconfig = args.kubeconfig_out.is_some();
    let (sim, path) = start_sim(config, args.kubeconfig_out, "shop").await?;
    let connect = ConnectOptions {
        kubeconfig: Some(path.clone()),
        context: Some("sim-admin".into()),
        namespace: Some("shop".into()),
        all_namespaces: false,
        request_timeout: None,
        max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
    };
    let traffic: Arc<dyn TrafficWindowSource> = Arc::new(SimulatedTraffic(sim.traffic().clone()));
    let shown = vec![cutover::fleet::ContextPlan::one(connect)];
    let in_process = vec![("sim-admin".to_string(), traffic)];
    let result = cutover::cli::control_room(shown, ui, None, in_process).await;
    sim.shutdown().await;
    if !keep_kubeconfig {
        let _ = std::fs::remove_file(&path);
    }
    result
}
