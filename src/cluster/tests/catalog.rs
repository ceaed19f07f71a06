//! The catalog rebuilds only the releases a change touches: after any
//! sequence of changes, what it holds must be what a build from scratch of
//! the same objects makes.

use crate::cluster::kinds::WatchedKind;
use crate::cluster::projection::PodSummary;
use crate::cluster::{Catalog, Objects};
use crate::model::{Release, in_listing_order};
use crate::test_support::fixture::{FEATURE_FLAGS, Fixture, SHOP};
use kube::api::DynamicObject;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The fields a change may write, per kind, with the values it picks from:
/// each one read by some release's mapping.
fn edits(kind: WatchedKind) -> Vec<(&'static str, Vec<Value>)> {
    match kind {
        WatchedKind::Rollout => vec![
            (
                "/status/currentStepIndex",
                vec![json!(0), json!(1), json!(3)],
            ),
            ("/spec/paused", vec![json!(true), json!(false)]),
            (
                "/spec/template/metadata/annotations",
                vec![
                    json!({}),
                    json!({"cutover.dev/flags": "display-name-writes"}),
                    json!({"cutover.dev/flags": "new-checkout-flow,ranking-v2"}),
                ],
            ),
        ],
        WatchedKind::Canary => vec![
            ("/status/canaryWeight", vec![json!(0), json!(10), json!(30)]),
            (
                "/spec/targetRef/name",
                vec![json!("search"), json!("elsewhere")],
            ),
        ],
        WatchedKind::Deployment | WatchedKind::ReplicaSet => {
            vec![("/status/readyReplicas", vec![json!(0), json!(1), json!(3)])]
        }
        WatchedKind::Pod => vec![("/status/phase", vec![json!("Running"), json!("Pending")])],
        WatchedKind::AnalysisRun => vec![(
            "/status/phase",
            vec![json!("Running"), json!("Successful"), json!("Failed")],
        )],
        WatchedKind::Event => vec![("/message", vec![json!("one"), json!("two")])],
        WatchedKind::Job => vec![("/status/active", vec![json!(0), json!(1)])],
        // Flags come and go by key, and change state.
        WatchedKind::FeatureFlag => vec![
            (
                "/spec/flagSpec/flags",
                vec![
                    json!({"display-name-writes": {"state": "ENABLED"}}),
                    json!({"new-checkout-flow": {"state": "DISABLED"}, "other": {}}),
                    json!({}),
                ],
            ),
            (
                "/spec/flagSpec/flags/new-checkout-flow/state",
                vec![json!("ENABLED"), json!("DISABLED")],
            ),
        ],
        _ => vec![(
            "/spec/http/0/route/0/weight",
            vec![json!(0), json!(50), json!(100)],
        )],
    }
}

fn summaries(pods: &[Arc<DynamicObject>]) -> Vec<Arc<PodSummary>> {
    pods.iter()
        .map(|pod| Arc::new(PodSummary::from(DynamicObject::clone(pod))))
        .collect()
}

/// The sources as the watches deliver them: pods as summaries.
fn deliver(catalog: &mut Catalog, kind: WatchedKind, objects: &[Arc<DynamicObject>]) {
    if kind == WatchedKind::Pod {
        catalog.set_pods(kind.kind(), summaries(objects));
    } else {
        catalog.set(kind.kind(), kind, objects.to_vec());
    }
}

/// What changed between two sets of pods, as a watch delivers it after
/// its list: the pods applied and the names of those deleted.
fn deliver_pod_changes(
    catalog: &mut Catalog,
    before: &[Arc<DynamicObject>],
    after: &[Arc<DynamicObject>],
) {
    let applied: Vec<Arc<DynamicObject>> = after
        .iter()
        .filter(|pod| !before.iter().any(|b| Arc::ptr_eq(b, pod)))
        .cloned()
        .collect();
    let deleted: Vec<(String, String)> = before
        .iter()
        .filter(|b| !after.iter().any(|pod| pod.metadata.name == b.metadata.name))
        .map(|b| {
            let name = |n: &Option<String>| n.clone().unwrap_or_default();
            (name(&b.metadata.namespace), name(&b.metadata.name))
        })
        .collect();
    catalog.change_pods(WatchedKind::Pod.kind(), summaries(&applied), &deleted);
}

/// Every release the sources make, built in one go.
fn built_at_once(sources: &BTreeMap<WatchedKind, Vec<Arc<DynamicObject>>>) -> Catalog {
    let mut objects = Objects::default();
    for (kind, of_kind) in sources {
        if *kind == WatchedKind::Pod {
            objects.set_pods(kind.kind(), summaries(of_kind));
        } else {
            objects.set(kind.kind(), *kind, of_kind.clone());
        }
    }
    Catalog::new(objects)
}

