//! Real-shaped objects from YAML fixtures (`tests/fixtures/`), held in
//! `Objects` as the watchers would hold them, with small edits per test.

use crate::cluster::kinds::WatchedKind;
use crate::cluster::projection::{PodRead, project};
use crate::cluster::{Catalog, Objects};
use crate::model::{Kind, Release, in_listing_order};
use chrono::{DateTime, Utc};
use kube::api::DynamicObject;
use serde::Deserialize as _;
use serde_json::Value;
use std::sync::Arc;

pub const ARGO_CANARY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/argo-canary.yaml"
));
pub const ARGO_BLUE_GREEN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/argo-bluegreen.yaml"
));
pub const FLAGGER_CANARY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/flagger-canary.yaml"
));
pub const DEPLOYMENT_ROLLING: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/deployment-rolling.yaml"
));

/// FeatureFlag resources for the releases of namespace shop.
pub const FEATURE_FLAGS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/feature-flags.yaml"
));
/// The shop's releases, as the UI's fixtures show them.
pub const SHOP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/ui/shop.yaml"
));

/// One release of every strategy: an Argo canary and blue-green, a
/// Flagger canary and a rolling Deployment.
pub const EVERY_STRATEGY: [&str; 4] = [
    ARGO_CANARY,
    ARGO_BLUE_GREEN,
    FLAGGER_CANARY,
    DEPLOYMENT_ROLLING,
];

/// A time in the fixtures' own RFC 3339 form.
pub fn at(text: &str) -> DateTime<Utc> {
    crate::time::parse_rfc3339(text).expect("an RFC 3339 time")
}

/// The documents of one or more fixture files, editable before mapping.
pub struct Fixture {
    documents: Vec<Value>,
}

impl Fixture {
    pub fn load(files: &[&str]) -> Fixture {
        let documents = files
            .iter()
            .flat_map(|text| serde_yaml::Deserializer::from_str(text))
            .map(|document| Value::deserialize(document).expect("a YAML document"))
            .filter(|document| !document.is_null())
            .collect();
        Fixture { documents }
    }

    fn document_mut(&mut self, kind: &str, name: &str) -> &mut Value {
        self.documents
            .iter_mut()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in the fixture"))
    }

    /// Apply a JSON merge patch (RFC 7386: `null` removes a field) to one
    /// object, as a controller's or a human's write would.
    pub fn merge(&mut self, kind: &str, name: &str, patch: Value) -> &mut Fixture {
        json_patch::merge(self.document_mut(kind, name), &patch);
        self
    }

    /// Replace the value at a JSON pointer, for edits inside arrays.
    pub fn set(&mut self, kind: &str, name: &str, pointer: &str, value: Value) -> &mut Fixture {
        *self
            .document_mut(kind, name)
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer} in {kind} {name}")) = value;
        self
    }

    /// Every object of `kind`, read as the API's answer would be (whole,
    /// or as a pod summary).
    pub fn documents_of<T: serde::de::DeserializeOwned>(&self, kind: &str) -> Vec<T> {
        self.documents
            .iter()
            .filter(|d| d["kind"] == kind)
            .map(|d| serde_json::from_value(d.clone()).expect("a Kubernetes object"))
            .collect()
    }

    pub fn object(&self, kind: &str, name: &str) -> DynamicObject {
        let document = self
            .documents
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in the fixture"));
        serde_json::from_value(document.clone()).expect("a Kubernetes object")
    }

    /// The fixture's objects as the watches keep them ([`project`]ed).
    pub fn objects(&self) -> Objects {
        self.load_objects(true)
    }

    /// The fixture's objects whole, as the API serves them.
    pub fn objects_as_served(&self) -> Objects {
        self.load_objects(false)
    }

    fn load_objects(&self, projected: bool) -> Objects {
        let mut objects = Objects::default();
        let pods = self.documents_of::<PodRead>("Pod").into_iter();
        let pods = pods.map(|p| Arc::new(p.summary)).collect();
        objects.set_pods("Pod", pods);
        for kind in WatchedKind::ALL
            .into_iter()
            .filter(|&k| k != WatchedKind::Pod)
        {
            let of_kind = self.documents_of(kind.kind()).into_iter().map(|mut o| {
                if projected {
                    project(&mut o, kind);
                }
                Arc::new(o)
            });
            objects.set(kind.kind(), kind, of_kind.collect());
        }
        objects
    }

    /// Every release the fixture's objects make, by namespace and name.
    pub fn releases(&self) -> Vec<Release> {
        let catalog = Catalog::new(self.objects());
        let mut releases: Vec<Release> = catalog.releases().map(|r| Release::clone(r)).collect();
        in_listing_order(&mut releases);
        releases
    }

    /// The release of `kind` named `name`, as the control room lists it.
    pub fn release(&self, kind: Kind, name: &str) -> Release {
        self.releases()
            .into_iter()
            .find(|r| r.key.kind == kind && r.key.name == name)
            .unwrap_or_else(|| panic!("no {} {name} among the releases", kind.word()))
    }
}

/// The release (`kind`, `name`) of one fixture file after merging `patch`
/// into its object.
pub fn patched_release(file: &str, kind: Kind, name: &str, patch: Value) -> Release {
    let mut fixture = Fixture::load(&[file]);
    fixture.merge(kind.word(), name, patch);
    fixture.release(kind, name)
}
