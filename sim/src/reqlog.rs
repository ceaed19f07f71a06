//! The request log: every request the simulated API server answered, readable
//! in-process and optionally appended to a file as JSON lines, so a test can
//! prove for example that a read-only client sent no mutating request.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRecord {
    pub time: DateTime<Utc>,
    /// Empty when the request carried no valid credentials.
    pub user: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
}

impl RequestRecord {
    /// POST, PUT, PATCH and DELETE change the cluster (access reviews aside).
    pub fn is_mutating(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
            && !self.path.ends_with("/selfsubjectaccessreviews")
            && !self.path.ends_with("/selfsubjectreviews")
    }
}

/// Records kept in memory are capped; the file, when set, keeps everything.
const KEPT: usize = 100_000;

#[derive(Debug, Default)]
pub struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
    file: Mutex<Option<File>>,
}

impl RequestLog {
    pub fn with_file(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(RequestLog {
            records: Mutex::default(),
            file: Mutex::new(Some(file)),
        })
    }

    pub fn record(&self, rec: RequestRecord) {
        if let Some(f) = self.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut()
            && let Ok(line) = serde_json::to_string(&rec)
        {
            // A full disk must not fail the request being logged.
            let _ = writeln!(f, "{line}");
        }
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if records.len() >= KEPT {
            records.drain(..KEPT / 10);
        }
        records.push(rec);
    }

    pub fn records(&self) -> Vec<RequestRecord> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn clear(&self) {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(method: &str, path: &str) -> RequestRecord {
        RequestRecord {
            time: Utc::now(),
            user: "viewer".into(),
            method: method.into(),
            path: path.into(),
            query: String::new(),
            status: 200,
        }
    }

    #[test]
    fn access_reviews_are_not_mutations() {
        assert!(
            rec(
                "PATCH",
                "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/a"
            )
            .is_mutating()
        );
        assert!(
            !rec(
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
            )
            .is_mutating()
        );
        assert!(!rec("GET", "/api/v1/pods").is_mutating());
    }

    #[test]
    fn records_go_to_the_file_as_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.jsonl");
        let log = RequestLog::with_file(&path).unwrap();
        log.record(rec("GET", "/version"));
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["path"], "/version");
        assert_eq!(log.records().len(), 1);
    }
}
