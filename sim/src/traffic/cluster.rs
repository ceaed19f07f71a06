//! What the traffic model needs to know of the cluster, kept up to date from
//! the store's change feed instead of re-listing every tick: pods (app,
//! version hash, readiness, image), which workload owns each ReplicaSet, how
//! Argo Rollouts and Flagger Canaries split traffic; and from that, per
//! application, its versions with their ready pods and traffic shares.

use crate::behaviour::AppTraffic;
use crate::controllers::replicaset::pod_is_ready;
use crate::controllers::workload::{ARGO_HASH_LABEL, DEPLOYMENT_HASH_LABEL, image_of};
use crate::resources::{self, ResourceDef};
use crate::store::{Change, ChangeType, ListOptions, Store};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::TryRecvError};

/// (namespace, pod name).
pub type PodKey = (String, String);

/// Which pod-template-hash label a pod carries, named as Prometheus relabels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashLabel {
    /// `rollouts-pod-template-hash`: pods of Argo Rollouts.
    Rollouts,
    /// `pod-template-hash`: pods of Deployments.
    Deployment,
}

impl HashLabel {
    pub fn prometheus_name(self) -> &'static str {
        match self {
            HashLabel::Rollouts => "rollouts_pod_template_hash",
            HashLabel::Deployment => "pod_template_hash",
        }
    }
}

/// The Istio destination labels of a version's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstioLabels {
    pub workload: String,
    pub service: String,
    pub version: String,
}

/// One version (pod-template hash) of an application at the current state of the cluster.
#[derive(Debug, Clone)]
pub struct VersionGroup {
    pub hash: String,
    pub hash_label: HashLabel,
    /// The pods' `app` label (`<target>-primary` for a Flagger primary).
    pub app_label: String,
    pub image: String,
    /// Ready pods, by name.
    pub pods: Vec<String>,
    /// Fraction of the application's requests this version receives.
    pub share: f64,
    /// Set when a mesh (Istio) reports this version's requests.
    pub istio: Option<IstioLabels>,
    /// Where the pods' meters are, resolved by the meters after each refresh.
    pub slots: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
struct PodInfo {
    app: String,
    hash: String,
    hash_label: HashLabel,
    ready: bool,
    image: String,
    replica_set_uid: Option<String>,
    /// What Istio reports as `destination_version`.
    version: String,
}

/// The controller owner of a ReplicaSet.
#[derive(Debug, Clone, PartialEq)]
struct Owner {
    kind: String,
    name: String,
}

/// Argo Rollouts' view of where traffic goes, from the Rollout's spec and status.
#[derive(Debug, Clone, PartialEq)]
enum Routing {
    /// Canary through a traffic router: the weights the controller last set.
    RoutedCanary {
        istio: bool,
        canary_service: Option<String>,
        stable_service: Option<String>,
        weights: Option<CanaryWeights>,
        stable_hash: Option<String>,
    },
    /// Blue-green: the active Service selects one version.
    BlueGreen { active_hash: Option<String> },
    /// A canary without a router: the Service spreads requests over all ready pods.
    Unrouted,
}

#[derive(Debug, Clone, PartialEq)]
struct CanaryWeights {
    canary_hash: String,
    canary: f64,
    stable_hash: String,
    stable: f64,
    /// Weights of additional destinations (experiments), which take their share elsewhere.
    additional: f64,
}

/// A Flagger Canary: its target Deployment, its service (the VirtualService
/// it routes through has that name) and the canary weight in its status.
#[derive(Debug, Clone, PartialEq)]
struct FlaggerCanary {
    target: String,
    service: String,
    weight: f64,
}

/// The resources the traffic model follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Followed {
    Pods,
    ReplicaSets,
    Rollouts,
    Canaries,
    VirtualServices,
}

const FOLLOWED: [Followed; 5] = [
    Followed::Pods,
    Followed::ReplicaSets,
    Followed::Rollouts,
    Followed::Canaries,
    Followed::VirtualServices,
];

