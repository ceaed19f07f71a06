use super::*;
use crate::behaviour::{Behaviour, VersionProfile, VersionRule};
use crate::clock::Clock;
use crate::controllers::replicaset::{ReplicaSetController, pod_is_ready};
use crate::controllers::testing::{NoTraffic, t0};
use crate::controllers::workload::{self, DEPLOYMENT, DEPLOYMENT_REVISION, name_of, replicasets};
use crate::controllers::{Ctx, Runtime};
use crate::resources;
use crate::store::{Change, ChangeType, Store};
use crate::time::timestamp;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::TryRecvError};

/// The timestamp `secs` simulated seconds after the start.
fn at(secs: i64) -> String {
    timestamp(t0() + Duration::seconds(secs))
}

struct Sim {
    rt: Arc<Runtime>,
    store: Arc<Store>,
    behaviour: Arc<Behaviour>,
}

fn setup(behaviour: Behaviour) -> Sim {
    let store = Arc::new(Store::new(Arc::new(Clock::starting_at(t0(), 0.0))));
    crate::seed::insert(
        &store,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
    )
    .unwrap();
    let behaviour = Arc::new(behaviour);
    let rt = Runtime::new(
        store.clone(),
        behaviour.clone(),
        Arc::new(NoTraffic),
        vec![
            Arc::new(DeploymentController),
            Arc::new(ReplicaSetController),
        ],
    );
    Sim {
        rt,
        store,
        behaviour,
    }
}

fn template(image: &str) -> Value {
    json!({"metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": image}]}})
}

/// Deployment `web` with `extra` merged into its spec.
fn deployment(replicas: i64, image: &str, extra: Value) -> Value {
    let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                    "template": template(image)}});
    if extra.is_object() {
        json_patch::merge(&mut d["spec"], &extra);
    }
    d
}

impl Sim {
    fn create(&self, d: Value) {
        crate::seed::insert(&self.store, d).unwrap();
    }

    fn get(&self) -> Arc<Value> {
        self.store.get(deployments(), "shop", "web").unwrap()
    }

    fn edit(&self, change: impl FnOnce(&mut Value)) {
        self.store
            .modify(deployments(), "shop", "web", change)
            .unwrap();
    }

