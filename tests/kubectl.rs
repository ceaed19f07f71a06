//! The real kubectl against `cutover sim serve`: whatever kubectl does
//! against the simulated cluster must work as it does against a real one.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{ServeProcess, require_program, stderr_of, stdout_of};

fn kubectl_or_skip(test: &str) -> Option<std::path::PathBuf> {
    require_program("kubectl", test)
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "kubectl failed: {}\n{}",
        stdout_of(out),
        stderr_of(out)
    );
    stdout_of(out)
}

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
fn patches_reach_spec_and_status_separately() {
    let Some(kubectl) = kubectl_or_skip("patch") else {
        return;
    };
    let sim = ServeProcess::start();
    let get = |path: &str| {
        ok(&sim.kubectl(
            &kubectl,
            &[
                "get",
                "rollout",
                "checkout",
                "-n",
                "shop",
                "-o",
                &format!("jsonpath={path}"),
            ],
        ))
    };
    let generation = get("{.metadata.generation}");
    ok(&sim.merge_patch(
        &kubectl,
        ("rollout", "checkout"),
        None,
        r#"{"spec":{"paused":true}}"#,
    ));
    assert_eq!(get("{.spec.paused}"), "true");
    let after_spec = get("{.metadata.generation}");
    assert_ne!(after_spec, generation, "a spec change moves the generation");

    ok(&sim.merge_patch(
        &kubectl,
        ("rollout", "checkout"),
        Some("status"),
        r#"{"status":{"abort":true}}"#,
    ));
    assert_eq!(get("{.status.abort}"), "true");
    assert_eq!(
        get("{.metadata.generation}"),
        after_spec,
        "status changes leave the generation"
    );

    // The main resource ignores status.
    ok(&sim.merge_patch(
        &kubectl,
        ("rollout", "checkout"),
        None,
        r#"{"status":{"abort":false}}"#,
    ));
    assert_eq!(get("{.status.abort}"), "true");

    // kubectl's default patch type for built-in kinds is a strategic merge patch.
    ok(&sim.kubectl(
        &kubectl,
        &[
            "patch", "deployment", "frontend", "-n", "shop", "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"frontend","image":"registry.example/shop/frontend:2.9.0"}]}}}}"#,
        ],
    ));
    let image = ok(&sim.kubectl(
        &kubectl,
        &["get", "deploy", "frontend", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}"],
    ));
    assert_eq!(image, "registry.example/shop/frontend:2.9.0 8080");
}

#[test]
fn apply_scale_and_delete_a_new_deployment() {
    let Some(kubectl) = kubectl_or_skip("apply") else {
        return;
    };
    let sim = ServeProcess::start();
    let manifest = sim.dir.path().join("web.yaml");
    let write = |replicas: u32| {
        std::fs::write(
            &manifest,
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"
            ),
        )
        .unwrap();
    };
    write(2);
    let path = manifest.to_str().unwrap();
    let created = ok(&sim.kubectl(&kubectl, &["apply", "-f", path]));
    assert!(created.contains("deployment.apps/web created"), "{created}");
    write(4);
    let configured = ok(&sim.kubectl(&kubectl, &["apply", "-f", path]));
    assert!(configured.contains("configured"), "{configured}");
    let replicas = ok(&sim.kubectl(
        &kubectl,
        &[
            "get",
            "deploy",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
    ));
    assert_eq!(replicas, "4");
    ok(&sim.kubectl(
        &kubectl,
        &["scale", "deploy", "web", "-n", "shop", "--replicas", "1"],
    ));
    let replicas = ok(&sim.kubectl(
        &kubectl,
        &[
            "get",
            "deploy",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
    ));
    assert_eq!(replicas, "1");
    let deleted = ok(&sim.kubectl(&kubectl, &["delete", "deploy", "web", "-n", "shop"]));
    assert!(deleted.contains("deleted"), "{deleted}");
    let gone = sim.kubectl(&kubectl, &["get", "deploy", "web", "-n", "shop"]);
    assert!(!gone.status.success());
    assert!(
        stderr_of(&gone).contains("NotFound"),
        "{}",
        stderr_of(&gone)
    );
}

/// `kubectl patch` that pauses checkout.
const PAUSE_CHECKOUT: &[&str] = &[
    "patch",
    "rollout",
    "checkout",
    "-n",
    "shop",
    "--type",
    "merge",
    "-p",
    r#"{"spec":{"paused":true}}"#,
];

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

/// On SIGINT, SIGTERM or SIGHUP the server stops and removes its
/// kubeconfig, then exits with 128 plus the signal's number, as the control
/// room does.
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

#[test]
fn sim_serve_stops_cleanly_on_signals() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let sim = ServeProcess::start();
        let kubeconfig = sim.kubeconfig.clone();
        assert!(kubeconfig.exists());
        let status = sim.stop(signal);
        assert_eq!(status.code(), Some(code), "SIG{signal}: {status:?}");
        assert!(
            !kubeconfig.exists(),
            "SIG{signal}: the kubeconfig is removed"
        );
    }
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

