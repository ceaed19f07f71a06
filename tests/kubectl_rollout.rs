//! Real `kubectl rollout` against the simulated cluster's Deployment
//! controller: status, undo, pause, resume, restart and history must work as
//! they do against a real cluster. Each test runs its own cluster at 20×
//! speed, so a pod is Ready a quarter of a second after it is created.

mod support;

use cutover_sim::scenario::Scenario;
use cutover_sim::{SimCluster, SimConfig};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;
use support::{require_program, stderr_of, stdout_of};

const OLD_IMAGE: &str = "registry.example/shop/frontend:2.8.0";
const NEW_IMAGE: &str = "registry.example/shop/frontend:2.9.0";
const NEXT_IMAGE: &str = "registry.example/shop/frontend:3.0.0";
/// Only bounds a wait that would otherwise hang.
const WAIT: Duration = Duration::from_secs(30);

struct Cluster {
    _sim: SimCluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
}

impl Cluster {
    /// A cluster running the `fixture` scenario, or None when kubectl is missing.
    async fn start(test: &str) -> Option<Cluster> {
        let kubectl = require_program("kubectl", test)?;
        let sim = SimCluster::start(SimConfig {
            time_scale: 20.0,
            ..SimConfig::scenario(Scenario::load("fixture").expect("fixture scenario"))
        })
        .await
        .expect("start the simulated cluster");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig, "shop")
            .expect("write the kubeconfig");
        Some(Cluster {
            _sim: sim,
            dir,
            kubeconfig,
            kubectl,
        })
    }

    async fn kubectl(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(&self.kubectl)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.dir.path().join("kube-cache"))
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run kubectl")
    }

    /// Run kubectl and return its output; it must succeed.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.status.success(),
            "kubectl {}: {}\n{}",
            args.join(" "),
            stdout_of(&out),
            stderr_of(&out)
        );
        stdout_of(&out)
    }

    async fn deployment(&self, jsonpath: &str) -> String {
        let template = format!("jsonpath={jsonpath}");
        self.ok(&["get", "deploy", "frontend", "-n", "shop", "-o", &template])
            .await
    }

    async fn image(&self) -> String {
        self.deployment("{.spec.template.spec.containers[0].image}")
            .await
    }

    async fn rollout_status(&self) {
        let out = self
            .ok(&[
                "rollout",
                "status",
                "deploy/frontend",
                "-n",
                "shop",
                "--timeout=60s",
            ])
            .await;
        assert!(
            out.contains("deployment \"frontend\" successfully rolled out"),
            "{out}"
        );
    }

    /// The revisions `kubectl rollout history` lists.
    async fn history(&self) -> Vec<u64> {
        let out = self
            .ok(&["rollout", "history", "deploy/frontend", "-n", "shop"])
            .await;
        let mut lines = out.lines().skip_while(|l| !l.starts_with("REVISION"));
        assert!(lines.next().is_some(), "no REVISION header:\n{out}");
        lines
            .filter_map(|l| l.split_whitespace().next())
            .map(|r| r.parse().expect("a revision number"))
            .collect()
    }

    /// (name, spec.replicas) of the frontend's ReplicaSets.
    async fn replica_sets(&self) -> Vec<(String, u64)> {
        let out = self
            .ok(&[
                "get",
                "rs",
                "-n",
                "shop",
                "-l",
                "app=frontend",
                "-o",
                "jsonpath={range .items[*]}{.metadata.name} {.spec.replicas}{\"\\n\"}{end}",
            ])
            .await;
        out.lines()
            .map(|l| {
                let (name, n) = l.split_once(' ').expect("name and replicas");
                (name.to_string(), n.parse().expect("replicas"))
            })
            .collect()
    }

    async fn pod_names(&self) -> BTreeSet<String> {
        self.ok(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app=frontend",
            "-o",
            "name",
        ])
        .await
        .lines()
        .map(str::to_string)
        .collect()
    }

    async fn set_new_image(&self) {
        let image = format!("frontend={NEW_IMAGE}");
        let out = self
            .ok(&["set", "image", "deploy/frontend", &image, "-n", "shop"])
            .await;
        assert!(
            out.contains("deployment.apps/frontend image updated"),
            "{out}"
        );
    }

    /// Poll the Deployment until `jsonpath` reads `want`.
    async fn wait_for(&self, jsonpath: &str, want: &str) {
        let start = std::time::Instant::now();
        loop {
            let got = self.deployment(jsonpath).await;
            if got == want {
                return;
            }
            assert!(
                start.elapsed() < WAIT,
                "{jsonpath} is {got:?}, never {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_image_rolls_out_and_status_waits_for_it() {
    let Some(c) = Cluster::start("rollout_status").await else {
        return;
    };
    assert_eq!(c.image().await, OLD_IMAGE);
    c.set_new_image().await;
    c.rollout_status().await;
    assert_eq!(c.image().await, NEW_IMAGE);
    assert_eq!(
        c.deployment("{.status.updatedReplicas}/{.status.availableReplicas}")
            .await,
        "3/3"
    );
    let mut sizes: Vec<u64> = c.replica_sets().await.into_iter().map(|(_, n)| n).collect();
    sizes.sort();
    assert_eq!(sizes, [0, 3], "the old ReplicaSet is kept, scaled down");
    assert_eq!(
        c.deployment("{.metadata.annotations.deployment\\.kubernetes\\.io/revision}")
            .await,
        "2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_restores_the_previous_image() {
    let Some(c) = Cluster::start("rollout_undo").await else {
        return;
    };
    let first = c.replica_sets().await;
    c.set_new_image().await;
    c.rollout_status().await;

    let out = c
        .ok(&["rollout", "undo", "deploy/frontend", "-n", "shop"])
        .await;
    assert!(
        out.contains("deployment.apps/frontend rolled back"),
        "{out}"
    );
    assert_eq!(c.image().await, OLD_IMAGE);
    c.rollout_status().await;

    // The first ReplicaSet is back at full size, as revision 3.
    let now = c.replica_sets().await;
    assert_eq!(now.len(), 2);
    let (first_name, _) = &first[0];
    assert!(now.contains(&(first_name.clone(), 3)), "{now:?}");
    assert_eq!(c.history().await, [2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_a_rollout_and_resume_releases_it() {
    let Some(c) = Cluster::start("rollout_pause_resume").await else {
        return;
    };
    c.set_new_image().await;
    c.rollout_status().await;
    let out = c
        .ok(&["rollout", "pause", "deploy/frontend", "-n", "shop"])
        .await;
    assert!(out.contains("deployment.apps/frontend paused"), "{out}");
    let next = format!("frontend={NEXT_IMAGE}");
    c.ok(&["set", "image", "deploy/frontend", &next, "-n", "shop"])
        .await;
    c.wait_for(
        "{.status.conditions[?(@.type==\"Progressing\")].reason}",
        "DeploymentPaused",
    )
    .await;
    // The controller has reconciled the new template once it reports
    // having observed its generation; unpaused, it would have made a
    // ReplicaSet in that same pass.
    let generation = c.deployment("{.metadata.generation}").await;
    c.wait_for("{.status.observedGeneration}", &generation)
        .await;
    assert_eq!(
        c.replica_sets().await.len(),
        2,
        "no new ReplicaSet while paused"
    );
    assert_eq!(c.deployment("{.status.updatedReplicas}").await, "");

    let refused = c
        .kubectl(&["rollout", "undo", "deploy/frontend", "-n", "shop"])
        .await;
    assert!(!refused.status.success());
    assert!(
        stderr_of(&refused).contains("you cannot rollback a paused deployment"),
        "{}",
        stderr_of(&refused)
    );

    let out = c
        .ok(&["rollout", "resume", "deploy/frontend", "-n", "shop"])
        .await;
    assert!(out.contains("deployment.apps/frontend resumed"), "{out}");
    c.rollout_status().await;
    assert_eq!(c.image().await, NEXT_IMAGE);
    assert_eq!(c.replica_sets().await.len(), 3);
    assert_eq!(c.history().await, [1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_replaces_every_pod() {
    let Some(c) = Cluster::start("rollout_restart").await else {
        return;
    };
    let before = c.pod_names().await;
    assert_eq!(before.len(), 3);
    let out = c
        .ok(&["rollout", "restart", "deploy/frontend", "-n", "shop"])
        .await;
    assert!(out.contains("deployment.apps/frontend restarted"), "{out}");
    c.rollout_status().await;
    let restarted_at = c
        .deployment("{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}")
        .await;
    assert!(!restarted_at.is_empty());
    let after = c.pod_names().await;
    assert_eq!(after.len(), 3);
    assert!(before.is_disjoint(&after), "{before:?} {after:?}");
    assert_eq!(c.image().await, OLD_IMAGE);
    assert_eq!(c.history().await, [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_every_revision_with_its_template() {
    let Some(c) = Cluster::start("rollout_history").await else {
        return;
    };
    assert_eq!(c.history().await, [1]);
    c.set_new_image().await;
    c.rollout_status().await;
    assert_eq!(c.history().await, [1, 2]);
    let two = c
        .ok(&[
            "rollout",
            "history",
            "deploy/frontend",
            "-n",
            "shop",
            "--revision=2",
        ])
        .await;
    assert!(two.contains(NEW_IMAGE), "{two}");
    let one = c
        .ok(&[
            "rollout",
            "history",
            "deploy/frontend",
            "-n",
            "shop",
            "--revision=1",
        ])
        .await;
    assert!(one.contains(OLD_IMAGE), "{one}");
}
