//! The simulator as a server: stopped by signals, started from a seed
//! file, and its admin endpoints.

use super::*;

/// On SIGINT, SIGTERM or SIGHUP the server stops and removes its
/// kubeconfig, then exits with 128 plus the signal's number, as the control
/// room does.
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
