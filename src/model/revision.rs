//! Revisions: the ReplicaSets of a release, their pods, roles and health,
//! and the images that run.

use chrono::{DateTime, Utc};
use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Role {
    Stable,
    Canary,
    Active,
    Preview,
    /// An older revision kept for rollback.
    Old,
}

impl Role {
    pub fn word(self) -> &'static str {
        match self {
            Role::Stable => "stable",
            Role::Canary => "canary",
            Role::Active => "active",
            Role::Preview => "preview",
            Role::Old => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodInfo {
    pub name: String,
    /// Pod phase, or the waiting reason of a container (CrashLoopBackOff).
    pub status: String,
    pub ready: bool,
    pub ready_containers: u32,
    pub containers: u32,
    pub restarts: u32,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReplicaSetHealth {
    Progressing,
    ScaledDown,
    Healthy,
}

impl ReplicaSetHealth {
    pub fn word(self) -> &'static str {
        match self {
            ReplicaSetHealth::Progressing => "Progressing",
            ReplicaSetHealth::ScaledDown => "ScaledDown",
            ReplicaSetHealth::Healthy => "Healthy",
        }
    }

    /// The symbol `kubectl argo rollouts get` shows beside the word.
    pub fn symbol(self) -> &'static str {
        match self {
            ReplicaSetHealth::Progressing => "◌",
            ReplicaSetHealth::ScaledDown => "•",
            ReplicaSetHealth::Healthy => "✔",
        }
    }
}

/// One revision of a release: a ReplicaSet and its pods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    pub number: Option<u64>,
    pub replica_set: String,
    pub hash: String,
    pub roles: Vec<Role>,
    pub images: Vec<String>,
    pub desired: i64,
    pub current: i64,
    pub ready: i64,
    pub available: i64,
    pub created: Option<DateTime<Utc>>,
    /// Argo's `scale-down-deadline` annotation.
    pub scale_down_at: Option<DateTime<Utc>>,
    /// Shared with the pods as the watches keep them: a big cluster's
    /// pods are kept once.
    pub pods: Vec<Arc<PodInfo>>,
    /// The ReplicaSet it was read from (none where there is no object).
    #[serde(skip)]
    pub replica_set_object: Option<ReplicaSetObject>,
}

/// A ReplicaSet as the watch keeps it, shared rather than copied into every
/// build of the release: what an undo writes back (its pod template and
/// annotations) is read from it when needed. A big cluster has a template
/// or more per release, each some kilobytes of JSON.
#[derive(Debug, Clone)]
pub struct ReplicaSetObject(Arc<DynamicObject>);

impl ReplicaSetObject {
    pub fn new(object: Arc<DynamicObject>) -> Self {
        ReplicaSetObject(object)
    }

    /// Its pod template, with the controller's hash label.
    pub fn template(&self) -> Option<&Value> {
        self.0.data.pointer("/spec/template")
    }

    /// The annotations a Deployment undo copies back.
    pub fn annotations(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.metadata.annotations.iter().flatten()
    }
}

/// Alike when what is read of them is.
impl PartialEq for ReplicaSetObject {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.template() == other.template() && self.annotations().eq(other.annotations()))
    }
}

impl Revision {
    /// The pod template of its ReplicaSet: what an undo sends back.
    pub fn template(&self) -> Option<&Value> {
        self.replica_set_object.as_ref()?.template()
    }

    /// "stable", "canary", … (old revisions have none).
    pub fn role_words(&self) -> Vec<&'static str> {
        self.roles
            .iter()
            .map(|r| r.word())
            .filter(|w| !w.is_empty())
            .collect()
    }

    /// The ReplicaSet has pods (`status.replicas` > 0): only then does
    /// Argo's CLI list its images, with their roles.
    pub fn runs(&self) -> bool {
        self.current > 0
    }

    /// The ReplicaSet's health as Argo's CLI words it
    /// (info/replicaset_info.go): short of available pods it progresses;
    /// at zero desired it is scaled down.
    pub fn health(&self) -> ReplicaSetHealth {
        if self.available < self.desired {
            ReplicaSetHealth::Progressing
        } else if self.desired == 0 {
            ReplicaSetHealth::ScaledDown
        } else {
            ReplicaSetHealth::Healthy
        }
    }

    pub fn restarts(&self) -> u32 {
        self.pods.iter().map(|p| p.restarts).sum()
    }

    /// The migration this revision's code needs (`cutover.dev/requires-migration`
    /// on its pod template); None for code that predates any.
    pub fn requires_migration(&self) -> Option<&str> {
        self.template()?
            .pointer("/metadata/annotations")?
            .get(crate::model::migration::REQUIRES_ANNOTATION)?
            .as_str()
    }
}

/// An image that runs, and the roles of the revisions running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningImage {
    pub image: String,
    pub roles: Vec<Role>,
}

impl RunningImage {
    /// `image (stable, active)`, or the image alone without a role.
    pub fn text(&self) -> String {
        let words: Vec<&str> = self.roles.iter().map(|r| r.word()).collect();
        if words.is_empty() {
            self.image.clone()
        } else {
            format!("{} ({})", self.image, words.join(", "))
        }
    }
}
