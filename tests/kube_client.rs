mod support;

// The simulated cluster as kube-rs sees it: typed and dynamic APIs,
// subresources, pagination, garbage collection, RBAC, and watchers and
// reflectors that must stay exact while watch streams are cut, answered
// with 410 Gone and the history is compacted.

use cutover_sim::patch::PatchKind;
use cutover_sim::resources::{self, ResourceDef};
use cutover_sim::selector::LabelSelector;
use cutover_sim::store::{ListOptions, Propagation, WriteScope};
use cutover_sim::{SimCluster, SimConfig};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::Status;
use kube::discovery::{Discovery, Scope};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// Only bounds a wait that would otherwise hang; never a performance claim.
const WAIT: Duration = Duration::from_secs(20);

async fn start() -> SimCluster {
    SimCluster::start(SimConfig::default())
        .await
        .expect("start the simulated cluster")
}

fn res(group: &str, version: &str, plural: &str) -> &'static ResourceDef {
    resources::lookup(group, version, plural).expect("served resource")
}

fn pods_res() -> &'static ResourceDef {
    res("", "v1", "pods")
}

fn rollouts_res() -> &'static ResourceDef {
    res("argoproj.io", "v1alpha1", "rollouts")
}

fn rollout_ar() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
        "rollouts",
    )
}

/// The Status of a failed API call; panics on success or another kind of error.
fn api_error<T: Debug>(result: kube::Result<T>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected a Kubernetes API error, got {other:?}"),
    }
}

fn rv_num(rv: Option<&String>) -> u64 {
    rv.expect("resourceVersion is set")
        .parse()
        .expect("resourceVersion is a number here")
}

/// Poll an async condition until it holds; the timeout only prevents a hang.
async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if cond().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn web_deployment(name: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": "web",
                    "image": "nginx:1",
                    "ports": [{"containerPort": 80, "name": "http"}],
                }]},
            },
        },
    }))
    .expect("a valid Deployment")
}

fn names<K: ResourceExt>(items: &[K]) -> BTreeSet<String> {
    items.iter().map(ResourceExt::name_any).collect()
}

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

#[tokio::test]
async fn pagination_with_continue_returns_every_pod_once() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let api: Api<Pod> = Api::namespaced(client, "shop");
    let everything = names(&api.list(&ListParams::default()).await.expect("list").items);
    assert_eq!(everything.len(), 8);

    let mut lp = ListParams::default().limit(3);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = api.list(&lp).await.expect("list a page");
        pages += 1;
        assert!(page.items.len() <= 3, "a page holds at most `limit` items");
        if pages == 1 {
            assert_eq!(page.metadata.remaining_item_count, Some(5));
        }
        seen.extend(page.items.iter().map(ResourceExt::name_any));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 8, "every pod exactly once: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), everything);
}

/// A continued list is served at the resourceVersion of its first page, as a
/// real apiserver does; kube's watcher starts its watch from the last page's
/// resourceVersion, so a newer version there skips changes made between pages.
#[tokio::test]
async fn continued_list_pages_keep_the_first_pages_resource_version() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let api: Api<Pod> = Api::namespaced(client, "shop");
    let first = api
        .list(&ListParams::default().limit(3))
        .await
        .expect("first page");
    let first_rv = first.metadata.resource_version.clone();
    let token = first.metadata.continue_.clone().expect("a continue token");
    // A change to an object already returned, between the pages.
    let touched = first.items[0].name_any();
    sim.store()
        .patch(
            pods_res(),
            "shop",
            &touched,
            PatchKind::Merge,
            br#"{"metadata":{"labels":{"touched":"between-pages"}}}"#,
            WriteScope::Main,
            false,
        )
        .expect("patch through the store");
    let second = api
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .expect("second page");
    // What a list-then-watch client (kube's watcher) does next: watch from
    // the last page's version. The change between the pages must arrive.
    let last_rv = second
        .metadata
        .resource_version
        .clone()
        .expect("a resourceVersion");
    let mut stream = api
        .watch(&WatchParams::default().timeout(1), &last_rv)
        .await
        .expect("watch")
        .boxed();
    let mut delivered = false;
    while let Some(event) = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("the watch ends by its timeout")
    {
        if let Ok(WatchEvent::Modified(p)) = event
            && p.name_any() == touched
        {
            delivered = true;
        }
    }
    assert!(
        second.metadata.resource_version == first_rv && delivered,
        "a continued list must be answered at the resourceVersion of its first page \
         ({first_rv:?}), but the second page says {:?}; a watch from there never \
         delivers the change made to {touched} between the pages (delivered: {delivered}). \
         Server bug: Store::list reports the store's current resourceVersion for \
         continue requests instead of the version in the continue token",
        second.metadata.resource_version
    );
}

