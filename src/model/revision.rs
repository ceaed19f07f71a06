//! Revisions: the ReplicaSets of a release, their pods, roles and health,
//! and the images that run.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
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
    /// The pod template, without the hash label: what an undo sends.
    #[serde(skip)]
    pub template: Option<serde_json::Value>,
    /// ReplicaSet annotations that a Deployment undo copies back.
    #[serde(skip)]
    pub annotations: BTreeMap<String, String>,
}

impl Revision {
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
        self.template
            .as_ref()?
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
