//! The kinds the control room watches, and how to address them.

use crate::model::Kind;
use kube::api::ApiResource;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum WatchedKind {
    Rollout,
    Canary,
    Deployment,
    ReplicaSet,
    Pod,
    AnalysisRun,
    Event,
    VirtualService,
    HttpRoute,
    Job,
    FeatureFlag,
    VeleroBackup,
    VeleroRestore,
    VeleroSchedule,
}

impl WatchedKind {
    pub const ALL: [WatchedKind; 14] = [
        WatchedKind::Rollout,
        WatchedKind::Canary,
        WatchedKind::Deployment,
        WatchedKind::ReplicaSet,
        WatchedKind::Pod,
        WatchedKind::AnalysisRun,
        WatchedKind::Event,
        WatchedKind::VirtualService,
        WatchedKind::HttpRoute,
        WatchedKind::Job,
        WatchedKind::FeatureFlag,
        WatchedKind::VeleroBackup,
        WatchedKind::VeleroRestore,
        WatchedKind::VeleroSchedule,
    ];

    /// (group, version, kind, plural)
    fn gvkp(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            WatchedKind::Rollout => ("argoproj.io", "v1alpha1", "Rollout", "rollouts"),
            WatchedKind::Canary => ("flagger.app", "v1beta1", "Canary", "canaries"),
            WatchedKind::Deployment => ("apps", "v1", "Deployment", "deployments"),
            WatchedKind::ReplicaSet => ("apps", "v1", "ReplicaSet", "replicasets"),
            WatchedKind::Pod => ("", "v1", "Pod", "pods"),
            WatchedKind::AnalysisRun => ("argoproj.io", "v1alpha1", "AnalysisRun", "analysisruns"),
            WatchedKind::Event => ("", "v1", "Event", "events"),
            WatchedKind::VirtualService => (
                "networking.istio.io",
                "v1beta1",
                "VirtualService",
                "virtualservices",
            ),
            WatchedKind::HttpRoute => {
                ("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
            }
            WatchedKind::Job => ("batch", "v1", "Job", "jobs"),
            // Newer operators serve v1beta2 instead: discovery says which.
            WatchedKind::FeatureFlag => (
                "core.openfeature.dev",
                "v1beta1",
                "FeatureFlag",
                "featureflags",
            ),
            WatchedKind::VeleroBackup => ("velero.io", "v1", "Backup", "backups"),
            WatchedKind::VeleroRestore => ("velero.io", "v1", "Restore", "restores"),
            WatchedKind::VeleroSchedule => ("velero.io", "v1", "Schedule", "schedules"),
        }
    }

    pub fn group(self) -> &'static str {
        self.gvkp().0
    }

    pub fn kind(self) -> &'static str {
        self.gvkp().2
    }

    pub fn plural(self) -> &'static str {
        self.gvkp().3
    }

    /// The resource at the version this build knows; discovery may pick
    /// another served version of the same group.
    pub fn api_resource(self, version: Option<&str>) -> ApiResource {
        let (group, default_version, kind, plural) = self.gvkp();
        let version = version.unwrap_or(default_version);
        ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            },
            kind: kind.to_string(),
            plural: plural.to_string(),
        }
    }

    /// Kinds every cluster serves; the others are looked up in discovery.
    pub fn is_core(self) -> bool {
        matches!(
            self,
            WatchedKind::Deployment
                | WatchedKind::ReplicaSet
                | WatchedKind::Pod
                | WatchedKind::Event
                | WatchedKind::Job
        )
    }
}

/// The resource a release of `kind` is.
pub fn watched_kind(kind: Kind) -> WatchedKind {
    match kind {
        Kind::Rollout => WatchedKind::Rollout,
        Kind::Canary => WatchedKind::Canary,
        Kind::Deployment => WatchedKind::Deployment,
    }
}
