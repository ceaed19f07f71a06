//! The audit trail: one JSON line per action stage, written and flushed to
//! disk before the request is sent and again with its outcome.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry<'a> {
    pub time: DateTime<Utc>,
    /// `requested` before the request, then `done`, `refused` or `failed`.
    pub stage: &'a str,
    pub id: u64,
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
}

pub struct Audit {
    path: PathBuf,
    file: Mutex<File>,
}

/// `$XDG_STATE_HOME/cutover/audit.jsonl` (or `~/.local/state/…`).
pub fn default_path() -> PathBuf {
    crate::logging::state_dir().join("audit.jsonl")
}

impl Audit {
    pub fn open(path: &Path) -> std::io::Result<Audit> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Audit {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one line and make it durable before returning.
    pub fn record(&self, entry: &AuditEntry<'_>) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(&line)?;
        file.flush()?;
        file.sync_data()
    }
}
