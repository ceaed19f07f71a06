//! Looking: api-resources, get in text and JSON, watch, and events.

use super::*;

#[test]
fn api_resources_lists_the_served_kinds_with_short_names() {
    let Some(kubectl) = kubectl_or_skip("api_resources") else {
        return;
    };
    let sim = ServeProcess::start();
    let out = ok(&sim.kubectl(&kubectl, &["api-resources"]));
    let rollouts = out
        .lines()
        .find(|l| l.starts_with("rollouts "))
        .expect("rollouts listed");
    assert!(rollouts.split_whitespace().any(|w| w == "ro"), "{rollouts}");
    assert!(rollouts.contains("argoproj.io/v1alpha1"));
    for kind in [
        "canaries",
        "virtualservices",
        "httproutes",
        "deployments",
        "jobs",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(kind)),
            "{kind} missing:\n{out}"
        );
    }
}

#[test]
fn get_lists_workloads_in_text_and_json() {
    let Some(kubectl) = kubectl_or_skip("get") else {
        return;
    };
    let sim = ServeProcess::start();
    let text = ok(&sim.kubectl(&kubectl, &["get", "rollouts,deploy,rs,pods", "-n", "shop"]));
    assert!(text.contains("rollout.argoproj.io/checkout"), "{text}");
    assert!(text.contains("deployment.apps/frontend"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("pod/")).count(),
        8,
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("replicaset.apps/"))
            .count(),
        3
    );

    let json: Value = serde_json::from_str(&ok(
        &sim.kubectl(&kubectl, &["get", "rollouts", "-n", "shop", "-o", "json"])
    ))
    .expect("kubectl prints JSON");
    assert_eq!(json["items"][0]["metadata"]["name"], "checkout");
    assert_eq!(json["items"][0]["status"]["phase"], "Paused");

    let one: Value = serde_json::from_str(&ok(&sim.kubectl(
        &kubectl,
        &["get", "ro", "checkout", "-n", "shop", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(one["kind"], "Rollout");
    let selected = ok(&sim.kubectl(
        &kubectl,
        &[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app=frontend",
            "-o",
            "name",
        ],
    ));
    assert_eq!(selected.lines().count(), 3, "{selected}");
    let all_ns = ok(&sim.kubectl(&kubectl, &["get", "pods", "-A", "-o", "name"]));
    assert_eq!(all_ns.lines().count(), 8);
}

#[test]
fn watch_prints_an_update_when_the_rollout_changes() {
    let Some(kubectl) = kubectl_or_skip("watch") else {
        return;
    };
    let sim = ServeProcess::start();
    let mut watch = Command::new(&kubectl)
        .args([
            "get",
            "rollouts",
            "-n",
            "shop",
            "-w",
            "-o",
            "jsonpath={.metadata.name} {.spec.paused}{\"\\n\"}",
        ])
        .env("KUBECONFIG", &sim.kubeconfig)
        .env("HOME", sim.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl -w");
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let first = lines.next().expect("initial line").unwrap();
    assert_eq!(
        first.trim(),
        "checkout",
        "the initial state is printed first"
    );
    ok(&sim.merge_patch(
        &kubectl,
        ("rollout", "checkout"),
        None,
        r#"{"spec":{"paused":true}}"#,
    ));
    let update = lines.next().expect("an update line").unwrap();
    assert_eq!(update.trim(), "checkout true");
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn events_are_one_object_in_both_event_apis() {
    let Some(kubectl) = kubectl_or_skip("events") else {
        return;
    };
    let sim = ServeProcess::start();
    let manifest = sim.dir.path().join("event.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata:\n  name: checkout.paused\n  namespace: shop\nregarding:\n  apiVersion: argoproj.io/v1alpha1\n  kind: Rollout\n  name: checkout\n  namespace: shop\nreason: RolloutPaused\nnote: Rollout is paused\ntype: Normal\naction: Pause\nreportingController: rollouts-controller\nreportingInstance: rollouts-controller-0\neventTime: \"2026-01-01T00:00:00.000000Z\"\n",
    )
    .unwrap();
    ok(&sim.kubectl(&kubectl, &["create", "-f", manifest.to_str().unwrap()]));
    let core: Value = serde_json::from_str(&ok(
        &sim.kubectl(&kubectl, &["get", "events.v1.", "-n", "shop", "-o", "json"])
    ))
    .unwrap();
    assert_eq!(core["items"][0]["message"], "Rollout is paused");
    assert_eq!(core["items"][0]["involvedObject"]["name"], "checkout");
    let events = ok(&sim.kubectl(
        &kubectl,
        &[
            "events",
            "-n",
            "shop",
            "--for",
            "rollout.argoproj.io/checkout",
        ],
    ));
    assert!(events.contains("RolloutPaused"), "{events}");
    assert!(events.contains("Rollout is paused"), "{events}");
}

#[test]
fn get_ff_lists_the_demo_flags_by_their_short_name() {
    let Some(kubectl) = kubectl_or_skip("get_ff") else {
        return;
    };
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    let resources = ok(&sim.kubectl(
        &kubectl,
        &["api-resources", "--api-group", "core.openfeature.dev"],
    ));
    let row = resources
        .lines()
        .find(|l| l.starts_with("featureflags "))
        .unwrap_or_else(|| panic!("featureflags listed:\n{resources}"));
    assert!(row.split_whitespace().any(|w| w == "ff"), "{row}");
    assert!(row.contains("core.openfeature.dev/v1beta1"), "{row}");
    // checkout's flags arrive with its new version, early in the timeline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let listed = loop {
        let text = ok(&sim.kubectl(&kubectl, &["get", "ff", "-n", "shop"]));
        if text.contains("checkout-flags") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    for name in ["checkout-flags", "payments-flags"] {
        assert!(
            listed.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{listed}"
        );
    }
    let split = ok(&sim.kubectl(
        &kubectl,
        &[
            "get",
            "ff",
            "checkout-flags",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.flagSpec.flags.new-checkout-flow.targeting.fractional[1]}",
        ],
    ));
    assert_eq!(split, r#"["on",20]"#);
}