/// A snapshot as `kubectl get ro,rs,pods -o yaml` writes it from a real
/// cluster: a Rollout at generation 7, its ReplicaSet and a pod, owned
/// through uids, created days before the simulator started.
const SNAPSHOT: &str = r#"apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: argoproj.io/v1alpha1
  kind: Rollout
  metadata:
    name: web
    namespace: shop
    uid: 7c1e2a90-5b7d-4f7e-9a51-3f1d2c4b5a60
    generation: 7
    resourceVersion: "81234567"
    creationTimestamp: "2024-03-01T09:00:00Z"
    labels: {app: web}
    annotations: {rollout.argoproj.io/revision: "7"}
  spec:
    replicas: 1
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: web, image: "registry.example/web:2.1.0"}]}
    strategy: {canary: {steps: [{setWeight: 50}, {pause: {}}]}}
  status:
    observedGeneration: "7"
    phase: Healthy
    currentPodHash: 5d4f8b7c9
    stableRS: 5d4f8b7c9
    currentStepIndex: 2
    replicas: 1
    updatedReplicas: 1
    readyReplicas: 1
    availableReplicas: 1
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: web-5d4f8b7c9
    namespace: shop
    uid: 2b9d6c1e-8f3a-4c2d-b7e5-6a1f0e9d8c71
    generation: 3
    resourceVersion: "81234501"
    creationTimestamp: "2024-03-02T10:30:00Z"
    labels: {app: web, rollouts-pod-template-hash: 5d4f8b7c9}
    annotations: {rollout.argoproj.io/revision: "7"}
    ownerReferences:
    - {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web, uid: 7c1e2a90-5b7d-4f7e-9a51-3f1d2c4b5a60, controller: true, blockOwnerDeletion: true}
  spec:
    replicas: 1
    selector: {matchLabels: {app: web, rollouts-pod-template-hash: 5d4f8b7c9}}
    template:
      metadata: {labels: {app: web, rollouts-pod-template-hash: 5d4f8b7c9}}
      spec: {containers: [{name: web, image: "registry.example/web:2.1.0"}]}
  status: {replicas: 1, readyReplicas: 1, availableReplicas: 1, fullyLabeledReplicas: 1, observedGeneration: 3}
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-5d4f8b7c9-q7x2m
    namespace: shop
    uid: 9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b
    resourceVersion: "81234555"
    creationTimestamp: "2024-03-02T10:30:05Z"
    labels: {app: web, rollouts-pod-template-hash: 5d4f8b7c9}
    ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f8b7c9, uid: 2b9d6c1e-8f3a-4c2d-b7e5-6a1f0e9d8c71, controller: true, blockOwnerDeletion: true}
  spec: {containers: [{name: web, image: "registry.example/web:2.1.0"}]}
  status:
    phase: Running
    podIP: 10.1.2.3
    startTime: "2024-03-02T10:30:05Z"
    conditions: [{type: Ready, status: "True", lastTransitionTime: "2024-03-02T10:31:00Z"}]
    containerStatuses:
    - {name: web, image: "registry.example/web:2.1.0", ready: true, started: true, restartCount: 2, state: {running: {startedAt: "2024-03-03T08:00:00Z"}}}
