//! Discovery, dynamic Rollouts with the status subresource, and the scale
//! subresource.

use super::*;

#[tokio::test]
async fn discovery_and_dynamic_rollouts_with_the_status_subresource() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let group = discovery
        .get("argoproj.io")
        .expect("group argoproj.io is discovered");
    let (ar, caps) = group
        .recommended_kind("Rollout")
        .expect("kind Rollout is discovered");
    assert_eq!(ar.plural, "rollouts");
    assert_eq!(ar.group, "argoproj.io");
    assert_eq!(ar.version, "v1alpha1");
    assert_eq!(ar.api_version, "argoproj.io/v1alpha1");
    assert_eq!(ar.kind, "Rollout");
    assert_eq!(caps.scope, Scope::Namespaced);
    for verb in ["get", "list", "watch", "patch", "create", "delete"] {
        assert!(caps.supports_operation(verb), "rollouts support {verb}");
    }
    let subresources: BTreeSet<String> = caps
        .subresources
        .iter()
        .map(|(r, _)| r.plural.clone())
        .collect();
    assert!(subresources.contains("status"), "{subresources:?}");
    assert!(subresources.contains("scale"), "{subresources:?}");
    let (resolved, _) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"))
        .expect("resolve the Rollout GVK");
    assert_eq!(resolved, ar);

    let api: Api<DynamicObject> = Api::namespaced_with(client, "shop", &ar);
    let checkout = api.get("checkout").await.expect("get checkout");
    assert_eq!(checkout.data["spec"]["replicas"], 5);
    assert_eq!(checkout.data["status"]["phase"], "Paused");
    assert_eq!(
        checkout.types.as_ref().map(|t| t.kind.as_str()),
        Some("Rollout")
    );
    let list = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(names(&list.items), BTreeSet::from(["checkout".into()]));
    let generation = checkout.metadata.generation.expect("generation");

    let paused = api
        .patch(
            "checkout",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await
        .expect("patch spec");
    assert_eq!(paused.data["spec"]["paused"], true);
    assert_eq!(paused.metadata.generation, Some(generation + 1));

    let aborted = api
        .patch_status(
            "checkout",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"abort": true}})),
        )
        .await
        .expect("patch status");
    assert_eq!(aborted.data["status"]["abort"], true);
    assert_eq!(
        aborted.data["status"]["phase"], "Paused",
        "a merge keeps the rest"
    );
    assert_eq!(
        aborted.metadata.generation,
        Some(generation + 1),
        "a status change does not move the generation"
    );
    assert!(
        rv_num(aborted.metadata.resource_version.as_ref())
            > rv_num(paused.metadata.resource_version.as_ref())
    );

    // The main resource ignores status, but applies the rest of the patch.
    let main = api
        .patch(
            "checkout",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"labels": {"touched": "yes"}},
                "status": {"abort": false, "phase": "Healthy"},
            })),
        )
        .await
        .expect("patch main resource with status");
    assert_eq!(
        main.labels().get("touched").map(String::as_str),
        Some("yes")
    );
    assert_eq!(main.data["status"], aborted.data["status"]);
    assert_eq!(main.metadata.generation, Some(generation + 1));
    let stored = api.get("checkout").await.expect("get");
    assert_eq!(stored.data["status"]["abort"], true);
    assert_eq!(stored.data["status"]["phase"], "Paused");
}

#[tokio::test]
async fn scale_subresource_of_a_deployment() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let api: Api<Deployment> = Api::namespaced(client, "shop");
    let scale = api.get_scale("frontend").await.expect("get scale");
    assert_eq!(scale.metadata.name.as_deref(), Some("frontend"));
    assert_eq!(scale.spec.as_ref().and_then(|s| s.replicas), Some(3));
    let status = scale.status.as_ref().expect("scale status");
    assert_eq!(status.replicas, 3);
    assert_eq!(status.selector.as_deref(), Some("app=frontend"));

    let patched = api
        .patch_scale(
            "frontend",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("patch scale");
    assert_eq!(patched.spec.as_ref().and_then(|s| s.replicas), Some(5));
    let deployment = api.get("frontend").await.expect("get");
    assert_eq!(deployment.spec.as_ref().unwrap().replicas, Some(5));
    assert_eq!(deployment.metadata.generation, Some(2));
    assert_eq!(
        deployment.metadata.resource_version, patched.metadata.resource_version,
        "the Scale carries the object's resourceVersion"
    );
    let again = api.get_scale("frontend").await.expect("get scale");
    assert_eq!(again.spec.as_ref().and_then(|s| s.replicas), Some(5));
}
