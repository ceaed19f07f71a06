//! The catalog rebuilds only the releases a change touches: after any
//! sequence of changes, what it holds must be what a build from scratch of
//! the same objects makes.

use crate::cluster::kinds::WatchedKind;
use crate::cluster::{Catalog, Objects};
use crate::model::{Release, in_listing_order};
use crate::test_support::fixture::Fixture;
use kube::api::DynamicObject;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const SHOP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/ui/shop.yaml"
));

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
        _ => vec![(
            "/spec/http/0/route/0/weight",
            vec![json!(0), json!(50), json!(100)],
        )],
    }
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
            if let Some(field) = object.data.pointer_mut(pointer) {
                *field = value;
            }
            objects[at] = Arc::new(object);
            kind
        }
        _ => kind,
    }
}

fn sorted<'a>(releases: impl Iterator<Item = &'a Release>) -> Vec<Release> {
    let mut releases: Vec<Release> = releases.cloned().collect();
    in_listing_order(&mut releases);
    releases
}

#[test]
fn after_any_changes_the_releases_are_those_of_a_fresh_build() {
    let fixture = Fixture::load(&[SHOP]).objects();
    let mut sources: BTreeMap<WatchedKind, Vec<Arc<DynamicObject>>> = WatchedKind::ALL
        .into_iter()
        .map(|kind| (kind, fixture.of(kind).cloned().collect()))
        .filter(|(_, objects): &(WatchedKind, Vec<_>)| !objects.is_empty())
        .collect();
    assert!(sources.len() >= 8, "the fixture has most kinds");
    for seed in 0..40 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut catalog = Catalog::default();
        for (kind, objects) in &sources {
            catalog.set(kind.kind(), *kind, objects.clone());
        }
        let mut removed = Vec::new();
        for step in 0..60 {
            let kind = change(&mut rng, &mut sources, &mut removed);
            catalog.set(kind.kind(), kind, sources[&kind].clone());
            let mut objects = Objects::default();
            for (kind, objects_of_kind) in &sources {
                objects.set(kind.kind(), *kind, objects_of_kind.clone());
            }
            let fresh = Catalog::new(objects);
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