"#;

/// What kubectl reads of the three objects: identity, ownership and status.
fn identities(sim: &ServeProcess, kubectl: &std::path::Path) -> [String; 3] {
    let get = |what: &[&str], path: &str| {
        let jsonpath = format!("jsonpath={path}");
        let args = [what, &["-n", "shop", "-o", &jsonpath]].concat();
        ok(&sim.kubectl(kubectl, &args))
    };
    let identity = "{.metadata.uid} {.metadata.generation} {.metadata.creationTimestamp}";
    let owner = "{.metadata.ownerReferences[0].uid}";
    [
        get(
            &["get", "rollout", "web"],
            &format!("{identity} {{.status.observedGeneration}} {{.status.phase}}"),
        ),
        get(
            &["get", "rs", "web-5d4f8b7c9"],
            &format!("{identity} {owner} {{.status.readyReplicas}}"),
        ),
        get(
            &["get", "pod", "web-5d4f8b7c9-q7x2m"],
            &format!("{identity} {owner} {{.status.containerStatuses[0].restartCount}}"),
        ),
    ]
}

#[test]
fn a_seed_file_is_served_as_a_restore() {
    let Some(kubectl) = kubectl_or_skip("seed_restore") else {
        return;
    };
    let seeds = tempfile::tempdir().unwrap();
    let snapshot = seeds.path().join("snapshot.yaml");
    std::fs::write(&snapshot, SNAPSHOT).unwrap();
    let sim = ServeProcess::start_with(&["--seed-file", snapshot.to_str().unwrap()]);
    let seen = identities(&sim, &kubectl);
    assert_eq!(
        seen,
        [
            "7c1e2a90-5b7d-4f7e-9a51-3f1d2c4b5a60 7 2024-03-01T09:00:00Z 7 Healthy",
            "2b9d6c1e-8f3a-4c2d-b7e5-6a1f0e9d8c71 3 2024-03-02T10:30:00Z 7c1e2a90-5b7d-4f7e-9a51-3f1d2c4b5a60 1",
            "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b 1 2024-03-02T10:30:05Z 2b9d6c1e-8f3a-4c2d-b7e5-6a1f0e9d8c71 2",
        ]
        .map(String::from),
        "uid, generation, creationTimestamp, owner and status as seeded"
    );
    let version = ok(&sim.kubectl(
        &kubectl,
        &[
            "get",
            "rollout",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ],
    ));
    assert_ne!(version, "81234567", "resourceVersion is the simulator's");

    // The ReplicaSet is found as the rollout's revision through its owner
    // reference, and the pod as the ReplicaSet's.
    let report = sim.status_json(&["--context", "sim-admin"], &["web"]);
    let web = &report["releases"][0];
    assert_eq!(web["name"], "web", "{report:#}");
    let revisions = web["revisions"].as_array().expect("revisions");
    assert_eq!(revisions.len(), 1, "{web:#}");
    assert_eq!(revisions[0]["replicaSet"], "web-5d4f8b7c9", "{web:#}");
    assert_eq!(revisions[0]["number"], 7, "{web:#}");
    assert_eq!(
        revisions[0]["restarts"], 2,
        "the pod belongs to it: {web:#}"
    );

    // What kubectl writes from this cluster seeds another one identically.
    let exported = ok(&sim.kubectl(
        &kubectl,
        &[
            "get",
            "rollouts,replicasets,pods",
            "-n",
            "shop",
            "-o",
            "yaml",
        ],
    ));
    let again = seeds.path().join("exported.yaml");
    std::fs::write(&again, exported).unwrap();
    let copy = ServeProcess::start_with(&["--seed-file", again.to_str().unwrap()]);
    assert_eq!(identities(&copy, &kubectl), seen);
}