impl Followed {
    fn of(res: &ResourceDef) -> Option<Followed> {
        match (res.group, res.plural) {
            ("", "pods") => Some(Followed::Pods),
            ("apps", "replicasets") => Some(Followed::ReplicaSets),
            ("argoproj.io", "rollouts") => Some(Followed::Rollouts),
            ("flagger.app", "canaries") => Some(Followed::Canaries),
            ("networking.istio.io", "virtualservices") => Some(Followed::VirtualServices),
            _ => None,
        }
    }

    fn resource(self) -> &'static ResourceDef {
        let (group, version, plural) = match self {
            Followed::Pods => ("", "v1", "pods"),
            Followed::ReplicaSets => ("apps", "v1", "replicasets"),
            Followed::Rollouts => ("argoproj.io", "v1alpha1", "rollouts"),
            Followed::Canaries => ("flagger.app", "v1beta1", "canaries"),
            Followed::VirtualServices => ("networking.istio.io", "v1beta1", "virtualservices"),
        };
        resources::lookup(group, version, plural).expect("served")
    }
}

/// The followed objects, indexed by namespace, and the application views built from them.
#[derive(Default)]
pub struct ClusterView {
    changes: Option<broadcast::Receiver<Arc<Change>>>,
    /// After a full list: per resource, the resourceVersion the list reflects
    /// (changes up to it are already in).
    listed_at: [u64; FOLLOWED.len()],
    pods: HashMap<String, BTreeMap<String, PodInfo>>,
    /// ReplicaSet uid → its controller owner.
    replica_set_owners: HashMap<String, Owner>,
    rollouts: HashMap<String, HashMap<String, Routing>>,
    canaries: HashMap<String, HashMap<String, FlaggerCanary>>,
    /// VirtualService name → the weight of its `-canary` destination, where it has one.
    canary_routes: HashMap<String, HashMap<String, f64>>,
    /// Namespaces whose application views are out of date.
    stale: HashSet<String>,
    /// namespace → app → versions.
    views: HashMap<String, HashMap<String, Vec<VersionGroup>>>,
}

fn label<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj["metadata"]["labels"][name].as_str()
}

fn name_of(obj: &Value) -> String {
    obj["metadata"]["name"].as_str().unwrap_or("").to_string()
}

fn controller_owner(obj: &Value) -> Option<&Value> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
}

fn pod_info(pod: &Value) -> Option<PodInfo> {
    let app = label(pod, "app")?.to_string();
    let (hash, hash_label) = match (
        label(pod, ARGO_HASH_LABEL),
        label(pod, DEPLOYMENT_HASH_LABEL),
    ) {
        (Some(h), _) => (h, HashLabel::Rollouts),
        (None, Some(h)) => (h, HashLabel::Deployment),
        (None, None) => ("", HashLabel::Deployment),
    };
    Some(PodInfo {
        app,
        hash: hash.to_string(),
        hash_label,
        // Endpoints drop a terminating pod even while it still reports Ready.
        ready: pod_is_ready(pod) && pod["metadata"]["deletionTimestamp"].is_null(),
        image: image_of(pod).to_string(),
        replica_set_uid: controller_owner(pod)
            .filter(|r| r["kind"] == "ReplicaSet")
            .and_then(|r| r["uid"].as_str())
            .map(str::to_string),
        version: label(pod, "version")
            .or_else(|| label(pod, "app.kubernetes.io/version"))
            .unwrap_or("unknown")
            .to_string(),
    })
}

fn weight(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0).max(0.0)
}

