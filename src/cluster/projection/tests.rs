use super::*;
use crate::cluster::fields::controller_uid;
use crate::cluster::workload::pod_info;
use crate::test_support::fixture::{
    ARGO_BLUE_GREEN, ARGO_CANARY, DEPLOYMENT_ROLLING, FLAGGER_CANARY, Fixture,
};

/// A pod as a cluster with a service mesh serves it: managed fields,
/// annotations, probes, volumes, a sidecar, one container crash-looping.
const REAL_POD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/pod-in-a-real-cluster.json"
));

fn projected(pod: &DynamicObject) -> DynamicObject {
    let mut cut = pod.clone();
    project(WatchedKind::Pod, &mut cut);
    cut
}

#[test]
fn a_projected_pod_reads_as_the_whole_pod() {
    let fixtures = [
        ARGO_CANARY,
        ARGO_BLUE_GREEN,
        FLAGGER_CANARY,
        DEPLOYMENT_ROLLING,
    ];
    let objects = Fixture::load(&fixtures).objects();
    let mut pods: Vec<DynamicObject> = objects
        .of(WatchedKind::Pod)
        .map(|p| DynamicObject::clone(p))
        .collect();
    pods.push(serde_json::from_str(REAL_POD).unwrap());
    assert!(pods.len() >= 5, "{}", pods.len());
    for pod in &pods {
        let cut = projected(pod);
        assert_eq!(
            pod_info(&cut),
            pod_info(pod),
            "{}",
            pod.metadata.name.as_deref().unwrap_or_default()
        );
        assert_eq!(controller_uid(&cut), controller_uid(pod));
        let labels = cut.metadata.labels.iter().flatten();
        assert!(
            labels
                .map(|(k, _)| k)
                .all(|k| k.ends_with("pod-template-hash"))
        );
    }
}

#[test]
fn a_real_pod_is_cut_to_a_tenth() {
    let pod: DynamicObject = serde_json::from_str(REAL_POD).unwrap();
    let info = pod_info(&pod);
    assert_eq!(
        (info.status.as_str(), info.restarts, info.containers),
        ("CrashLoopBackOff", 4, 2)
    );
    let size = |o: &DynamicObject| serde_json::to_vec(o).unwrap().len();
    let (whole, cut) = (size(&pod), size(&projected(&pod)));
    assert!(cut * 10 <= whole, "{cut} of {whole} bytes kept");
}

#[test]
fn other_kinds_lose_only_what_is_never_read() {
    let mut object: DynamicObject = serde_json::from_str(REAL_POD).unwrap();
    let before = object.data.clone();
    project(WatchedKind::ReplicaSet, &mut object);
    assert_eq!(object.data, before);
    assert!(object.metadata.managed_fields.is_none());
    assert!(
        object
            .metadata
            .annotations
            .is_some_and(|a| a.contains_key("prometheus.io/port"))
    );
}
