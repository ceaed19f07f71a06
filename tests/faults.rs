mod support;

// Fault injection and the raw HTTP face of the simulated cluster: the admin
// endpoint `/_sim/...`, injected errors and latency, cut and expired watch
// streams, outages, and the exact shape of Status errors.
//
// Raw requests go through `kube::Client::send`, which adds the base URL, the
// CA and (unless removed) the bearer token, and hands back the untouched
// HTTP response: status, headers and body, streamed for watches.

use cutover_sim::faults::FaultSettings;
use cutover_sim::patch::PatchKind;
use cutover_sim::resources::{self, ResourceDef};
use cutover_sim::store::{Propagation, WriteScope};
use cutover_sim::{SimCluster, SimConfig};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Only bounds a wait that would otherwise hang; never a performance claim.
const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq)]
enum Who {
    Admin,
    Viewer,
    Nobody,
}

async fn start() -> SimCluster {
    SimCluster::start(SimConfig::default())
        .await
        .expect("start the simulated cluster")
}

/// A client that sends requests as `who` and never retries on its own, so
/// every answer of the server is seen as it is.
async fn client(sim: &SimCluster, who: Who) -> kube::Client {
    let kubeconfig = Kubeconfig::from_yaml(&sim.kubeconfig_yaml("shop")).expect("kubeconfig");
    let context = match who {
        Who::Viewer => "sim-viewer",
        Who::Admin | Who::Nobody => "sim-admin",
    };
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("client config");
    if who == Who::Nobody {
        config.auth_info = Default::default();
    }
    config.default_retry = false;
    kube::Client::try_from(config).expect("client")
}

fn res(group: &str, version: &str, plural: &str) -> &'static ResourceDef {
    resources::lookup(group, version, plural).expect("served resource")
}

fn pods_res() -> &'static ResourceDef {
    res("", "v1", "pods")
}

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> http::Response<Body> {
    let mut request = http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        request = request.header(http::header::CONTENT_TYPE, ct);
    }
    let request = request
        .body(Body::from(body.to_vec()))
        .expect("a valid request");
    client.send(request).await.expect("the server answers")
}

/// Send a request and read the whole answer as JSON.
async fn call(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let ct = body.map(|_| "application/json");
    call_raw(client, method, path, ct, &bytes).await
}

async fn call_raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let resp = send(client, method, path, content_type, body).await;
    let code = resp.status().as_u16();
    let bytes = tokio::time::timeout(WAIT, resp.into_body().collect_bytes())
        .await
        .expect("the body arrives")
        .expect("read the body");
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "{method} {path} answered {code} with a body that is not JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (code, value)
}

/// Check the common shape of a failure Status and that the HTTP code agrees.
fn assert_status(http_code: u16, body: &Value, code: u16, reason: &str) {
    assert_eq!(http_code, code, "HTTP status; body {body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["apiVersion"], "v1", "{body}");
    assert_eq!(body["status"], "Failure", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message: {body}"
    );
}

/// The lines of a watch response, one JSON event each.
struct WatchLines {
    body: Body,
    buf: Vec<u8>,
}

impl WatchLines {
    async fn open(client: &kube::Client, path: &str) -> WatchLines {
        let resp = send(client, "GET", path, None, b"").await;
        assert_eq!(
            resp.status().as_u16(),
            200,
            "a watch is answered 200: {path}"
        );
        WatchLines {
            body: resp.into_body(),
            buf: Vec::new(),
        }
    }

    /// The next event, or None when the server ended the stream.
    async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(serde_json::from_slice(&line).unwrap_or_else(|e| {
                    panic!(
                        "a watch line is not JSON ({e}): {}",
                        String::from_utf8_lossy(&line)
                    )
                }));
            }
            let frame = tokio::time::timeout(WAIT, self.body.frame())
                .await
                .expect("the watch stream neither sent an event nor ended");
            match frame {
                None => {
                    assert!(
                        self.buf.iter().all(u8::is_ascii_whitespace),
                        "the stream ended inside a line: {}",
                        String::from_utf8_lossy(&self.buf)
                    );
                    return None;
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => panic!("the watch stream failed instead of ending: {e}"),
            }
        }
    }

    /// Every event until the server ends the stream.
    async fn rest(&mut self) -> Vec<Value> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

