//! Typed APIs: get, list and selectors; create, patch, replace, delete
//! and their errors.

use super::*;

#[tokio::test]
async fn typed_get_list_and_selectors() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "shop");

    let frontend = deployments.get("frontend").await.expect("get frontend");
    assert_eq!(frontend.name_any(), "frontend");
    assert_eq!(frontend.namespace().as_deref(), Some("shop"));
    assert_eq!(frontend.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(frontend.metadata.generation, Some(1));
    assert!(frontend.metadata.uid.is_some());

    let by_label = deployments
        .list(&ListParams::default().labels("app=frontend"))
        .await
        .expect("list by label");
    assert_eq!(names(&by_label.items), BTreeSet::from(["frontend".into()]));
    let none = deployments
        .list(&ListParams::default().labels("app=checkout"))
        .await
        .expect("list by label");
    assert!(
        none.items.is_empty(),
        "no Deployment is labelled app=checkout"
    );

    let by_field = deployments
        .list(&ListParams::default().fields("metadata.name=frontend"))
        .await
        .expect("list by field");
    assert_eq!(names(&by_field.items), BTreeSet::from(["frontend".into()]));
    let none = deployments
        .list(&ListParams::default().fields("metadata.name=nope"))
        .await
        .expect("list by field");
    assert!(none.items.is_empty());

    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let both = pods
        .list(&ListParams::default().labels("app in (checkout,frontend)"))
        .await
        .expect("set-based selector");
    assert_eq!(both.items.len(), 8);
    let not_checkout = pods
        .list(&ListParams::default().labels("app notin (checkout)"))
        .await
        .expect("set-based selector");
    assert_eq!(not_checkout.items.len(), 3);
    assert!(
        not_checkout
            .items
            .iter()
            .all(|p| p.labels().get("app").map(String::as_str) == Some("frontend"))
    );
    let all_ns: Api<Pod> = Api::all(client);
    assert_eq!(
        all_ns
            .list(&ListParams::default())
            .await
            .expect("list pods in every namespace")
            .items
            .len(),
        8
    );
}

#[tokio::test]
async fn typed_create_patch_replace_delete_and_errors() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "shop");
    let pp = PatchParams::default();

    let created = api
        .create(&PostParams::default(), &web_deployment("web"))
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.namespace().as_deref(), Some("shop"));
    let rv0 = rv_num(created.metadata.resource_version.as_ref());

    // A metadata-only change: new resourceVersion, same generation.
    let labelled = api
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}})),
        )
        .await
        .expect("merge patch labels");
    assert_eq!(
        labelled.labels().get("tier").map(String::as_str),
        Some("web")
    );
    assert_eq!(labelled.metadata.generation, Some(1), "labels are not spec");
    let rv1 = rv_num(labelled.metadata.resource_version.as_ref());
    assert!(rv1 > rv0, "resourceVersion grows: {rv0} -> {rv1}");

    // A spec change by merge patch.
    let scaled = api
        .patch("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .expect("merge patch spec");
    assert_eq!(scaled.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(scaled.metadata.generation, Some(2));
    let rv2 = rv_num(scaled.metadata.resource_version.as_ref());
    assert!(rv2 > rv1);

    // Strategic merge: containers merge by name, so the port survives.
    let strategic = api
        .patch(
            "web",
            &pp,
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:2"}
            ]}}}})),
        )
        .await
        .expect("strategic merge patch");
    let container = &strategic
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    assert_eq!(container.image.as_deref(), Some("nginx:2"));
    assert_eq!(
        container.ports.as_ref().map(|p| p[0].container_port),
        Some(80),
        "a strategic merge patch keeps the fields of the merged container"
    );
    assert_eq!(strategic.metadata.generation, Some(3));
    let rv3 = rv_num(strategic.metadata.resource_version.as_ref());
    assert!(rv3 > rv2);

    // JSON patch.
    let json_patch = api
        .patch(
            "web",
            &pp,
            &Patch::<()>::Json(
                serde_json::from_value(json!([
                    {"op": "test", "path": "/spec/replicas", "value": 3},
                    {"op": "replace", "path": "/spec/replicas", "value": 5},
                ]))
                .expect("a JSON patch"),
            ),
        )
        .await
        .expect("JSON patch");
    assert_eq!(json_patch.spec.as_ref().unwrap().replicas, Some(5));
    assert_eq!(json_patch.metadata.generation, Some(4));
    let rv4 = rv_num(json_patch.metadata.resource_version.as_ref());
    assert!(rv4 > rv3);

    // A patch that changes nothing keeps both.
    let same = api
        .patch("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .expect("no-op patch");
    assert_eq!(same.metadata.generation, Some(4));
    assert_eq!(rv_num(same.metadata.resource_version.as_ref()), rv4);

    // Replace with the stale object from the create: 409 Conflict.
    let mut stale = created.clone();
    stale.spec.as_mut().unwrap().replicas = Some(7);
    let status = api_error(api.replace("web", &PostParams::default(), &stale).await);
    assert_eq!(status.code, 409, "{status:?}");
    assert_eq!(status.reason, "Conflict");
    // With the current version it succeeds and bumps the generation.
    let mut current = api.get("web").await.expect("get");
    current.spec.as_mut().unwrap().replicas = Some(7);
    let replaced = api
        .replace("web", &PostParams::default(), &current)
        .await
        .expect("replace with the current resourceVersion");
    assert_eq!(replaced.spec.as_ref().unwrap().replicas, Some(7));
    assert_eq!(replaced.metadata.generation, Some(5));
    assert!(rv_num(replaced.metadata.resource_version.as_ref()) > rv4);

    // Creating it again: 409 AlreadyExists.
    let status = api_error(
        api.create(&PostParams::default(), &web_deployment("web"))
            .await,
    );
    assert_eq!(status.code, 409, "{status:?}");
    assert_eq!(status.reason, "AlreadyExists");

    api.delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    let status = api_error(api.get("web").await);
    assert_eq!(status.code, 404, "{status:?}");
    assert_eq!(status.reason, "NotFound");

    let elsewhere: Api<Deployment> = Api::namespaced(client.clone(), "nope");
    let status = api_error(
        elsewhere
            .create(&PostParams::default(), &web_deployment("web"))
            .await,
    );
    assert_eq!(status.code, 404, "{status:?}");
    assert_eq!(status.reason, "NotFound");

    let status = api_error(
        api.create(&PostParams::default(), &web_deployment("Bad_Name"))
            .await,
    );
    assert_eq!(status.code, 422, "{status:?}");
    assert_eq!(status.reason, "Invalid");
}
