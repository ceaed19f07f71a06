//! cutover's watch of one source on the simulated cluster: while a list
//! streams in page by page, it says how far it has come, of the total the
//! server counts when it does, and then delivers the objects.

use super::*;
use cutover::cluster::kinds::WatchedKind;
use cutover::cluster::watch::{self, Pace, Sink, SourceUpdate, WatchSpec};
use cutover_sim::scenario::Scenario;
use std::sync::Arc;

/// The counts a source reported while listing `kind` (with `labels`) in
/// pages of `page_size`, each page reported, and how many objects it then
/// delivered.
async fn listing(
    client: &kube::Client,
    kind: WatchedKind,
    labels: Option<&str>,
    page_size: u32,
) -> (Vec<(usize, Option<usize>)>, usize) {
    let (tx, mut updates) = tokio::sync::mpsc::unbounded_channel();
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
    let task = tokio::spawn(watch::watch(client.clone(), spec, sink));
    let mut counts = Vec::new();
    let delivered = loop {
        let update = tokio::time::timeout(WAIT, updates.recv())
            .await
            .expect("gave up waiting for the objects")
            .expect("the watch runs");
        match update {
            SourceUpdate::Listing { loaded, total, .. } => counts.push((loaded, total)),
            SourceUpdate::Objects { objects, .. } => break objects.len(),
            SourceUpdate::Pods { pods, .. } => break pods.len(),
            SourceUpdate::Health { error, .. } => assert_eq!(error, None, "the watch fails"),
        }
    };
    task.abort();
    (counts, delivered)
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
