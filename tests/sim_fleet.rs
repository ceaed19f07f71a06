//! `cutover sim serve --clusters eu,us`: one simulated cluster per name,
//! each its own server, objects, scenario and request log, reached by real
//! kubectl through one kubeconfig.

mod support;

use std::path::Path;
use std::process::Output;

use support::{PAUSE_CHECKOUT, SIM_ROLES, ServeProcess, require_program, stderr_of, stdout_of};

/// The fleet eu (the default scenario) and us (the bad canary), and kubectl.
fn fleet(test: &str) -> Option<(ServeProcess, std::path::PathBuf)> {
    let kubectl = require_program("kubectl", test)?;
    let sim = ServeProcess::start_with(&["--clusters", "eu,us", "--scenario", "us=bad-canary"]);
    Some((sim, kubectl))
}

fn kubectl_ok(sim: &ServeProcess, kubectl: &Path, args: &[&str]) -> String {
    let out = sim.kubectl(kubectl, args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        stderr_of(&out)
    );
    stdout_of(&out)
}

/// `kubectl --context CONTEXT get WHAT… -n shop`, which must succeed.
fn get_in_shop(sim: &ServeProcess, kubectl: &Path, context: &str, what: &[&str]) -> String {
    let mut args = vec!["--context", context, "get", "-n", "shop"];
    args.extend_from_slice(what);
    kubectl_ok(sim, kubectl, &args)
}

/// `kubectl --context CONTEXT patch` that pauses checkout.
fn pause_checkout(sim: &ServeProcess, kubectl: &Path, context: &str) -> Output {
    let mut args = vec!["--context", context];
    args.extend_from_slice(PAUSE_CHECKOUT);
    sim.kubectl(kubectl, &args)
}

/// The PATCH requests `cluster`'s server answered.
fn patch_requests(sim: &ServeProcess, cluster: &str) -> Vec<serde_json::Value> {
    sim.cluster_requests(cluster)
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .collect()
}

#[test]
fn each_cluster_answers_from_its_own_server_with_its_own_scenario() {
    let Some((sim, kubectl)) =
        fleet("each_cluster_answers_from_its_own_server_with_its_own_scenario")
    else {
        return;
    };
    let contexts = kubectl_ok(&sim, &kubectl, &["config", "get-contexts", "-o", "name"]);
    for context in ["eu", "us"]
        .map(|c| SIM_ROLES.map(|r| format!("{c}-{r}")))
        .concat()
    {
        assert!(
            contexts.lines().any(|l| l == context),
            "{context} in {contexts}"
        );
    }
    let current = kubectl_ok(&sim, &kubectl, &["config", "current-context"]);
    assert_eq!(current.trim(), "eu-admin");
    let server = |cluster: &str| {
        let path = format!("jsonpath={{.clusters[?(@.name==\"{cluster}\")].cluster.server}}");
        kubectl_ok(&sim, &kubectl, &["config", "view", "-o", &path])
    };
    assert_ne!(server("eu"), server("us"), "a port per cluster");

    let rollouts =
        |context: &str| get_in_shop(&sim, &kubectl, context, &["rollouts", "-o", "name"]);
    let eu = rollouts("eu-admin");
    let us = rollouts("us-admin");
    assert!(
        eu.contains("rollout.argoproj.io/cart"),
        "the default scenario: {eu}"
    );
    assert!(
        !us.contains("/cart"),
        "the bad canary has only checkout: {us}"
    );
    assert!(us.contains("rollout.argoproj.io/checkout"), "{us}");
    let listed = |cluster: &str| {
        sim.cluster_requests(cluster)
            .iter()
            .filter(|r| {
                r["method"] == "GET"
                    && r["path"] == "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts"
            })
            .count()
    };
    assert_eq!(
        (listed("eu"), listed("us")),
        (1, 1),
        "each list reached its own server"
    );
}

#[test]
fn a_pause_sent_to_one_cluster_reaches_only_its_server() {
    let Some((sim, kubectl)) = fleet("a_pause_sent_to_one_cluster_reaches_only_its_server") else {
        return;
    };
    let paused_us = pause_checkout(&sim, &kubectl, "us-admin");
    assert!(paused_us.status.success(), "{}", stderr_of(&paused_us));
    let patches = |cluster: &str| patch_requests(&sim, cluster);
    let us = patches("us");
    assert_eq!(us.len(), 1, "{us:?}");
    assert_eq!(
        us[0]["path"],
        "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout"
    );
    assert_eq!(patches("eu"), Vec::<serde_json::Value>::new());
    let paused = |context: &str| {
        let what = ["rollout", "checkout", "-o", "jsonpath={.spec.paused}"];
        get_in_shop(&sim, &kubectl, context, &what)
    };
    assert_eq!(paused("us-admin"), "true");
    assert_ne!(paused("eu-admin"), "true");
}

#[test]
fn a_viewer_of_one_cluster_cannot_change_it_and_the_other_is_untouched() {
    let Some((sim, kubectl)) =
        fleet("a_viewer_of_one_cluster_cannot_change_it_and_the_other_is_untouched")
    else {
        return;
    };
    let out = pause_checkout(&sim, &kubectl, "eu-viewer");
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("forbidden"), "{}", stderr_of(&out));
    let eu = patch_requests(&sim, "eu");
    assert_eq!(eu.len(), 1, "{eu:?}");
    assert_eq!(
        (&eu[0]["user"], &eu[0]["status"]),
        (&"viewer".into(), &403.into())
    );
    assert_eq!(patch_requests(&sim, "us"), Vec::<serde_json::Value>::new());
}