/// Write a manifest into the cluster's temporary folder; its path.
fn manifest(sim: &ServeProcess, name: &str, text: &str) -> String {
    let path = sim.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The value of `jsonpath` on one object in namespace shop.
fn get_path(
    sim: &ServeProcess,
    kubectl: &std::path::Path,
    object: &[&str],
    jsonpath: &str,
) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(object);
    args.extend(["-n", "shop", "-o"]);
    let jsonpath = format!("jsonpath={jsonpath}");
    args.push(&jsonpath);
    ok(&sim.kubectl(kubectl, &args))
}

#[test]
fn apply_with_validation_creates_then_patches_a_rollout() {
    let Some(kubectl) = kubectl_or_skip("apply_rollout") else {
        return;
    };
    let sim = ServeProcess::start();
    let manifest = sim.dir.path().join("rollout.yaml");
    let write = |image: &str| {
        std::fs::write(
            &manifest,
            format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: {image}\n  strategy:\n    canary:\n      steps:\n      - setWeight: 20\n      - pause: {{}}\n"
            ),
        )
        .unwrap();
    };
    write("nginx:1.27");
    let path = manifest.to_str().unwrap();
    let created = ok(&sim.kubectl(&kubectl, &["apply", "-f", path]));
    assert!(
        created.contains("rollout.argoproj.io/web created"),
        "{created}"
    );
    write("nginx:1.28");
    let configured = ok(&sim.kubectl(&kubectl, &["apply", "-f", path]));
    assert!(
        configured.contains("rollout.argoproj.io/web configured"),
        "{configured}"
    );
    let image = get_path(
        &sim,
        &kubectl,
        &["rollout", "web"],
        "{.spec.template.spec.containers[0].image} {.spec.strategy.canary.steps[0].setWeight}",
    );
    assert_eq!(image, "nginx:1.28 20");
    let annotation = get_path(
        &sim,
        &kubectl,
        &["rollout", "web"],
        "{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
    );
    assert!(annotation.contains("nginx:1.28"), "{annotation}");
    // kubectl read the v3 document, left validation to the server, and sent
    // a merge patch (a custom resource has no strategic merge).
    let requests = sim.requests();
    assert!(
        requests
            .iter()
            .any(|r| r["path"] == "/openapi/v3/apis/argoproj.io/v1alpha1" && r["status"] == 200)
    );
    let patch = requests
        .iter()
        .find(|r| r["method"] == "PATCH")
        .expect("a PATCH");
    assert!(
        patch["query"]
            .as_str()
            .unwrap()
            .contains("fieldValidation=Strict"),
        "{patch}"
    );
}

