use super::*;
use crate::behaviour::{AppTraffic, VersionProfile, VersionRule};
use crate::clock::Clock;
use crate::patch::PatchKind;
use crate::resources;
use crate::seed::insert;
use crate::store::{Propagation, WriteScope};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const NS: &str = "shop";

struct Fixture {
    store: Arc<Store>,
    behaviour: Arc<Behaviour>,
    traffic: Traffic,
}

impl Fixture {
    /// A frozen clock: time moves only when a test steps it.
    fn new() -> Self {
        let store = Arc::new(Store::new(Arc::new(Clock::new(0.0))));
        let behaviour = Arc::new(Behaviour::default());
        let traffic = Traffic::new(store.clone(), behaviour.clone());
        Fixture {
            store,
            behaviour,
            traffic,
        }
    }

    fn app(&self, app: &str, rps: f64) {
        self.behaviour.add_app(AppTraffic {
            namespace: NS.into(),
            app: app.into(),
            rps,
        });
    }

    fn rule(&self, image: &str, error_ratio: f64, p50_ms: f64, p95_ms: f64) {
        self.behaviour.add_rule(VersionRule {
            image: image.into(),
            from: DateTime::<Utc>::MIN_UTC,
            profile: VersionProfile {
                error_ratio,
                p50_ms,
                p95_ms,
                ..Default::default()
            },
        });
    }

    /// Step the clock by `seconds` and tick, in ticks of at most `every` seconds.
    fn run(&self, seconds: i64, every: i64) {
        let mut left = seconds;
        while left > 0 {
            let step = left.min(every);
            self.store.clock().advance(Duration::seconds(step));
            self.traffic.tick();
            left -= step;
        }
    }

    fn window(&self, hash: &str, seconds: i64) -> WindowStats {
        self.traffic
            .window(NS, hash, Duration::seconds(seconds))
            .unwrap_or_else(|| panic!("no traffic for {hash}"))
    }

    fn workload(&self, kind: &str, name: &str, spec: Value, status: Value) -> Arc<Value> {
        let api = if kind == "Rollout" {
            "argoproj.io/v1alpha1"
        } else {
            "apps/v1"
        };
        insert(
            &self.store,
            json!({
                "apiVersion": api, "kind": kind,
                "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
                "spec": spec, "status": status,
            }),
        )
        .unwrap()
    }

    /// A ReplicaSet of `owner` with `ready` Ready pods labelled `app` and the
    /// owner's hash label; returns the pod names.
    fn version(
        &self,
        owner: &Value,
        app: &str,
        hash: &str,
        image: &str,
        ready: usize,
    ) -> Vec<String> {
        let hash_label = if owner["kind"] == "Rollout" {
            "rollouts-pod-template-hash"
        } else {
            "pod-template-hash"
        };
        let labels = json!({"app": app, hash_label: hash});
        let owner_name = owner["metadata"]["name"].as_str().unwrap();
        let rs = insert(
            &self.store,
            json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": format!("{owner_name}-{hash}"), "namespace": NS, "labels": labels,
                             "ownerReferences": [owner_ref(owner)]},
                "spec": {"replicas": ready, "selector": {"matchLabels": labels}},
            }),
        )
        .unwrap();
        (0..ready)
            .map(|i| {
                let name = format!("{owner_name}-{hash}-p{i}");
                insert(
                    &self.store,
                    json!({
                        "apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": name, "namespace": NS, "labels": labels,
                                     "ownerReferences": [owner_ref(&rs)]},
                        "spec": {"containers": [{"name": "app", "image": image}]},
                        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
                    }),
                )
                .unwrap();
                name
            })
            .collect()
    }

    fn set_ready(&self, pod: &str, ready: bool) {
        let body = json!({"status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
        self.store
            .patch(
                resources::lookup("", "v1", "pods").unwrap(),
                NS,
                pod,
                PatchKind::Merge,
                body.to_string().as_bytes(),
                WriteScope::Whole,
                false,
            )
            .unwrap();
    }

    /// An Argo canary Rollout routed by Istio at `canary_weight` %, with
    /// `stable` and `canary` ready pods.
    fn istio_canary(&self, canary_weight: u32, stable: usize, canary: usize) {
        let rollout = self.workload(
            "Rollout",
            "checkout",
            json!({"strategy": {"canary": {
                "canaryService": "checkout-canary", "stableService": "checkout-stable",
                "trafficRouting": {"istio": {"virtualService": {"name": "checkout"}}},
            }}}),
            json!({"stableRS": "stable1", "canary": {"weights": {
                "canary": {"podTemplateHash": "canary1", "weight": canary_weight, "serviceName": "checkout-canary"},
                "stable": {"podTemplateHash": "stable1", "weight": 100 - canary_weight, "serviceName": "checkout-stable"},
            }}}),
        );
        self.version(&rollout, "checkout", "stable1", "reg/checkout:1.0", stable);
        self.version(&rollout, "checkout", "canary1", "reg/checkout:2.0", canary);
    }
}

fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "controller": true,
    })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// One sample of the exposition.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parse the text format strictly, line by line: every family announced by