    fn set_image(&self, image: &str) {
        self.edit(|d| d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image));
    }

    /// The Deployment's ReplicaSets, oldest revision first.
    fn replica_sets(&self) -> Vec<Arc<Value>> {
        workload::owned_replica_sets(&self.store, &self.get(), DEPLOYMENT)
    }

    /// (image, spec.replicas, revision) of each ReplicaSet, oldest revision first.
    fn sizes(&self) -> Vec<(String, i64, u64)> {
        self.replica_sets()
            .iter()
            .map(|rs| {
                (
                    workload::image_of(&rs["spec"]["template"]).to_string(),
                    spec_replicas(rs),
                    workload::revision_of(rs, DEPLOYMENT),
                )
            })
            .collect()
    }

    fn rs_name(&self, image: &str) -> String {
        let rs = self.replica_sets();
        let rs = rs
            .iter()
            .find(|rs| workload::image_of(&rs["spec"]["template"]) == image)
            .expect("a ReplicaSet for the image");
        name_of(rs).to_string()
    }

    fn pods(&self) -> Vec<Arc<Value>> {
        self.store
            .list(workload::pods(), Some("shop"), &Default::default())
            .unwrap()
            .items
    }

    /// The messages of the controller's scaling events, sorted.
    fn scaling_events(&self) -> Vec<String> {
        let res = resources::lookup("", "v1", "events").unwrap();
        self.store
            .list(res, Some("shop"), &Default::default())
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e["reason"] == "ScalingReplicaSet")
            .inspect(|e| {
                assert_eq!(e["source"]["component"], COMPONENT);
                assert_eq!(e["involvedObject"]["kind"], "Deployment");
            })
            .map(|e| e["message"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    fn reconcile_directly(&self) -> Option<DateTime<Utc>> {
        let ctx = Ctx {
            store: &self.store,
            behaviour: &self.behaviour,
            metrics: &NoTraffic,
            now: self.store.clock().now(),
        };
        DeploymentController.reconcile(&ctx, "shop", "web")
    }
}

fn progressing(d: &Value) -> Value {
    d["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == PROGRESSING)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The pods and ReplicaSet sizes as they are after one store change.
#[derive(Debug, Default)]
struct Snapshot {
    /// Pod name → (pod-template-hash, ready).
    pods: BTreeMap<String, (String, bool)>,
    /// ReplicaSet name → spec.replicas.
    sizes: BTreeMap<String, i64>,
}

impl Snapshot {
    fn ready(&self) -> usize {
        self.pods.values().filter(|(_, ready)| *ready).count()
    }

    fn wanted(&self) -> i64 {
        self.sizes.values().sum()
    }
}

/// Replays every store change, so limits are checked at each step and
/// not only where a test looks.
struct Watch {
    changes: broadcast::Receiver<Arc<Change>>,
    now: Snapshot,
}

impl Watch {
    fn new(sim: &Sim) -> Watch {
        let changes = sim.store.subscribe();
        let mut now = Snapshot::default();
        for pod in sim.pods() {
            now.pods.insert(name_of(&pod).to_string(), Self::pod(&pod));
        }
        for rs in sim.replica_sets() {
            now.sizes
                .insert(name_of(&rs).to_string(), spec_replicas(&rs));
        }
        Watch { changes, now }
    }

    fn pod(pod: &Value) -> (String, bool) {
        let hash = pod["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap_or("")
            .to_string();
        (hash, pod_is_ready(pod))
    }

    fn check(&mut self, mut each: impl FnMut(&Snapshot)) {
        loop {
            let change = match self.changes.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Empty) => return,
                Err(e) => panic!("missed store changes: {e}"),
            };
            let name = name_of(&change.object).to_string();
            let deleted = change.event == ChangeType::Deleted;
            if std::ptr::eq(change.res, workload::pods()) {
                match deleted {
                    true => self.now.pods.remove(&name),
                    false => self.now.pods.insert(name, Self::pod(&change.object)),
                };
            } else if std::ptr::eq(change.res, replicasets()) {
                match deleted {
                    true => self.now.sizes.remove(&name),
                    false => self.now.sizes.insert(name, spec_replicas(&change.object)),
                };
            } else {
                continue;
            }
            each(&self.now);
        }
    }
}

#[test]
fn surge_and_unavailability_resolve_like_kubernetes() {
    let spec = |replicas: i64, strategy: Value| {
        let s = Spec::of(&deployment(
            replicas,
            "web:1",
            json!({"strategy": strategy}),
        ));
        (s.max_surge, s.max_unavailable)
    };
    assert_eq!(spec(3, Value::Null), (1, 0));
    assert_eq!(spec(10, Value::Null), (3, 2));
    assert_eq!(
        spec(
            10,
            json!({"rollingUpdate": {"maxSurge": "30%", "maxUnavailable": 2}})
        ),
        (3, 2)
    );
    assert_eq!(
        spec(
            3,
            json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"}})
        ),
        (0, 1)
    );
    assert_eq!(spec(3, json!({"type": "Recreate"})), (0, 0));
    assert_eq!(spec(0, Value::Null), (0, 0));
}

#[test]
fn a_new_deployment_becomes_available_with_all_replicas() {
    let sim = setup(Behaviour::default());
    sim.create(deployment(3, "web:1", Value::Null));
    sim.rt.settle();
    let rs = sim.replica_sets();
    assert_eq!(rs.len(), 1);
    let name = name_of(&rs[0]).to_string();
    assert_eq!(
        Some(format!("web-{}", workload::hash_of(&rs[0], DEPLOYMENT)).as_str()),
        Some(name.as_str())
    );
    assert_eq!(rs[0]["spec"]["replicas"], 3);
    assert_eq!(
        rs[0]["metadata"]["annotations"],
        json!({"deployment.kubernetes.io/revision": "1",
               "deployment.kubernetes.io/desired-replicas": "3",
               "deployment.kubernetes.io/max-replicas": "4"})
    );
    let d = sim.get();
    assert_eq!(
        d["status"],
        json!({
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "unavailableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability.",
                 "lastUpdateTime": at(0), "lastTransitionTime": at(0)},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": format!("ReplicaSet \"{name}\" is progressing."),
                 "lastUpdateTime": at(0), "lastTransitionTime": at(0)},
            ],
        })
    );

    sim.rt.advance(Duration::seconds(5));
    let d = sim.get();
    assert_eq!(
        d["status"],
        json!({
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.",
                 "lastUpdateTime": at(5), "lastTransitionTime": at(5)},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": format!("ReplicaSet \"{name}\" has successfully progressed."),
                 "lastUpdateTime": at(5), "lastTransitionTime": at(0)},
            ],
        })
    );
    assert_eq!(d["metadata"]["annotations"][DEPLOYMENT_REVISION], "1");
    assert_eq!(
        sim.scaling_events(),
        [format!("Scaled up replica set {name} from 0 to 3")]
    );
    assert_eq!(sim.pods().len(), 3);
    assert_eq!(sim.reconcile_directly(), None, "nothing left to wait for");
}

