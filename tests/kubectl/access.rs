//! What an identity may do: a viewer, and a role with resource names.

use super::*;

#[test]
fn the_viewer_may_look_but_not_touch() {
    let Some(kubectl) = kubectl_or_skip("viewer") else {
        return;
    };
    let sim = ServeProcess::start();
    let viewer = |args: &[&str]| {
        let mut all = vec!["--context", "sim-viewer"];
        all.extend_from_slice(args);
        sim.kubectl(&kubectl, &all)
    };
    ok(&viewer(&["get", "rollouts", "-n", "shop"]));
    let denied = viewer(PAUSE_CHECKOUT);
    assert!(!denied.status.success());
    let err = stderr_of(&denied);
    assert!(err.contains("Forbidden"), "{err}");
    assert!(
        err.contains(r#"User "viewer" cannot patch resource "rollouts""#),
        "{err}"
    );

    let can_i = viewer(&["auth", "can-i", "patch", "rollouts", "-n", "shop"]);
    assert_eq!(stdout_of(&can_i).trim(), "no");
    let can_list = viewer(&["auth", "can-i", "list", "rollouts", "-n", "shop"]);
    assert_eq!(stdout_of(&can_list).trim(), "yes");
    let admin_can = sim.kubectl(
        &kubectl,
        &[
            "auth",
            "can-i",
            "patch",
            "rollouts",
            "--subresource",
            "status",
            "-n",
            "shop",
        ],
    );
    assert_eq!(stdout_of(&admin_can).trim(), "yes");

    let whoami = ok(&viewer(&["auth", "whoami"]));
    assert!(whoami.contains("viewer"), "{whoami}");
    assert!(whoami.contains("system:authenticated"), "{whoami}");

    let mutations: Vec<Value> = sim
        .requests()
        .into_iter()
        .filter(|r| r["user"] == "viewer" && r["status"].as_u64().is_some_and(|s| s < 400))
        .filter(|r| matches!(r["method"].as_str(), Some("PATCH" | "PUT" | "DELETE")))
        .collect();
    assert!(
        mutations.is_empty(),
        "the viewer changed something: {mutations:?}"
    );
    let refused = sim
        .requests()
        .into_iter()
        .any(|r| r["user"] == "viewer" && r["method"] == "PATCH" && r["status"] == 403);
    assert!(refused, "the refused patch is in the request log");
}

#[test]
fn a_role_with_resource_names_may_change_only_the_objects_it_names() {
    let Some(kubectl) = kubectl_or_skip("resource names") else {
        return;
    };
    let sim = ServeProcess::start();
    let can_i = |args: &[&str]| {
        let mut all = vec!["--context", "sim-checkout-owner", "auth", "can-i"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-n", "shop"]);
        stdout_of(&sim.kubectl(&kubectl, &all)).trim().to_string()
    };
    assert_eq!(can_i(&["patch", "rollouts/checkout"]), "yes");
    assert_eq!(
        can_i(&["patch", "rollouts/checkout", "--subresource", "status"]),
        "yes"
    );
    assert_eq!(can_i(&["patch", "rollouts/cart"]), "no");
    assert_eq!(
        can_i(&["patch", "rollouts"]),
        "no",
        "a question naming no rollout"
    );
    assert_eq!(can_i(&["list", "rollouts"]), "yes");
    let mut pause = vec!["--context", "sim-checkout-owner"];
    pause.extend_from_slice(PAUSE_CHECKOUT);
    ok(&sim.kubectl(&kubectl, &pause));
}
