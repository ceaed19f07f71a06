use super::*;
use crate::cluster::fields::controller_uid;
use crate::test_support::fixture::{
    ARGO_BLUE_GREEN, ARGO_CANARY, DEPLOYMENT_ROLLING, FLAGGER_CANARY,
};
use serde_json::Value;

/// A pod as a cluster with a service mesh serves it: managed fields,
/// annotations, probes, volumes, a sidecar, one container crash-looping.
const REAL_POD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/pod-in-a-real-cluster.json"
));

/// Every pod of the fixtures, and the real one, as the API serves them.
fn served_pods() -> Vec<Value> {
    let mut pods: Vec<Value> = [
        ARGO_CANARY,
        ARGO_BLUE_GREEN,
        FLAGGER_CANARY,
        DEPLOYMENT_ROLLING,
    ]
    .iter()
    .flat_map(|text| serde_yaml::Deserializer::from_str(text))
    .map(|document| Value::deserialize(document).expect("a YAML document"))
    .filter(|document| document["kind"] == "Pod")
    .collect();
    pods.push(serde_json::from_str(REAL_POD).unwrap());
    pods
}

#[test]
fn a_pod_summary_reads_as_the_whole_pod() {
    let pods = served_pods();
    assert!(pods.len() >= 5, "{}", pods.len());
    for served in pods {
        let whole: DynamicObject = serde_json::from_value(served.clone()).unwrap();
        let read: PodRead = serde_json::from_value(served).unwrap();
        let summary = &read.summary;
        assert_eq!(*summary.info, pod_info(&whole), "{:?}", whole.metadata.name);
        assert_eq!(summary.owner.as_deref(), controller_uid(&whole));
        assert_eq!(Some(summary.name()), whole.metadata.name.as_deref());
        assert_eq!(
            Some(summary.namespace.as_str()),
            whole.metadata.namespace.as_deref()
        );
        // What the watch resumes from, and nothing else of the metadata.
        assert_eq!(
            read.metadata,
            ObjectMeta {
                name: whole.metadata.name.clone(),
                namespace: whole.metadata.namespace.clone(),
                resource_version: whole.metadata.resource_version.clone(),
                ..ObjectMeta::default()
            }
        );
    }
}

#[test]
fn a_real_pod_summary_says_what_the_views_show() {
    let read: PodRead = serde_json::from_str(REAL_POD).unwrap();
    let info = &read.summary.info;
    assert_eq!(
        (info.status.as_str(), info.restarts, info.containers),
        ("CrashLoopBackOff", 4, 2)
    );
}

#[test]
fn other_kinds_lose_only_what_is_never_read() {
    let mut object: DynamicObject = serde_json::from_str(REAL_POD).unwrap();
    let before = object.data.clone();
    project(&mut object, WatchedKind::Pod);
    assert_eq!(object.data, before);
    assert!(object.metadata.managed_fields.is_none());
    assert!(
        object
            .metadata
            .annotations
            .is_some_and(|a| a.contains_key("prometheus.io/port"))
    );
}

#[test]
fn an_event_keeps_what_a_timeline_reads_and_whom_it_is_about() {
    let served = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": "checkout.17f3a", "namespace": "shop", "uid": "u-1",
            "resourceVersion": "42", "labels": {"a": "b"},
            "managedFields": [{"manager": "kube-controller-manager"}]
        },
        "involvedObject": {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "checkout",
            "namespace": "shop", "uid": "u-2", "resourceVersion": "41"
        },
        "reason": "RolloutCompleted",
        "message": "Rollout completed update to revision 3",
        "type": "Normal",
        "count": 2,
        "firstTimestamp": "2026-11-23T14:00:00Z",
        "lastTimestamp": "2026-11-23T14:05:00Z",
        "source": {"component": "rollouts-controller"},
        "reportingComponent": "rollouts-controller",
        "reportingInstance": "rollouts-controller-0"
    });
    let whole: DynamicObject = serde_json::from_value(served).unwrap();
    let mut kept = whole.clone();
    project(&mut kept, WatchedKind::Event);
    assert_eq!(
        crate::cluster::objects::about(&kept),
        crate::cluster::objects::about(&whole)
    );
    let mut fields: Vec<&String> = kept.data.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "count",
            "firstTimestamp",
            "involvedObject",
            "lastTimestamp",
            "message",
            "reason",
            "type"
        ]
    );
    assert_eq!(kept.data["involvedObject"].as_object().unwrap().len(), 3);
    assert_eq!(kept.metadata.name.as_deref(), Some("checkout.17f3a"));
    assert!(kept.metadata.labels.is_none() && kept.metadata.managed_fields.is_none());
}

/// What the watches keep of every kind makes the releases the objects
/// make whole.
#[test]
fn the_releases_of_what_is_kept_are_those_of_the_whole_objects() {
    use crate::cluster::catalog::Catalog;
    use crate::test_support::fixture::{EVERY_STRATEGY, Fixture};
    let fixture = Fixture::load(&EVERY_STRATEGY);
    let releases = |catalog: Catalog| {
        let mut all: Vec<crate::model::Release> = catalog
            .releases()
            .map(|r| crate::model::Release::clone(r))
            .collect();
        crate::model::in_listing_order(&mut all);
        all
    };
    let kept = releases(Catalog::new(fixture.objects()));
    assert!(!kept.is_empty());
    assert_eq!(kept, releases(Catalog::new(fixture.objects_as_served())));
}
