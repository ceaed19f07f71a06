//! Manifests validated on the server's side and on kubectl's.

use super::*;

/// Write a manifest into the cluster's temporary folder; its path.
fn manifest(sim: &ServeProcess, name: &str, text: &str) -> String {
    let path = sim.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
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
