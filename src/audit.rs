//! The audit trail: one JSON line per action stage, written and flushed to
//! disk before the request is sent and again with its outcome.
//!
//! The file may be moved away (log rotation), deleted or replaced while
//! cutover runs: before each line the path is compared with the open file
//! (device and inode) and, when they differ, a new file is opened at the
//! path. Each line is one `write` to a file opened for appending, so
//! several processes can share the file without mixing their lines.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry<'a> {
    pub time: DateTime<Utc>,
    /// `requested` before the request, then `done`, `refused` or `failed`.
    pub stage: &'a str,
    /// The action's [`new_action_id`], the same on all its lines.
    pub id: &'a str,
    pub user: &'a str,
    pub context: &'a str,
    pub namespace: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub action: &'a str,
    pub revision_seen: &'a str,
    pub resource_version_seen: &'a str,
    pub requests: &'a [crate::model::PatchRequest],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'a str>,
    /// The interlock this action overrode, in its words.
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_of: Option<&'a str>,
    /// The feature flag a kill switch writes (the requests go to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<&'a crate::model::action::FlagTarget>,
}

/// One line: the entry and which process wrote it.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    entry: &'a AuditEntry<'a>,
    session: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    pid: u32,
}

pub struct Audit {
    path: PathBuf,
    file: Mutex<File>,
    session: &'static str,
    host: Option<String>,
    pid: u32,
}

/// A new action's id: a UUIDv7, unique across processes and hosts and
/// ordered by time.
pub fn new_action_id() -> String {
    Uuid::now_v7().to_string()
}

/// This run of cutover's id, on every line it writes.
fn session() -> &'static str {
    static SESSION: OnceLock<String> = OnceLock::new();
    SESSION.get_or_init(|| Uuid::now_v7().to_string())
}

/// Linux's host name; other systems leave it out of the lines.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_string()).filter(|n| !n.is_empty())
}

fn with_context(e: io::Error, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Open the file at `path` for appending, creating it (owner-only) and its
/// folder when missing, and make its directory entry durable like its lines.
fn open_at(path: &Path) -> io::Result<File> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| with_context(e, format_args!("creating its folder {}", dir.display())))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_context(e, format_args!("syncing its folder {}", dir.display())))?;
    Ok(file)
}

impl Audit {
    pub fn open(path: &Path) -> io::Result<Audit> {
        Ok(Audit {
            path: path.to_path_buf(),
            file: Mutex::new(open_at(path)?),
            session: session(),
            host: host_name(),
            pid: std::process::id(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one line and make it durable before returning. An error means
    /// the line may not be on disk: the action must not go ahead.
    pub fn record(&self, entry: &AuditEntry<'_>) -> io::Result<()> {
        let mut line = serde_json::to_vec(&Line {
            entry,
            session: self.session,
            host: self.host.as_deref(),
            pid: self.pid,
        })?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if !self.path_names(&file) {
            *file = open_at(&self.path)?;
        }
        // One write: appended whole after any other writer's lines.
        let written = loop {
            match file.write(&line) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => break result?,
            }
        };
        if written < line.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!(
                    "only {written} of {} bytes written (is the disk full?)",
                    line.len()
                ),
            ));
        }
        file.sync_data()
    }

    /// Whether the path still names `file`: rotation moves it away, a
    /// cleanup deletes it, and either may leave another file in its place.
    fn path_names(&self, file: &File) -> bool {
        match (std::fs::metadata(&self.path), file.metadata()) {
            (Ok(at_path), Ok(open)) => at_path.dev() == open.dev() && at_path.ino() == open.ino(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PatchRequest, PatchType};
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn entry<'a>(id: &'a str, requests: &'a [PatchRequest]) -> AuditEntry<'a> {
        AuditEntry {
            time: Utc::now(),
            stage: "requested",
            id,
            user: "admin",
            context: "sim-admin",
            namespace: "shop",
            kind: "Rollout",
            name: "checkout",
            action: "promote",
            revision_seen: "revision 2",
            resource_version_seen: "41",
            requests,
            result: None,
            override_of: None,
            flag: None,
        }
    }

    fn write(audit: &Audit, id: &str) -> io::Result<()> {
        audit.record(&entry(id, &[]))
    }

    /// An audit file at `relative` in a new temp dir, its first line written.
    fn started(relative: &str) -> (tempfile::TempDir, PathBuf, Audit) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(relative);
        let audit = Audit::open(&path).expect("open");
        write(&audit, "before").expect("write");
        (dir, path, audit)
    }

    fn ids(path: &Path) -> Vec<String> {
        lines(path)
            .iter()
            .map(|l| l["id"].as_str().expect("an id").to_string())
            .collect()
    }

    fn lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .expect("read the audit file")
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .collect()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").mode() & 0o777
    }