#[tokio::test]
async fn deleting_the_rollout_collects_its_replicasets_and_pods() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let rollouts: Api<DynamicObject> = Api::namespaced_with(client.clone(), "shop", &rollout_ar());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), "shop");
    let checkout = ListParams::default().labels("app=checkout");
    assert_eq!(pods.list(&checkout).await.unwrap().items.len(), 5);
    assert_eq!(replicasets.list(&checkout).await.unwrap().items.len(), 2);

    rollouts
        .delete("checkout", &DeleteParams::default())
        .await
        .expect("delete the rollout");
    wait_until(
        "the checkout pods and ReplicaSets to be collected",
        || async {
            pods.list(&checkout).await.unwrap().items.is_empty()
                && replicasets.list(&checkout).await.unwrap().items.is_empty()
        },
    )
    .await;
    let status = api_error(rollouts.get("checkout").await);
    assert_eq!(status.code, 404);
    // Objects it did not own stay.
    assert_eq!(
        pods.list(&ListParams::default().labels("app=frontend"))
            .await
            .unwrap()
            .items
            .len(),
        3
    );
    assert_eq!(
        replicasets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

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
fn server_versions(
    sim: &SimCluster,
    res: &'static ResourceDef,
    labels: &str,
) -> BTreeMap<String, String> {
    let opts = ListOptions {
        labels: LabelSelector::parse(labels).expect("selector"),
        ..Default::default()
    };
    sim.store()
        .list(res, Some("shop"), &opts)
        .expect("list the store")
        .items
        .iter()
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap().to_string(),
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// name -> resourceVersion of what a reflector holds; None if a name appears twice.
fn reflected_versions<K>(store: &Store<K>) -> Option<BTreeMap<String, String>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let state = store.state();
    let map: BTreeMap<String, String> = state
        .iter()
        .map(|o| (o.name_any(), o.resource_version().unwrap_or_default()))
        .collect();
    (map.len() == state.len()).then_some(map)
}

fn spawn_reflector<K>(
    api: Api<K>,
    config: watcher::Config,
    writer: reflector::store::Writer<K>,
) -> tokio::task::JoinHandle<()>
where
    K: Resource + Clone + Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    tokio::spawn(async move {
        // Errors (the injected 410s) are part of the test; the watcher recovers on the next poll.
        reflector::reflector(writer, watcher(api, config))
            .for_each(|_| futures::future::ready(()))
            .await;
    })
}

fn pod_json(name: &str, app: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    })
}

fn relabel(sim: &SimCluster, name: &str, app: &str) {
    let patch = json!({"metadata": {"labels": {"app": app}}}).to_string();
    sim.store()
        .patch(
            pods_res(),
            "shop",
            name,
            PatchKind::Merge,
            patch.as_bytes(),
            WriteScope::Main,
            false,
        )
        .expect("relabel a pod");
}

