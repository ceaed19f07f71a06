//! The bake window end to end: `cutover sim serve` plays bad-after-release
//! (shortened), a real Prometheus scrapes its traffic, and `cutover status`
//! and `cutover gate --until baked` judge each finished release: checkout
//! (Argo) turns bad after its promotion and breaches its SLO, search
//! (Flagger, its degradation removed here) bakes good.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::prometheus::{SHORT_WINDOWS, bad_after_release_short, serve_scraped};
use support::{ServeProcess, stderr_of, stdout_of};

/// Bounds each wait; not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(300);

/// A 90-second bake whose breach counts after ten seconds.
const BAKE: &str = r#"
[metrics.bake]
duration = "90s"
for = "10s"
"#;

fn release<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["releases"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("{name} in {report:#}"))
}

fn bake_state(report: &Value, name: &str) -> String {
    release(report, name)["bake"]["state"]
        .as_str()
        .unwrap_or("-")
        .to_string()
}

fn slo<'a>(bake: &'a Value, metric: &str) -> &'a Value {
    bake["slos"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["metric"] == metric))
        .unwrap_or_else(|| panic!("{metric} in {bake:#}"))
}

/// `gate NAME --until baked`, with `extra` flags.
fn gate(sim: &ServeProcess, config: &Path, name: &str, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("--log-file")
        .arg(sim.dir.path().join(format!("gate-{name}.log")))
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .arg("--config")
        .arg(config)
        .arg("--audit-file")
        .arg(sim.dir.path().join("audit.jsonl"))
        .args(["-n", "shop", "--context", "sim-admin", "gate", name])
        .args(["--until", "baked", "--timeout", "5m"])
        .args(extra)
        .env_remove("CUTOVER_PROMETHEUS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cutover gate")
}

/// The gate's output once it ended with exit code `code`.
fn ended(child: std::process::Child, code: i32) -> Output {
    let out = tokio::task::block_in_place(|| finish(child));
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}{}",
        stdout_of(&out),
        stderr_of(&out)
    );
    out
}

fn finish(mut child: std::process::Child) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("wait for the gate").is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.wait_with_output().expect("gate output")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_that_turns_bad_breaches_its_bake_and_a_good_one_is_baked() {
    const TEST: &str = "a_release_that_turns_bad_breaches_its_bake";
    let scenarios = tempfile::tempdir().unwrap();
    let Some((sim, prometheus)) =
        serve_scraped(TEST, &bad_after_release_short(scenarios.path(), "")).await
    else {
        return;
    };
    let config = sim.dir.path().join("config.toml");
    let url = format!("http://{}", prometheus.addr);
    std::fs::write(
        &config,
        format!("{SHORT_WINDOWS}{BAKE}[metrics.prometheus]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let config_text = config.to_str().unwrap().to_string();
    let status = || {
        let flags = [
            "--config",
            &config_text,
            "--context",
            "sim-admin",
            "--read-only",
        ];
        tokio::task::block_in_place(|| sim.status_json(&flags, &[]))
    };
    let checkout_gate = gate(&sim, &config, "checkout", &[]);
    // Only the bake decides here: the canary verdict's short windows are
    // tests/metrics_verdict.rs's business.
    let search_gate = gate(&sim, &config, "search", &["--require-verdict", "any"]);

    // Baking: each status is a fresh process, and each computes the same
    // previous version's figures from Prometheus's history.
    let started = Instant::now();
    let mut baking: Vec<Value> = Vec::new();
    let breached = loop {
        let report = status();
        match bake_state(&report, "checkout").as_str() {
            "baking" => baking.push(release(&report, "checkout")["bake"].clone()),
            "breached" => break report,
            _ => {}
        }
        assert!(
            started.elapsed() < PATIENCE,
            "checkout never breached: {:#}",
            release(&report, "checkout")
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(!baking.is_empty(), "checkout was seen baking first");
    let before = |bake: &Value, metric: &str| slo(bake, metric)["before"].clone();
    for bake in &baking[1..] {
        for metric in ["error_ratio", "p95_latency"] {
            assert_eq!(
                before(bake, metric),
                before(&baking[0], metric),
                "a second process reads the same previous figures"
            );
        }
    }
    let checkout = release(&breached, "checkout");
    let bake = &checkout["bake"];
    let errors = slo(bake, "error_ratio");
    let previous = errors["before"].as_f64().expect("the previous error ratio");
    assert!((previous - 0.003).abs() < 0.002, "{bake:#}");
    let now = errors["after"].as_f64().expect("the new error ratio");
    assert!(now > 0.01, "{bake:#}");
    assert_eq!(errors["limit"], 0.01, "{bake:#}");
    let p95 = slo(bake, "p95_latency");
    assert!(p95["before"].as_f64().is_some(), "{bake:#}");
    assert!(p95["limit"].as_f64().is_some(), "{bake:#}");
    let breach = &bake["detail"];
    assert_eq!(breach["metric"], "error_ratio", "{bake:#}");
    assert!(breach["lastedSeconds"].as_i64() >= Some(10), "{bake:#}");
    let attention = checkout["attention"].to_string();
    assert!(
        attention.contains("SLO breached: error ratio"),
        "{attention}"
    );
    // Another process finds the same start of the breach.
    let again = status();
    assert_eq!(
        release(&again, "checkout")["bake"]["detail"]["since"],
        breach["since"]
    );

    let out = ended(checkout_gate, 4);
    assert!(
        stdout_of(&out).contains("an SLO of checkout was breached during its bake window"),
        "{}",
        stdout_of(&out)
    );
    let out = ended(search_gate, 0);
    assert!(
        stdout_of(&out).ends_with("gate passed: search is baked\n"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(bake_state(&status(), "search"), "baked");
    assert!(
        sim.mutating_requests().is_empty(),
        "cutover never acts on its own"
    );

    // Asked to, the gate rolls the breach back as the control room would:
    // the undo to the previous revision, audited before and after.
    let out = ended(gate(&sim, &config, "checkout", &["--abort-on-fail"]), 4);
    assert!(
        stderr_of(&out).starts_with("undo checkout: "),
        "{}",
        stderr_of(&out)
    );
    let sent: Vec<String> = sim
        .mutating_requests()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            "PATCH /apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout",
            "POST /api/v1/namespaces/shop/events"
        ],
        "{:#?}",
        sim.mutating_requests()
    );
    let audit = std::fs::read_to_string(sim.dir.path().join("audit.jsonl")).unwrap_or_default();
    let stages: Vec<(String, String)> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|l| (l["action"].to_string(), l["stage"].to_string()))
        .collect();
    assert_eq!(
        stages,
        [
            ("\"undo\"".to_string(), "\"requested\"".to_string()),
            ("\"undo\"".to_string(), "\"done\"".to_string())
        ],
        "{audit}"
    );
}
