//! `cutover gate` against the simulated cluster: each run ends by itself
//! (the target, a failure, a verdict, or its own `--timeout`), and the
//! exit code says how. The metrics verdict comes from a real Prometheus
//! scraping the simulator's traffic, as in tests/metrics_verdict.rs.

mod support;

#[path = "gate_command/fleet.rs"]
mod fleet;

use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::prometheus::{PrometheusProcess, SHORT_WINDOWS, free_port, serve_scraped};
use support::{ServeProcess, require_program, stderr_of, stdout_of};

/// Bounds a gate that would otherwise hang; not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(300);

/// `cutover gate ARGS` on this cluster in namespace shop as `context`,
/// with the config file `config` (none: a file that does not exist, so no
/// metrics source), its audit file in the cluster's folder.
fn gate_command(
    sim: &ServeProcess,
    context: &str,
    config: Option<&Path>,
    args: &[&str],
) -> Command {
    let none = sim.dir.path().join("no-config.toml");
    let mut command = Command::new(env!("CARGO_BIN_EXE_cutover"));
    command
        .arg("--log-file")
        .arg(sim.dir.path().join("gate.log"))
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .arg("--config")
        .arg(config.unwrap_or(&none))
        .arg("--audit-file")
        .arg(audit_path(sim))
        .args(["-n", "shop", "--context", context, "gate"])
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env_remove("CUTOVER_PROMETHEUS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn audit_path(sim: &ServeProcess) -> PathBuf {
    sim.dir.path().join("audit.jsonl")
}

/// Run a started gate to its end, within [`PATIENCE`].
fn finish(mut child: std::process::Child) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("wait for the gate").is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let out = child.wait_with_output().expect("gate output");
            panic!(
                "the gate did not end: {}{}",
                stdout_of(&out),
                stderr_of(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("gate output")
}

fn gate(sim: &ServeProcess, context: &str, config: Option<&Path>, args: &[&str]) -> Output {
    let child = gate_command(sim, context, config, args)
        .spawn()
        .expect("start cutover gate");
    finish(child)
}

/// The exit code, with both streams for the message when it is not `code`.
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout_of(out),
        stderr_of(out)
    );
}

/// A gate as sim-admin, without metrics, that must pass with `passed`
/// (`checkout is paused`) as its last words; what it printed.
fn passes(sim: &ServeProcess, args: &[&str], passed: &str) -> String {
    let out = gate(
        sim,
        "sim-admin",
        None,
        &[args, &["--timeout", "3m"]].concat(),
    );
    assert_exit(&out, 0);
    let text = stdout_of(&out);
    assert!(
        text.ends_with(&format!("gate passed: {passed}\n")),
        "{text}"
    );
    text
}

