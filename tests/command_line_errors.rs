//! The command line's own mistakes and the user's, as the built binary
//! prints them: the control room without a terminal, and kubectl-like
//! errors for a missing kubeconfig, an unknown context, a cluster that
//! refuses connections and one that never answers. A mistake exits 1, a
//! cluster that cannot be read 3.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::stderr_of;

/// A token in every kubeconfig written here: it must never be printed.
const TOKEN: &str = "s3cret-token-never-shown";

/// A folder for one run: HOME, logs and config live in it, so nothing of
/// the user's own setup is read.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `cutover args…` with stdin from /dev/null and stdout piped.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cutover"));
        command
            .arg("--log-file")
            .arg(self.path("cutover.log"))
            .arg("--config")
            .arg(self.path("no-config.toml"))
            .args(args)
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.path("state"))
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run cutover")
    }

    /// A kubeconfig with contexts `a` (current) and `b`, both to `server`.
    fn kubeconfig(&self, server: &str) -> PathBuf {
        let path = self.path("kubeconfig");
        let yaml = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: a\n\
             clusters:\n- name: c\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\n\
             users:\n- name: u\n  user:\n    token: {TOKEN}\n\
             contexts:\n- name: a\n  context:\n    cluster: c\n    user: u\n    namespace: shop\n\
             - name: b\n  context:\n    cluster: c\n    user: u\n"
        );
        std::fs::write(&path, yaml).expect("write the kubeconfig");
        path
    }
}

/// A loopback address where nothing listens: a port the OS gave, closed.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}