/// Roll from web:1 to web:2: at every change the ReplicaSets together
/// ask for at most `max_pods` and at least `min_ready` pods are ready;
/// after every settle at most `max_pods` pods exist.
fn roll(replicas: i64, strategy: Value, max_pods: i64, min_ready: usize) {
    let sim = setup(Behaviour::default());
    sim.create(deployment(replicas, "web:1", json!({"strategy": strategy})));
    sim.rt.advance(Duration::seconds(5));
    let mut watch = Watch::new(&sim);
    let (mut peak, mut trough) = (0, usize::MAX);
    let mut check = |s: &Snapshot| {
        assert!(s.wanted() <= max_pods, "{s:?}");
        assert!(s.ready() >= min_ready, "{s:?}");
        peak = peak.max(s.wanted());
        trough = trough.min(s.ready());
    };
    sim.set_image("web:2");
    sim.rt.settle();
    watch.check(&mut check);
    assert!(sim.pods().len() as i64 <= max_pods);
    for _ in 0..60 {
        sim.rt.advance(Duration::seconds(1));
        watch.check(&mut check);
        assert!(sim.pods().len() as i64 <= max_pods);
    }
    assert_eq!(peak, max_pods, "the surge is used");
    assert_eq!(trough, min_ready, "the unavailability budget is used");
    assert_eq!(
        sim.sizes(),
        [("web:1".into(), 0, 1), ("web:2".into(), replicas, 2)]
    );
    let d = sim.get();
    let s = &d["status"];
    assert_eq!(s["observedGeneration"], 2);
    for field in [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ] {
        assert_eq!(s[field], replicas, "{field}");
    }
    assert_eq!(s["unavailableReplicas"], Value::Null);
    let (old, new) = (sim.rs_name("web:1"), sim.rs_name("web:2"));
    assert_eq!(
        progressing(&d)["message"],
        format!("ReplicaSet \"{new}\" has successfully progressed.")
    );
    assert_eq!(progressing(&d)["reason"], NEW_RS_AVAILABLE);
    assert_eq!(d["metadata"]["annotations"][DEPLOYMENT_REVISION], "2");
    let events = sim.scaling_events();
    let surge = max_pods - replicas;
    assert!(
        events.contains(&format!("Scaled up replica set {new} from 0 to {surge}")),
        "{events:?}"
    );
    assert!(
        events.iter().any(
            |e| e.starts_with(&format!("Scaled down replica set {old} from "))
                && e.ends_with(" to 0")
        ),
        "{events:?}"
    );
}

