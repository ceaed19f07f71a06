//! The kinds the simulated API server serves, with the discovery facts a
//! real server publishes for them (verbs, short names, subresources).

use serde_json::{Value, json};

/// Verbs of an ordinary namespaced or cluster-scoped collection.
const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One served resource (a plural under a group/version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Has a `/status` subresource: the main resource then ignores status changes.
    pub status: bool,
    /// Has a `/scale` subresource (autoscaling/v1 Scale over spec.replicas).
    pub scale: bool,
    /// `metadata.generation` is kept and bumped on changes outside metadata and status.
    pub generation: bool,
    /// Create-only "virtual" resources such as access reviews: never stored.
    pub virtual_create: bool,
    /// Field labels beyond metadata.name and metadata.namespace.
    pub field_labels: &'static [&'static str],
    /// Each write stamps `metadata.managedFields` with its time, as the
    /// API server's field manager does; clients read when it last changed.
    pub managed_fields: bool,
}

impl ResourceDef {
    const fn new(
        group: &'static str,
        version: &'static str,
        plural: &'static str,
        singular: &'static str,
        kind: &'static str,
    ) -> Self {
        ResourceDef {
            group,
            version,
            plural,
            singular,
            kind,
            namespaced: true,
            short_names: &[],
            categories: &[],
            verbs: CRUD,
            status: false,
            scale: false,
            generation: false,
            virtual_create: false,
            field_labels: &[],
            managed_fields: false,
        }
    }
    const fn fields(mut self, labels: &'static [&'static str]) -> Self {
        self.field_labels = labels;
        self
    }
    const fn cluster(mut self) -> Self {
        self.namespaced = false;
        self
    }
    const fn short(mut self, names: &'static [&'static str]) -> Self {
        self.short_names = names;
        self
    }
    const fn cats(mut self, categories: &'static [&'static str]) -> Self {
        self.categories = categories;
        self
    }
    const fn with_status(mut self) -> Self {
        self.status = true;
        self.generation = true;
        self
    }
    const fn with_scale(mut self) -> Self {
        self.scale = true;
        self
    }
    const fn with_generation(mut self) -> Self {
        self.generation = true;
        self
    }
    const fn with_managed_fields(mut self) -> Self {
        self.managed_fields = true;
        self
    }
    const fn create_only(mut self) -> Self {
        self.verbs = &["create"];
        self.virtual_create = true;
        self.namespaced = false;
        self
    }

    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether `api_version` is this resource's group/version (without building it).
    pub fn has_api_version(&self, api_version: &str) -> bool {
        match api_version.split_once('/') {
            Some((group, version)) => group == self.group && version == self.version,
            None => self.group.is_empty() && api_version == self.version,
        }
    }

    /// The URL prefix of the group/version: `/api/v1` or `/apis/<group>/<version>`.
    pub fn group_version_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The URL of the collection, or of one object when `name` is given.
    pub fn path(&self, namespace: Option<&str>, name: Option<&str>) -> String {
        let mut p = self.group_version_path();
        if let (true, Some(ns)) = (self.namespaced, namespace) {
            p.push_str("/namespaces/");
            p.push_str(ns);
        }
        p.push('/');
        p.push_str(self.plural);
        if let Some(n) = name {
            p.push('/');
            p.push_str(n);
        }
        p
    }

    /// The entries this resource contributes to an APIResourceList.
    fn discovery_entries(&self) -> Vec<Value> {
        let mut main = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
        });
        if !self.short_names.is_empty() {
            main["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            main["categories"] = json!(self.categories);
        }
        let mut entries = vec![main];
        if self.status {
            entries.push(json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if self.scale {
            entries.push(json!({
                "name": format!("{}/scale", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
        entries
    }
}

const CORE: &str = "";
const APPS: &str = "apps";
const BATCH: &str = "batch";
const ARGO: &str = "argoproj.io";
const FLAGGER: &str = "flagger.app";
const ISTIO: &str = "networking.istio.io";
const GATEWAY: &str = "gateway.networking.k8s.io";
/// The OpenFeature Operator's group: one of its versions is served (see
/// [`Served`]).
pub const OPENFEATURE: &str = "core.openfeature.dev";
/// Velero's group: backups, restores and their schedules, in Velero's
/// install namespace (`velero`).
pub const VELERO: &str = "velero.io";
const EVENTS: &str = "events.k8s.io";
const AUTHZ: &str = "authorization.k8s.io";
const AUTHN: &str = "authentication.k8s.io";

/// Field labels of Events, in core/v1 names (both Event APIs share the storage).
const EVENT_FIELD_LABELS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// Field labels that are not the dotted path to the value.
pub const FIELD_LABEL_POINTERS: &[(&str, &str)] = &[("source", "/source/component")];

/// The OpenFeature Operator's FeatureFlag at `version`.
const fn feature_flags(version: &'static str) -> ResourceDef {
    ResourceDef::new(
        OPENFEATURE,
        version,
        "featureflags",
        "featureflag",
        "FeatureFlag",
    )
    .short(&["ff"])
    .with_generation()
    .with_managed_fields()
}

/// Every resource the simulator serves.
pub static RESOURCES: &[ResourceDef] = &[
    ResourceDef::new(CORE, "v1", "namespaces", "namespace", "Namespace")
        .cluster()
        .fields(&["status.phase"])
        .short(&["ns"])
        .with_status(),
    ResourceDef::new(CORE, "v1", "pods", "pod", "Pod")
        .short(&["po"])
        .fields(&[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ])
        .cats(&["all"])
        .with_status(),
    ResourceDef::new(CORE, "v1", "services", "service", "Service")
        .short(&["svc"])
        .cats(&["all"])
        .with_status(),
    ResourceDef::new(CORE, "v1", "events", "event", "Event")
        .short(&["ev"])
        .fields(EVENT_FIELD_LABELS),
    ResourceDef::new(CORE, "v1", "configmaps", "configmap", "ConfigMap").short(&["cm"]),
    ResourceDef::new(APPS, "v1", "deployments", "deployment", "Deployment")
        .short(&["deploy"])
        .cats(&["all"])
        .with_status()
        .with_scale(),
    ResourceDef::new(APPS, "v1", "replicasets", "replicaset", "ReplicaSet")
        .short(&["rs"])
        .fields(&["status.replicas"])
        .cats(&["all"])
        .with_status()
        .with_scale(),
    ResourceDef::new(BATCH, "v1", "jobs", "job", "Job")
        .fields(&["status.successful"])
        .cats(&["all"])
        .with_status(),
    ResourceDef::new(ARGO, "v1alpha1", "rollouts", "rollout", "Rollout")
        .short(&["ro"])
        .cats(&["all"])
        .with_status()
        .with_scale(),
    ResourceDef::new(
        ARGO,
        "v1alpha1",
        "analysisruns",
        "analysisrun",
        "AnalysisRun",
    )
    .short(&["ar"])
    .cats(&["all"])
    .with_generation(),
    ResourceDef::new(
        ARGO,
        "v1alpha1",
        "analysistemplates",
        "analysistemplate",
        "AnalysisTemplate",
    )
    .short(&["at"])
    .with_generation(),
    ResourceDef::new(FLAGGER, "v1beta1", "canaries", "canary", "Canary")
        .short(&["canary"])
        .cats(&["all"])
        .with_status(),
    ResourceDef::new(
        ISTIO,
        "v1beta1",
        "virtualservices",
        "virtualservice",
        "VirtualService",
    )
    .short(&["vs"])
    .cats(&["istio-io", "networking-istio-io"])
    .with_generation(),
    ResourceDef::new(GATEWAY, "v1", "httproutes", "httproute", "HTTPRoute")
        .cats(&["gateway-api"])
        .with_status(),
    feature_flags("v1beta1"),
    feature_flags("v1beta2"),
    ResourceDef::new(VELERO, "v1", "backups", "backup", "Backup").with_generation(),
    ResourceDef::new(VELERO, "v1", "restores", "restore", "Restore").with_generation(),
    ResourceDef::new(VELERO, "v1", "schedules", "schedule", "Schedule").with_generation(),
    ResourceDef::new(EVENTS, "v1", "events", "event", "Event")
        .short(&["ev"])
        .fields(EVENT_FIELD_LABELS),
    ResourceDef::new(
        AUTHZ,
        "v1",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
    )
    .create_only(),
    ResourceDef::new(
        AUTHN,
        "v1",
        "selfsubjectreviews",
        "selfsubjectreview",
        "SelfSubjectReview",
    )
    .create_only(),
];

/// Which of the versions this table holds one server serves: the
/// OpenFeature Operator serves `v1beta1`, newer operators `v1beta2`, never
/// both here, so a client must ask discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub feature_flags: &'static str,
}

impl Default for Served {
    fn default() -> Self {
        Served {
            feature_flags: "v1beta1",
        }
    }
}

impl Served {
    /// `version` of FeatureFlag, when this table has it.
    pub fn feature_flags(version: &str) -> Option<Served> {
        RESOURCES
            .iter()
            .find(|r| r.group == OPENFEATURE && r.version == version)
            .map(|r| Served {
                feature_flags: r.version,
            })
    }

    pub fn serves(&self, res: &ResourceDef) -> bool {
        res.group != OPENFEATURE || res.version == self.feature_flags
    }

    /// The served resource of `group`, `version` and `plural`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
        lookup(group, version, plural).filter(|r| self.serves(r))
    }

    fn resources(self) -> impl Iterator<Item = &'static ResourceDef> {
        RESOURCES.iter().filter(move |r| self.serves(r))
    }
}

/// Find a resource by group, version and plural.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Find the resource that stores objects of `apiVersion`/`kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version && !r.virtual_create)
}

/// Distinct groups in the order they are first listed, core excluded.
fn groups(served: Served) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in served.resources() {
        if !r.group.is_empty() && !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}

fn versions_of(group: &str, served: Served) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in served.resources().filter(|r| r.group == group) {
        if !out.contains(&r.version) {
            out.push(r.version);
        }
    }
    out
}

/// `/api`: the legacy core group's versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_entry(group: &str, served: Served) -> Value {
    let versions: Vec<Value> = versions_of(group, served)
        .into_iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = versions[0].clone();
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

/// `/apis`: every named group.
pub fn api_group_list(served: Served) -> Value {
    let groups: Vec<Value> = groups(served)
        .into_iter()
        .map(|g| group_entry(g, served))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, or None when the group is not served.
pub fn api_group(group: &str, served: Served) -> Option<Value> {
    groups(served).contains(&group).then(|| {
        let mut g = group_entry(group, served);
        g["kind"] = json!("APIGroup");
        g["apiVersion"] = json!("v1");
        g
    })
}

/// `/api/v1` or `/apis/<group>/<version>`, or None when not served.
pub fn api_resource_list(group: &str, version: &str, served: Served) -> Option<Value> {
    let entries: Vec<Value> = served
        .resources()
        .filter(|r| r.group == group && r.version == version)
        .flat_map(ResourceDef::discovery_entries)
        .collect();
    if entries.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollouts_have_short_name_ro_and_subresources() {
        let list = api_resource_list("argoproj.io", "v1alpha1", Served::default()).unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"rollouts"));
        assert!(names.contains(&"rollouts/status"));
        assert!(names.contains(&"rollouts/scale"));
        let ro = &list["resources"][0];
        assert_eq!(ro["shortNames"], json!(["ro"]));
        assert_eq!(ro["kind"], "Rollout");
    }

    #[test]
    fn groups_are_listed_once_and_unknown_groups_are_absent() {
        let all = api_group_list(Served::default());
        let names: Vec<&str> = all["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.iter().filter(|n| **n == "argoproj.io").count(), 1);
        assert!(api_group("example.com", Served::default()).is_none());
        assert!(api_resource_list("apps", "v2", Served::default()).is_none());
    }

    #[test]
    fn one_version_of_feature_flags_is_served_as_chosen() {
        for (version, other) in [("v1beta1", "v1beta2"), ("v1beta2", "v1beta1")] {
            let served = Served::feature_flags(version).unwrap();
            let group = api_group(OPENFEATURE, served).unwrap();
            assert_eq!(group["preferredVersion"]["version"], version);
            assert_eq!(group["versions"].as_array().unwrap().len(), 1);
            let list = api_resource_list(OPENFEATURE, version, served).unwrap();
            assert_eq!(list["resources"][0]["shortNames"], json!(["ff"]));
            assert!(api_resource_list(OPENFEATURE, other, served).is_none());
            assert!(served.lookup(OPENFEATURE, other, "featureflags").is_none());
        }
        assert!(Served::feature_flags("v9").is_none());
    }

    #[test]
    fn velero_kinds_are_served_namespaced() {
        let list = api_resource_list(VELERO, "v1", Served::default()).unwrap();
        let kinds: Vec<(&str, bool)> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["kind"].as_str().unwrap(), r["namespaced"] == true))
            .collect();
        assert_eq!(
            kinds,
            [("Backup", true), ("Restore", true), ("Schedule", true)]
        );
        assert!(api_group(VELERO, Served::default()).is_some());
    }

    #[test]
    fn paths_follow_the_api_layout() {
        let ro = lookup("argoproj.io", "v1alpha1", "rollouts").unwrap();
        assert_eq!(
            ro.path(Some("shop"), Some("checkout")),
            "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout"
        );
        let ns = lookup("", "v1", "namespaces").unwrap();
        assert_eq!(ns.path(Some("x"), Some("shop")), "/api/v1/namespaces/shop");
        assert_eq!(
            by_kind("apps/v1", "Deployment").unwrap().plural,
            "deployments"
        );
    }
}
