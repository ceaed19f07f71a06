//! Support for the integration tests: the simulated cluster in-process or as
//! a `cutover sim serve` process, real programs found or skipped, and waits.
#![allow(dead_code)]

pub mod fake_prometheus;
pub mod postgres;
pub mod prometheus;
pub mod tmux;
pub mod unleash;
pub mod webhook;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `CUTOVER_REQUIRE_BACKENDS=1` (set by scripts/test) turns a missing program into a failure.
pub fn backends_required() -> bool {
    std::env::var("CUTOVER_REQUIRE_BACKENDS").is_ok_and(|v| v == "1")
}

/// Find a program on PATH; when it is missing, fail if backends are required,
/// otherwise print why the test is skipped and return None.
pub fn require_program(name: &str, test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if backends_required() {
            panic!("{test}: `{name}` is required (CUTOVER_REQUIRE_BACKENDS=1) but not on PATH");
        }
        eprintln!("SKIPPED {test}: `{name}` is not installed (scripts/test installs it)");
    }
    found
}

/// Poll `cond` until it holds or `timeout` passes. Waiting, not timing:
/// the timeout only bounds a test that would otherwise hang.
pub async fn eventually<F: FnMut() -> bool>(timeout: Duration, mut cond: F) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    cond()
}

/// Write a Velero `Restore` named `name` of `backup` (one the simulator
/// completes within a second) into `dir`; the file's path, for
/// `kubectl create -f`.
pub fn restore_drill(dir: &Path, name: &str, backup: &str) -> String {
    let manifest = format!(
        "apiVersion: velero.io/v1\nkind: Restore\nmetadata:\n  name: {name}\n  \
         namespace: velero\n  annotations: {{sim.cutover.dev/duration: 1s}}\n\
         spec:\n  backupName: {backup}\n"
    );
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, manifest).expect("write the Restore");
    file.to_str().expect("utf-8 path").to_string()
}

/// `kubectl get` arguments printing the names of the demo's Velero
/// backups, oldest first.
pub const VELERO_BACKUPS: &[&str] = &[
    "get",
    "backups.velero.io",
    "-n",
    "velero",
    "--sort-by=.status.completionTimestamp",
    "-o",
    "jsonpath={.items[*].metadata.name}",
];

/// `kubectl patch` that pauses checkout in namespace shop.
pub const PAUSE_CHECKOUT: &[&str] = &[
    "patch",
    "rollout",
    "checkout",
    "-n",
    "shop",
    "--type",
    "merge",
    "-p",
    r#"{"spec":{"paused":true}}"#,
];

/// The identities of a simulated cluster: its kubeconfig's contexts are
/// `sim-ROLE`, or `NAME-ROLE` for each cluster of a fleet.
pub const SIM_ROLES: [&str; 4] = ["admin", "viewer", "deployer", "checkout-owner"];

/// The requests of `log` that change something: not reads, not access
/// reviews (questions, not changes).
fn changes_of(log: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    log.into_iter()
        .filter(|r| {
            let method = r["method"].as_str().unwrap_or_default();
            let path = r["path"].as_str().unwrap_or_default();
            method != "GET" && !path.contains("selfsubject")
        })
        .collect()
}

/// A `cutover sim serve` process with its kubeconfig and request log in a temporary folder.
pub struct ServeProcess {
    child: Child,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub request_log: PathBuf,
}

impl ServeProcess {
    /// The fixed objects with no controllers: for tests of the API itself.
    pub fn start() -> Self {
        Self::start_with(&["--static"])
    }

    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        let request_log = dir.path().join("requests.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["sim", "serve", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .arg("--request-log")
            .arg(&request_log)
            .arg("--log-file")
            .arg(dir.path().join("cutover.log"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cutover sim serve");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read the kubeconfig path");
        assert_eq!(
            Path::new(first.trim()),
            kubeconfig,
            "sim serve prints the kubeconfig path"
        );
        ServeProcess {
            child,
            dir,
            kubeconfig,
            request_log,
        }
    }

    /// The shell command that runs the control room on this cluster with
    /// `ui_args`, its log (`ui.log`), audit file (`audit.jsonl`) and config
    /// file (`config.toml`, written by the test) in this folder. The
    /// locale is UTF-8 whatever the test's is (an `LC_ALL` before the
    /// command overrides it).
    pub fn control_room_command(&self, ui_args: &str) -> String {
        format!(
            "TERM=xterm-256color LANG=C.UTF-8 NO_COLOR= {bin} --log-file {dir}/ui.log --audit-file {dir}/audit.jsonl \
             --config {dir}/config.toml --kubeconfig {kc} {ui_args}",
            bin = env!("CARGO_BIN_EXE_cutover"),
            dir = self.dir.path().display(),
            kc = self.kubeconfig.display(),
        )
    }

    /// Run kubectl against this cluster; discovery is cached inside the temp folder.
    pub fn kubectl(&self, kubectl: &Path, args: &[&str]) -> Output {
        Command::new(kubectl)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.dir.path().join("kube-cache"))
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl")
    }

    /// `kubectl patch <kind> <name> -n shop --type merge -p <body>`, on the
    /// `status` subresource when asked.
    pub fn merge_patch(
        &self,
        kubectl: &Path,
        target: (&str, &str),
        subresource: Option<&str>,
        body: &str,
    ) -> Output {
        let mut args = vec![
            "patch", target.0, target.1, "-n", "shop", "--type", "merge", "-p", body,
        ];
        if let Some(sub) = subresource {
            args.extend(["--subresource", sub]);
        }
        self.kubectl(kubectl, &args)
    }

