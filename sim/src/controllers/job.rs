//! The Job controller, for the Jobs that run database migration steps. Each
//! Job runs one pod; after a simulated duration the pod exits and the Job
//! ends with the counts, conditions and events the real controller writes,
//! so that whatever watches Jobs sees a migration step start and finish.
//!
//! The convention for migration Jobs (the simulator keeps these labels as
//! they are; cutover reads them to place a Job in a release):
//! - `cutover.dev/migration=<name>`: the migration the step belongs to;
//! - `cutover.dev/phase=expand|backfill|switch|contract`: the step;
//! - `cutover.dev/release=<rollout>`: the release the migration ships with.
//!
//! Two annotations steer the simulation only: `sim.cutover.dev/duration`
//! (`30s`, `2m`, `1m30s`; 20 s when absent or unreadable) and
//! `sim.cutover.dev/outcome` (`succeed`, the default, or `fail`).

use super::events::{self, EventType};
use super::workload::{self, name_of, pods};
use super::{Controller, Ctx};
use crate::resources::{self, ResourceDef};
use crate::store::{ListOptions, WriteScope};
use crate::time::{parse_timestamp, timestamp};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

pub struct JobController;

const COMPONENT: &str = "job-controller";
pub const DURATION_ANNOTATION: &str = "sim.cutover.dev/duration";
pub const OUTCOME_ANNOTATION: &str = "sim.cutover.dev/outcome";
const DEFAULT_DURATION_SECONDS: i64 = 20;
const BACKOFF_MESSAGE: &str = "Job has reached the specified backoff limit";
const COMPLETIONS_MESSAGE: &str = "Reached expected number of succeeded pods";

pub fn jobs() -> &'static ResourceDef {
    resources::lookup("batch", "v1", "jobs").expect("served")
}

fn duration_of(job: &Value) -> Duration {
    let annotation = &job["metadata"]["annotations"][DURATION_ANNOTATION];
    match annotation.as_str().map(crate::time::parse_go_or_seconds) {
        Some(Some(d)) => d,
        Some(None) => {
            tracing::warn!(
                "job {}: cannot read {DURATION_ANNOTATION}={annotation}; using {DEFAULT_DURATION_SECONDS}s",
                name_of(job)
            );
            Duration::seconds(DEFAULT_DURATION_SECONDS)
        }
        None => Duration::seconds(DEFAULT_DURATION_SECONDS),
    }
}

fn fails(job: &Value) -> bool {
    job["metadata"]["annotations"][OUTCOME_ANNOTATION] == "fail"
}

fn finished(job: &Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    })
}

/// A stable pod IP per Job.
fn pod_ip(job_name: &str) -> String {
    let h = job_name
        .bytes()
        .fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!(
        "10.{}.{}.{}",
        100 + h % 50,
        (h >> 8) % 250,
        10 + (h >> 16) % 240
    )
}

/// The pod status while its containers run, or once they exited (`ended`:
/// when, and with which exit code).
fn pod_status(pod: &Value, started: DateTime<Utc>, ended: Option<(DateTime<Utc>, i64)>) -> Value {
    let since = timestamp(started);
    let (phase, ready, not_ready_reason) = match ended {
        None => ("Running", "True", None),
        Some((_, 0)) => ("Succeeded", "False", Some("PodCompleted")),
        Some(_) => ("Failed", "False", Some("PodFailed")),
    };
    let changed = timestamp(ended.map_or(started, |(t, _)| t));
    let readiness = |kind: &str| {
        let mut c = json!({"type": kind, "status": ready, "lastTransitionTime": changed});
        if let Some(reason) = not_ready_reason {
            c["reason"] = json!(reason);
        }
        c
    };
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let state = match ended {
                None => json!({"running": {"startedAt": since}}),
                Some((at, code)) => json!({"terminated": {
                    "exitCode": code,
                    "reason": if code == 0 { "Completed" } else { "Error" },
                    "startedAt": since,
                    "finishedAt": timestamp(at),
                }}),
            };
            json!({
                "name": c["name"], "image": c["image"], "restartCount": 0,
                "ready": ended.is_none(), "started": ended.is_none(), "state": state,
            })
        })
        .collect();
    json!({
        "phase": phase,
        "podIP": pod_ip(pod["metadata"]["labels"]["job-name"].as_str().unwrap_or("")),
        "startTime": since,
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": since},
            {"type": "Initialized", "status": "True", "lastTransitionTime": since},
            readiness("Ready"),
            readiness("ContainersReady"),
        ],
        "containerStatuses": containers,
    })
}

