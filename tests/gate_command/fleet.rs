//! `cutover gate` across a fleet (`sim serve --clusters eu,us`): the
//! release judged in each cluster, every line naming its cluster, the exit
//! code the worst of theirs, a cluster that cannot be read counted as 3,
//! and `--abort-on-fail` aborting only where the verdict failed.

use super::*;

const ALIASES: &str = "[contexts.eu-admin]\nalias = \"eu\"\n[contexts.us-admin]\nalias = \"us\"\n";

/// A config file of `text` in the cluster's folder.
fn config_file(sim: &ServeProcess, text: &str) -> PathBuf {
    let path = sim.dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write the config");
    path
}

/// The lines of `text` that `cluster` printed.
fn lines_of<'a>(text: &'a str, cluster: &str) -> Vec<&'a str> {
    let prefix = format!("{cluster}: ");
    text.lines().filter(|l| l.starts_with(&prefix)).collect()
}

#[test]
fn a_fleets_gate_judges_each_cluster_and_exits_with_the_worst() {
    let sim = ServeProcess::start_with(&[
        "--clusters",
        "eu,us",
        "--scenario",
        "us=bad-canary",
        "--time-scale",
        "10",
    ]);
    let config = config_file(&sim, ALIASES);
    let both = "eu-admin,us-admin";
    let args = ["checkout", "--until", "paused", "--timeout", "3m"];

    // eu reaches its manual pause; us's analysis fails and it aborts.
    let out = gate(&sim, both, Some(&config), &args);
    assert_exit(&out, 1);
    let text = stdout_of(&out);
    let (eu, us) = (lines_of(&text, "eu"), lines_of(&text, "us"));
    assert!(
        eu.last()
            .is_some_and(|l| *l == "eu: gate passed: checkout is paused"),
        "{text}"
    );
    assert!(
        us.last()
            .is_some_and(|l| l.starts_with("us: gate failed: checkout failed: ")),
        "{text}"
    );
    assert!(
        eu.iter()
            .any(|l| l.contains("Rollout/checkout ॥ Paused step")),
        "{text}"
    );
    assert!(
        text.ends_with("gate failed across 2 clusters: checkout: eu passed, us failed; exit 1\n"),
        "{text}"
    );

    // The same as JSON lines, each naming its context.
    let json = [&args[..], &["-o", "json"]].concat();
    let out = gate(&sim, both, Some(&config), &json);
    assert_exit(&out, 1);
    let lines: Vec<Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let (last, each) = lines.split_last().expect("lines");
    for line in each {
        assert!(
            ["eu-admin", "us-admin"].contains(&line["cluster"].as_str().unwrap_or_default()),
            "{line:#}"
        );
        assert_eq!(line["name"], "checkout");
    }
    assert_eq!(last["event"], "fleet-end", "{last:#}");
    assert_eq!(last["exit"], 1);
    let ends: Vec<(&str, &str, i64)> = last["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| {
            (
                c["cluster"].as_str().unwrap_or_default(),
                c["outcome"].as_str().unwrap_or_default(),
                c["exit"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(ends, [("eu-admin", "passed", 0), ("us-admin", "failed", 1)]);
    assert!(
        sim.cluster_mutating_requests("eu").is_empty()
            && sim.cluster_mutating_requests("us").is_empty(),
        "a gate without --abort-on-fail changes nothing"
    );

    // us's listener stopped: us cannot be read (3), eu still passes.
    let Some(kubectl) = require_program("kubectl", "a_fleets_gate_unread") else {
        return;
    };
    sim.fault(&kubectl, "us-admin", "/_sim/faults/outage?seconds=3600");
    let started = Instant::now();
    let us_rollouts = ["--context", "us-admin", "get", "rollouts", "-n", "shop"];
    while sim.kubectl(&kubectl, &us_rollouts).status.success() {
        assert!(started.elapsed() < PATIENCE, "us's listener never stopped");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = gate(&sim, both, Some(&config), &args);
    assert_exit(&out, 3);
    let text = stdout_of(&out);
    assert!(
        text.contains("eu: gate passed: checkout is paused\n"),
        "{text}"
    );
    assert!(
        text.contains("us: gate could not read checkout: "),
        "{text}"
    );
    assert!(
        text.ends_with("eu passed, us could not be read; exit 3\n"),
        "{text}"
    );
    assert!(
        stderr_of(&out).starts_with("us: error: "),
        "{}",
        stderr_of(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleets_gate_aborts_only_where_the_verdict_failed() {
    const TEST: &str = "a_fleets_gate_aborts_only_where_the_verdict_failed";
    let scenarios = tempfile::tempdir().unwrap();
    // eu serves its metrics here, us on the port after: only eu's are
    // scraped, so only eu has a verdict.
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let eu_scenario = format!("eu={},us=fixture", bad_canary_paused(scenarios.path()));
    let sim = ServeProcess::start_with(&[
        "--clusters",
        "eu,us",
        "--scenario",
        &eu_scenario,
        "--metrics-addr",
        &metrics.to_string(),
    ]);
    let Some(prometheus) = PrometheusProcess::start(TEST, &[metrics]).await else {
        return;
    };
    let config = config_file(
        &sim,
        &format!(
            "{SHORT_WINDOWS}{ALIASES}[contexts.eu-admin.metrics.prometheus]\nurl = \"http://{}\"\n",
            prometheus.addr
        ),
    );
    wait_for_the_update_of_checkout(&sim, "eu-admin");
    let args = [
        "checkout",
        "--until",
        "paused",
        "--timeout",
        "4m",
        "--abort-on-fail",
    ];
    let out = tokio::task::block_in_place(|| gate(&sim, "eu-admin,us-admin", Some(&config), &args));
    assert_exit(&out, 4);
    let text = stdout_of(&out);
    assert!(
        text.contains("eu: gate failed: cutover's metrics verdict on checkout is Fail"),
        "{text}"
    );
    assert!(
        text.contains("us: gate passed: checkout is paused"),
        "{text}"
    );
    assert!(
        text.ends_with("eu failed its verdict, us passed; exit 4\n"),
        "{text}"
    );
    assert_eq!(
        stderr_of(&out),
        "eu: abort checkout: 1 patch accepted\n",
        "only eu's abort"
    );
    let sent = |cluster: &str| -> Vec<String> {
        sim.cluster_mutating_requests(cluster)
            .iter()
            .map(method_and_path)
            .collect()
    };
    assert_eq!(
        sent("eu"),
        [
            "PATCH /apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout/status",
            "POST /api/v1/namespaces/shop/events",
        ]
    );
    assert_eq!(sent("us"), Vec::<String>::new(), "nothing sent to us");
    let audit = audit_lines(&sim);
    assert!(!audit.is_empty());
    assert!(
        audit
            .iter()
            .all(|l| l["context"] == "eu-admin" && l["action"] == "abort"),
        "{audit:#?}"
    );
}
