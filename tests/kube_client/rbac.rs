//! Who may do what: access reviews, and a viewer that reads but never
//! writes.

use super::reflectors::pod_json;
use super::*;

fn access_review(verb: &str, resource: &str, subresource: Option<&str>) -> SelfSubjectAccessReview {
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some("argoproj.io".into()),
                resource: Some(resource.into()),
                subresource: subresource.map(Into::into),
                namespace: Some("shop".into()),
                name: Some("checkout".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn allowed(client: &kube::Client, verb: &str, subresource: Option<&str>) -> bool {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = api
        .create(
            &PostParams::default(),
            &access_review(verb, "rollouts", subresource),
        )
        .await
        .expect("create a SelfSubjectAccessReview");
    review.status.expect("the review is answered").allowed
}

#[tokio::test]
async fn viewer_reads_but_may_not_write_and_reviews_say_so() {
    let sim = start().await;
    let viewer = support::kube_client(&sim, "sim-viewer").await;
    let admin = support::kube_client(&sim, "sim-admin").await;
    let deployer = support::kube_client(&sim, "sim-deployer").await;

    let pods: Api<Pod> = Api::namespaced(viewer.clone(), "shop");
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        8
    );
    let rollouts: Api<DynamicObject> = Api::namespaced_with(viewer.clone(), "shop", &rollout_ar());
    let status = api_error(
        rollouts
            .patch(
                "checkout",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"paused": true}})),
            )
            .await,
    );
    assert_eq!(status.code, 403, "{status:?}");
    assert_eq!(status.reason, "Forbidden");
    assert!(
        status.message.contains("User \"viewer\" cannot patch"),
        "{}",
        status.message
    );

    let who: Api<SelfSubjectReview> = Api::all(viewer.clone());
    let me = who
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("SelfSubjectReview");
    let info = me.status.and_then(|s| s.user_info).expect("userInfo");
    assert_eq!(info.username.as_deref(), Some("viewer"));
    assert!(
        info.groups
            .unwrap_or_default()
            .contains(&"system:authenticated".to_string())
    );

    assert!(
        !allowed(&viewer, "patch", None).await,
        "viewer may not patch"
    );
    assert!(allowed(&viewer, "get", None).await, "viewer may get");
    assert!(allowed(&admin, "patch", None).await, "admin may patch");
    assert!(allowed(&admin, "patch", Some("status")).await);
    assert!(
        allowed(&deployer, "patch", None).await,
        "deployer may patch"
    );
    assert!(
        !allowed(&deployer, "patch", Some("status")).await,
        "deployer may not patch the status subresource"
    );

    // What the reviews say is what the server enforces.
    let as_deployer: Api<DynamicObject> = Api::namespaced_with(deployer, "shop", &rollout_ar());
    as_deployer
        .patch(
            "checkout",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await
        .expect("deployer patches the rollout");
    let status = api_error(
        as_deployer
            .patch_status(
                "checkout",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"abort": true}})),
            )
            .await,
    );
    assert_eq!(status.code, 403, "{status:?}");
}

/// name -> resourceVersion of what the server holds.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_session_sends_no_mutating_request() {
    let sim = start().await;
    let viewer = support::kube_client(&sim, "sim-viewer").await;
    let pods: Api<Pod> = Api::namespaced(viewer.clone(), "shop");
    let list = pods.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 8);
    let deployments: Api<Deployment> = Api::namespaced(viewer.clone(), "shop");
    deployments.get("frontend").await.expect("get");
    let rollouts: Api<DynamicObject> = Api::namespaced_with(viewer.clone(), "shop", &rollout_ar());
    rollouts.get("checkout").await.expect("get");
    // Who am I: a POST, but not a mutation.
    let who: Api<SelfSubjectReview> = Api::all(viewer.clone());
    who.create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("SelfSubjectReview");

    let rv = list.metadata.resource_version.clone().unwrap();
    let stream = pods
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .expect("watch");
    let mut stream = stream.boxed();
    // A change made elsewhere arrives on the viewer's watch.
    sim.store()
        .create(
            pods_res(),
            "shop",
            pod_json("seen-by-viewer", "x"),
            WriteScope::Main,
            false,
        )
        .expect("create");
    let mut saw = false;
    while let Some(ev) = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("the watch ends by its timeout")
    {
        if let WatchEvent::Added(p) = ev.expect("watch event")
            && p.name_any() == "seen-by-viewer"
        {
            saw = true;
        }
    }
    assert!(saw, "the viewer's watch delivered the new pod");

    let records = sim.request_log().records();
    let from_viewer: Vec<_> = records.iter().filter(|r| r.user == "viewer").collect();
    assert!(from_viewer.len() >= 5, "{from_viewer:?}");
    assert!(
        from_viewer.iter().any(|r| r.query.contains("watch=true")),
        "the watch is logged: {from_viewer:?}"
    );
    let mutating: Vec<_> = from_viewer.iter().filter(|r| r.is_mutating()).collect();
    assert!(mutating.is_empty(), "viewer mutations: {mutating:?}");
}
