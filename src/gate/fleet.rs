//! `cutover gate` across a fleet: the release is judged in each context at
//! once and on its own, as a gate of one context judges it, each line
//! naming its cluster; the gate's exit code is the worst of theirs. A
//! context that cannot be read counts as the gate's "cannot read" (3).

use super::{
    Cluster, EXIT_CANNOT_READ, EXIT_FAILED, EXIT_REACHED, EXIT_TIMED_OUT, EXIT_VERDICT,
    GateOptions, line, watch_one,
};
use crate::audit::Audit;
use crate::fleet::ContextPlan;
use chrono::Utc;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// The exit codes from the best to the worst: a release that failed
/// outright is worse than one whose metrics failed, and either is worse
/// than a cluster that could not be read, which is worse than a timeout.
const BEST_TO_WORST: [u8; 5] = [
    EXIT_REACHED,
    EXIT_TIMED_OUT,
    EXIT_CANNOT_READ,
    EXIT_VERDICT,
    EXIT_FAILED,
];

/// The worst of `codes` (a gate of no context could read nothing).
pub fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    let rank = |code: u8| BEST_TO_WORST.iter().position(|c| *c == code);
    codes
        .into_iter()
        .max_by_key(|c| rank(*c))
        .unwrap_or(EXIT_CANNOT_READ)
}

/// How a cluster's gate ended, in a word, by its exit code.
fn outcome(code: u8) -> &'static str {
    match code {
        EXIT_REACHED => "passed",
        EXIT_FAILED => "failed",
        EXIT_TIMED_OUT => "timed out",
        EXIT_VERDICT => "failed its verdict",
        _ => "could not be read",
    }
}

/// The gate in every context of `contexts` at once; the worst exit code.
pub(super) async fn run(
    options: &GateOptions,
    contexts: &[ContextPlan],
    audit: Option<&Arc<Audit>>,
    started: Instant,
) -> u8 {
    let gates = contexts.iter().map(|c| async move {
        let cluster = Cluster {
            context: c.context().unwrap_or("in-cluster").to_string(),
            alias: c.alias.clone(),
        };
        let code =
            match watch_one(options, &c.connect, Some(&cluster), audit.cloned(), started).await {
                Ok(code) => code,
                Err(report) => {
                    unread(options, &cluster, &report);
                    EXIT_CANNOT_READ
                }
            };
        (cluster, code)
    });
    let ended = futures::future::join_all(gates).await;
    let code = worst(ended.iter().map(|(_, code)| *code));
    summary(options, &ended, code);
    code
}

/// A context that could not be read: why, on stderr as kubectl says it,
/// and on stdout among the other clusters' lines.
fn unread(options: &GateOptions, cluster: &Cluster, report: &color_eyre::Report) {
    let label = cluster.label();
    let (cause, _) = crate::user_error::cause_and_fix(report);
    let text = crate::user_error::render(report, crate::user_error::verbose());
    let said: String = text.lines().map(|l| format!("{label}: {l}\n")).collect();
    let _ = std::io::Write::write_all(&mut std::io::stderr(), said.as_bytes());
    let line = if options.json {
        let line = Unread {
            event: "unreadable",
            at: line::json_time(Utc::now()),
            cluster: &cluster.context,
            alias: cluster.alias.as_deref(),
            name: &options.name,
            detail: &cause,
        };
        serde_json::to_string(&line).unwrap_or_default()
    } else {
        options.glyphs.text(&format!(
            "{label}: gate could not read {}: {cause}",
            options.name
        ))
    };
    let _ = crate::cli::write_out(&format!("{line}\n"));
}

/// The last line: each cluster's outcome and the gate's exit code.
fn summary(options: &GateOptions, ended: &[(Cluster, u8)], code: u8) {
    let line = if options.json {
        let end = FleetEnd {
            event: "fleet-end",
            at: line::json_time(Utc::now()),
            name: &options.name,
            exit: code,
            clusters: ended
                .iter()
                .map(|(c, code)| ClusterEnd {
                    cluster: &c.context,
                    alias: c.alias.as_deref(),
                    exit: *code,
                    outcome: outcome(*code),
                })
                .collect(),
        };
        serde_json::to_string(&end).unwrap_or_default()
    } else {
        let each: Vec<String> = ended
            .iter()
            .map(|(c, code)| format!("{} {}", c.label(), outcome(*code)))
            .collect();
        let verdict = if code == EXIT_REACHED {
            "passed"
        } else {
            "failed"
        };
        format!(
            "gate {verdict} across {} clusters: {}: {}; exit {code}",
            ended.len(),
            options.name,
            each.join(", ")
        )
    };
    let _ = crate::cli::write_out(&format!("{line}\n"));
}

/// The JSON line of a context that could not be read.
#[derive(Serialize)]
struct Unread<'a> {
    event: &'static str,
    at: String,
    cluster: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    alias: Option<&'a str>,
    name: &'a str,
    detail: &'a str,
}

/// The last JSON line of a fleet's gate.
#[derive(Serialize)]
struct FleetEnd<'a> {
    event: &'static str,
    at: String,
    name: &'a str,
    exit: u8,
    clusters: Vec<ClusterEnd<'a>>,
}

#[derive(Serialize)]
struct ClusterEnd<'a> {
    cluster: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    alias: Option<&'a str>,
    exit: u8,
    outcome: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_code_wins() {
        assert_eq!(worst([0, 0]), 0);
        assert_eq!(worst([0, 2]), 2);
        assert_eq!(worst([2, 3, 0]), 3);
        assert_eq!(worst([3, 4]), 4);
        assert_eq!(worst([4, 1, 3]), 1);
        assert_eq!(worst([]), 3, "nothing read");
    }
}