    #[test]
    fn a_line_keeps_the_entry_and_says_which_process_wrote_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state/cutover/audit.jsonl");
        let audit = Audit::open(&path).expect("open");
        let id = new_action_id();
        write(&audit, &id).expect("write");
        let line = &lines(&path)[0];
        assert_eq!(line["id"], id.as_str());
        assert_eq!(line["stage"], "requested");
        assert_eq!(line["name"], "checkout");
        assert_eq!(line["session"], session());
        assert_eq!(line["pid"], std::process::id());
        for field in ["id", "session"] {
            let uuid: Uuid = line[field]
                .as_str()
                .unwrap_or_default()
                .parse()
                .expect(field);
            assert_eq!(uuid.get_version_num(), 7, "{field} is a UUIDv7");
        }
        assert_ne!(line["id"], line["session"]);
        assert_eq!(mode(&path), 0o600, "owner-only");
    }

    #[test]
    fn a_file_moved_away_keeps_its_lines_and_the_next_go_to_a_new_file() {
        let (dir, path, audit) = started("audit.jsonl");
        let rotated = dir.path().join("audit.jsonl.1");
        std::fs::rename(&path, &rotated).expect("rotate");
        write(&audit, "after").expect("write");
        write(&audit, "later").expect("write");
        assert_eq!(ids(&rotated), ["before"]);
        assert_eq!(ids(&path), ["after", "later"]);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_deleted_file_is_made_again_at_the_path() {
        let (_dir, path, audit) = started("audit.jsonl");
        std::fs::remove_file(&path).expect("delete");
        write(&audit, "after").expect("write");
        assert_eq!(ids(&path), ["after"]);
    }

    #[test]
    fn a_file_put_in_its_place_is_appended_to() {
        let (dir, path, audit) = started("audit.jsonl");
        let other = dir.path().join("other.jsonl");
        let other_audit = Audit::open(&other).expect("open");
        write(&other_audit, "theirs").expect("write");
        std::fs::rename(&other, &path).expect("replace");
        write(&audit, "after").expect("write");
        assert_eq!(ids(&path), ["theirs", "after"]);
    }

    #[test]
    fn a_removed_folder_is_made_again() {
        let (dir, path, audit) = started("cutover/audit.jsonl");
        let folder = dir.path().join("cutover");
        std::fs::remove_dir_all(&folder).expect("remove the folder");
        write(&audit, "after").expect("write");
        assert_eq!(ids(&path), ["after"]);
        assert_eq!(mode(&folder), 0o700);
    }

    #[test]
    fn a_folder_replaced_by_a_file_fails_the_write_and_says_where() {
        let (dir, path, audit) = started("cutover/audit.jsonl");
        let folder = dir.path().join("cutover");
        std::fs::remove_dir_all(&folder).expect("remove the folder");
        std::fs::write(&folder, "not a folder").expect("a file in its place");
        let error = write(&audit, "after").expect_err("no file can be opened there");
        let text = error.to_string();
        assert!(
            text.contains(&format!("creating its folder {}", folder.display()))
                && text.contains("os error"),
            "{text}"
        );
        // Once the folder is back, writing goes on.
        std::fs::remove_file(&folder).expect("remove the file");
        write(&audit, "again").expect("write");
        assert_eq!(ids(&path), ["again"]);
    }

    #[test]
    fn a_path_that_became_a_folder_fails_the_write() {
        let (_dir, path, audit) = started("audit.jsonl");
        std::fs::remove_file(&path).expect("delete");
        std::fs::create_dir(&path).expect("a folder in its place");
        let error = write(&audit, "after").expect_err("a folder cannot be appended to");
        assert_eq!(error.kind(), io::ErrorKind::IsADirectory, "{error}");
    }

    /// Set to the audit path when this test binary runs as the second writer.
    const SECOND_WRITER: &str = "CUTOVER_TEST_SECOND_AUDIT_WRITER";
    const LINES_PER_WRITER: usize = 200;

    /// Lines of several sizes, some longer than PIPE_BUF (a whole pod
    /// template can be).
    fn write_many(audit: &Audit) {
        for n in 0..LINES_PER_WRITER {
            let body = Value::String("x".repeat(n * 50));
            let requests = [PatchRequest {
                subresource: None,
                kind: PatchType::Merge,
                body,
            }];
            audit
                .record(&entry(&new_action_id(), &requests))
                .expect("write");
        }
    }

    #[test]
    #[ignore = "the second process of writers_in_two_processes_never_mix_lines"]
    fn second_audit_writer() {
        if let Some(path) = std::env::var_os(SECOND_WRITER) {
            write_many(&Audit::open(Path::new(&path)).expect("open"));
        }
    }

    #[test]
    fn writers_in_two_processes_never_mix_lines() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.jsonl");
        let mut second = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "audit::tests::second_audit_writer", "--ignored"])
            .env(SECOND_WRITER, &path)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the second process");
        let ours = [
            Audit::open(&path).expect("open"),
            Audit::open(&path).expect("open"),
        ];
        std::thread::scope(|s| {
            for audit in &ours {
                s.spawn(|| write_many(audit));
            }
        });
        assert!(second.wait().expect("wait").success());
        let lines = lines(&path);
        assert_eq!(lines.len(), 3 * LINES_PER_WRITER, "every line, whole");
        let ids: BTreeSet<&str> = lines.iter().filter_map(|l| l["id"].as_str()).collect();
        assert_eq!(ids.len(), lines.len(), "ids are distinct");
        let sessions: BTreeSet<&str> = lines
            .iter()
            .map(|l| l["session"].as_str().expect("a session on every line"))
            .collect();
        let pids: BTreeSet<u64> = lines.iter().filter_map(|l| l["pid"].as_u64()).collect();
        assert_eq!(sessions.len(), 2, "one session per process");
        assert_eq!(pids.len(), 2, "one pid per process");
    }
}
