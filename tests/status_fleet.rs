//! `cutover status` across a fleet of simulated clusters (`sim serve
//! --clusters eu,us`): every context read at once, each release with its
//! cluster, a context that cannot be read marked so beside the others.

mod support;

use serde_json::Value;
use support::{SIM_ROLES, ServeProcess, require_program, stderr_of, stdout_of};

fn fleet() -> ServeProcess {
    ServeProcess::start_with(&["--clusters", "eu,us", "--scenario", "us=bad-canary"])
}

/// `cutover [flags] status -o FORMAT` against the fleet, in namespace
/// shop, with the config file `config.toml` of the sim's folder (absent
/// unless the test writes it); printed as a script would see it.
fn status_as(sim: &ServeProcess, flags: &[&str], format: &str) -> std::process::Output {
    let config = sim.dir.path().join("config.toml");
    std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("--log-file")
        .arg(sim.dir.path().join("status.log"))
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .arg("--config")
        .arg(&config)
        .args(["-n", "shop"])
        .args(flags)
        .args(["status", "-o", format])
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("run cutover status")
}

fn status(sim: &ServeProcess, flags: &[&str]) -> std::process::Output {
    status_as(sim, flags, "json")
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status prints JSON ({e}): {}", stderr_of(out)))
}

/// (cluster, name) of every release.
fn releases(report: &Value) -> Vec<(String, String)> {
    report["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .map(|r| {
            (
                r["cluster"].as_str().unwrap().into(),
                r["name"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn context<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["contexts"]
        .as_array()
        .expect("contexts")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("context {name}: {report:#}"))
}

fn has(releases: &[(String, String)], cluster: &str, name: &str) -> bool {
    releases.iter().any(|(c, n)| c == cluster && n == name)
}

#[test]
fn both_clusters_releases_in_one_report_each_with_its_cluster() {
    let sim = fleet();
    let out = status(&sim, &["--context", "eu-admin,us-viewer"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report = json(&out);
    let all = releases(&report);
    assert!(has(&all, "eu-admin", "cart"), "{all:?}");
    assert!(has(&all, "eu-admin", "checkout"), "{all:?}");
    assert!(has(&all, "us-viewer", "checkout"), "{all:?}");
    assert!(
        !has(&all, "us-viewer", "cart"),
        "the bad canary has only checkout"
    );
    let (eu, us) = (context(&report, "eu-admin"), context(&report, "us-viewer"));
    assert_eq!(
        (&eu["state"], &us["state"]),
        (&"connected".into(), &"connected".into())
    );
    assert_eq!(
        (&eu["user"], &us["user"]),
        (&"admin".into(), &"viewer".into())
    );
    assert_ne!(eu["server"], us["server"]);
    assert!(eu["error"].is_null() && us["error"].is_null());
    // Each alert names its context, which only the contexts read can be.
    for alert in report["alerts"].as_array().expect("alerts listed") {
        assert!(
            ["eu-admin", "us-viewer"].contains(&alert["context"].as_str().unwrap_or_default()),
            "{alert}"
        );
    }
    // A viewer beside an admin: each context's own answers.
    let pause = |cluster: &str| {
        let release = report["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cluster"] == cluster && r["name"] == "checkout")
            .unwrap();
        let action = release["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action"] == "pause");
        action.expect("pause")["available"].as_bool().unwrap()
    };
    assert!(!pause("us-viewer"), "a viewer may not pause");
    assert!(pause("eu-admin"), "an admin may");
}

#[test]
fn a_cluster_that_cannot_be_read_is_marked_and_the_others_still_printed() {
    let Some(kubectl) = require_program(
        "kubectl",
        "a_cluster_that_cannot_be_read_is_marked_and_the_others_still_printed",
    ) else {
        return;
    };
    let sim = fleet();
    sim.fault(&kubectl, "eu-admin", "/_sim/faults/outage?seconds=3600");
    // The outage begins just after its answer: wait until eu refuses.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sim
        .kubectl(
            &kubectl,
            &["--context", "eu-admin", "get", "--raw", "/version"],
        )
        .status
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "eu's listener never stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = status(&sim, &["--context", "eu-admin,us-admin"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let report = json(&out);
    let all = releases(&report);
    assert!(has(&all, "us-admin", "checkout"), "{all:?}");
    assert!(all.iter().all(|(c, _)| c == "us-admin"), "{all:?}");
    let eu = context(&report, "eu-admin");
    assert_eq!(eu["state"], "failed");
    let error = eu["error"].as_str().expect("an error");
    assert!(error.contains("(context eu-admin)"), "{error}");
    assert!(
        eu["server"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://127.0.0.1:"))
    );
    assert_eq!(context(&report, "us-admin")["state"], "connected");
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("1 of 2 contexts could not be read: eu-admin:"),
        "{stderr}"
    );
    assert!(!stderr.contains("token"), "no secrets: {stderr}");

    // The table too: us printed, exit 3.
    let table = status_as(&sim, &["--context", "eu-admin,us-admin"], "table");
    assert_eq!(table.status.code(), Some(3));
    assert!(
        stdout_of(&table)
            .lines()
            .any(|l| l.starts_with("us-admin ") && l.contains("checkout"))
    );
}

#[test]
fn a_named_fleet_with_aliases_prints_a_cluster_column() {
    let sim = fleet();
    std::fs::write(
        sim.dir.path().join("config.toml"),
        "[fleets.prod]\ncontexts = [\"eu-admin\", \"us-admin\"]\n\
         [contexts.eu-admin]\nalias = \"eu\"\n[contexts.us-admin]\nalias = \"us\"\n",
    )
    .unwrap();
    let report = json(&status(&sim, &["--fleet", "prod"]));
    assert_eq!(context(&report, "eu-admin")["alias"], "eu");
    let checkout_us = report["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cluster"] == "us-admin")
        .expect("a release of us");
    assert_eq!(checkout_us["alias"], "us");

    let out = status_as(&sim, &["--fleet", "prod"], "table");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let table = stdout_of(&out);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("CLUSTER KIND"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("eu      Rollout") && l.contains("cart")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("us      Rollout") && l.contains("checkout")),
        "{table}"
    );

    let unknown = status(&sim, &["--fleet", "staging"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr_of(&unknown).contains("fleet \"staging\" is not in the config"),
        "{}",
        stderr_of(&unknown)
    );
}

#[test]
fn every_context_of_the_kubeconfig_is_read_with_all_contexts() {
    let sim = fleet();
    let out = status(&sim, &["--all-contexts"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report = json(&out);
    let contexts = report["contexts"].as_array().unwrap();
    let names: Vec<&str> = contexts.iter().filter_map(|c| c["name"].as_str()).collect();
    for name in ["eu", "us"]
        .map(|c| SIM_ROLES.map(|r| format!("{c}-{r}")))
        .concat()
    {
        assert!(names.contains(&name.as_str()), "{name} in {names:?}");
    }
    assert!(
        contexts.iter().all(|c| c["state"] == "connected"),
        "{report:#}"
    );
}

#[test]
fn one_context_is_reported_as_before() {
    let sim = fleet();
    let report = json(&status(&sim, &["--context", "us-admin"]));
    assert_eq!(report["context"], "us-admin");
    assert!(
        report.get("contexts").is_none(),
        "no fleet shape for one context"
    );
    assert!(report["releases"][0].get("cluster").is_none());
}