    /// Promote a rollout waiting at a `pause: {}` step as `kubectl argo
    /// rollouts promote` does: its pause conditions cleared on the status.
    pub fn promote_from_pause(&self, kubectl: &Path, rollout: &str) {
        let promoted = self.merge_patch(
            kubectl,
            ("rollout", rollout),
            Some("status"),
            r#"{"status":{"pauseConditions":null}}"#,
        );
        assert!(promoted.status.success(), "{}", stderr_of(&promoted));
    }

    /// Requests of the log that change something: SelfSubject reviews
    /// are questions, not changes.
    pub fn mutating_requests(&self) -> Vec<serde_json::Value> {
        changes_of(self.requests())
    }

    /// The requests that change something in `cluster` of a fleet.
    pub fn cluster_mutating_requests(&self, cluster: &str) -> Vec<serde_json::Value> {
        changes_of(self.cluster_requests(cluster))
    }

    /// The request log as JSON values.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        json_lines(&self.request_log)
    }

    /// The request log of `cluster` of a fleet (`sim serve --clusters`),
    /// which writes one per cluster.
    pub fn cluster_requests(&self, cluster: &str) -> Vec<serde_json::Value> {
        let mut path = self.request_log.clone().into_os_string();
        path.push(format!(".{cluster}"));
        json_lines(Path::new(&path))
    }

    /// `kubectl create --raw PATH` as `context` (an admin's): a POST to
    /// the simulator's fault API (`/_sim/faults/outage?seconds=8`), which
    /// each cluster of a fleet has its own of.
    pub fn fault(&self, kubectl: &Path, context: &str, path: &str) {
        let body = self.dir.path().join("empty.json");
        std::fs::write(&body, "{}").expect("write body");
        let body = body.to_str().expect("utf-8 path");
        let args = ["--context", context, "create", "--raw", path, "-f", body];
        // Right after a restart of the listener a first connection may still
        // break; a client retries, and so does this one.
        for attempt in 0..10 {
            let out = self.kubectl(kubectl, &args);
            if out.status.success() {
                return;
            }
            // An outage may close the listener before its answer is out: a
            // refusal after the first attempt means it has begun.
            if path.contains("outage") && attempt > 0 && stderr_of(&out).contains("refused") {
                return;
            }
            eprintln!("retrying {path}: {}", stderr_of(&out));
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("the fault API did not answer {path}");
    }

    /// `cutover [flags] status -o json [after]` against this cluster in
    /// namespace shop, as JSON.
    pub fn status_json(&self, flags: &[&str], after: &[&str]) -> serde_json::Value {
        let out = self
            .status_command(flags, after)
            .output()
            .expect("run cutover status");
        assert!(out.status.success(), "{}", stderr_of(&out));
        serde_json::from_slice(&out.stdout).expect("status prints JSON")
    }

    /// The command `cutover [flags] status -o json [after]` against this
    /// cluster in namespace shop.
    pub fn status_command(&self, flags: &[&str], after: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cutover"));
        command
            .arg("--log-file")
            .arg(self.dir.path().join("status.log"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["-n", "shop"])
            .args(flags)
            .args(["status", "-o", "json"])
            .args(after);
        command
    }

    /// `status -o json` as `sim-admin`, with no config file and each of
    /// `databases` (`NAME=URL`) given with `--database`.
    pub fn status_json_with_databases(
        &self,
        databases: &[String],
        after: &[&str],
    ) -> serde_json::Value {
        let none = self.dir.path().join("no-config.toml");
        let mut flags = vec![
            "--config",
            none.to_str().expect("utf-8 path"),
            "--context",
            "sim-admin",
        ];
        for database in databases {
            flags.extend(["--database", database.as_str()]);
        }
        self.status_json(&flags, after)
    }

    /// Stop with `signal` (`INT`, `TERM`, `HUP`), as a user's Ctrl-C, a
    /// service manager or a closed terminal would.
    pub fn stop(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([format!("-{signal}"), pid])
            .status();
        self.child.wait().expect("wait for sim serve")
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file of JSON lines as values; lines that are not JSON are skipped.
fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Run `command` to its end, as `Command::output` does, and tell the peak
/// resident memory of its process in bytes: the kernel's own count
/// (`ru_maxrss`), read when the process is reaped, so no peak is missed.
pub fn output_with_peak_memory(command: &mut Command) -> (Output, u64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    // Reaped by wait4 below, which std's wait cannot stand in for.
    #[allow(clippy::zombie_processes)]
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut text);
        text
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .expect("read stdout");
    let mut status = 0;
    // SAFETY: rusage is plain data, and the pid is our child's, not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout,
        stderr: stderr.join().expect("stderr reader"),
    };
    // Linux counts ru_maxrss in KiB.
    (output, usage.ru_maxrss as u64 * 1024)
}

/// Text of a command's stdout, with stderr attached when it failed.
pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A kube client for one of the simulated cluster's contexts.
pub async fn kube_client(sim: &cutover_sim::SimCluster, context: &str) -> kube::Client {
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml("shop")).expect("kubeconfig");
    let options = kube::config::KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("client config");
    kube::Client::try_from(config).expect("client")
}