fn event_type(event: &Value) -> &str {
    event["type"].as_str().unwrap_or("")
}

fn object_name(event: &Value) -> &str {
    event["object"]["metadata"]["name"].as_str().unwrap_or("")
}

fn object_rv(event: &Value) -> u64 {
    event["object"]["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_else(|| panic!("an event with a resourceVersion: {event}"))
}

async fn pods_rv(client: &kube::Client) -> String {
    let (code, list) = call(client, "GET", "/api/v1/namespaces/shop/pods", None).await;
    assert_eq!(code, 200, "{list}");
    list["metadata"]["resourceVersion"]
        .as_str()
        .expect("a list resourceVersion")
        .to_string()
}

fn new_pod(sim: &SimCluster, name: &str) -> u64 {
    let pod = sim
        .store()
        .create(
            pods_res(),
            "shop",
            json!({"metadata": {"name": name, "labels": {"app": "raw"}}}),
            WriteScope::Main,
            false,
        )
        .expect("create a pod");
    pod["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_admin_endpoint_needs_the_admin_token() {
    let sim = start().await;
    let (code, body) = call(
        &client(&sim, Who::Viewer).await,
        "GET",
        "/_sim/faults",
        None,
    )
    .await;
    assert_status(code, &body, 403, "Forbidden");
    let (code, body) = call(
        &client(&sim, Who::Nobody).await,
        "GET",
        "/_sim/faults",
        None,
    )
    .await;
    assert_status(code, &body, 401, "Unauthorized");
    // Nor may a viewer switch faults on.
    let viewer = client(&sim, Who::Viewer).await;
    let (code, body) = call(&viewer, "POST", "/_sim/faults/gone?count=3", None).await;
    assert_status(code, &body, 403, "Forbidden");
    assert_eq!(sim.faults().forced_gone_left(), 0);

    let (code, body) = call(&client(&sim, Who::Admin).await, "GET", "/_sim/faults", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["latencyMs"], 0, "{body}");
    assert_eq!(body["errorRate"], 0.0, "{body}");
    assert_eq!(body["errorStatus"], 503, "{body}");
    assert_eq!(body["forcedGone"], 0, "{body}");
}

#[tokio::test]
async fn injected_errors_fail_requests_until_cleared() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "shop");
    let name = pods.list(&Default::default()).await.expect("list").items[0]
        .metadata
        .name
        .clone()
        .unwrap();

    let (code, body) = call(
        &admin,
        "PUT",
        "/_sim/faults",
        Some(&json!({"errorRate": 1.0, "errorStatus": 500})),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["errorRate"], 1.0);
    assert_eq!(body["errorStatus"], 500);
    match pods.get(&name).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 500, "{status:?}");
            assert_eq!(status.reason, "InternalError");
        }
        other => panic!("expected an injected 500, got {other:?}"),
    }

    let (code, body) = call(
        &admin,
        "PUT",
        "/_sim/faults",
        Some(&json!({"errorRate": 1.0, "errorStatus": 503})),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    match pods.get(&name).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 503, "{status:?}");
            assert_eq!(status.reason, "ServiceUnavailable");
        }
        other => panic!("expected an injected 503, got {other:?}"),
    }
    // The raw answer is a proper Status too.
    let (code, body) = call(&admin, "GET", "/api/v1/namespaces/shop/pods", None).await;
    assert_status(code, &body, 503, "ServiceUnavailable");

    // Settings that are not JSON are refused and change nothing.
    let (code, body) = call_raw(
        &admin,
        "PUT",
        "/_sim/faults",
        Some("application/json"),
        b"{",
    )
    .await;
    assert_status(code, &body, 400, "BadRequest");
    assert_eq!(sim.faults().settings().error_rate, 1.0);

    let (code, body) = call(&admin, "DELETE", "/_sim/faults", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["errorRate"], 0.0);
    let pod = pods.get(&name).await.expect("requests work again");
    assert_eq!(pod.metadata.name.as_deref(), Some(name.as_str()));
}

#[tokio::test]
async fn injected_latency_delays_answers() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "shop");
    pods.list(&Default::default()).await.expect("list");
    let (code, body) = call(
        &admin,
        "PUT",
        "/_sim/faults",
        Some(&json!({"latencyMs": 300})),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["latencyMs"], 300);
    let began = Instant::now();
    pods.list(&Default::default())
        .await
        .expect("a slow list still works");
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "a request with 300 ms injected latency took only {took:?}"
    );
    call(&admin, "DELETE", "/_sim/faults", None).await;
    assert!(sim.faults().latency().is_zero());
}