/// HELP and TYPE before its samples, every sample `name{labels} value`.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut family: Option<(String, String)> = None;
    let mut help: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest.split(' ').next().unwrap().to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert_eq!(help.as_deref(), Some(name), "HELP comes before TYPE");
            assert!(["counter", "histogram"].contains(&kind), "{line}");
            family = Some((name.to_string(), kind.to_string()));
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line {line:?}"
        );
        let (name, rest) = line.split_once('{').expect("labels");
        let (fam, kind) = family.as_ref().expect("a sample before any TYPE");
        let allowed = match kind.as_str() {
            "counter" => vec![fam.clone()],
            _ => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{fam}{s}"))
                .collect(),
        };
        assert!(
            allowed.contains(&name.to_string()),
            "{name} outside its family {fam}"
        );
        let mut labels = BTreeMap::new();
        let mut chars = rest.chars().peekable();
        loop {
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            assert!(
                key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !key.is_empty(),
                "label name {key:?} in {line}"
            );
            assert_eq!(chars.next(), Some('"'));
            let mut value = String::new();
            loop {
                match chars.next().expect("closing quote") {
                    '\\' => value.push(match chars.next().unwrap() {
                        'n' => '\n',
                        c => c,
                    }),
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
            match chars.next() {
                Some(',') => continue,
                Some('}') => break,
                other => panic!("unexpected {other:?} in {line}"),
            }
        }
        assert_eq!(chars.next(), Some(' '));
        let value: String = chars.collect();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        assert!(value.is_finite() && value >= 0.0, "{line}");
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

fn keys(s: &Sample) -> BTreeSet<&str> {
    s.labels.keys().map(String::as_str).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

#[test]
fn counters_are_the_expected_values_of_the_profile() {
    let f = Fixture::new();
    f.app("web", 10.0);
    let web = f.workload("Deployment", "web", json!({}), json!({}));
    let pods = f.version(&web, "web", "aaa", "reg/web:1", 2);
    f.traffic.tick();
    f.run(60, 60);
    let w = f.window("aaa", 60);
    assert!(close(w.requests, 600.0), "{w:?}");
    assert!(close(w.errors, 600.0 * 0.002), "{w:?}");
    f.run(30, 7);
    let w = f.window("aaa", 3600);
    assert!(close(w.requests, 900.0), "{w:?}");

    let samples = parse(&f.traffic.render());
    for pod in &pods {
        let value = |code: &str| {
            samples
                .iter()
                .find(|s| {
                    s.name == "http_requests_total"
                        && s.labels["pod"] == *pod
                        && s.labels["code"] == code
                })
                .unwrap()
                .value
        };
        assert!(close(value("200"), 450.0 * 0.998), "{}", value("200"));
        assert!(close(value("500"), 450.0 * 0.002), "{}", value("500"));
    }
}

#[test]
fn canary_weights_of_80_20_split_requests_4_to_1() {
    let f = Fixture::new();
    f.app("checkout", 100.0);
    f.istio_canary(20, 4, 1);
    f.traffic.tick();
    f.run(120, 3);
    let stable = f.window("stable1", 60);
    let canary = f.window("canary1", 60);
    assert!(
        close(stable.requests / canary.requests, 4.0),
        "{stable:?} {canary:?}"
    );
    assert!(close(stable.requests + canary.requests, 100.0 * 60.0));
}

#[test]
fn error_ratio_and_quantiles_follow_each_versions_profile() {
    let f = Fixture::new();
    f.app("checkout", 100.0);
    f.rule("checkout:1.0", 0.005, 80.0, 200.0);
    f.rule("checkout:2.0", 0.05, 150.0, 450.0);
    f.istio_canary(20, 4, 1);
    f.traffic.tick();
    f.run(300, 10);
    let stable = f.window("stable1", 120);
    let canary = f.window("canary1", 120);
    assert!(close(stable.error_ratio().unwrap(), 0.005));
    assert!(close(canary.error_ratio().unwrap(), 0.05));
    // Bucket bounds around each configured quantile: the estimate interpolates inside them.
    assert!((100.0..=250.0).contains(&stable.p95_ms), "{stable:?}");
    assert!((250.0..=500.0).contains(&canary.p95_ms), "{canary:?}");
    assert!((50.0..=100.0).contains(&stable.p50_ms), "{stable:?}");
    assert!((100.0..=250.0).contains(&canary.p50_ms), "{canary:?}");
    assert!(canary.p99_ms >= canary.p95_ms && canary.p95_ms >= canary.p50_ms);
}

#[test]
fn a_version_that_turns_bad_shows_in_later_windows_only() {
    let f = Fixture::new();
    f.app("web", 10.0);
    let start = f.store.clock().now();
    f.behaviour.add_rule(VersionRule {
        image: "web:2".into(),
        from: start + Duration::minutes(3),
        profile: VersionProfile {
            error_ratio: 0.2,
            ..Default::default()
        },
    });
    let web = f.workload("Deployment", "web", json!({}), json!({}));
    f.version(&web, "web", "bbb", "reg/web:2", 1);
    f.traffic.tick();
    // One jump over the change: the tick still sees it within a step.
    f.run(300, 300);
    let last_minute = f.window("bbb", 60);
    assert!(close(last_minute.error_ratio().unwrap(), 0.2));
    let all = f.window("bbb", 300);
    assert!(
        close(all.error_ratio().unwrap(), (3.0 * 0.002 + 2.0 * 0.2) / 5.0),
        "{all:?}"
    );
}

#[test]
fn a_window_reaches_up_to_now_between_ticks() {
    let f = Fixture::new();
    f.app("web", 10.0);
    let web = f.workload("Deployment", "web", json!({}), json!({}));
    f.version(&web, "web", "aaa", "reg/web:1", 1);
    f.traffic.tick();
    f.run(60, 60);
    f.store.clock().advance(Duration::seconds(30));
    assert!(close(f.window("aaa", 60).requests, 600.0));
    assert!(f.traffic.window(NS, "zzz", Duration::seconds(60)).is_none());
}

#[test]
fn blue_green_sends_everything_to_the_active_version() {
    let f = Fixture::new();
    f.app("search", 50.0);
    let rollout = f.workload(
        "Rollout",
        "search",
        json!({"strategy": {"blueGreen": {"activeService": "search", "previewService": "search-preview"}}}),
        json!({"blueGreen": {"activeSelector": "blue", "previewSelector": "green"}}),
    );
    f.version(&rollout, "search", "blue", "reg/search:1", 2);
    f.version(&rollout, "search", "green", "reg/search:2", 2);
    f.traffic.tick();
    f.run(60, 5);
    assert!(close(f.window("blue", 60).requests, 3000.0));
    assert!(
        f.traffic
            .window(NS, "green", Duration::seconds(60))
            .is_none()
    );
    let text = f.traffic.render();
    assert!(
        !text.contains("istio_requests_total"),
        "blue-green has no mesh here"
    );
}

#[test]
fn without_a_router_requests_follow_ready_pods_and_skip_unready_ones() {
    let f = Fixture::new();
    f.app("web", 40.0);
    let rollout = f.workload(
        "Rollout",
        "web",
        json!({"strategy": {"canary": {"steps": []}}}),
        json!({}),
    );
    f.version(&rollout, "web", "old", "reg/web:1", 3);
    let new = f.version(&rollout, "web", "new", "reg/web:2", 2);
    f.traffic.tick();
    f.run(10, 5);
    assert!(close(
        f.window("old", 10).requests / f.window("new", 10).requests,
        1.5
    ));
    f.set_ready(&new[1], false);
    f.run(10, 5);
    assert!(close(
        f.window("old", 10).requests / f.window("new", 10).requests,
        3.0
    ));
}

#[test]
fn flagger_splits_primary_and_canary_by_the_canary_weight() {
    let f = Fixture::new();
    f.app("podinfo", 100.0);
    insert(
        &f.store,
        json!({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": NS},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"}},
            "status": {"phase": "Progressing", "canaryWeight": 30},
        }),
    )
    .unwrap();
    let primary = f.workload("Deployment", "podinfo-primary", json!({}), json!({}));
    let canary = f.workload("Deployment", "podinfo", json!({}), json!({}));
    f.version(&primary, "podinfo-primary", "prim", "reg/podinfo:1", 2);
    f.version(&canary, "podinfo", "cana", "reg/podinfo:2", 1);
    f.traffic.tick();
    f.run(60, 5);
    assert!(close(f.window("prim", 60).requests, 70.0 * 60.0));
    assert!(close(f.window("cana", 60).requests, 30.0 * 60.0));

    let samples = parse(&f.traffic.render());
    let workloads: BTreeSet<(&str, &str)> = samples
        .iter()
        .filter(|s| s.name == "istio_requests_total")
        .map(|s| {
            (
                s.labels["destination_workload"].as_str(),
                s.labels["destination_service_name"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        workloads,
        [
            ("podinfo", "podinfo-canary"),
            ("podinfo-primary", "podinfo-primary")
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn flagger_weights_come_from_the_route_while_the_status_reads_zero() {
    let f = Fixture::new();
    f.app("podinfo", 100.0);
    insert(
        &f.store,
        json!({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": NS},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"}},
            "status": {"phase": "WaitingPromotion", "canaryWeight": 0},
        }),
    )
    .unwrap();
    insert(
        &f.store,
        json!({
            "apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
            "metadata": {"name": "podinfo", "namespace": NS},
            "spec": {"http": [{"route": [
                {"destination": {"host": "podinfo-primary"}, "weight": 50},
                {"destination": {"host": "podinfo-canary"}, "weight": 50},
            ]}]},
        }),
    )
    .unwrap();
    let primary = f.workload("Deployment", "podinfo-primary", json!({}), json!({}));
    let canary = f.workload("Deployment", "podinfo", json!({}), json!({}));
    f.version(&primary, "podinfo-primary", "prim", "reg/podinfo:1", 2);
    f.version(&canary, "podinfo", "cana", "reg/podinfo:2", 1);
    f.traffic.tick();
    f.run(60, 5);
    assert!(close(f.window("prim", 60).requests, 50.0 * 60.0));
    assert!(close(f.window("cana", 60).requests, 50.0 * 60.0));
}

#[test]
fn the_exposition_parses_and_carries_the_expected_names_and_labels() {
    let f = Fixture::new();
    f.app("checkout", 100.0);
    f.app("frontend", 30.0);
    f.istio_canary(20, 2, 1);
    let frontend = f.workload("Deployment", "frontend", json!({}), json!({}));
    f.version(&frontend, "frontend", "fff", "reg/frontend:1", 2);
    f.traffic.tick();
    f.run(30, 5);
    let samples = parse(&f.traffic.render());
    let names: BTreeSet<&str> = samples.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        set(&[
            "http_requests_total",
            "http_request_duration_seconds_bucket",
            "http_request_duration_seconds_sum",
            "http_request_duration_seconds_count",
            "istio_requests_total",
            "istio_request_duration_milliseconds_bucket",
            "istio_request_duration_milliseconds_sum",
            "istio_request_duration_milliseconds_count",
        ])
    );
    for s in &samples {
        let hash = if s.labels.get("app").is_some_and(|a| a == "frontend") {
            "pod_template_hash"
        } else {
            "rollouts_pod_template_hash"
        };
        let expected = match s.name.as_str() {
            "http_requests_total" => set(&["namespace", "app", "pod", hash, "code"]),
            "http_request_duration_seconds_bucket" => set(&["namespace", "app", "pod", hash, "le"]),
            n if n.starts_with("http_request_duration_seconds") => {
                set(&["namespace", "app", "pod", hash])
            }
            n => {
                let mut k = set(&[
                    "reporter",
                    "destination_workload",
                    "destination_workload_namespace",
                    "destination_service_name",
                    "destination_version",
                    "response_code",
                    "pod",
                ]);
                if n.ends_with("_bucket") {
                    k.insert("le");
                }
                assert_eq!(s.labels["reporter"], "destination");
                assert_eq!(s.labels["destination_workload"], "checkout");
                assert_eq!(s.labels["destination_workload_namespace"], NS);
                assert!(s.labels["pod"].starts_with("checkout-"), "{s:?}");
                k
            }
        };
        assert_eq!(keys(s), expected, "{s:?}");
    }
    // Buckets rise to +Inf, which equals the count.
    let first_pod = &samples[0].labels["pod"];
    let buckets: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == "http_request_duration_seconds_bucket" && &s.labels["pod"] == first_pod
        })
        .collect();
    assert_eq!(buckets.len(), 12);
    assert!(buckets.windows(2).all(|w| w[0].value <= w[1].value));
    assert_eq!(buckets.last().unwrap().labels["le"], "+Inf");
    let count = samples
        .iter()
        .find(|s| s.name == "http_request_duration_seconds_count" && &s.labels["pod"] == first_pod)
        .unwrap();
    assert!(close(buckets.last().unwrap().value, count.value));
    // The Istio canary series name the canary Service.
    let canary_series = samples
        .iter()
        .find(|s| s.name == "istio_requests_total" && s.labels["pod"].contains("canary1"))
        .unwrap();
    assert_eq!(
        canary_series.labels["destination_service_name"],
        "checkout-canary"
    );
    assert_eq!(canary_series.labels["destination_version"], "unknown");
    let ms_buckets = samples
        .iter()
        .filter(|s| {
            s.name == "istio_request_duration_milliseconds_bucket"
                && s.labels["pod"] == canary_series.labels["pod"]
                && s.labels["response_code"] == "200"
        })
        .count();
    assert_eq!(ms_buckets, 20);
}

#[test]
fn deleted_pods_leave_the_exposition() {
    let f = Fixture::new();
    f.app("web", 10.0);
    let web = f.workload("Deployment", "web", json!({}), json!({}));
    let pods = f.version(&web, "web", "aaa", "reg/web:1", 2);
    f.traffic.tick();
    f.run(10, 5);
    assert!(f.traffic.render().contains(&pods[0]));
    f.store
        .delete(
            resources::lookup("", "v1", "pods").unwrap(),
            NS,
            &pods[0],
            Propagation::Background,
            false,
        )
        .unwrap();
    f.run(10, 5);
    let text = f.traffic.render();
    assert!(!text.contains(&pods[0]));
    assert!(text.contains(&pods[1]));
    // The version's history stays: a window still counts what the pod served.
    assert!(close(f.window("aaa", 20).requests, 200.0));
}

#[tokio::test]
async fn the_endpoint_serves_the_exposition_over_plain_http() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = Fixture::new();
    f.app("web", 10.0);
    let web = f.workload("Deployment", "web", json!({}), json!({}));
    f.version(&web, "web", "aaa", "reg/web:1", 1);
    f.traffic.tick();
    f.run(10, 5);
    let traffic = Arc::new(f.traffic);
    let (addr, task) = serve_metrics(traffic, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let get = |path: &'static str| async move {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).await.unwrap();
        response
    };
    let response = get("/metrics").await;
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert!(!parse(body).is_empty());
    assert!(get("/other").await.starts_with("HTTP/1.0 404"));
    task.abort();
}

/// 2,000 releases × 20 pods: a steady tick must stay far below 100 ms.
/// A measurement, so run it optimized: `cargo test --release -- --ignored a_tick_at_scale`.
#[test]
#[ignore = "a timing measurement; run with --release"]
fn a_tick_at_scale_is_cheap() {
    let f = Fixture::new();
    for r in 0..2000 {
        let name = format!("svc-{r:04}");
        f.app(&name, 20.0);
        let d = f.workload("Deployment", &name, json!({}), json!({}));
        f.version(&d, &name, &format!("h{r:04}"), &format!("reg/{name}:1"), 20);
    }
    let started = std::time::Instant::now();
    f.run(1, 1);
    eprintln!("first tick (full list): {:?}", started.elapsed());
    let mut slowest = std::time::Duration::ZERO;
    let all = std::time::Instant::now();
    for _ in 0..20 {
        let t = std::time::Instant::now();
        f.run(1, 1);
        slowest = slowest.max(t.elapsed());
    }
    eprintln!(
        "steady ticks: mean {:?}, slowest {slowest:?}",
        all.elapsed() / 20
    );
    let t = std::time::Instant::now();
    let text = f.traffic.render();
    eprintln!("render: {:?}, {} MB", t.elapsed(), text.len() / 1_000_000);
    assert!(
        slowest < std::time::Duration::from_millis(100),
        "{slowest:?}"
    );
}
