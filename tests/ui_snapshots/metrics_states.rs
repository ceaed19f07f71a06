//! The states of the metrics snapshots: checkout's canary judged from
//! hand-picked samples, and a Prometheus that fails.

use super::states::{checkout_selected, detail_state};
use super::*;

/// Where the metrics panel begins.
pub const METRICS_TITLE: &str = "── Metrics: baseline vs canary";

/// The source every metrics snapshot reads from.
const PROMETHEUS: &str = "Prometheus http://prometheus.monitoring:9090";

/// The context's metrics source arrives: Prometheus, generic profile (the
/// rollouts-pod-template-hash label tells the versions apart).
pub fn with_prometheus(state: &mut State) {
    let source = MetricsSource {
        description: PROMETHEUS.into(),
        profile: Profile::Generic,
        warning: None,
        bake: Default::default(),
    };
    update(
        state,
        Msg::MetricsSource {
            epoch: 0,
            source: Ok(source),
            at: state.now,
        },
    );
}

/// One refresh of `name`'s metrics, judged as the metrics task judges it
/// (classify, the default gates and the verdict) and delivered to `update`.
pub fn measured(state: &mut State, name: &str, measured: Measured) {
    let target = state
        .metrics_targets
        .iter()
        .find(|t| t.key.name == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is measured: {:?}", state.metrics_skipped));
    let settings = MetricsSettings::default();
    assert_eq!(
        settings.metrics.len(),
        measured.metrics.len(),
        "one fetch per default metric"
    );
    let metrics = judge::judge(&settings, &target, measured, None);
    update(
        state,
        Msg::Metrics {
            epoch: 0,
            key: target.key,
            metrics: Box::new(metrics),
            at: state.now,
        },
    );
}

/// One side of a metric: the value over the window and its samples.
fn side(current: f64, samples: &[f64]) -> SideValue {
    SideValue {
        current: Some(current),
        samples: samples.to_vec(),
    }
}

/// checkout's canary going bad over the last 5 minutes (21 samples, one
/// every 15s): the traffic is split evenly, the error ratio climbs from
/// 0.6% to 7%, p95 and p99 latency more than double, p50 does not move.
/// Measured 12s ago. In the order of the default metrics: request rate,
/// error ratio, p50, p95, p99.
pub fn failing_canary() -> Measured {
    let request_rate: Fetched = Ok((
        side(
            41.2,
            &[
                41.0, 41.4, 40.8, 41.2, 41.6, 40.9, 41.3, 41.1, 40.7, 41.5, 41.2, 41.0, 41.4, 40.8,
                41.3, 41.1, 41.6, 40.9, 41.2, 41.0, 41.3,
            ],
        ),
        side(
            40.6,
            &[
                40.6, 40.9, 40.3, 40.8, 41.0, 40.5, 40.7, 40.4, 40.9, 40.6, 40.2, 40.8, 40.5, 40.7,
                40.3, 40.6, 40.9, 40.4, 40.6, 40.5, 40.7,
            ],
        ),
    ));
    let error_ratio: Fetched = Ok((
        side(
            0.0049,
            &[
                0.0048, 0.0051, 0.0046, 0.0050, 0.0049, 0.0053, 0.0047, 0.0050, 0.0052, 0.0048,
                0.0049, 0.0051, 0.0047, 0.0050, 0.0048, 0.0052, 0.0049, 0.0046, 0.0050, 0.0051,
                0.0049,
            ],
        ),
        side(
            0.052,
            &[
                0.006, 0.008, 0.011, 0.015, 0.021, 0.028, 0.034, 0.041, 0.047, 0.052, 0.056, 0.061,
                0.063, 0.066, 0.068, 0.069, 0.071, 0.070, 0.072, 0.071, 0.073,
            ],
        ),
    ));
    let p50: Fetched = Ok((
        side(
            42.0,
            &[
                42.0, 41.0, 43.0, 42.0, 44.0, 41.0, 42.0, 43.0, 42.0, 41.0, 43.0, 42.0, 44.0, 42.0,
                41.0, 43.0, 42.0, 42.0, 43.0, 41.0, 42.0,
            ],
        ),
        side(
            42.0,
            &[
                42.0, 43.0, 41.0, 42.0, 43.0, 42.0, 44.0, 41.0, 42.0, 43.0, 42.0, 41.0, 43.0, 42.0,
                44.0, 42.0, 43.0, 41.0, 42.0, 42.0, 43.0,
            ],
        ),
    ));
    let p95: Fetched = Ok((
        side(
            120.0,
            &[
                118.0, 121.0, 119.0, 122.0, 120.0, 117.0, 123.0, 119.0, 121.0, 120.0, 118.0, 122.0,
                120.0, 119.0, 121.0, 118.0, 120.0, 122.0, 119.0, 121.0, 120.0,
            ],
        ),
        side(
            251.0,
            &[
                125.0, 131.0, 142.0, 156.0, 171.0, 189.0, 204.0, 218.0, 229.0, 241.0, 250.0, 258.0,
                266.0, 271.0, 277.0, 281.0, 286.0, 289.0, 292.0, 294.0, 296.0,
            ],
        ),
    ));
    let p99: Fetched = Ok((
        side(
            210.0,
            &[
                205.0, 212.0, 198.0, 221.0, 209.0, 215.0, 202.0, 218.0, 207.0, 211.0, 224.0, 199.0,
                213.0, 206.0, 219.0, 204.0, 210.0, 216.0, 201.0, 214.0, 208.0,
            ],
        ),
        side(
            372.0,
            &[
                215.0, 228.0, 241.0, 262.0, 284.0, 301.0, 322.0, 338.0, 351.0, 366.0, 372.0, 381.0,
                389.0, 394.0, 398.0, 402.0, 405.0, 409.0, 411.0, 412.0, 415.0,
            ],
        ),
    ));
    Measured {
        source: PROMETHEUS.into(),
        at: before_now(12),
        metrics: vec![request_rate, error_ratio, p50, p95, p99],
        requests: Ok((side(12_380.0, &[]), side(12_170.0, &[]))),
        warnings: Vec::new(),
    }
}

/// Prometheus refusing every query at `at`.
fn unreachable_source(at: DateTime<Utc>) -> Measured {
    let error = "Prometheus answered HTTP 503: no healthy upstream".to_string();
    Measured {
        source: PROMETHEUS.into(),
        at,
        metrics: vec![Err(error.clone()); MetricsSettings::default().metrics.len()],
        requests: Err(error),
        warnings: Vec::new(),
    }
}

/// checkout open, its canary judged Fail: the AnalysisRun of step 2 was
/// Successful, so the controller disagrees.
pub fn metrics_fail_state() -> State {
    let mut state = detail_state();
    with_prometheus(&mut state);
    measured(&mut state, "checkout", failing_canary());
    assert_eq!(
        state.verdict_of(&key(Kind::Rollout, "checkout")),
        Some(Verdict::Fail)
    );
    state
}

/// Fails at every refresh since 2m10s ago, the latest 8s ago.
fn failing_source(state: &mut State, name: &str) {
    measured(state, name, unreachable_source(before_now(130)));
    measured(state, name, unreachable_source(before_now(8)));
}

/// checkout open, Prometheus failing for 2 minutes: no verdict.
pub fn metrics_error_state() -> State {
    let mut state = detail_state();
    with_prometheus(&mut state);
    failing_source(&mut state, "checkout");
    assert_eq!(
        state.verdict_of(&key(Kind::Rollout, "checkout")),
        Some(Verdict::NoData)
    );
    state
}

/// The list with checkout highlighted and judged Fail, payments' source
/// failing (NoData), the Deployments not measured.
pub fn list_verdicts_state() -> State {
    let mut state = checkout_selected();
    with_prometheus(&mut state);
    measured(&mut state, "checkout", failing_canary());
    failing_source(&mut state, "payments");
    state
}