#[tokio::test]
async fn cutting_watches_ends_open_streams() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let mut watch = WatchLines::open(&admin, "/api/v1/namespaces/shop/pods?watch=1").await;
    for _ in 0..8 {
        let event = watch.next().await.expect("an initial event");
        assert_eq!(event_type(&event), "ADDED", "{event}");
    }
    let (code, body) = call(&admin, "POST", "/_sim/faults/cut-watches", None).await;
    assert_eq!(code, 200, "{body}");
    // Reading on returns at once the stream's end, not a hang.
    watch.rest().await;
    // A new watch works.
    let mut again = WatchLines::open(
        &admin,
        "/api/v1/namespaces/shop/pods?watch=1&timeoutSeconds=1",
    )
    .await;
    let events = again.rest().await;
    let added = events.iter().filter(|e| event_type(e) == "ADDED").count();
    assert_eq!(added, 8, "{events:?}");
}

#[tokio::test]
async fn forced_gone_answers_one_watch_with_410() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let rv = pods_rv(&admin).await;
    let (code, body) = call(&admin, "POST", "/_sim/faults/gone?count=1", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["forcedGone"], 1, "{body}");

    let path = format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={rv}");
    let events = WatchLines::open(&admin, &path).await.rest().await;
    assert_eq!(events.len(), 1, "a single event, then the end: {events:?}");
    assert_eq!(event_type(&events[0]), "ERROR");
    let status = &events[0]["object"];
    assert_eq!(status["kind"], "Status", "{status}");
    assert_eq!(status["code"], 410, "{status}");
    assert_eq!(status["reason"], "Expired", "{status}");
    assert_eq!(status["status"], "Failure", "{status}");
    assert_eq!(sim.faults().forced_gone_left(), 0);

    // The next watch is normal: it sees a new pod.
    let mut watch = WatchLines::open(&admin, &format!("{path}&timeoutSeconds=1")).await;
    new_pod(&sim, "after-gone");
    let events = watch.rest().await;
    assert!(
        events
            .iter()
            .any(|e| event_type(e) == "ADDED" && object_name(e) == "after-gone"),
        "{events:?}"
    );
    assert!(
        events.iter().all(|e| event_type(e) != "ERROR"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_watch_from_a_version_replays_later_changes_in_order() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    // Pods without owners, so that no controller touches them.
    new_pod(&sim, "doomed");
    let victim = "doomed".to_string();
    let rv = pods_rv(&admin).await;
    let added = new_pod(&sim, "replayed");
    let modified = sim
        .store()
        .patch(
            pods_res(),
            "shop",
            "replayed",
            PatchKind::Merge,
            br#"{"metadata":{"labels":{"v":"2"}}}"#,
            WriteScope::Main,
            false,
        )
        .unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    // A change to another resource is not part of a pod watch.
    sim.store()
        .create(
            res("", "v1", "configmaps"),
            "shop",
            json!({"metadata": {"name": "not-a-pod"}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    sim.store()
        .delete(pods_res(), "shop", &victim, Propagation::Background, false)
        .unwrap();

    let path =
        format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1");
    let events = WatchLines::open(&admin, &path).await.rest().await;
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (event_type(e), object_name(e)))
        .collect();
    assert_eq!(
        seen,
        [
            ("ADDED", "replayed"),
            ("MODIFIED", "replayed"),
            ("DELETED", victim.as_str()),
        ],
        "{events:?}"
    );
    assert_eq!(object_rv(&events[0]), added);
    assert_eq!(object_rv(&events[1]), modified);
    assert!(
        object_rv(&events[2]) > modified + 1,
        "the configmap came in between"
    );
    assert_eq!(events[1]["object"]["metadata"]["labels"]["v"], "2");
}

#[tokio::test]
async fn bookmarks_come_when_allowed() {
    let sim = SimCluster::start(SimConfig {
        bookmark_interval: Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await
    .expect("start the simulated cluster");
    let admin = client(&sim, Who::Admin).await;
    let rv: u64 = pods_rv(&admin).await.parse().unwrap();

    let path = format!(
        "/api/v1/namespaces/shop/pods?watch=1&allowWatchBookmarks=true&resourceVersion={rv}"
    );
    let mut watch = WatchLines::open(&admin, &path).await;
    let bookmark = loop {
        let event = watch.next().await.expect("the watch stays open");
        if event_type(&event) == "BOOKMARK" {
            break event;
        }
    };
    let object = &bookmark["object"];
    assert_eq!(object["kind"], "Pod", "{bookmark}");
    assert_eq!(object["apiVersion"], "v1", "{bookmark}");
    assert!(object_rv(&bookmark) >= rv, "{bookmark}");

    // Without allowWatchBookmarks there are none.
    let path =
        format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1");
    let events = WatchLines::open(&admin, &path).await.rest().await;
    assert!(
        events.iter().all(|e| event_type(e) != "BOOKMARK"),
        "{events:?}"
    );
}

#[tokio::test]
async fn timeout_seconds_ends_the_stream() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let rv = pods_rv(&admin).await;
    let path =
        format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1");
    let events = WatchLines::open(&admin, &path).await.rest().await;
    assert!(events.is_empty(), "nothing changed: {events:?}");
}

#[tokio::test]
async fn a_version_older_than_the_kept_history_is_expired() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let old = pods_rv(&admin).await;
    new_pod(&sim, "after-old");
    sim.store().compact();

    let path = format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={old}");
    let events = WatchLines::open(&admin, &path).await.rest().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(event_type(&events[0]), "ERROR");
    assert_eq!(events[0]["object"]["kind"], "Status");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");

    // From the current version after the compaction, the watch works.
    let now = pods_rv(&admin).await;
    let path =
        format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={now}&timeoutSeconds=1");
    let mut watch = WatchLines::open(&admin, &path).await;
    new_pod(&sim, "after-compaction");
    let events = watch.rest().await;
    let seen: Vec<_> = events
        .iter()
        .map(|e| (event_type(e), object_name(e)))
        .collect();
    assert_eq!(seen, [("ADDED", "after-compaction")], "{events:?}");
}

async fn reachable(pods: &Api<Pod>) -> bool {
    pods.list(&Default::default()).await.is_ok()
}

#[tokio::test]
async fn a_stopped_listener_refuses_and_a_restarted_one_serves() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "shop");
    assert!(reachable(&pods).await);
    let addr = sim.addr();

    sim.stop_listener().await;
    match pods.list(&Default::default()).await {
        Err(kube::Error::Api(status)) => {
            panic!("a stopped server cannot answer, yet it sent {status:?}")
        }
        Err(_) => {}
        Ok(_) => panic!("a request succeeded while the listener was stopped"),
    }

    sim.start_listener().await.expect("listen again");
    assert_eq!(sim.addr(), addr, "the same port");
    let list = pods.list(&Default::default()).await.expect("served again");
    assert_eq!(list.items.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_through_the_admin_endpoint_ends_by_itself() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "shop");
    let (code, body) = call(&admin, "POST", "/_sim/faults/outage?seconds=0.5", None).await;
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["outageSeconds"], 0.5);

    let deadline = Instant::now() + WAIT;
    while reachable(&pods).await {
        assert!(
            Instant::now() < deadline,
            "the server never became unreachable"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while !reachable(&pods).await {
        assert!(Instant::now() < deadline, "the server never came back");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (code, body) = call(&admin, "GET", "/_sim/faults", None).await;
    assert_eq!(code, 200, "the admin endpoint is back too: {body}");
}

#[tokio::test]
async fn errors_are_status_objects_with_the_apiserver_codes_and_reasons() {
    let sim = start().await;
    let admin = client(&sim, Who::Admin).await;
    let viewer = client(&sim, Who::Viewer).await;
    let nobody = client(&sim, Who::Nobody).await;

    // 401
    let (code, body) = call(&nobody, "GET", "/api/v1/namespaces/shop/pods", None).await;
    assert_status(code, &body, 401, "Unauthorized");

    // 403, worded like the apiserver
    let (code, body) = call_raw(
        &viewer,
        "PATCH",
        "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout",
        Some("application/merge-patch+json"),
        br#"{"spec":{"paused":true}}"#,
    )
    .await;
    assert_status(code, &body, 403, "Forbidden");
    assert_eq!(
        body["message"],
        "rollouts.argoproj.io \"checkout\" is forbidden: User \"viewer\" cannot patch resource \"rollouts\" in API group \"argoproj.io\" in the namespace \"shop\""
    );
    assert_eq!(body["details"]["name"], "checkout");
    assert_eq!(body["details"]["group"], "argoproj.io");
    assert_eq!(body["details"]["kind"], "rollouts");

    // 404 with details
    let (code, body) = call(&admin, "GET", "/api/v1/namespaces/shop/pods/nope", None).await;
    assert_status(code, &body, 404, "NotFound");
    assert_eq!(body["message"], "pods \"nope\" not found");
    assert_eq!(body["details"]["name"], "nope");
    assert_eq!(body["details"]["kind"], "pods");
    let (code, body) = call(
        &admin,
        "GET",
        "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/nope",
        None,
    )
    .await;
    assert_status(code, &body, 404, "NotFound");
    assert_eq!(body["details"]["name"], "nope");
    assert_eq!(body["details"]["group"], "argoproj.io");

    // 409 AlreadyExists
    let frontend = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "frontend"},
        "spec": {"replicas": 1},
    });
    let (code, body) = call(
        &admin,
        "POST",
        "/apis/apps/v1/namespaces/shop/deployments",
        Some(&frontend),
    )
    .await;
    assert_status(code, &body, 409, "AlreadyExists");
    assert_eq!(body["details"]["name"], "frontend");

    // 409 Conflict: an update with a stale resourceVersion
    let (code, mut current) = call(
        &admin,
        "GET",
        "/apis/apps/v1/namespaces/shop/deployments/frontend",
        None,
    )
    .await;
    assert_eq!(code, 200);
    current["metadata"]["resourceVersion"] = json!("1");
    current["spec"]["replicas"] = json!(4);
    let (code, body) = call(
        &admin,
        "PUT",
        "/apis/apps/v1/namespaces/shop/deployments/frontend",
        Some(&current),
    )
    .await;
    assert_status(code, &body, 409, "Conflict");
    assert_eq!(body["details"]["name"], "frontend");

    // 422 Invalid with a cause
    let (code, body) = call(
        &admin,
        "POST",
        "/api/v1/namespaces/shop/configmaps",
        Some(&json!({"metadata": {"name": "Bad_Name"}})),
    )
    .await;
    assert_status(code, &body, 422, "Invalid");
    assert_eq!(
        body["details"]["causes"][0]["field"], "metadata.name",
        "{body}"
    );

    // 400 for a body that is not JSON
    let (code, body) = call_raw(
        &admin,
        "POST",
        "/api/v1/namespaces/shop/configmaps",
        Some("application/json"),
        br#"{"metadata": {"name": "#,
    )
    .await;
    assert_status(code, &body, 400, "BadRequest");

    // 410 for a continue token from before a compaction
    let (code, page) = call(&admin, "GET", "/api/v1/namespaces/shop/pods?limit=1", None).await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let token = page["metadata"]["continue"]
        .as_str()
        .expect("a continue token")
        .to_string();
    sim.store().compact();
    let encoded: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let (code, body) = call(
        &admin,
        "GET",
        &format!("/api/v1/namespaces/shop/pods?limit=1&continue={encoded}"),
        None,
    )
    .await;
    assert_status(code, &body, 410, "Expired");
}

/// `cutover status` during a brief storm of 503s: its reads are tried
/// again, and once the storm ends the report is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_rides_out_a_brief_503_storm() {
    let sim = start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "shop")
        .expect("write the kubeconfig");
    sim.faults().set(FaultSettings {
        error_rate: 1.0,
        error_status: 503,
        ..FaultSettings::default()
    });
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("--log-file")
        .arg(dir.path().join("cutover.log"))
        .arg("--config")
        .arg(dir.path().join("no-config.toml"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--context", "sim-admin", "status", "-o", "json"])
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run cutover status");
    let log = sim.request_log().clone();
    let storm_met = || log.records().iter().any(|r| r.status == 503);
    assert!(
        support::eventually(WAIT, storm_met).await,
        "status met the storm"
    );
    sim.faults().clear();
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("status ends")
        .expect("status ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("status prints JSON");
    assert_eq!(report["user"], "admin", "{report:#}");
    let releases = report["releases"].as_array().expect("releases");
    assert!(!releases.is_empty(), "{report:#}");
}
