//! The ReplicaSet controller and the kubelet in one: keeps `spec.replicas`
//! pods for each ReplicaSet, moves each pod to Ready after its version's
//! start-up delay (or into CrashLoopBackOff), and writes the ReplicaSet's
//! status counts that Deployments and Rollouts read.

use super::workload::{name_of, pods, replicasets};
use super::{Controller, Ctx};
use crate::resources::ResourceDef;
use crate::selector::LabelSelector;
use crate::store::{Propagation, WriteScope};
use crate::time::{parse_timestamp, timestamp};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

pub struct ReplicaSetController;

pub fn pod_is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Restarts a crash-looping container has made `elapsed` after its first
/// start, with the kubelet's back-off (10 s doubling to 5 min), and when the
/// next one comes.
fn crash_restarts(elapsed: Duration) -> (i64, Duration) {
    let mut restarts = 0;
    let mut at = Duration::zero();
    let mut backoff = Duration::seconds(10);
    while at + backoff <= elapsed {
        at += backoff;
        restarts += 1;
        backoff = (backoff * 2).min(Duration::minutes(5));
    }
    (restarts, at + backoff - elapsed)
}

/// The pod status the kubelet would report at `now`; and when it changes next.
fn kubelet_status(pod: &Value, ctx: &Ctx<'_>) -> (Value, Option<DateTime<Utc>>) {
    let created = parse_timestamp(&pod["metadata"]["creationTimestamp"]).unwrap_or(ctx.now);
    let container = &pod["spec"]["containers"][0];
    let image = container["image"].as_str().unwrap_or("");
    let profile = ctx.behaviour.profile(image, created);
    let started = created + Duration::milliseconds((profile.ready_seconds * 1000.0) as i64);
    let created_at = timestamp(created);
    let base = |phase: &str, ready: bool, state: Value, restarts: i64| {
        let transition = if ready {
            timestamp(started)
        } else {
            created_at.clone()
        };
        json!({
            "phase": phase,
            "podIP": pod["status"]["podIP"],
            "startTime": created_at,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": created_at},
                {"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": transition},
                {"type": "ContainersReady", "status": if ready { "True" } else { "False" }, "lastTransitionTime": transition},
            ],
            "containerStatuses": [{
                "name": container["name"], "image": image, "ready": ready, "started": ready,
                "restartCount": restarts, "state": state,
            }],
        })
    };
    if ctx.now < started {
        let state = json!({"waiting": {"reason": "ContainerCreating"}});
        return (base("Pending", false, state, 0), Some(started));
    }
    if profile.crash {
        let (restarts, next) = crash_restarts(ctx.now - started);
        let state = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off restarting failed container {}", container["name"].as_str().unwrap_or(""))}});
        return (
            base("Running", false, state, restarts),
            Some(ctx.now + next),
        );
    }
    let state = json!({"running": {"startedAt": timestamp(started)}});
    (base("Running", true, state, 0), None)
}

impl Controller for ReplicaSetController {
    fn name(&self) -> &'static str {
        "replicaset-controller"
    }

    fn primary(&self) -> &'static ResourceDef {
        replicasets()
    }

    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>> {
        let rs = ctx.store.get(replicasets(), namespace, name).ok()?;
        let desired = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
        let selector = LabelSelector::from_label_selector_object(&rs["spec"]["selector"]).ok()?;
        let uid = rs["metadata"]["uid"].as_str().unwrap_or("");
        let mut owned: Vec<Arc<Value>> = ctx
            .store
            .owned_by(pods(), uid)
            .into_iter()
            .filter(|p| selector.matches(p))
            .collect();
        let template = &rs["spec"]["template"];
        for _ in owned.len()..desired {
            let mut pod = json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "generateName": format!("{name}-"),
                    "namespace": namespace,
                    "labels": template["metadata"]["labels"],
                    "annotations": template["metadata"]["annotations"],
                    "ownerReferences": [super::workload::owner_reference(&rs)],
                },
                "spec": template["spec"],
                "status": {"phase": "Pending"},
            });
            if pod["metadata"]["annotations"].is_null() {
                pod["metadata"]
                    .as_object_mut()
                    .expect("object")
                    .remove("annotations");
            }
            match ctx
                .store
                .create(pods(), namespace, pod, WriteScope::Whole, false)
            {
                Ok(p) => owned.push(p),
                Err(e) => tracing::warn!("creating a pod of {namespace}/{name}: {e}"),
            }
        }
        if owned.len() > desired {
            // Remove pods that are not ready first, then the newest.
            owned.sort_by(|a, b| {
                pod_is_ready(a).cmp(&pod_is_ready(b)).then_with(|| {
                    b["metadata"]["creationTimestamp"]
                        .as_str()
                        .cmp(&a["metadata"]["creationTimestamp"].as_str())
                })
            });
            for pod in owned.drain(..owned.len() - desired) {
                let _ = ctx.store.delete(
                    pods(),
                    namespace,
                    name_of(&pod),
                    Propagation::Background,
                    false,
                );
            }
        }
        let mut next: Option<DateTime<Utc>> = None;
        let mut ready = 0;
        for (i, pod) in owned.iter().enumerate() {
            let (mut status, wake) = kubelet_status(pod, ctx);
            if status["podIP"].is_null() {
                status["podIP"] = json!(format!(
                    "10.{}.{}.{}",
                    (i / 250) % 250,
                    rand_octet(pod),
                    10 + i % 240
                ));
            }
            if status["conditions"][1]["status"] == "True" {
                ready += 1;
            }
            if pod["status"] != status {
                let _ = ctx
                    .store
                    .modify(pods(), namespace, name_of(pod), |p| p["status"] = status);
            }
            next = match (next, wake) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let status = json!({
            "replicas": owned.len(),
            "fullyLabeledReplicas": owned.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"],
        });
        if rs["status"] != status {
            let _ = ctx
                .store
                .modify(replicasets(), namespace, name, |r| r["status"] = status);
        }
        next
    }
}