#[test]
fn strict_validation_refuses_unknown_fields_of_built_in_kinds() {
    let Some(kubectl) = kubectl_or_skip("strict") else {
        return;
    };
    let sim = ServeProcess::start();
    let path = &manifest(
        &sim,
        "bad.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\n  namespace: shop\nspec:\n  replica: 2\n  selector:\n    matchLabels: {app: bad}\n  template:\n    metadata:\n      labels: {app: bad}\n    spec:\n      containers:\n      - name: bad\n        image: nginx\n        imagePullPolice: Always\n        resources: {limits: {cpu: 1, memory: 64Mi}}\n",
    );
    let refused = sim.kubectl(&kubectl, &["apply", "-f", path]);
    assert!(!refused.status.success());
    let err = stderr_of(&refused);
    assert!(
        err.contains(r#"strict decoding error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolice""#),
        "{err}"
    );
    let gone = sim.kubectl(&kubectl, &["get", "deploy", "bad", "-n", "shop"]);
    assert!(!gone.status.success(), "nothing was created");
    let warned = sim.kubectl(&kubectl, &["apply", "--validate=warn", "-f", path]);
    ok(&warned);
    assert!(
        stderr_of(&warned).contains(r#"Warning: unknown field "spec.replica""#),
        "{}",
        stderr_of(&warned)
    );
}

#[test]
fn a_list_manifest_is_validated_on_kubectl_s_side() {
    let Some(kubectl) = kubectl_or_skip("apply_list") else {
        return;
    };
    let sim = ServeProcess::start();
    let write = |field: &str| {
        manifest(
            &sim,
            "list.yaml",
            &format!(
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: settings, namespace: shop}}\n  {field}: {{mode: fast}}\n"
            ),
        )
    };
    let path = write("datum");
    let refused = sim.kubectl(&kubectl, &["apply", "-f", &path]);
    assert!(!refused.status.success());
    let err = stderr_of(&refused);
    assert!(
        err.contains(r#"unknown field "datum" in io.k8s.api.core.v1.ConfigMap"#),
        "{err}"
    );
    write("data");
    ok(&sim.kubectl(&kubectl, &["apply", "-f", &path]));
    assert_eq!(
        get_path(&sim, &kubectl, &["cm", "settings"], "{.data.mode}"),
        "fast"
    );
    let v2 = sim
        .requests()
        .into_iter()
        .any(|r| r["path"] == "/openapi/v2" && r["status"] == 200);
    assert!(v2, "kubectl read the v2 document");
}

#[test]
fn generators_send_protobuf_and_the_objects_arrive() {
    let Some(kubectl) = kubectl_or_skip("create_generators") else {
        return;
    };
    let sim = ServeProcess::start();
    let created = ok(&sim.kubectl(
        &kubectl,
        &[
            "create",
            "deployment",
            "hello",
            "--image=nginx:1.27",
            "--port=8080",
            "--replicas=0",
            "-n",
            "shop",
        ],
    ));
    assert!(
        created.contains("deployment.apps/hello created"),
        "{created}"
    );
    assert_eq!(
        get_path(
            &sim,
            &kubectl,
            &["deploy", "hello"],
            "{.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}"
        ),
        "0 hello nginx:1.27 8080"
    );
    ok(&sim.kubectl(
        &kubectl,
        &[
            "create",
            "service",
            "clusterip",
            "hello",
            "--tcp=80:http",
            "-n",
            "shop",
        ],
    ));
    assert_eq!(
        get_path(
            &sim,
            &kubectl,
            &["svc", "hello"],
            "{.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort}"
        ),
        "ClusterIP 80 http"
    );
    ok(&sim.kubectl(
        &kubectl,
        &[
            "create",
            "configmap",
            "hello",
            "--from-literal=greeting=hi",
            "-n",
            "shop",
        ],
    ));
    assert_eq!(
        get_path(&sim, &kubectl, &["cm", "hello"], "{.data.greeting}"),
        "hi"
    );
    let created = sim
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["status"] == 201)
        .count();
    assert_eq!(created, 3, "one POST each, none refused");
}

#[test]
fn the_admin_endpoints_answer_through_kubectl() {
    let Some(kubectl) = kubectl_or_skip("admin_raw") else {
        return;
    };
    let sim = ServeProcess::start();
    let clock: Value =
        serde_json::from_str(&ok(&sim.kubectl(&kubectl, &["get", "--raw", "/_sim/clock"])))
            .unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap()).is_ok(),
        "{clock}"
    );
    assert_eq!(clock["timeScale"], 1.0);
    let gate = sim.dir.path().join("gate.json");
    std::fs::write(&gate, r#"{"name":"search","namespace":"shop"}"#).unwrap();
    let check = "/_sim/gate/check?name=search&namespace=shop";
    assert!(
        !sim.kubectl(&kubectl, &["get", "--raw", check])
            .status
            .success(),
        "closed"
    );
    ok(&sim.kubectl(
        &kubectl,
        &[
            "create",
            "--raw",
            "/_sim/gate/open",
            "-f",
            gate.to_str().unwrap(),
        ],
    ));
    let open: Value =
        serde_json::from_str(&ok(&sim.kubectl(&kubectl, &["get", "--raw", check]))).unwrap();
    assert_eq!(open["open"], true);
    let viewer = sim.kubectl(
        &kubectl,
        &["--context", "sim-viewer", "get", "--raw", "/_sim/clock"],
    );
    assert!(!viewer.status.success(), "admin only");
}
