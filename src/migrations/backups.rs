//! A database's backup repository, read by running the configured command
//! (`pgbackrest info --output=json`, or the same through `ssh` or
//! `kubectl exec`) with a timeout.
//!
//! Errors name the program only, never the whole command line: an
//! argument may carry a repository passphrase.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::model::restore::Repository;

/// Where a database's backups are read from and how stale a tested restore
/// may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSource {
    /// The program and its arguments; printing `info --output=json`.
    pub command: Vec<String>,
    /// How long the command may run before it is killed.
    pub timeout: Duration,
    /// A tested restore older than this raises an alarm.
    pub restore_tested_within: Duration,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_RESTORE_TESTED_WITHIN: Duration = Duration::from_secs(30 * 24 * 3600);

/// Run the source's command and parse what it printed.
pub async fn read(source: &BackupSource) -> Result<Repository, String> {
    let output = run(&source.command, source.timeout).await?;
    Repository::parse_pgbackrest(&output).map_err(|e| format!("{}: {e}", program(source)))
}

fn program(source: &BackupSource) -> &str {
    source.command.first().map_or("", String::as_str)
}

/// What `command` printed on stdout, when it exited 0 within `timeout`.
async fn run(command: &[String], timeout: Duration) -> Result<String, String> {
    let Some((program, args)) = command.split_first() else {
        return Err("the backup command is empty".to_string());
    };
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A timed-out command is dropped below, and dropping kills it.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!("cannot run {program:?}: {e}; install it or fix the backups command")
        })?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            format!(
                "{program}: no answer within {timeout:?}, so it was stopped; \
                 check that it runs by hand, or raise the backups timeout"
            )
        })?
        .map_err(|e| format!("{program}: reading its output: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = stderr.trim();
        let said = if said.is_empty() {
            "nothing on stderr"
        } else {
            said
        };
        let status = match output.status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".to_string(),
        };
        return Err(format!("{program} {status}: {said}"));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| format!("{program}: printed text that is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(command: &[&str], timeout: Duration) -> BackupSource {
        BackupSource {
            command: command.iter().map(|s| s.to_string()).collect(),
            timeout,
            restore_tested_within: DEFAULT_RESTORE_TESTED_WITHIN,
        }
    }

    #[tokio::test]
    async fn a_command_that_hangs_is_stopped_with_a_clear_error() {
        let e = read(&source(&["sleep", "30"], Duration::from_millis(300)))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            "sleep: no answer within 300ms, so it was stopped; \
             check that it runs by hand, or raise the backups timeout"
        );
    }

    #[tokio::test]
    async fn garbage_is_an_error() {
        let e = read(&source(&["echo", "nope"], DEFAULT_TIMEOUT))
            .await
            .unwrap_err();
        assert!(
            e.starts_with("echo: not the JSON of `pgbackrest info"),
            "{e}"
        );
        assert!(e.contains("\"nope\\n\""), "{e}");
    }

    #[tokio::test]
    async fn a_failing_command_says_what_it_printed() {
        let script = "echo 'ERROR: [055]: unable to open missing file' >&2; exit 55";
        let e = read(&source(&["sh", "-c", script], DEFAULT_TIMEOUT))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            "sh exited with status 55: ERROR: [055]: unable to open missing file"
        );
    }

    #[tokio::test]
    async fn a_missing_program_is_named() {
        let e = read(&source(&["cutover-no-such-program"], DEFAULT_TIMEOUT))
            .await
            .unwrap_err();
        assert!(
            e.starts_with("cannot run \"cutover-no-such-program\": "),
            "{e}"
        );
    }

    #[tokio::test]
    async fn the_tool_s_json_is_read() {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/pgbackrest-info.json"
        );
        let repo = read(&source(&["cat", fixture], DEFAULT_TIMEOUT))
            .await
            .unwrap();
        assert_eq!(repo.newest_good().unwrap().kind, "incr");
    }
}
