//! cutover's watch of one source on the simulated cluster: while a list
//! streams in page by page, it says how far it has come, of the total the
//! server counts when it does, and then delivers the objects.

use super::*;
use cutover::cluster::kinds::WatchedKind;
use cutover::cluster::watch::{self, Pace, Sink, SourceUpdate, WatchSpec};
use cutover_sim::scenario::Scenario;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// The counts a source reported while listing `kind` (with `labels`) in
/// pages of `page_size`, each page reported, and how many objects it then
/// delivered.
async fn listing(
    client: &kube::Client,
    kind: WatchedKind,
    labels: Option<&str>,
    page_size: u32,
) -> (Vec<(usize, Option<usize>)>, usize) {
    let (task, mut updates) = watching(client, kind, labels, page_size);
    let mut counts = Vec::new();
    let delivered = loop {
        match next(&mut updates).await {
            SourceUpdate::Listing { loaded, total, .. } => counts.push((loaded, total)),
            SourceUpdate::Objects { objects, .. } => break objects.len(),
            SourceUpdate::Pods { pods, .. } => break pods.len(),
            SourceUpdate::PodChanges { .. } => panic!("pods changed before they were listed"),
            SourceUpdate::Health { error, .. } => assert_eq!(error, None, "the watch fails"),
        }
    };
    task.abort();
    (counts, delivered)
}

async fn next(updates: &mut UnboundedReceiver<SourceUpdate>) -> SourceUpdate {
    tokio::time::timeout(WAIT, updates.recv())
        .await
        .expect("gave up waiting for the watch")
        .expect("the watch runs")
}

/// cutover's watch of `kind` (with `labels`), in pages of `page_size`,
/// reporting into the channel returned.
fn watching(
    client: &kube::Client,
    kind: WatchedKind,
    labels: Option<&str>,
    page_size: u32,
) -> (JoinHandle<()>, UnboundedReceiver<SourceUpdate>) {
    let (tx, updates) = tokio::sync::mpsc::unbounded_channel();
    let sink: Sink = Arc::new(move |update| {
        let _ = tx.send(update);
    });
    let spec = WatchSpec {
        source: kind.plural().into(),
        kind,
        resource: kind.api_resource(None),
        namespace: None,
        labels: labels.map(str::to_string),
        fields: None,
        pace: Pace {
            page_size: Some(page_size),
            report_every: Duration::ZERO,
        },
    };
    (
        tokio::spawn(watch::watch(client.clone(), spec, sink)),
        updates,
    )
}

/// Reports came while the pages arrived, each counting more than the last.
fn assert_counted_as_pages_arrived(counts: &[(usize, Option<usize>)], all: usize) {
    assert!(
        counts.iter().any(|&(loaded, _)| loaded > 0 && loaded < all),
        "{counts:?}"
    );
    assert!(counts.windows(2).all(|w| w[0].0 < w[1].0), "{counts:?}");
}

#[tokio::test]
async fn a_list_in_pages_reports_its_count_and_the_total_when_the_server_gives_it() {
    let sim = SimCluster::start(SimConfig::scenario(Scenario::scale(30, 10)))
        .await
        .expect("start the simulated cluster");
    let client = support::kube_client(&sim, "sim-admin").await;

    let (counts, delivered) = listing(&client, WatchedKind::Deployment, None, 5).await;
    assert_eq!(delivered, 30);
    assert_counted_as_pages_arrived(&counts, 30);
    assert!(
        counts.iter().all(|&(_, total)| total == Some(30)),
        "an unfiltered list is counted from the first report: {counts:?}"
    );

    let (counts, delivered) =
        listing(&client, WatchedKind::Pod, Some("pod-template-hash"), 25).await;
    assert_eq!(delivered, 300);
    assert_counted_as_pages_arrived(&counts, 300);
    assert!(
        counts.iter().all(|&(_, total)| total.is_none()),
        "a list filtered by labels has no total: {counts:?}"
    );
}

#[tokio::test]
async fn after_the_list_only_what_changed_among_the_pods_is_delivered() {
    let sim = SimCluster::start(SimConfig::scenario(Scenario::scale(5, 4)))
        .await
        .expect("start the simulated cluster");
    let client = support::kube_client(&sim, "sim-admin").await;
    let (task, mut updates) = watching(&client, WatchedKind::Pod, Some("pod-template-hash"), 500);
    loop {
        if let SourceUpdate::Pods { pods, .. } = next(&mut updates).await {
            assert_eq!(pods.len(), 20);
            break;
        }
    }
    let pods: Api<Pod> = Api::all(client.clone());
    let victim = pods
        .list(&ListParams::default().limit(1))
        .await
        .expect("list a pod")
        .items
        .remove(0);
    let (namespace, name) = (
        victim.metadata.namespace.clone().expect("a namespace"),
        victim.metadata.name.clone().expect("a name"),
    );
    Api::<Pod>::namespaced(client.clone(), &namespace)
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete the pod");
    loop {
        match next(&mut updates).await {
            SourceUpdate::PodChanges {
                deleted, applied, ..
            } => {
                assert!(applied.len() <= 20, "a change, not the whole set");
                if deleted.contains(&(namespace.clone(), name.clone())) {
                    break;
                }
            }
            SourceUpdate::Pods { .. } => panic!("the whole set again for one change"),
            _ => {}
        }
    }
    task.abort();
}
