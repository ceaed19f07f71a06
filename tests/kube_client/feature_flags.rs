//! FeatureFlags as cutover reads them: the served version is the one
//! discovery names (v1beta1 on older operators, v1beta2 on newer), and its
//! watch delivers them with the time they last changed.

use super::*;
use cutover::cluster::answer_limit::DEFAULT_MAX_ANSWER_BYTES;
use cutover::cluster::connect::{ConnectOptions, connect};
use cutover::cluster::kinds::WatchedKind;
use cutover::cluster::watch::{Sink, SourceUpdate, Sources};
use cutover_sim::resources::Served;
use std::sync::Arc;

async fn flags_served_at(version: &'static str) {
    let sim = SimCluster::start(SimConfig {
        served: Served::feature_flags(version).expect("a FeatureFlag version"),
        ..SimConfig::default()
    })
    .await
    .expect("start the simulated cluster");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "shop")
        .expect("write the kubeconfig");
    let connection = connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig),
        context: Some("sim-admin".into()),
        namespace: Some("shop".into()),
        all_namespaces: false,
        request_timeout: None,
        max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
    })
    .await
    .expect("connect");
    let resource = connection.kinds[&WatchedKind::FeatureFlag].clone();
    assert_eq!(resource.version, version, "the version discovery names");

    let flags: Api<DynamicObject> =
        Api::namespaced_with(connection.client.clone(), "shop", &resource);
    let mut flag = DynamicObject::new("checkout-flags", &resource);
    flag.data = json!({"spec": {"flagSpec": {"flags": {"new-checkout-flow": {
        "state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"
    }}}}});
    flags
        .create(&PostParams::default(), &flag)
        .await
        .expect("create a FeatureFlag");

    let (tx, mut updates) = tokio::sync::mpsc::unbounded_channel();
    let sink: Sink = Arc::new(move |update| {
        let _ = tx.send(update);
    });
    let _sources = Sources::start(connection, sink);
    let delivered = tokio::time::timeout(WAIT, async {
        loop {
            match updates.recv().await.expect("the watches run") {
                SourceUpdate::Objects {
                    source, objects, ..
                } if source == "featureflags" && !objects.is_empty() => break objects,
                _ => {}
            }
        }
    })
    .await
    .expect("gave up waiting for the FeatureFlags");
    let [flag] = delivered.as_slice() else {
        panic!("one FeatureFlag: {delivered:?}");
    };
    let entries = flag
        .metadata
        .managed_fields
        .as_ref()
        .expect("managedFields");
    assert!(
        entries
            .iter()
            .all(|e| e.time.is_some() && e.fields_v1.is_none()),
        "kept: when, not which fields: {entries:?}"
    );
}

#[tokio::test]
async fn feature_flags_are_watched_at_v1beta1_where_it_is_served() {
    flags_served_at("v1beta1").await;
}

#[tokio::test]
async fn feature_flags_are_watched_at_v1beta2_where_it_is_served() {
    flags_served_at("v1beta2").await;
}