#[test]
fn an_image_change_rolls_within_the_default_limits() {
    // 3 replicas: maxSurge 25% rounds up to 1, maxUnavailable 25% down to 0.
    roll(3, Value::Null, 4, 3);
}

#[test]
fn an_image_change_rolls_within_explicit_limits() {
    roll(
        10,
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%", "maxUnavailable": 2}}),
        13,
        8,
    );
}

#[test]
fn recreate_removes_every_old_pod_before_starting_new_ones() {
    let sim = setup(Behaviour::default());
    sim.create(deployment(
        3,
        "web:1",
        json!({"strategy": {"type": "Recreate"}}),
    ));
    sim.rt.advance(Duration::seconds(5));
    let mut watch = Watch::new(&sim);
    let mut check = |s: &Snapshot| {
        let versions: BTreeSet<_> = s.pods.values().map(|(hash, _)| hash).collect();
        assert!(versions.len() <= 1, "old and new pods together: {s:?}");
    };
    sim.set_image("web:2");
    sim.rt.advance(Duration::seconds(10));
    watch.check(&mut check);
    assert_eq!(
        sim.sizes(),
        [("web:1".into(), 0, 1), ("web:2".into(), 3, 2)]
    );
    assert_eq!(progressing(&sim.get())["reason"], NEW_RS_AVAILABLE);
    let (old, new) = (sim.rs_name("web:1"), sim.rs_name("web:2"));
    let mut expected = vec![
        format!("Scaled up replica set {old} from 0 to 3"),
        format!("Scaled down replica set {old} from 3 to 0"),
        format!("Scaled up replica set {new} from 0 to 3"),
    ];
    expected.sort();
    assert_eq!(sim.scaling_events(), expected);
}

#[test]
fn pausing_stops_the_rollout_and_resuming_continues_it() {
    let sim = setup(Behaviour::default());
    sim.create(deployment(3, "web:1", Value::Null));
    sim.rt.advance(Duration::seconds(5));
    sim.set_image("web:2");
    sim.rt.settle();
    sim.edit(|d| d["spec"]["paused"] = json!(true));
    sim.rt.settle();
    assert_eq!(
        progressing(&sim.get()),
        json!({"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused",
               "message": "Deployment is paused",
               "lastUpdateTime": at(5), "lastTransitionTime": at(5)})
    );
    sim.rt.advance(Duration::seconds(60));
    assert_eq!(
        sim.sizes(),
        [("web:1".into(), 3, 1), ("web:2".into(), 1, 2)],
        "no step while paused"
    );

    // A new template while paused makes no ReplicaSet.
    sim.set_image("web:3");
    sim.rt.advance(Duration::seconds(60));
    assert_eq!(sim.replica_sets().len(), 2);
    let d = sim.get();
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
    assert_eq!(d["status"]["updatedReplicas"], Value::Null);
    assert_eq!(d["status"]["replicas"], 4);
    assert_eq!(progressing(&d)["reason"], PAUSED);

    sim.edit(|d| d["spec"]["paused"] = json!(false));
    sim.rt.advance(Duration::seconds(60));
    assert_eq!(
        sim.sizes(),
        [
            ("web:1".into(), 0, 1),
            ("web:2".into(), 0, 2),
            ("web:3".into(), 3, 3)
        ]
    );
    let d = sim.get();
    assert_eq!(progressing(&d)["reason"], NEW_RS_AVAILABLE);
    assert_eq!(d["status"]["updatedReplicas"], 3);
    assert_eq!(d["metadata"]["annotations"][DEPLOYMENT_REVISION], "3");
}

