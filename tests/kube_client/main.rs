#[path = "../support/mod.rs"]
mod support;

mod dynamic;
mod feature_flags;
mod garbage_collection;
mod listing;
mod pagination;
mod rbac;
mod reflectors;
mod typed;

// The simulated cluster as kube-rs sees it: typed and dynamic APIs,
// subresources, pagination, garbage collection, RBAC, watchers and
// reflectors that must stay exact while watch streams are cut, answered
// with 410 Gone and the history is compacted, and cutover's own watch of a
// source reporting a list's progress as its pages arrive.

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