fn routing(rollout: &Value) -> Routing {
    let strategy = &rollout["spec"]["strategy"];
    let status = &rollout["status"];
    if strategy["blueGreen"].is_object() {
        return Routing::BlueGreen {
            active_hash: status["blueGreen"]["activeSelector"]
                .as_str()
                .map(str::to_string),
        };
    }
    let canary = &strategy["canary"];
    let router = &canary["trafficRouting"];
    if !router.is_object() {
        return Routing::Unrouted;
    }
    let w = &status["canary"]["weights"];
    let weights = w.is_object().then(|| CanaryWeights {
        canary_hash: w["canary"]["podTemplateHash"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        canary: weight(&w["canary"]["weight"]),
        stable_hash: w["stable"]["podTemplateHash"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        stable: weight(&w["stable"]["weight"]),
        additional: w["additional"]
            .as_array()
            .map(|a| a.iter().map(|d| weight(&d["weight"])).sum())
            .unwrap_or(0.0),
    });
    let service = |field: &str| canary[field].as_str().map(str::to_string);
    Routing::RoutedCanary {
        istio: router["istio"].is_object(),
        canary_service: service("canaryService"),
        stable_service: service("stableService"),
        weights,
        stable_hash: status["stableRS"].as_str().map(str::to_string),
    }
}

fn flagger_canary(canary: &Value) -> FlaggerCanary {
    let target = canary["spec"]["targetRef"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    FlaggerCanary {
        service: canary["spec"]["service"]["name"]
            .as_str()
            .unwrap_or(&target)
            .to_string(),
        target,
        weight: weight(&canary["status"]["canaryWeight"]).min(100.0),
    }
}

/// The weight a VirtualService gives its `<svc>-canary` destination: what
/// the mesh applies. Flagger's status reads 0 while a canary waits for
/// promotion although the route still sends it traffic.
fn canary_route_weight(vs: &Value) -> Option<f64> {
    vs["spec"]["http"].as_array()?.iter().find_map(|route| {
        route["route"].as_array()?.iter().find_map(|dest| {
            let host = dest["destination"]["host"].as_str()?;
            host.ends_with("-canary")
                .then(|| weight(&dest["weight"]).min(100.0))
        })
    })
}

/// A version while the groups of an application are gathered.
struct Gathered<'a> {
    first: &'a PodInfo,
    pods: Vec<String>,
}

impl ClusterView {
    /// Bring the followed objects up to date. Returns the pods that are gone.
    pub fn sync(&mut self, store: &Store) -> Vec<PodKey> {
        let mut gone = Vec::new();
        if self.changes.is_none() {
            gone.extend(self.relist(store));
        }
        while let Some(changes) = self.changes.as_mut() {
            match changes.try_recv() {
                Ok(change) => gone.extend(self.apply(&change)),
                // Changes were missed: start over from a full list.
                Err(TryRecvError::Lagged(_)) => gone.extend(self.relist(store)),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        gone
    }

    /// Subscribe first, then list, so that no change falls between the two.
    fn relist(&mut self, store: &Store) -> Vec<PodKey> {
        self.changes = Some(store.subscribe());
        let before: Vec<PodKey> = self
            .pods
            .iter()
            .flat_map(|(ns, pods)| pods.keys().map(|n| (ns.clone(), n.clone())))
            .collect();
        self.stale.extend(self.pods.keys().cloned());
        self.stale.extend(self.rollouts.keys().cloned());
        self.stale.extend(self.canaries.keys().cloned());
        self.stale.extend(self.canary_routes.keys().cloned());
        self.canary_routes.clear();
        self.pods.clear();
        self.replica_set_owners.clear();
        self.rollouts.clear();
        self.canaries.clear();
        for (i, followed) in FOLLOWED.into_iter().enumerate() {
            let Ok(list) = store.list(followed.resource(), None, &ListOptions::default()) else {
                continue;
            };
            for obj in &list.items {
                let ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
                // Nothing is known yet, so nothing can go.
                let _ = self.upsert(followed, ns, obj);
            }
            self.listed_at[i] = list.resource_version;
        }
        before
            .into_iter()
            .filter(|(ns, name)| self.pods.get(ns).is_none_or(|p| !p.contains_key(name)))
            .collect()
    }

    fn apply(&mut self, change: &Change) -> Option<PodKey> {
        let followed = Followed::of(change.res)?;
        let index = FOLLOWED.iter().position(|f| *f == followed)?;
        if change.rv <= self.listed_at[index] {
            return None;
        }
        let ns = change.namespace.as_str();
        if change.event != ChangeType::Deleted {
            return self.upsert(followed, ns, &change.object);
        }
        let name = name_of(&change.object);
        let removed = match followed {
            Followed::Pods => {
                let gone = self.pods.get_mut(ns).and_then(|p| p.remove(&name));
                return gone.map(|_| {
                    self.stale.insert(ns.to_string());
                    (ns.to_string(), name)
                });
            }
            Followed::ReplicaSets => change.object["metadata"]["uid"]
                .as_str()
                .and_then(|uid| self.replica_set_owners.remove(uid))
                .is_some(),
            Followed::Rollouts => self
                .rollouts
                .get_mut(ns)
                .and_then(|r| r.remove(&name))
                .is_some(),
            Followed::Canaries => self
                .canaries
                .get_mut(ns)
                .and_then(|c| c.remove(&name))
                .is_some(),
            Followed::VirtualServices => self
                .canary_routes
                .get_mut(ns)
                .and_then(|c| c.remove(&name))
                .is_some(),
        };
        if removed {
            self.stale.insert(ns.to_string());
        }
        None
    }

    /// Record an object's current state; the namespace goes stale only when
    /// something the traffic split depends on changed. Returns a pod that
    /// left every application (its `app` label was removed).
    #[must_use]
    fn upsert(&mut self, followed: Followed, ns: &str, obj: &Value) -> Option<PodKey> {
        let name = name_of(obj);
        let changed = match followed {
            Followed::Pods => match pod_info(obj) {
                Some(info) => {
                    let pods = self.pods.entry(ns.to_string()).or_default();
                    pods.insert(name, info.clone()) != Some(info)
                }
                None => {
                    self.pods.get_mut(ns).and_then(|p| p.remove(&name))?;
                    self.stale.insert(ns.to_string());
                    return Some((ns.to_string(), name));
                }
            },
            Followed::ReplicaSets => {
                let uid = obj["metadata"]["uid"].as_str()?;
                match controller_owner(obj) {
                    Some(r) => {
                        let owner = Owner {
                            kind: r["kind"].as_str().unwrap_or("").to_string(),
                            name: r["name"].as_str().unwrap_or("").to_string(),
                        };
                        self.replica_set_owners
                            .insert(uid.to_string(), owner.clone())
                            != Some(owner)
                    }
                    None => self.replica_set_owners.remove(uid).is_some(),
                }
            }
            Followed::Rollouts => {
                let r = routing(obj);
                let rollouts = self.rollouts.entry(ns.to_string()).or_default();
                rollouts.insert(name, r.clone()) != Some(r)
            }
            Followed::Canaries => {
                let c = flagger_canary(obj);
                let canaries = self.canaries.entry(ns.to_string()).or_default();
                canaries.insert(name, c.clone()) != Some(c)
            }
            Followed::VirtualServices => {
                let routes = self.canary_routes.entry(ns.to_string()).or_default();
                match canary_route_weight(obj) {
                    Some(w) => routes.insert(name, w) != Some(w),
                    None => routes.remove(&name).is_some(),
                }
            }
        };
        if changed {
            self.stale.insert(ns.to_string());
        }
        None
    }

    /// Rebuild the views of namespaces that changed and of applications not
    /// seen before. Returns the namespaces rebuilt (their slots need resolving).
    pub fn refresh(&mut self, apps: &[AppTraffic]) -> Vec<String> {
        for app in apps {
            let known = self
                .views
                .get(&app.namespace)
                .is_some_and(|v| v.contains_key(&app.app));
            if !known {
                self.stale.insert(app.namespace.clone());
            }
        }
        let stale: Vec<String> = self.stale.drain().collect();
        for ns in &stale {
            let mut ready: HashMap<&str, Vec<(&String, &PodInfo)>> = HashMap::new();
            for (name, pod) in self.pods.get(ns).into_iter().flatten() {
                if pod.ready {
                    ready.entry(pod.app.as_str()).or_default().push((name, pod));
                }
            }
            let views: HashMap<String, Vec<VersionGroup>> = apps
                .iter()
                .filter(|a| &a.namespace == ns)
                .map(|a| (a.app.clone(), self.versions_of(ns, &a.app, &ready)))
                .collect();
            if views.is_empty() {
                self.views.remove(ns);
            } else {
                self.views.insert(ns.clone(), views);
            }
        }
        stale
    }

    pub fn versions(&self, ns: &str, app: &str) -> Option<&[VersionGroup]> {
        self.views.get(ns)?.get(app).map(Vec::as_slice)
    }

    pub fn versions_in_mut(
        &mut self,
        ns: &str,
    ) -> impl Iterator<Item = &mut VersionGroup> + use<'_> {
        self.views
            .get_mut(ns)
            .into_iter()
            .flat_map(|apps| apps.values_mut())
            .flatten()
    }

    fn owner(&self, pod: &PodInfo) -> Option<&Owner> {
        self.replica_set_owners.get(pod.replica_set_uid.as_deref()?)
    }

    /// The versions of one application with their ready pods and traffic shares.
    fn versions_of<'a>(
        &'a self,
        ns: &str,
        app: &str,
        ready: &HashMap<&str, Vec<(&String, &'a PodInfo)>>,
    ) -> Vec<VersionGroup> {
        let flagger = self
            .canaries
            .get(ns)
            .and_then(|c| c.values().find(|c| c.target == app));
        let primary_app = format!("{app}-primary");
        let members = ready.get(app).into_iter().flatten().chain(
            flagger
                .and_then(|_| ready.get(primary_app.as_str()))
                .into_iter()
                .flatten(),
        );
        let mut gathered: BTreeMap<&str, Gathered<'_>> = BTreeMap::new();
        for &(name, pod) in members {
            gathered
                .entry(pod.hash.as_str())
                .or_insert_with(|| Gathered {
                    first: pod,
                    pods: Vec::new(),
                })
                .pods
                .push(name.clone());
        }
        let gathered: Vec<Gathered<'_>> = gathered.into_values().collect();
        if gathered.is_empty() {
            return Vec::new();
        }
        let split = match flagger {
            Some(canary) => {
                let applied = self
                    .canary_routes
                    .get(ns)
                    .and_then(|r| r.get(&canary.service))
                    .copied()
                    .unwrap_or(canary.weight);
                self.flagger_split(&gathered, app, applied)
            }
            None => self.rollout_split(ns, &gathered).unwrap_or_default(),
        };
        let served: f64 = split.weights.iter().sum();
        let all_pods: usize = gathered.iter().map(|g| g.pods.len()).sum();
        gathered
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                let share = if served > 0.0 && split.total > 0.0 {
                    split.weights[i] / split.total
                } else {
                    // No router, or none of the weighted versions has a ready
                    // pod: a Service spreads requests over every ready pod.
                    g.pods.len() as f64 / all_pods as f64
                };
                VersionGroup {
                    hash: g.first.hash.clone(),
                    hash_label: g.first.hash_label,
                    app_label: g.first.app.clone(),
                    image: g.first.image.clone(),
                    share,
                    istio: split
                        .istio
                        .get(i)
                        .cloned()
                        .flatten()
                        .map(|(workload, service)| IstioLabels {
                            workload,
                            service,
                            version: g.first.version.clone(),
                        }),
                    pods: g.pods,
                    slots: Vec::new(),
                }
            })
            .collect()
    }

    /// Flagger: the primary Deployment's pods take 100 − w %, the canary's w %.
    fn flagger_split(&self, gathered: &[Gathered<'_>], app: &str, canary_weight: f64) -> Split {
        let primary_app = format!("{app}-primary");
        let is_primary: Vec<bool> = gathered
            .iter()
            .map(|g| {
                g.first.app == primary_app
                    || self
                        .owner(g.first)
                        .is_some_and(|o| o.kind == "Deployment" && o.name == primary_app)
            })
            .collect();
        let pods_in = |primary: bool| -> f64 {
            gathered
                .iter()
                .zip(&is_primary)
                .filter(|(_, p)| **p == primary)
                .map(|(g, _)| g.pods.len() as f64)
                .sum()
        };
        let (primary_pods, canary_pods) = (pods_in(true), pods_in(false));
        let weights = gathered
            .iter()
            .zip(&is_primary)
            .map(|(g, primary)| {
                let n = g.pods.len() as f64;
                if *primary {
                    (100.0 - canary_weight) * n / primary_pods
                } else {
                    canary_weight * n / canary_pods
                }
            })
            .collect();
        let istio = is_primary
            .iter()
            .map(|primary| {
                Some(if *primary {
                    (primary_app.clone(), primary_app.clone())
                } else {
                    (app.to_string(), format!("{app}-canary"))
                })
            })
            .collect();
        Split {
            weights,
            total: 100.0,
            istio,
        }
    }

    /// Argo Rollouts: the router's weights, or the active version of a
    /// blue-green. None when no Rollout owns the pods.
    fn rollout_split(&self, ns: &str, gathered: &[Gathered<'_>]) -> Option<Split> {
        let (rollout, routing) = gathered.iter().find_map(|g| {
            let o = self.owner(g.first).filter(|o| o.kind == "Rollout")?;
            Some((o.name.as_str(), self.rollouts.get(ns)?.get(&o.name)?))
        })?;
        let owned: Vec<bool> = gathered
            .iter()
            .map(|g| {
                self.owner(g.first)
                    .is_some_and(|o| o.kind == "Rollout" && o.name == rollout)
            })
            .collect();
        let only = |hash: Option<&String>| Split {
            weights: gathered
                .iter()
                .zip(&owned)
                .map(|(g, o)| f64::from(*o && Some(&g.first.hash) == hash))
                .collect(),
            total: 1.0,
            istio: Vec::new(),
        };
        match routing {
            Routing::RoutedCanary {
                istio,
                canary_service,
                stable_service,
                weights,
                stable_hash,
            } => {
                let mut split = match weights {
                    Some(w) => Split {
                        weights: gathered
                            .iter()
                            .zip(&owned)
                            .map(|(g, owned)| {
                                let hash = &g.first.hash;
                                let canary = if *hash == w.canary_hash {
                                    w.canary
                                } else {
                                    0.0
                                };
                                let stable = if *hash == w.stable_hash {
                                    w.stable
                                } else {
                                    0.0
                                };
                                if *owned { canary + stable } else { 0.0 }
                            })
                            .collect(),
                        total: w.canary + w.stable + w.additional,
                        istio: Vec::new(),
                    },
                    None => only(stable_hash.as_ref()),
                };
                if *istio {
                    split.istio = gathered
                        .iter()
                        .map(|g| {
                            // After a promotion both hashes are the same: that is the stable.
                            let is_canary = weights.as_ref().is_some_and(|w| {
                                w.canary_hash == g.first.hash && w.canary_hash != w.stable_hash
                            });
                            let service = if is_canary {
                                canary_service
                            } else {
                                stable_service
                            };
                            Some((
                                rollout.to_string(),
                                service.as_deref().unwrap_or(rollout).to_string(),
                            ))
                        })
                        .collect();
                }
                Some(split)
            }
            Routing::BlueGreen { active_hash } => Some(only(active_hash.as_ref())),
            Routing::Unrouted => None,
        }
    }
}

/// How an application's requests divide over its versions: raw weights
/// (out of `total`; what is not served by a ready version is lost, as a mesh
/// answers it with 503 before any pod sees it) and each version's Istio
/// (workload, service) when a mesh reports it.
#[derive(Default)]
struct Split {
    weights: Vec<f64>,
    total: f64,
    istio: Vec<Option<(String, String)>>,
}