fn owned_pod(ctx: &Ctx<'_>, job: &Value) -> Option<Arc<Value>> {
    ctx.store
        .list(
            pods(),
            Some(workload::namespace_of(job)),
            &ListOptions::default(),
        )
        .ok()?
        .items
        .into_iter()
        .find(|p| workload::is_owned_by(p, job))
}

/// Create the Job's pod, already running.
fn create_pod(ctx: &Ctx<'_>, job: &Value) -> Option<Arc<Value>> {
    let name = name_of(job);
    let ns = workload::namespace_of(job);
    let uid = &job["metadata"]["uid"];
    let template = &job["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", uid.clone()),
        ("batch.kubernetes.io/job-name", json!(name)),
        ("controller-uid", uid.clone()),
        ("job-name", json!(name)),
    ] {
        labels[key] = value;
    }
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": format!("{name}-"),
            "namespace": ns,
            "labels": labels,
            "ownerReferences": [workload::owner_reference(job)],
        },
        "spec": template["spec"],
    });
    if template["metadata"]["annotations"].is_object() {
        pod["metadata"]["annotations"] = template["metadata"]["annotations"].clone();
    }
    pod["status"] = pod_status(&pod, ctx.now, None);
    match ctx.store.create(pods(), ns, pod, WriteScope::Whole, false) {
        Ok(pod) => {
            let message = format!("Created pod: {}", name_of(&pod));
            events::record(
                ctx.store,
                ctx.now,
                job,
                EventType::Normal,
                "SuccessfulCreate",
                &message,
                COMPONENT,
            );
            Some(pod)
        }
        Err(e) => {
            tracing::warn!("creating the pod of job {ns}/{name}: {e}");
            None
        }
    }
}

/// The pod exits; the Job records the outcome.
fn finish(ctx: &Ctx<'_>, job: &Value, pod: &Value, started: DateTime<Utc>, at: DateTime<Utc>) {
    let ns = workload::namespace_of(job);
    let failed = fails(job);
    let status = pod_status(pod, started, Some((at, i64::from(failed))));
    if let Err(e) = ctx
        .store
        .modify(pods(), ns, name_of(pod), |p| p["status"] = status)
    {
        tracing::debug!("finishing pod {ns}/{}: {e}", name_of(pod));
    }
    let when = timestamp(at);
    let cond = |kind: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": "True", "reason": reason, "message": message,
               "lastProbeTime": when, "lastTransitionTime": when})
    };
    let mut status = json!({
        "startTime": timestamp(started),
        "ready": 0,
        "terminating": 0,
        "uncountedTerminatedPods": {},
    });
    let (event_type, reason, message) = if failed {
        status["failed"] = json!(1);
        status["conditions"] = json!([
            cond("FailureTarget", "BackoffLimitExceeded", BACKOFF_MESSAGE),
            cond("Failed", "BackoffLimitExceeded", BACKOFF_MESSAGE),
        ]);
        (EventType::Warning, "BackoffLimitExceeded", BACKOFF_MESSAGE)
    } else {
        status["succeeded"] = json!(1);
        status["completionTime"] = json!(when);
        status["conditions"] = json!([
            cond(
                "SuccessCriteriaMet",
                "CompletionsReached",
                COMPLETIONS_MESSAGE
            ),
            cond("Complete", "CompletionsReached", COMPLETIONS_MESSAGE),
        ]);
        (EventType::Normal, "Completed", "Job completed")
    };
    match ctx
        .store
        .modify(jobs(), ns, name_of(job), |j| j["status"] = status)
    {
        Ok(job) => events::record(
            ctx.store, ctx.now, &job, event_type, reason, message, COMPONENT,
        ),
        Err(e) => tracing::debug!("finishing job {ns}/{}: {e}", name_of(job)),
    }
}

