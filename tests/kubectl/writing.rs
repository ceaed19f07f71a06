//! Changing: patches to spec and status, apply, scale and delete, and the
//! create generators.

use super::*;

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