#[test]
fn restoring_an_old_template_reuses_its_replica_set_with_a_new_revision() {
    let sim = setup(Behaviour::default());
    sim.create(deployment(3, "web:1", Value::Null));
    sim.rt.advance(Duration::seconds(5));
    let first = sim.rs_name("web:1");
    sim.set_image("web:2");
    sim.rt.advance(Duration::seconds(60));

    // What `kubectl rollout undo` sends: the ReplicaSet's template without
    // its hash label, as Go marshals it (null creationTimestamp, empty resources).
    let rs = sim
        .store
        .get(replicasets(), "shop", &first)
        .expect("the first ReplicaSet is kept");
    let mut restored = rs["spec"]["template"].clone();
    restored["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    restored["metadata"]["creationTimestamp"] = Value::Null;
    restored["spec"]["containers"][0]["resources"] = json!({});
    sim.edit(|d| d["spec"]["template"] = restored);
    sim.rt.advance(Duration::seconds(60));

    assert_eq!(
        sim.sizes(),
        [("web:2".into(), 0, 2), ("web:1".into(), 3, 3)]
    );
    let rs = sim.store.get(replicasets(), "shop", &first).unwrap();
    assert_eq!(rs["metadata"]["annotations"][DEPLOYMENT_REVISION], "3");
    assert_eq!(rs["metadata"]["annotations"][REVISION_HISTORY], "1");
    let d = sim.get();
    assert_eq!(d["metadata"]["annotations"][DEPLOYMENT_REVISION], "3");
    assert_eq!(progressing(&d)["reason"], NEW_RS_AVAILABLE);
    assert_eq!(
        progressing(&d)["message"],
        format!("ReplicaSet \"{first}\" has successfully progressed.")
    );
}

#[test]
fn a_restart_annotation_makes_a_new_replica_set() {
    let sim = setup(Behaviour::default());
    sim.create(deployment(3, "web:1", Value::Null));
    sim.rt.advance(Duration::seconds(5));
    let before = sim.rs_name("web:1");
    sim.edit(|d| {
        d["spec"]["template"]["metadata"]["annotations"] =
            json!({"kubectl.kubernetes.io/restartedAt": "2026-03-01T12:00:05Z"})
    });
    sim.rt.advance(Duration::seconds(60));
    let rss = sim.replica_sets();
    assert_eq!(rss.len(), 2);
    assert_eq!(name_of(&rss[0]), before);
    assert_eq!(spec_replicas(&rss[0]), 0);
    assert_eq!(spec_replicas(&rss[1]), 3);
    assert_eq!(workload::revision_of(&rss[1], DEPLOYMENT), 2);
    let pods = sim.pods();
    assert_eq!(pods.len(), 3);
    for pod in &pods {
        assert_eq!(
            pod["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "2026-03-01T12:00:05Z"
        );
    }
    assert_eq!(
        sim.get()["metadata"]["annotations"][DEPLOYMENT_REVISION],
        "2"
    );
}

#[test]
fn scaling_resizes_the_replica_set() {
    let sim = setup(Behaviour::default());
    sim.create(deployment(3, "web:1", Value::Null));
    sim.rt.advance(Duration::seconds(5));
    let name = sim.rs_name("web:1");
    sim.edit(|d| d["spec"]["replicas"] = json!(5));
    sim.rt.settle();
    assert_eq!(sim.sizes(), [("web:1".into(), 5, 1)]);
    let d = sim.get();
    assert_eq!(d["status"]["replicas"], 5);
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(d["status"]["unavailableReplicas"], 2);
    sim.rt.advance(Duration::seconds(5));
    let d = sim.get();
    assert_eq!(d["status"]["availableReplicas"], 5);
    assert_eq!(d["status"]["updatedReplicas"], 5);
    assert_eq!(d["status"]["observedGeneration"], 2);

    sim.edit(|d| d["spec"]["replicas"] = json!(2));
    sim.rt.settle();
    assert_eq!(sim.pods().len(), 2);
    assert_eq!(sim.get()["status"]["replicas"], 2);
    assert_eq!(
        sim.scaling_events(),
        [
            format!("Scaled down replica set {name} from 5 to 2"),
            format!("Scaled up replica set {name} from 0 to 3"),
            format!("Scaled up replica set {name} from 3 to 5"),
        ]
    );
}

#[test]
fn scaling_during_a_rollout_is_shared_in_proportion() {
    let sim = setup(Behaviour::default());
    sim.create(deployment(3, "web:1", Value::Null));
    sim.rt.advance(Duration::seconds(5));
    sim.set_image("web:2");
    sim.rt.settle();
    assert_eq!(
        sim.sizes(),
        [("web:1".into(), 3, 1), ("web:2".into(), 1, 2)]
    );
    // 6 replicas with 25% surge allow 8 pods: 3:1 becomes 6:2.
    sim.edit(|d| d["spec"]["replicas"] = json!(6));
    sim.rt.settle();
    let (old, new) = (sim.rs_name("web:1"), sim.rs_name("web:2"));
    let events = sim.scaling_events();
    assert!(events.contains(&format!("Scaled up replica set {old} from 3 to 6")));
    assert!(events.contains(&format!("Scaled up replica set {new} from 1 to 2")));
    sim.rt.advance(Duration::seconds(60));
    assert_eq!(
        sim.sizes(),
        [("web:1".into(), 0, 1), ("web:2".into(), 6, 2)]
    );
    assert_eq!(sim.get()["status"]["availableReplicas"], 6);
}

#[test]
fn old_replica_sets_beyond_the_history_limit_are_deleted() {
    let sim = setup(Behaviour::default());
    sim.create(deployment(2, "web:1", json!({"revisionHistoryLimit": 2})));
    sim.rt.advance(Duration::seconds(5));
    for version in 2..=5 {
        sim.set_image(&format!("web:{version}"));
        sim.rt.advance(Duration::seconds(60));
    }
    assert_eq!(
        sim.sizes(),
        [
            ("web:3".into(), 0, 3),
            ("web:4".into(), 0, 4),
            ("web:5".into(), 2, 5)
        ]
    );
    assert_eq!(sim.pods().len(), 2);
}

#[test]
fn a_rollout_without_progress_exceeds_its_deadline() {
    let behaviour = Behaviour::default();
    behaviour.add_rule(VersionRule {
        image: "web:slow".into(),
        from: DateTime::<Utc>::MIN_UTC,
        profile: VersionProfile {
            ready_seconds: 1000.0,
            ..Default::default()
        },
    });
    let sim = setup(behaviour);
    sim.create(deployment(
        3,
        "web:1",
        json!({"progressDeadlineSeconds": 60}),
    ));
    sim.rt.advance(Duration::seconds(5));
    sim.set_image("web:slow");
    sim.rt.settle();
    let new = sim.rs_name("web:slow");
    assert_eq!(
        progressing(&sim.get()),
        json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
               "message": format!("ReplicaSet \"{new}\" is progressing."),
               "lastUpdateTime": at(5), "lastTransitionTime": at(0)})
    );
    assert_eq!(
        sim.reconcile_directly(),
        Some(t0() + Duration::seconds(5 + 60 + 1)),
        "look again once the deadline has passed"
    );
    sim.rt.advance(Duration::seconds(61));
    let d = sim.get();
    assert_eq!(
        progressing(&d),
        json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
               "message": format!("ReplicaSet \"{new}\" has timed out progressing."),
               "lastUpdateTime": at(66), "lastTransitionTime": at(66)})
    );
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(sim.reconcile_directly(), None);
}

#[test]
fn templates_compare_as_typed_objects() {
    let a = template("web:1");
    let mut b = a.clone();
    b["metadata"]["creationTimestamp"] = Value::Null;
    b["metadata"]["labels"]["pod-template-hash"] = json!("abc");
    b["spec"]["containers"][0]["resources"] = json!({});
    assert_eq!(pod_template(&a), pod_template(&b));
    b["spec"]["containers"][0]["image"] = json!("web:2");
    assert_ne!(pod_template(&a), pod_template(&b));
}