impl Controller for JobController {
    fn name(&self) -> &'static str {
        COMPONENT
    }

    fn primary(&self) -> &'static ResourceDef {
        jobs()
    }

    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>> {
        let mut job = ctx.store.get(jobs(), namespace, name).ok()?;
        if finished(&job) {
            return None;
        }
        let pod = match owned_pod(ctx, &job) {
            Some(pod) => pod,
            None => create_pod(ctx, &job)?,
        };
        let started = match parse_timestamp(&job["status"]["startTime"]) {
            Some(t) => t,
            None => {
                let status = json!({
                    "startTime": timestamp(ctx.now),
                    "active": 1,
                    "ready": 1,
                    "terminating": 0,
                    "uncountedTerminatedPods": {},
                });
                job = ctx
                    .store
                    .modify(jobs(), namespace, name, |j| j["status"] = status)
                    .ok()?;
                parse_timestamp(&job["status"]["startTime"])?
            }
        };
        let ends = started + duration_of(&job);
        if ctx.now < ends {
            return Some(ends);
        }
        finish(ctx, &job, &pod, started, ends);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::Behaviour;
    use crate::clock::Clock;
    use crate::controllers::Runtime;
    use crate::controllers::testing::{NoTraffic, t0};
    use crate::store::Store;
    use std::sync::Arc;

    fn at(secs: i64) -> String {
        timestamp(t0() + Duration::seconds(secs))
    }

    fn setup() -> (Arc<Runtime>, Arc<Store>) {
        let store = Arc::new(Store::new(Arc::new(Clock::starting_at(t0(), 0.0))));
        crate::seed::insert(
            &store,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        )
        .unwrap();
        let rt = Runtime::new(
            store.clone(),
            Arc::new(Behaviour::default()),
            Arc::new(NoTraffic),
            vec![Arc::new(JobController)],
        );
        (rt, store)
    }

    fn labels() -> Value {
        json!({"cutover.dev/migration": "orders-split", "cutover.dev/phase": "expand",
               "cutover.dev/release": "checkout"})
    }

    fn migration_job(annotations: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "orders-expand", "namespace": "shop",
                            "labels": labels(), "annotations": annotations},
               "spec": {"backoffLimit": 0, "template": {
                   "metadata": {"labels": {"app": "migrate"}},
                   "spec": {"restartPolicy": "Never",
                            "containers": [{"name": "migrate", "image": "registry.example/shop/migrate:1.4.0"}]}}}})
    }

    fn job(store: &Store) -> Arc<Value> {
        store.get(jobs(), "shop", "orders-expand").unwrap()
    }

    fn only_pod(store: &Store) -> Arc<Value> {
        let pods = store
            .list(pods(), Some("shop"), &Default::default())
            .unwrap()
            .items;
        assert_eq!(pods.len(), 1);
        pods.into_iter().next().unwrap()
    }

    /// (type, reason, message) of each Event about the Job.
    fn events(store: &Store) -> Vec<(String, String, String)> {
        let res = resources::lookup("", "v1", "events").unwrap();
        let mut list: Vec<_> = store
            .list(res, Some("shop"), &Default::default())
            .unwrap()
            .items
            .into_iter()
            .inspect(|e| {
                assert_eq!(e["source"]["component"], COMPONENT);
                assert_eq!(e["involvedObject"]["kind"], "Job");
                assert_eq!(e["involvedObject"]["name"], "orders-expand");
            })
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (s("type"), s("reason"), s("message"))
            })
            .collect();
        list.sort();
        list
    }

    #[test]
    fn a_job_runs_one_pod_then_completes() {
        let (rt, store) = setup();
        crate::seed::insert(&store, migration_job(json!({DURATION_ANNOTATION: "30s"}))).unwrap();
        rt.settle();
        let j = job(&store);
        assert_eq!(
            j["status"],
            json!({"startTime": at(0), "active": 1, "ready": 1, "terminating": 0,
                   "uncountedTerminatedPods": {}})
        );
        let pod = only_pod(&store);
        let pod_name = name_of(&pod).to_string();
        assert!(pod_name.starts_with("orders-expand-"));
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"app": "migrate", "job-name": "orders-expand",
                   "batch.kubernetes.io/job-name": "orders-expand",
                   "controller-uid": j["metadata"]["uid"],
                   "batch.kubernetes.io/controller-uid": j["metadata"]["uid"]})
        );
        assert!(workload::is_owned_by(&pod, &j));
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"],
            json!({"running": {"startedAt": at(0)}})
        );

        rt.advance(Duration::seconds(29));
        assert_eq!(job(&store)["status"]["active"], 1);
        rt.advance(Duration::seconds(1));
        let j = job(&store);
        let cond = |kind: &str| {
            json!({"type": kind, "status": "True", "reason": "CompletionsReached",
                   "message": "Reached expected number of succeeded pods",
                   "lastProbeTime": at(30), "lastTransitionTime": at(30)})
        };
        assert_eq!(
            j["status"],
            json!({"startTime": at(0), "completionTime": at(30), "succeeded": 1, "ready": 0,
                   "terminating": 0, "uncountedTerminatedPods": {},
                   "conditions": [cond("SuccessCriteriaMet"), cond("Complete")]})
        );
        assert_eq!(j["metadata"]["labels"], labels());
        let pod = only_pod(&store);
        assert_eq!(pod["status"]["phase"], "Succeeded");
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"],
            json!({"terminated": {"exitCode": 0, "reason": "Completed",
                                  "startedAt": at(0), "finishedAt": at(30)}})
        );
        assert_eq!(
            events(&store),
            [
                ("Normal".into(), "Completed".into(), "Job completed".into()),
                (
                    "Normal".into(),
                    "SuccessfulCreate".into(),
                    format!("Created pod: {pod_name}")
                ),
            ]
        );
        rt.advance(Duration::minutes(5));
        assert_eq!(
            job(&store)["status"],
            j["status"],
            "a finished Job stays finished"
        );
    }

    #[test]
    fn a_failing_job_reports_the_backoff_limit() {
        let (rt, store) = setup();
        crate::seed::insert(
            &store,
            migration_job(json!({DURATION_ANNOTATION: "2m", OUTCOME_ANNOTATION: "fail"})),
        )
        .unwrap();
        rt.advance(Duration::seconds(119));
        assert_eq!(job(&store)["status"]["active"], 1);
        rt.advance(Duration::seconds(1));
        let cond = |kind: &str| {
            json!({"type": kind, "status": "True", "reason": "BackoffLimitExceeded",
                   "message": "Job has reached the specified backoff limit",
                   "lastProbeTime": at(120), "lastTransitionTime": at(120)})
        };
        assert_eq!(
            job(&store)["status"],
            json!({"startTime": at(0), "failed": 1, "ready": 0, "terminating": 0,
                   "uncountedTerminatedPods": {},
                   "conditions": [cond("FailureTarget"), cond("Failed")]})
        );
        let pod = only_pod(&store);
        assert_eq!(pod["status"]["phase"], "Failed");
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
        assert_eq!(
            events(&store),
            [
                (
                    "Normal".into(),
                    "SuccessfulCreate".into(),
                    format!("Created pod: {}", name_of(&pod))
                ),
                (
                    "Warning".into(),
                    "BackoffLimitExceeded".into(),
                    "Job has reached the specified backoff limit".into()
                ),
            ]
        );
    }

    #[test]
    fn without_annotations_a_job_succeeds_after_twenty_seconds() {
        let (rt, store) = setup();
        crate::seed::insert(&store, migration_job(Value::Null)).unwrap();
        rt.advance(Duration::seconds(19));
        assert_eq!(job(&store)["status"]["active"], 1);
        rt.advance(Duration::seconds(1));
        assert_eq!(job(&store)["status"]["succeeded"], 1);
    }

    #[test]
    fn durations_read_like_go() {
        assert_eq!(
            crate::time::parse_go_or_seconds("30s"),
            Some(Duration::seconds(30))
        );
        assert_eq!(
            crate::time::parse_go_or_seconds("2m"),
            Some(Duration::minutes(2))
        );
        assert_eq!(
            crate::time::parse_go_or_seconds("1m30s"),
            Some(Duration::seconds(90))
        );
        assert_eq!(
            crate::time::parse_go_or_seconds("1h"),
            Some(Duration::hours(1))
        );
        assert_eq!(
            crate::time::parse_go_or_seconds("1.5s"),
            Some(Duration::milliseconds(1500))
        );
        assert_eq!(
            crate::time::parse_go_or_seconds("250ms"),
            Some(Duration::milliseconds(250))
        );
        assert_eq!(
            crate::time::parse_go_or_seconds("45"),
            Some(Duration::seconds(45))
        );
        for bad in ["", "soon", "5 minutes", "-3s", "1m30"] {
            assert_eq!(crate::time::parse_go_or_seconds(bad), None, "{bad}");
        }
    }
}
