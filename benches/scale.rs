//! The control room at the size of the simulator's `scale` scenario: 2,000
//! Argo canaries of 20 pods each (40,000 pods, 4,000 ReplicaSets). Measured:
//! the update step for one watch burst (one rollout changed, the reflector's
//! whole set handed over, as the watches do), and a full frame of the list
//! and of a release's detail on a 200×60 terminal.
//!
//! Before criterion's own report, each prints p50 and p99 over single runs:
//! a frame's worst case is what an on-call engineer feels.
//!
//!     cargo bench --bench scale             # all
//!     cargo bench --bench scale -- draw     # the draws only

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use cutover::app::keymap::Keymap;
use cutover::app::state::{State, View};
use cutover::app::update::{Msg, update};
use cutover::cluster::kinds::WatchedKind;
use cutover::cluster::projection::{PodSummary, project};
use cutover::cluster::watch::SourceUpdate;
use cutover::ui::theme::Theme;
use kube::api::DynamicObject;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RELEASES: usize = 2_000;
/// Per release, half on the stable ReplicaSet and half on the canary's.
const PODS: usize = 20;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;

/// One release of the shared Argo canary fixture: its Rollout, the stable
/// and canary ReplicaSets and one pod of each.
struct Template {
    rollout: Value,
    replica_sets: Vec<Value>,
    pods: Vec<Value>,
}

fn template() -> Template {
    let text = include_str!("../tests/fixtures/argo-canary.yaml");
    let mut template = Template {
        rollout: Value::Null,
        replica_sets: Vec::new(),
        pods: Vec::new(),
    };
    for document in serde_yaml::Deserializer::from_str(text) {
        let object: Value = serde::Deserialize::deserialize(document).expect("fixture YAML");
        match object["kind"].as_str() {
            Some("Rollout") => template.rollout = object,
            Some("ReplicaSet") => template.replica_sets.push(object),
            Some("Pod") => template.pods.push(object),
            _ => {}
        }
    }
    template
}

/// The template with every name and uid made release `index`'s own.
fn renamed(object: &Value, index: usize, suffix: &str) -> DynamicObject {
    let text = serde_json::to_string(object)
        .expect("JSON")
        .replace("checkout", &format!("svc-{index:05}"))
        .replace("\"uid\":\"pod-", &format!("\"uid\":\"pod{suffix}-"));
    let mut object: DynamicObject = serde_json::from_str(&text).expect("an object");
    if !suffix.is_empty() {
        let name = object.metadata.name.take().unwrap_or_default();
        object.metadata.name = Some(format!("{name}{suffix}"));
    }
    object
}

struct Cluster {
    rollouts: Vec<Arc<DynamicObject>>,
    replica_sets: Vec<Arc<DynamicObject>>,
    pods: Vec<Arc<PodSummary>>,
}

fn cluster() -> Cluster {
    let template = template();
    let mut cluster = Cluster {
        rollouts: Vec::new(),
        replica_sets: Vec::new(),
        pods: Vec::new(),
    };
    for index in 0..RELEASES {
        cluster
            .rollouts
            .push(Arc::new(renamed(&template.rollout, index, "")));
        for rs in &template.replica_sets {
            let mut rs = renamed(rs, index, "");
            project(&mut rs, WatchedKind::ReplicaSet);
            cluster.replica_sets.push(Arc::new(rs));
        }
        for replica in 0..PODS {
            let pod = &template.pods[replica % template.pods.len()];
            let pod = renamed(pod, index, &format!("-{replica}"));
            cluster.pods.push(Arc::new(PodSummary::from(pod)));
        }
    }
    cluster
}

fn objects(source: &str, kind: WatchedKind, objects: &[Arc<DynamicObject>]) -> SourceUpdate {
    SourceUpdate::Objects {
        source: source.into(),
        kind,
        objects: objects.to_vec(),
        at: now(),
    }
}

fn now() -> DateTime<Utc> {
    "2026-03-01T12:10:00Z".parse().expect("a time")
}

/// The control room with the whole cluster listed.
fn listed(cluster: &Cluster) -> State {
    let mut state = State::new(now(), true, Keymap::default());
    let updates = vec![
        objects("rollouts", WatchedKind::Rollout, &cluster.rollouts),
        objects(
            "replicasets/argo",
            WatchedKind::ReplicaSet,
            &cluster.replica_sets,
        ),
        SourceUpdate::Pods {
            source: "pods/argo".into(),
            pods: cluster.pods.clone(),
            at: now(),
        },
    ];
    let epoch = state.epoch;
    update(&mut state, Msg::Source { epoch, updates });
    assert_eq!(state.releases.len(), RELEASES, "every release built");
    state
}

/// A burst as the rollouts' watch sends it when one rollout's status moved
/// to `step`.
fn one_rollout_moved(cluster: &Cluster, epoch: u64, step: usize) -> Msg {
    let mut rollouts = cluster.rollouts.clone();
    let mut moved = (*rollouts[RELEASES / 2]).clone();
    moved.data["status"]["currentStepIndex"] = step.into();
    rollouts[RELEASES / 2] = Arc::new(moved);
    Msg::Source {
        epoch,
        updates: vec![objects("rollouts", WatchedKind::Rollout, &rollouts)],
    }
}

/// p50 and p99 of `runs` single runs of `step`, printed; `prepare` makes
/// each run's input, untimed.
fn percentiles<T>(
    name: &str,
    runs: usize,
    mut prepare: impl FnMut() -> T,
    mut step: impl FnMut(T),
) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let input = prepare();
            let start = Instant::now();
            step(input);
            start.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((runs as f64 - 1.0) * q).round() as usize];
    println!(
        "{name}: p50 {:.2} ms, p99 {:.2} ms over {runs} runs",
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}

fn update_step(c: &mut Criterion) {
    let cluster = cluster();
    let mut state = listed(&cluster);
    let epoch = state.epoch;
    // A new version of the rollout each time, as the watch delivers it.
    let mut step = 0;
    let mut moved = || {
        step += 1;
        one_rollout_moved(&cluster, epoch, step % 5)
    };
    let name = "update: one rollout moved, 2,000 releases";
    percentiles(name, 200, &mut moved, |msg| {
        black_box(update(&mut state, msg));
    });
    c.bench_function(name, |b| {
        b.iter_batched(
            &mut moved,
            |msg| black_box(update(&mut state, msg)),
            BatchSize::SmallInput,
        )
    });
}

fn draw(c: &mut Criterion) {
    let cluster = cluster();
    let theme = Theme::for_environment(false);
    let mut state = listed(&cluster);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a terminal");
    let mut frame = |state: &State| {
        terminal
            .draw(|frame| cutover::ui::draw(frame, state, &theme))
            .expect("drawn");
    };
    let list = "draw: list of 2,000 releases, 200×60";
    percentiles(list, 500, || (), |()| frame(&state));
    c.bench_function(list, |b| b.iter(|| frame(&state)));

    let key = state.releases[RELEASES / 2].key.clone();
    state.selected = Some(key.clone());
    state.view = View::Detail(key);
    let detail = "draw: detail of one of 2,000 releases, 200×60";
    percentiles(detail, 500, || (), |()| frame(&state));
    c.bench_function(detail, |b| b.iter(|| frame(&state)));
}

criterion_group!(benches, update_step, draw);
criterion_main!(benches);