/// A stable octet per pod, so pod IPs look varied but do not change.
fn rand_octet(pod: &Value) -> u8 {
    name_of(pod)
        .bytes()
        .fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{Behaviour, VersionProfile, VersionRule};
    use crate::clock::Clock;
    use crate::controllers::Runtime;
    use crate::controllers::testing::NoTraffic;
    use crate::store::Store;
    use std::sync::Arc;

    fn setup(behaviour: Behaviour) -> (Arc<Runtime>, Arc<Store>) {
        let store = Arc::new(Store::new(Arc::new(Clock::new(0.0))));
        crate::seed::insert(
            &store,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        )
        .unwrap();
        let rt = Runtime::new(
            store.clone(),
            Arc::new(behaviour),
            Arc::new(NoTraffic),
            vec![Arc::new(ReplicaSetController)],
        );
        (rt, store)
    }

    fn rs(image: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": "web-abc", "namespace": "shop"},
               "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}}})
    }

    #[test]
    fn pods_are_created_then_become_ready_after_the_delay() {
        let (rt, store) = setup(Behaviour::default());
        crate::seed::insert(&store, rs("web:1", 3)).unwrap();
        rt.settle();
        let r = store.get(replicasets(), "shop", "web-abc").unwrap();
        assert_eq!(r["status"]["replicas"], 3);
        assert_eq!(r["status"]["readyReplicas"], 0);
        rt.advance(Duration::seconds(5));
        let r = store.get(replicasets(), "shop", "web-abc").unwrap();
        assert_eq!(r["status"]["readyReplicas"], 3);
        assert_eq!(r["status"]["availableReplicas"], 3);
        store
            .modify(replicasets(), "shop", "web-abc", |r| {
                r["spec"]["replicas"] = json!(1)
            })
            .unwrap();
        rt.settle();
        let pods = store
            .list(pods(), Some("shop"), &Default::default())
            .unwrap()
            .items;
        assert_eq!(pods.len(), 1);
        assert_eq!(
            store.get(replicasets(), "shop", "web-abc").unwrap()["status"]["replicas"],
            1
        );
    }

    #[test]
    fn crashing_versions_loop_with_back_off() {
        let b = Behaviour::default();
        b.add_rule(VersionRule {
            image: "web:bad".into(),
            from: DateTime::<Utc>::MIN_UTC,
            profile: VersionProfile {
                crash: true,
                ..Default::default()
            },
        });
        let (rt, store) = setup(b);
        crate::seed::insert(&store, rs("web:bad", 1)).unwrap();
        rt.advance(Duration::seconds(5 + 10 + 20 + 1));
        let pod = &store
            .list(pods(), Some("shop"), &Default::default())
            .unwrap()
            .items[0];
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "CrashLoopBackOff"
        );
        assert_eq!(pod["status"]["containerStatuses"][0]["restartCount"], 2);
        assert!(!pod_is_ready(pod));
        assert_eq!(
            store.get(replicasets(), "shop", "web-abc").unwrap()["status"]["readyReplicas"],
            0
        );
    }

    #[test]
    fn back_off_doubles_up_to_five_minutes() {
        assert_eq!(crash_restarts(Duration::seconds(9)).0, 0);
        assert_eq!(crash_restarts(Duration::seconds(10)).0, 1);
        assert_eq!(crash_restarts(Duration::seconds(30)).0, 2);
        let (n, _) = crash_restarts(Duration::minutes(60));
        assert!(n > 10);
    }
}
