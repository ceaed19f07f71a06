//! What a human decides on, read from one object on its own (no
//! ReplicaSets or events): the same function runs on what the screen showed
//! and on a fresh GET just before a write, so a change in between is seen.

use super::{Index, Objects, argo, deployment, flagger};
use crate::model::{DecisionFingerprint, Kind};
use kube::api::DynamicObject;

pub fn object_fingerprint(kind: Kind, object: &DynamicObject) -> DecisionFingerprint {
    let objects = Objects::default();
    let index = Index::new(&objects);
    let release = match kind {
        Kind::Rollout => argo::release(object, &index),
        Kind::Canary => flagger::release(object, &index),
        Kind::Deployment => deployment::release(object, &index),
    };
    release.decision_fingerprint()
}