#[test]
fn checkout_payments_and_frontend_reach_their_targets_and_a_promote_makes_checkout_healthy() {
    let Some(kubectl) = require_program("kubectl", "gate_targets") else {
        return;
    };
    let sim = ServeProcess::start_with(&["--scenario", "default", "--time-scale", "10"]);

    let text = passes(
        &sim,
        &["checkout", "--until", "paused"],
        "checkout is paused",
    );
    let lines: Vec<&str> = text.lines().collect();
    let last_seen = lines[lines.len() - 2];
    assert!(
        last_seen
            .contains("Rollout/checkout ॥ Paused step 4/7 weight 50/50 verdict -: CanaryPauseStep"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour into a pipe: {text:?}");
    // Blue-green waiting for its promotion; a Deployment's rolling update.
    passes(
        &sim,
        &["payments", "--until", "paused"],
        "payments is paused",
    );
    passes(&sim, &["frontend"], "frontend is healthy");

    // At the manual pause, healthy does not come by itself.
    let timeout = gate(&sim, "sim-admin", None, &["checkout", "--timeout", "2s"]);
    assert_exit(&timeout, 2);
    assert!(
        stdout_of(&timeout).contains(
            "gate timed out: checkout is not healthy after 2s: last seen Paused at step 4/7 (CanaryPauseStep)"
        ),
        "{}",
        stdout_of(&timeout)
    );
    assert_eq!(
        sim.mutating_requests(),
        Vec::<Value>::new(),
        "a gate without --abort-on-fail changes nothing"
    );

    // Waiting for healthy, then promoted as `kubectl argo rollouts promote`
    // does from a `pause: {}` step.
    let healthy = gate_command(&sim, "sim-admin", None, &["checkout", "--timeout", "3m"])
        .spawn()
        .expect("start cutover gate");
    sim.promote_from_pause(&kubectl, "checkout");
    let healthy = finish(healthy);
    assert_exit(&healthy, 0);
    let text = stdout_of(&healthy);
    assert!(
        text.ends_with("gate passed: checkout is healthy\n"),
        "{text}"
    );
    assert!(text.contains("✔ Healthy step 7/7 weight 100/100"), "{text}");
}

#[test]
fn an_unknown_release_or_no_cluster_cannot_be_read() {
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    let out = gate(&sim, "sim-admin", None, &["nothere", "--timeout", "1m"]);
    assert_exit(&out, 3);
    assert_eq!(
        stderr_of(&out),
        "error: no release named nothere in namespace shop (context sim-admin)\n\
         see the releases with: cutover status (-n NAMESPACE, or -A for all)\n"
    );
    assert_eq!(stdout_of(&out), "");

    // A gate watching when the cluster goes away waits through the outage
    // until its timeout, then says it could not read.
    let args = ["checkout", "--until", "paused", "--timeout", "10s"];
    let watching = gate_command(&sim, "sim-admin", None, &args)
        .spawn()
        .expect("start cutover gate");
    let started = Instant::now();
    while !sim.requests().iter().any(|r| {
        r["user"] == "admin"
            && r["path"] == "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts"
            && r["query"]
                .as_str()
                .is_some_and(|q| q.contains("watch=true"))
    }) {
        assert!(started.elapsed() < PATIENCE, "the gate never watched");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kubeconfig = sim.kubeconfig.clone();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("kubeconfig");
    std::fs::copy(&kubeconfig, &copy).unwrap();
    sim.stop("TERM");
    let out = finish(watching);
    assert_exit(&out, 3);
    assert!(
        stdout_of(&out)
            .contains("gate timed out, the cluster unread: checkout is not paused after 10s"),
        "{}",
        stdout_of(&out)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("--log-file")
        .arg(dir.path().join("gate.log"))
        .arg("--kubeconfig")
        .arg(&copy)
        .args([
            "--context",
            "sim-admin",
            "gate",
            "checkout",
            "--timeout",
            "1m",
        ])
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run cutover gate");
    assert_exit(&out, 3);
    assert!(
        stderr_of(&out).contains("connection refused"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn the_flagger_canary_that_fails_its_analysis_fails_the_gate_in_json_lines() {
    let sim = ServeProcess::start_with(&["--scenario", "default", "--time-scale", "10"]);
    let out = gate(
        &sim,
        "sim-viewer",
        None,
        &[
            "search",
            "--until",
            "promoted",
            "--timeout",
            "3m",
            "-o",
            "json",
        ],
    );
    assert_exit(&out, 1);
    let lines: Vec<Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 2, "{lines:#?}");
    for line in &lines {
        for field in [
            "kind", "name", "phase", "health", "weights", "replicas", "actions",
        ] {
            assert!(!line[field].is_null(), "{field} in {line:#}");
        }
        assert_eq!(
            (line["kind"].as_str(), line["name"].as_str()),
            (Some("Canary"), Some("search"))
        );
        assert!(line["flagger"]["threshold"].is_u64(), "{line:#}");
    }
    assert_eq!(lines[0]["event"], "observed");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "failed", "{last:#}");
    assert_eq!(last["phase"], "Failed");
    assert!(
        last["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("gate failed: search failed: Failed")),
        "{last:#}"
    );
    assert!(
        lines[1..lines.len() - 1]
            .iter()
            .all(|l| l["event"] == "changed")
    );
}

/// The bad canary held at its timed pause long enough for the verdict, as
/// a scenario file.
fn bad_canary_paused(dir: &Path) -> String {
    let text = include_str!("../sim/src/scenarios/bad-canary.yaml")
        .replace("pause: {duration: 1m}", "pause: {duration: 10m}");
    let path = dir.join("bad-canary-paused.yaml");
    std::fs::write(&path, text).expect("write the scenario");
    path.display().to_string()
}

fn audit_lines(sim: &ServeProcess) -> Vec<Value> {
    std::fs::read_to_string(audit_path(sim))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
        .collect()
}

/// `PATCH /apis/…` of a request of the simulator's log.
fn method_and_path(request: &Value) -> String {
    let field = |f: &str| request[f].as_str().unwrap_or_default().to_string();
    format!("{} {}", field("method"), field("path"))
}

/// Until checkout of `context` is no longer healthy: a gate started before
/// the new image is set would find it healthy, rightly.
fn wait_for_the_update_of_checkout(sim: &ServeProcess, context: &str) {
    let none = sim.dir.path().join("no-config.toml");
    let none = none.to_str().unwrap();
    let started = Instant::now();
    while sim.status_json(&["--config", none, "--context", context], &["checkout"])["releases"][0]["phase"]
        == "Healthy"
    {
        assert!(
            started.elapsed() < PATIENCE,
            "the update of checkout never began"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bad_canary_fails_the_gate_and_only_an_admin_abort_is_sent() {
    const TEST: &str = "the_bad_canary_fails_the_gate";
    let scenarios = tempfile::tempdir().unwrap();
    let scenario = bad_canary_paused(scenarios.path());
    let Some((sim, prometheus)) = serve_scraped(TEST, &scenario).await else {
        return;
    };
    let config = sim.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "{SHORT_WINDOWS}[metrics.prometheus]\nurl = \"http://{}\"\n",
            prometheus.addr
        ),
    )
    .unwrap();
    wait_for_the_update_of_checkout(&sim, "sim-admin");
    let run = |context: &str, extra: &[&str]| {
        let args = [&["checkout", "--timeout", "4m"], extra].concat();
        tokio::task::block_in_place(|| gate(&sim, context, Some(&config), &args))
    };

    // The verdict: 4, with its reasons.
    let out = run("sim-admin", &[]);
    assert_exit(&out, 4);
    let text = stdout_of(&out);
    assert!(
        text.contains("gate failed: cutover's metrics verdict on checkout is Fail\n  "),
        "{text}"
    );
    assert!(text.contains("gate failed: error ratio"), "{text}");
    assert!(
        text.contains("verdict Fail"),
        "the last line per change shows it: {text}"
    );
    assert_eq!(
        sim.mutating_requests(),
        Vec::<Value>::new(),
        "no flag, no abort"
    );

    // A viewer may not abort: nothing sent, said so, still 4.
    let out = run("sim-viewer", &["--abort-on-fail"]);
    assert_exit(&out, 4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.starts_with(
            "error: not aborted, nothing sent: forbidden: viewer may not patch rollouts/status \"checkout\" in shop"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("kubectl argo rollouts abort checkout -n shop"),
        "{stderr}"
    );
    assert_eq!(sim.mutating_requests(), Vec::<Value>::new(), "nothing sent");
    assert_eq!(audit_lines(&sim), Vec::<Value>::new(), "nothing to audit");

    // An admin's abort lands, audited before and after, with its Event.
    let out = run("sim-admin", &["--abort-on-fail"]);
    assert_exit(&out, 4);
    assert_eq!(stderr_of(&out), "abort checkout: 1 patch accepted\n");
    let sent: Vec<(String, String)> = sim
        .mutating_requests()
        .iter()
        .map(|r| (method_and_path(r), r["user"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        sent,
        [
            (
                "PATCH /apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout/status".into(),
                "admin".into()
            ),
            ("POST /api/v1/namespaces/shop/events".into(), "admin".into()),
        ]
    );
    let audit = audit_lines(&sim);
    let stages: Vec<(&str, &str)> = audit
        .iter()
        .map(|l| (l["action"].as_str().unwrap(), l["stage"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stages,
        [("abort", "requested"), ("abort", "done")],
        "{audit:#?}"
    );
    assert!(
        audit
            .iter()
            .all(|l| l["user"] == "admin" && l["name"] == "checkout")
    );
    // The rollout is aborted: a gate now sees it failed.
    let out = run("sim-admin", &[]);
    assert_exit(&out, 1);
    assert!(
        stdout_of(&out).contains("gate failed: checkout failed: "),
        "{}",
        stdout_of(&out)
    );
}