/// One change to the sources: an object edited, removed or put back.
fn change(
    rng: &mut StdRng,
    sources: &mut BTreeMap<WatchedKind, Vec<Arc<DynamicObject>>>,
    removed: &mut Vec<(WatchedKind, Arc<DynamicObject>)>,
) -> WatchedKind {
    let kinds: Vec<WatchedKind> = sources.keys().copied().collect();
    let kind = kinds[rng.random_range(0..kinds.len())];
    let objects = sources.get_mut(&kind).expect("a source");
    match rng.random_range(0..10) {
        0 if !objects.is_empty() => {
            let object = objects.remove(rng.random_range(0..objects.len()));
            removed.push((kind, object));
            kind
        }
        1 if !removed.is_empty() => {
            let (kind, object) = removed.remove(rng.random_range(0..removed.len()));
            // A new version of the object, as a re-created one is.
            let object = Arc::new((*object).clone());
            sources.get_mut(&kind).expect("a source").push(object);
            kind
        }
        _ if !objects.is_empty() => {
            let at = rng.random_range(0..objects.len());
            let mut object = (*objects[at]).clone();
            let edits = edits(kind);
            let (pointer, values) = &edits[rng.random_range(0..edits.len())];
            let value = values[rng.random_range(0..values.len())].clone();
            set_at(&mut object.data, pointer, value);
            objects[at] = Arc::new(object);
            kind
        }
        _ => kind,
    }
}

/// Write `value` at `pointer`, adding its last field when its parent is
/// an object (a rollout's template without annotations gains them).
fn set_at(data: &mut Value, pointer: &str, value: Value) {
    if let Some(field) = data.pointer_mut(pointer) {
        *field = value;
        return;
    }
    let (parent, last) = pointer.rsplit_once('/').expect("a pointer");
    if let Some(Value::Object(map)) = data.pointer_mut(parent) {
        map.insert(last.to_string(), value);
    }
}

fn sorted<'a>(releases: impl Iterator<Item = &'a Arc<Release>>) -> Vec<Release> {
    let mut releases: Vec<Release> = releases.map(|r| Release::clone(r)).collect();
    in_listing_order(&mut releases);
    releases
}

#[test]
fn after_any_changes_the_releases_are_those_of_a_fresh_build() {
    let fixture = Fixture::load(&[SHOP, FEATURE_FLAGS]);
    let mut sources: BTreeMap<WatchedKind, Vec<Arc<DynamicObject>>> = BTreeMap::new();
    for kind in WatchedKind::ALL {
        let of_kind: Vec<DynamicObject> = fixture.documents_of(kind.kind());
        if !of_kind.is_empty() {
            sources.insert(kind, of_kind.into_iter().map(Arc::new).collect());
        }
    }
    assert!(
        sources.len() >= 10,
        "the fixture has most kinds, pods and feature flags among them"
    );
    assert!(sources.contains_key(&WatchedKind::FeatureFlag));
    for seed in 0..40 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut catalog = Catalog::default();
        for (kind, objects) in &sources {
            deliver(&mut catalog, *kind, objects);
        }
        let mut removed = Vec::new();
        for step in 0..60 {
            let pods_before = sources[&WatchedKind::Pod].clone();
            let kind = change(&mut rng, &mut sources, &mut removed);
            if kind == WatchedKind::Pod && step % 2 == 0 {
                deliver_pod_changes(&mut catalog, &pods_before, &sources[&kind]);
            } else {
                deliver(&mut catalog, kind, &sources[&kind]);
            }
            let fresh = built_at_once(&sources);
            let (kept, built) = (sorted(catalog.releases()), sorted(fresh.releases()));
            let keys = |rs: &[Release]| rs.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
            assert_eq!(keys(&kept), keys(&built), "seed {seed}, step {step}");
            for (kept, built) in kept.iter().zip(&built) {
                assert_eq!(
                    kept,
                    built,
                    "seed {seed}, step {step}: a {} changed",
                    kind.kind()
                );
            }
        }
        // Put everything back for the next seed.
        for (kind, object) in removed {
            sources.get_mut(&kind).expect("a source").push(object);
        }
    }
}

#[test]
fn a_change_to_one_rollout_rebuilds_that_release_alone() {
    let fixture = Fixture::load(&[SHOP]);
    let objects = fixture.objects();
    let mut catalog = Catalog::new(objects.clone());
    let mut rollouts: Vec<Arc<DynamicObject>> = objects.of(WatchedKind::Rollout).cloned().collect();
    let mut moved = (*rollouts[0]).clone();
    moved.data["status"]["currentStepIndex"] = json!(1);
    let name = moved.metadata.name.clone().expect("a name");
    rollouts[0] = Arc::new(moved);
    let touched = catalog.set("Rollout", WatchedKind::Rollout, rollouts);
    let names: Vec<&str> = touched.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, [name.as_str()]);
}

#[test]
fn the_same_release_in_two_clusters_is_two_releases() {
    let objects = Fixture::load(&[SHOP]).objects();
    let fill = |cluster: &str| {
        let mut catalog = Catalog::of_cluster(cluster);
        for kind in WatchedKind::ALL {
            let of_kind: Vec<Arc<DynamicObject>> = objects.of(kind).cloned().collect();
            deliver(&mut catalog, kind, &of_kind);
        }
        catalog
    };
    let (eu, mut us) = (fill("eu"), fill("us"));
    let (eu, us_releases) = (sorted(eu.releases()), sorted(us.releases()));
    assert!(!eu.is_empty());
    assert_eq!(eu.len(), us_releases.len());
    for (eu, us) in eu.iter().zip(&us_releases) {
        assert_eq!(
            (eu.key.cluster.as_str(), us.key.cluster.as_str()),
            ("eu", "us")
        );
        assert_eq!(
            (&eu.key.namespace, &eu.key.name),
            (&us.key.namespace, &us.key.name)
        );
        assert_ne!(eu.key, us.key);
        assert!(eu.key.to_string().starts_with("eu: "), "{}", eu.key);
    }
    us.clear();
    assert_eq!(us.cluster(), "us", "a cleared catalog keeps its cluster");
}