/// The control room refuses to start without a terminal: one line, exit
/// code 2, and nothing started (not even the log file).
fn refuses_without_a_terminal(args: &[&str]) {
    let scratch = Scratch::new();
    let kubeconfig = scratch.kubeconfig(&format!("https://127.0.0.1:{}", closed_port()));
    let mut all = vec!["--kubeconfig", kubeconfig.to_str().expect("utf-8 path")];
    all.extend(args);
    let out = scratch.run(&all);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("needs a terminal") && stderr.contains("cutover status"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing drawn");
    assert!(
        !scratch.path("cutover.log").exists(),
        "{args:?} started before checking the terminal"
    );
}

#[test]
fn the_control_room_without_a_terminal_says_so_and_exits_2() {
    refuses_without_a_terminal(&[]);
    refuses_without_a_terminal(&["watch"]);
}

#[test]
fn the_demo_without_a_terminal_says_so_and_exits_2() {
    refuses_without_a_terminal(&["demo"]);
}

/// Exit codes of `status`.
const MISTAKE: i32 = 1;
const CANNOT_READ: i32 = 3;

/// An error exiting with `code`: a few plain lines, no source locations,
/// colours or backtraces, no credential; `says` are in it.
fn plain_error(out: &Output, code: i32, says: &[&str]) -> String {
    let stderr = stderr_of(out);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.lines().count() <= 3, "{stderr}");
    for noise in ["src/", "\x1b[", "Location:", "Backtrace", "panicked", TOKEN] {
        assert!(!stderr.contains(noise), "{noise:?} in:\n{stderr}");
    }
    for words in says {
        assert!(stderr.contains(words), "{words:?} not in:\n{stderr}");
    }
    assert!(out.stdout.is_empty(), "no report printed");
    stderr
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `cutover flags… status`, as a table and as JSON: the same plain error
/// and exit `code`.
fn status_fails_saying(scratch: &Scratch, flags: &[&str], code: i32, says: &[&str]) {
    for output in ["table", "json"] {
        let mut args = flags.to_vec();
        args.extend(["status", "-o", output]);
        plain_error(&scratch.run(&args), code, says);
    }
}

#[test]
fn a_missing_kubeconfig_is_named_with_what_to_do() {
    let scratch = Scratch::new();
    let missing = scratch.path("nowhere.kubeconfig");
    let says = [
        path_arg(&missing),
        "does not exist",
        "give an existing file",
    ];
    let flags = ["--kubeconfig", path_arg(&missing)];
    status_fails_saying(&scratch, &flags, MISTAKE, &says);
    // Without any kubeconfig, nor a cluster around: the same kind of answer.
    let says = ["no kubeconfig", "--kubeconfig"];
    status_fails_saying(&scratch, &[], MISTAKE, &says);
}

#[test]
fn an_unknown_context_lists_the_ones_there_are() {
    let scratch = Scratch::new();
    let kubeconfig = scratch.kubeconfig(&format!("https://127.0.0.1:{}", closed_port()));
    let flags = ["--kubeconfig", path_arg(&kubeconfig), "--context", "prod"];
    let missing = format!(
        "context \"prod\" does not exist in {}",
        kubeconfig.display()
    );
    let says = [
        missing.as_str(),
        "choose one of: a, b (kubectl config get-contexts)",
    ];
    status_fails_saying(&scratch, &flags, MISTAKE, &says);
}

#[test]
fn a_refused_connection_says_so_and_what_was_tried() {
    let scratch = Scratch::new();
    let server = format!("https://127.0.0.1:{}", closed_port());
    let kubeconfig = scratch.kubeconfig(&server);
    let cannot = format!("cannot connect to the cluster at {server}");
    let says = [
        cannot.as_str(),
        "(context a)",
        "connection refused",
        "tried 4 times",
        "cluster-info",
    ];
    let flags = ["--kubeconfig", path_arg(&kubeconfig)];
    status_fails_saying(&scratch, &flags, CANNOT_READ, &says);
}

/// A loopback server that accepts connections and never answers, until
/// dropped: the accepted connections stay open with it.
struct SilentServer {
    port: u16,
    stop: std::sync::mpsc::Sender<()>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("non-blocking");
        let (stop, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            // Disconnected when the test drops its end: then stop.
            while let Err(std::sync::mpsc::TryRecvError::Empty) = stopped.try_recv() {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        });
        SilentServer { port, stop }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

/// `status` against a server that never answers, with `limits`: exit code
/// 3 and one error line naming the server and `within`, then what to do.
fn silent_server_gives_up(limits: &[&str], within: &str) {
    let scratch = Scratch::new();
    let silent = SilentServer::start();
    let server = format!("https://127.0.0.1:{}", silent.port);
    let kubeconfig = scratch.kubeconfig(&server);
    let mut args = vec!["--kubeconfig", path_arg(&kubeconfig), "status"];
    args.extend(limits);
    let out = scratch.run(&args);
    let did_not_answer =
        format!("the cluster at {server} (context a) did not answer within {within}");
    let stderr = plain_error(
        &out,
        CANNOT_READ,
        &[did_not_answer.as_str(), "cluster-info"],
    );
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1
    );
}

#[test]
fn a_silent_server_fails_at_the_request_timeout_with_exit_code_3() {
    silent_server_gives_up(&["--request-timeout", "1s"], "1s");
}

#[test]
fn a_silent_server_fails_at_the_deadline_with_exit_code_3() {
    silent_server_gives_up(&["--timeout", "2s"], "2s");
}

#[test]
fn rust_backtrace_asks_for_the_full_report_with_the_cause_kept() {
    let scratch = Scratch::new();
    let kubeconfig = scratch.kubeconfig(&format!("https://127.0.0.1:{}", closed_port()));
    let out = scratch
        .command(&["--kubeconfig", path_arg(&kubeconfig), "status"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run cutover");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(CANNOT_READ), "{stderr}");
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(stderr.contains("Location:"), "{stderr}");
    assert!(
        !stderr.contains("\x1b["),
        "stderr is not a terminal: {stderr}"
    );
    assert!(!stderr.contains(TOKEN), "{stderr}");
}

/// `cutover sim scenarios | head -1`: the reader has gone when the list
/// is written. The program ends as a Unix tool does on SIGPIPE (141),
/// without a crash report.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let scratch = Scratch::new();
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "--log-file",
            path_arg(&scratch.path("log")),
            "sim",
            "scenarios",
        ])
        .env("HOME", scratch.dir.path())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run cutover sim scenarios");
    assert_eq!(out.status.code(), Some(141), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
}