async fn assert_converges<K>(
    what: &str,
    sim: &SimCluster,
    store: &Store<K>,
    res: &'static ResourceDef,
    labels: &str,
) where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let converged = support::eventually(WAIT, || {
        reflected_versions(store).as_ref() == Some(&server_versions(sim, res, labels))
    })
    .await;
    assert!(
        converged,
        "the {what} reflector does not match the server\n server:    {:?}\n reflector: {:?}",
        server_versions(sim, res, labels),
        reflected_versions(store)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reflectors_stay_exact_through_cut_watches_gone_and_compaction() {
    reflectors_stay_exact(SimConfig {
        bookmark_interval: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await;
}

/// With only a few changes kept, resumed watches often find their version
/// gone and must list again; the reflectors must still end exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reflectors_stay_exact_with_a_short_history() {
    reflectors_stay_exact(SimConfig {
        history_limit: 3,
        ..SimConfig::default()
    })
    .await;
}

async fn reflectors_stay_exact(config: SimConfig) {
    let sim = SimCluster::start(config)
        .await
        .expect("start the simulated cluster");
    let client = support::kube_client(&sim, "sim-admin").await;
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let rollout_api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "shop", &rollout_ar());

    let (all_pods, all_writer) = reflector::store::<Pod>();
    let (checkout_pods, checkout_writer) = reflector::store::<Pod>();
    let rollout_writer = reflector::store::Writer::<DynamicObject>::new(rollout_ar());
    let rollouts = rollout_writer.as_reader();
    let tasks = [
        spawn_reflector(pod_api.clone(), watcher::Config::default(), all_writer),
        spawn_reflector(
            pod_api.clone(),
            watcher::Config::default().labels("app=checkout"),
            checkout_writer,
        ),
        spawn_reflector(rollout_api, watcher::Config::default(), rollout_writer),
    ];
    for ready in [
        tokio::time::timeout(WAIT, all_pods.wait_until_ready()).await,
        tokio::time::timeout(WAIT, checkout_pods.wait_until_ready()).await,
        tokio::time::timeout(WAIT, rollouts.wait_until_ready()).await,
    ] {
        ready
            .expect("a reflector's first list")
            .expect("writer alive");
    }
    assert_eq!(all_pods.len(), 8);
    assert_eq!(checkout_pods.len(), 5);
    assert_eq!(rollouts.len(), 1);
    let lists_before = list_requests(&sim);

    let pods = pods_res();
    let ro = rollouts_res();
    let store = sim.store().clone();
    let faults = sim.faults().clone();
    let seeded_checkout: Vec<String> = server_versions(&sim, pods, "app=checkout")
        .into_keys()
        .collect();
    let seeded_frontend: Vec<String> = server_versions(&sim, pods, "app=frontend")
        .into_keys()
        .collect();
    let mut changes = 0;
    for i in 0..40 {
        let name = format!("churn-{i}");
        match i % 4 {
            // A new pod inside the selector.
            0 => {
                store
                    .create(
                        pods,
                        "shop",
                        pod_json(&name, "checkout"),
                        WriteScope::Main,
                        false,
                    )
                    .expect("create");
            }
            // A new pod outside it that then moves in.
            1 => {
                store
                    .create(
                        pods,
                        "shop",
                        pod_json(&name, "frontend"),
                        WriteScope::Main,
                        false,
                    )
                    .expect("create");
                relabel(&sim, &name, "checkout");
                changes += 1;
            }
            // The previous pod leaves the selector.
            2 => relabel(&sim, &format!("churn-{}", i - 1), "frontend"),
            // Delete the pod created two steps ago, and touch the rollout.
            _ => {
                store
                    .delete(
                        pods,
                        "shop",
                        &format!("churn-{}", i - 3),
                        Propagation::Background,
                        false,
                    )
                    .expect("delete");
                let patch =
                    json!({"metadata": {"annotations": {"churn": i.to_string()}}}).to_string();
                store
                    .patch(
                        ro,
                        "shop",
                        "checkout",
                        PatchKind::Merge,
                        patch.as_bytes(),
                        WriteScope::Main,
                        false,
                    )
                    .expect("patch the rollout");
                changes += 1;
            }
        }
        changes += 1;
        match i {
            5 | 17 | 33 => faults.cut_watches(),
            11 => {
                faults.force_gone(2);
                faults.cut_watches();
            }
            // Pod changes move the store far past the rollout watch's last
            // version; compacting now makes its resume get a real 410.
            23 => {
                store.compact();
                faults.cut_watches();
            }
            _ => {}
        }
        // Let the streams interleave with the changes.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Seeded pods change too: one checkout pod leaves the selector, one is
    // deleted, a frontend pod changes status; and a second rollout comes and goes.
    relabel(&sim, &seeded_checkout[0], "checkout-retired");
    store
        .delete(
            pods,
            "shop",
            &seeded_checkout[1],
            Propagation::Background,
            false,
        )
        .expect("delete a seeded pod");
    store
        .patch(
            pods,
            "shop",
            &seeded_frontend[0],
            PatchKind::Merge,
            br#"{"status":{"phase":"Failed"}}"#,
            WriteScope::Status,
            false,
        )
        .expect("patch a pod status");
    let extra = json!({"metadata": {"name": "extra"}, "spec": {"replicas": 1}});
    store
        .create(ro, "shop", extra, WriteScope::Main, false)
        .expect("create a rollout");
    faults.cut_watches();
    store
        .patch(
            ro,
            "shop",
            "extra",
            PatchKind::Merge,
            br#"{"spec":{"replicas":2}}"#,
            WriteScope::Main,
            false,
        )
        .expect("patch a rollout");
    changes += 5;
    assert!(changes >= 50, "{changes} changes");

    assert_converges("all-pods", &sim, &all_pods, pods, "").await;
    assert_converges("app=checkout", &sim, &checkout_pods, pods, "app=checkout").await;
    assert_converges("rollouts", &sim, &rollouts, ro, "").await;
    assert!(
        list_requests(&sim) >= lists_before + 2,
        "the forced 410s made watchers list again"
    );

    // A pod that leaves the label selector leaves the label-selected reflector.
    let leaving = checkout_pods
        .state()
        .first()
        .map(|p| p.name_any())
        .expect("some checkout pod is left");
    relabel(&sim, &leaving, "elsewhere");
    let left = support::eventually(WAIT, || {
        checkout_pods
            .state()
            .iter()
            .all(|p| p.name_any() != leaving)
            && all_pods.state().iter().any(|p| {
                p.name_any() == leaving
                    && p.labels().get("app").map(String::as_str) == Some("elsewhere")
            })
    })
    .await;
    assert!(
        left,
        "{leaving} left app=checkout but the reflectors did not follow"
    );
    assert_converges("app=checkout", &sim, &checkout_pods, pods, "app=checkout").await;
    assert_converges("all-pods", &sim, &all_pods, pods, "").await;

    for task in tasks {
        task.abort();
    }
}

/// List (not watch) requests for pods and rollouts answered so far.
fn list_requests(sim: &SimCluster) -> usize {
    sim.request_log()
        .records()
        .iter()
        .filter(|r| {
            r.method == "GET"
                && (r.path.ends_with("/pods") || r.path.ends_with("/rollouts"))
                && !r
                    .query
                    .split('&')
                    .any(|kv| kv == "watch=true" || kv == "watch=1")
        })
        .count()
}

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
