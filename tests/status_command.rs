//! `cutover status -o json` against the default scenario.

mod support;

use serde_json::Value;
use support::ServeProcess;

fn status(sim: &ServeProcess, context: &str, extra: &[&str]) -> Value {
    sim.status_json(&["--context", context], extra)
}

#[test]
fn status_json_lists_every_release_of_the_default_scenario() {
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    let report = status(&sim, "sim-admin", &[]);
    assert_eq!(report["context"], "sim-admin");
    assert_eq!(report["namespace"], "shop");
    assert_eq!(report["user"], "admin");
    let releases = report["releases"].as_array().expect("releases");
    let by_name = |name: &str| {
        releases
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} listed: {report:#}"))
    };
    let names: Vec<&str> = releases.iter().filter_map(|r| r["name"].as_str()).collect();
    for name in [
        "cart",
        "checkout",
        "frontend",
        "inventory",
        "notifications",
        "payments",
        "search",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(
        !names.contains(&"search-primary"),
        "Flagger's primary belongs to its canary"
    );

    let checkout = by_name("checkout");
    assert_eq!(
        (checkout["kind"].as_str(), checkout["strategy"].as_str()),
        (Some("Rollout"), Some("Canary"))
    );
    assert_eq!(checkout["step"]["total"], 7);
    assert!(checkout["weights"]["desired"].is_u64() && checkout["weights"]["applied"].is_u64());
    assert!(
        checkout["weights"]["router"]["object"] == "VirtualService/checkout",
        "{checkout:#}"
    );
    let payments = by_name("payments");
    assert_eq!(payments["strategy"], "BlueGreen");

    // Each release's flags: payments' by name, from the start; checkout's
    // by its label, once its new version has brought them.
    assert_eq!(payments["flags"][0]["key"], "display-name-writes");
    assert_eq!(payments["flags"][0]["link"], "annotation");
    assert_eq!(by_name("cart")["flags"], serde_json::json!([]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let checkout = loop {
        let report = status(&sim, "sim-admin", &[]);
        let checkout = report["releases"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["name"] == "checkout").cloned())
            .expect("checkout listed");
        if checkout["flags"][0].is_object() || std::time::Instant::now() > deadline {
            break checkout;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let flag = &checkout["flags"][0];
    assert_eq!(flag["key"], "new-checkout-flow", "{checkout:#}");
    assert_eq!(
        (
            flag["source"]["type"].as_str(),
            flag["source"]["name"].as_str()
        ),
        (Some("featureFlag"), Some("checkout-flags"))
    );
    assert_eq!(flag["state"], "ENABLED");
    assert_eq!(flag["defaultVariant"], "off");
    assert_eq!(
        flag["rollout"][0],
        serde_json::json!({"variant": "on", "percent": 20.0})
    );
    assert!(flag["changedAt"].is_string(), "{flag:#}");
    let kill_switch = |release: &Value| {
        release["actions"]
            .as_array()
            .and_then(|all| all.iter().find(|a| a["action"] == "kill-switch"))
            .cloned()
            .expect("the kill switch among the actions")
    };
    assert_eq!(kill_switch(&checkout)["available"], true, "{checkout:#}");
    let viewer = status(&sim, "sim-viewer", &["checkout"]);
    let refused = kill_switch(&viewer["releases"][0]);
    assert!(
        refused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("forbidden") && r.contains("featureflags")),
        "{refused:#}"
    );
    let search = by_name("search");
    assert_eq!(
        (search["kind"].as_str(), search["strategy"].as_str()),
        (Some("Canary"), Some("Progressive"))
    );
    assert!(search["flagger"]["threshold"].is_u64());
    let frontend = by_name("frontend");
    assert_eq!(frontend["kind"], "Deployment");
    // One of `kubectl rollout status`'s sentences, naming the Deployment.
    let message = frontend["message"].as_str().expect("a message");
    assert!(
        message.starts_with("Waiting for deployment \"frontend\" rollout to finish: ")
            || message == "Waiting for deployment spec update to be observed..."
            || message == "deployment \"frontend\" successfully rolled out",
        "{message:?}"
    );

    for r in releases {
        assert!(r["phase"].is_string() && r["health"].is_string(), "{r:#}");
        for count in ["desired", "current", "updated", "ready", "available"] {
            assert!(
                r["replicas"][count].is_i64(),
                "{} replicas {count}",
                r["name"]
            );
        }
        assert!(r["images"].is_array(), "{r:#}");
        assert_eq!(
            r["warnings"],
            serde_json::json!([]),
            "the scenario's objects are well-formed: {r:#}"
        );
        let revisions = r["revisions"].as_array().expect("revisions");
        assert!(!revisions.is_empty(), "{} has revisions", r["name"]);
        assert!(
            revisions
                .iter()
                .all(|rev| rev["podHash"].is_string() && rev["images"].is_array())
        );
        let actions: Vec<&str> = r["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .filter_map(|a| a["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            [
                "pause",
                "resume",
                "promote",
                "promote-full",
                "abort",
                "retry",
                "undo",
                "restart",
                "kill-switch"
            ]
        );
    }
    // An admin may pause checkout; a viewer may not, and is told why.
    let pause = |report: &Value| {
        report["releases"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == "checkout"))
            .map(|r| r["actions"][0].clone())
            .expect("checkout pause")
    };
    assert_eq!(pause(&report)["available"], true, "{:#}", pause(&report));
    let viewer = status(&sim, "sim-viewer", &["checkout"]);
    assert_eq!(viewer["releases"].as_array().map(Vec::len), Some(1));
    assert_eq!(pause(&viewer)["available"], false);
    assert!(
        pause(&viewer)["reason"]
            .as_str()
            .is_some_and(|r| r.contains("forbidden"))
    );
}

/// Whether `action` is offered on release `name`, and why not.
fn offered(report: &Value, name: &str, action: &str) -> (bool, String) {
    let release = report["releases"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("{name} listed: {report:#}"));
    let entry = release["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["action"] == action))
        .unwrap_or_else(|| panic!("{action} of {name}: {release:#}"));
    (
        entry["available"] == true,
        entry["reason"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn a_role_limited_by_resource_names_is_judged_per_rollout() {
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    let report = status(&sim, "sim-checkout-owner", &[]);
    assert_eq!(report["user"], "checkout-owner");
    // The role names checkout alone: its actions are offered, those of the
    // rollout next to it are not, and the reason names that rollout.
    for action in ["pause", "restart"] {
        assert_eq!(
            offered(&report, "checkout", action),
            (true, String::new()),
            "{action}"
        );
        let (available, reason) = offered(&report, "cart", action);
        assert!(!available, "{action} on cart");
        assert_eq!(
            reason,
            "forbidden: checkout-owner may not patch rollouts \"cart\" in shop"
        );
    }
}

#[test]
fn an_answer_over_the_limit_fails_the_read_and_says_how_to_narrow_it() {
    let Some(kubectl) = support::require_program("kubectl", "an_answer_over_the_limit") else {
        return;
    };
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    // One object of 100 KiB: the list of rollouts is larger than 64 KiB.
    let big = format!("big={}", "x".repeat(100 << 10));
    let out = sim.kubectl(
        &kubectl,
        &["annotate", "rollout", "checkout", "-n", "shop", &big],
    );
    assert!(out.status.success(), "{}", support::stderr_of(&out));
    let config = sim.dir.path().join("limit.toml");
    std::fs::write(&config, "[kubernetes]\nmax_answer_bytes = 65536\n").unwrap();
    let config = config.to_str().unwrap();
    let out = sim
        .status_command(&["--config", config, "--context", "sim-admin"], &[])
        .output()
        .expect("run cutover status");
    let stderr = support::stderr_of(&out);
    assert_eq!(out.status.code(), Some(3), "cannot read it: {stderr}");
    assert!(
        stderr.contains("listing rollouts from the cluster at https://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/namespaces/shop/rollouts is larger than 64 KiB"),
        "{stderr}"
    );
    // The default limit reads it.
    let report = sim.status_json(&["--context", "sim-admin"], &[]);
    assert!(report["releases"].as_array().is_some_and(|r| !r.is_empty()));
}

/// The table is for a terminal: under a C locale, as on many jump hosts, it
/// is plain ASCII, the health marks as `kubectl argo rollouts` spells them;
/// under UTF-8, the symbols.
#[test]
fn the_table_speaks_the_locale_of_its_terminal() {
    let sim = ServeProcess::start_with(&["--scenario", "fixture"]);
    let table = |lang: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .arg("--log-file")
            .arg(sim.dir.path().join("table.log"))
            .arg("--kubeconfig")
            .arg(&sim.kubeconfig)
            .args([
                "--config",
                "/dev/null",
                "--context",
                "sim-admin",
                "-n",
                "shop",
                "status",
            ])
            .env_remove("LC_ALL")
            .env_remove("LC_CTYPE")
            .env("LANG", lang)
            .env_remove("TERM")
            .output()
            .expect("run cutover status");
        assert!(out.status.success(), "{}", support::stderr_of(&out));
        support::stdout_of(&out)
    };
    let plain = table("C");
    assert!(plain.is_ascii(), "{plain}");
    assert!(plain.contains("+ Healthy"), "{plain}");
    let unicode = table("C.UTF-8");
    assert!(unicode.contains("✔ Healthy"), "{unicode}");
}

#[test]
fn status_json_lists_the_alerts_that_hold_as_the_control_room_derives_them() {
    let test = "status_json_lists_the_alerts_that_hold_as_the_control_room_derives_them";
    let Some(kubectl) = support::require_program("kubectl", test) else {
        return;
    };
    let sim = ServeProcess::start_with(&["--scenario", "fixture"]);
    let checkout_failed = |report: &Value| {
        report["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .any(|a| {
                a["condition"] == "release-failed"
                    && a["release"]["name"] == "checkout"
                    && a["context"] == "sim-admin"
            })
    };
    assert!(!checkout_failed(&status(&sim, "sim-admin", &[])));
    let abort = r#"{"status":{"abort":true}}"#;
    let out = sim.merge_patch(&kubectl, ("rollout", "checkout"), Some("status"), abort);
    assert!(out.status.success(), "{}", support::stderr_of(&out));
    let start = std::time::Instant::now();
    let mut report = status(&sim, "sim-admin", &[]);
    while !checkout_failed(&report) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no release-failed alert for checkout: {:#}",
            report["alerts"]
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        report = status(&sim, "sim-admin", &[]);
    }
    let alert = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["release"]["name"] == "checkout")
        .unwrap();
    assert_eq!(alert["release"]["namespace"], "shop");
    assert_eq!(alert["release"]["kind"], "Rollout");
    assert!(alert["summary"].as_str().unwrap().starts_with("Degraded"));
}
