//! `cutover status` across a fleet: every context read at once and on its
//! own, so one that is slow or down costs only its own `--timeout`; what
//! could be read is reported beside what could not.

use super::{DatabaseStatus, Databases, ReleaseStatus, StatusReport};
use crate::app::run::MetricsPlan;
use crate::cluster::connect::resolve;
use crate::fleet::{ContextPlan, Plan};
use crate::model::alert::Holding;
use crate::user_error::UserError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Serialize)]
pub struct FleetReport {
    pub read_at: DateTime<Utc>,
    /// Each context of the fleet, in the order chosen, read or not.
    pub contexts: Vec<ContextStatus>,
    /// Every release read, each with its context.
    pub releases: Vec<FleetRelease>,
    /// The alert conditions holding in every context read.
    pub alerts: Vec<crate::model::alert::Holding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    Connected,
    Failed,
}

#[derive(Debug, Serialize)]
pub struct ContextStatus {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The API server's URL, when the kubeconfig gives one.
    pub server: Option<String>,
    pub state: ConnectionState,
    /// Why the context could not be read, as a sentence.
    pub error: Option<String>,
    pub namespace: Option<String>,
    pub user: Option<String>,
    pub metrics_source: Option<String>,
    pub metrics_problem: Option<String>,
    pub databases: Vec<DatabaseStatus>,
}

impl ContextStatus {
    /// The short name of the cluster: the alias, else the context's name.
    pub fn label(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// A release and the context it was read from.
#[derive(Debug, Serialize)]
pub struct FleetRelease {
    /// The context's name.
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(flatten)]
    pub release: ReleaseStatus,
}

impl FleetRelease {
    pub fn label(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.cluster)
    }
}

/// Read every context of `plan` at once, each within its own `deadline`;
/// the other arguments are [`super::report`]'s. With `name`, a release
/// that no context could be read without is a mistake.
pub async fn fleet_report(
    plan: &Plan,
    deadline: Option<Duration>,
    name: Option<&str>,
    read_only: bool,
    metrics: &MetricsPlan,
    databases: &Databases,
) -> Result<FleetReport, UserError> {
    let read_at = Utc::now();
    let reads = plan
        .contexts
        .iter()
        .map(|c| read_context(c, deadline, name, read_only, metrics, databases));
    let mut report = FleetReport {
        read_at,
        contexts: Vec::new(),
        releases: Vec::new(),
        alerts: Vec::new(),
    };
    for (context, read) in plan
        .contexts
        .iter()
        .zip(futures::future::join_all(reads).await)
    {
        let (status, releases, alerts) = read;
        report.alerts.extend(alerts);
        report
            .releases
            .extend(releases.into_iter().map(|release| FleetRelease {
                cluster: status.name.clone(),
                alias: context.alias.clone(),
                release,
            }));
        report.contexts.push(status);
    }
    let all_read = report.failed().next().is_none();
    if let Some(n) = name
        && report.releases.is_empty()
        && all_read
    {
        let names: Vec<&str> = report.contexts.iter().map(|c| c.name.as_str()).collect();
        let namespace = report.contexts.first().and_then(|c| c.namespace.as_deref());
        return Err(super::no_release_named(n, namespace, &names.join(", ")));
    }
    Ok(report)
}

/// One context's status, releases and alerts; a failure is its status's
/// error.
async fn read_context(
    context: &ContextPlan,
    deadline: Option<Duration>,
    name: Option<&str>,
    read_only: bool,
    metrics: &MetricsPlan,
    databases: &Databases,
) -> (ContextStatus, Vec<ReleaseStatus>, Vec<Holding>) {
    let options = &context.connect;
    let server = resolve(options)
        .await
        .ok()
        .map(|t| t.config.cluster_url.to_string());
    let mut status = ContextStatus {
        name: context.context().unwrap_or("in-cluster").to_string(),
        alias: context.alias.clone(),
        server,
        state: ConnectionState::Failed,
        error: None,
        namespace: None,
        user: None,
        metrics_source: None,
        metrics_problem: None,
        databases: Vec::new(),
    };
    match super::report(options, deadline, name, read_only, metrics, databases).await {
        Ok(read) => {
            let StatusReport {
                namespace,
                user,
                metrics_source,
                metrics_problem,
                databases,
                releases,
                alerts,
                ..
            } = read;
            status = ContextStatus {
                state: ConnectionState::Connected,
                namespace,
                user,
                metrics_source,
                metrics_problem,
                databases,
                ..status
            };
            (status, releases, alerts)
        }
        Err(e) => {
            status.error = Some(crate::user_error::cause_and_fix(&e).0);
            (status, Vec::new(), Vec::new())
        }
    }
}

impl FleetReport {
    /// The contexts that could not be read.
    pub fn failed(&self) -> impl Iterator<Item = &ContextStatus> {
        self.contexts
            .iter()
            .filter(|c| c.state == ConnectionState::Failed)
    }

    /// An error naming every context that could not be read (exit code
    /// 3), or none.
    pub fn unread(&self) -> Option<UserError> {
        let failed: Vec<String> = self
            .failed()
            .map(|c| format!("{}: {}", c.name, c.error.as_deref().unwrap_or("not read")))
            .collect();
        if failed.is_empty() {
            return None;
        }
        let mut error = UserError::new(
            format!(
                "{} of {} contexts could not be read: {}",
                failed.len(),
                self.contexts.len(),
                failed.join("; ")
            ),
            "what could be read is printed; each context's state and error are in the contexts of -o json",
        );
        error.cannot_read = true;
        Some(error)
    }
}
