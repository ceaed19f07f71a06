//! Reading the cluster, the metrics and the databases once for `status`,
//! within a deadline, trying again briefly when the cluster is restarting.

use super::{DatabaseStatus, Databases, StatusReport, release_status};
use crate::app::access::{access_keys, flag_access_keys};
use crate::app::run::MetricsPlan;
use crate::app::state::MetricsSource;
use crate::app::update::{Msg, rebuild_releases, update};
use crate::app::{State, keymap::Keymap};
use crate::cluster::connect::{
    ConnectOptions, Connection, Server, connect, request_failed, resolve,
};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::projection::PodRead;
use crate::cluster::watch::{Kept, SourceUpdate};
use crate::cluster::{Objects, rbac};
use crate::metrics::bake::{BakeTarget, measure_bake};
use crate::metrics::source::measure;
use crate::migrations::task::READ_TIMEOUT;
use crate::model::Release;
use crate::model::metrics::ReleaseMetrics;
use crate::model::restore::way_back::RepositoryStatus;
use crate::user_error::UserError;
use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use futures::StreamExt;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Measure every release that has a canary, a few at a time, within
/// `limit` (what is left of the deadline).
async fn measure_all(
    plan: &MetricsPlan,
    context: &str,
    all: &[Arc<Release>],
    at: DateTime<Utc>,
    limit: Limit,
) -> (Result<String, String>, Vec<Option<ReleaseMetrics>>) {
    let nothing = || all.iter().map(|_| None).collect();
    let (backend, profile, settings) = match plan.resolve(context) {
        Ok(resolved) => resolved,
        Err(why) => return (Err(why), nothing()),
    };
    let description = backend.describe();
    let (backend, settings) = (&backend, &settings);
    let description_ref = &description;
    let measured = futures::stream::iter(all)
        .map(|r| async move {
            match crate::metrics::profiles::target(r, profile) {
                Ok(t) => measure(backend, settings, &t, at, None).await,
                Err(why) => ReleaseMetrics::not_compared(
                    description_ref,
                    settings.window.as_secs(),
                    settings.step.as_secs(),
                    at,
                    why,
                ),
            }
        })
        .buffered(4)
        .map(Some)
        .collect();
    match limit.within(measured).await {
        Some(measured) => (Ok(description), measured),
        None => (
            Err(format!(
                "{description} did not answer within the deadline (--timeout {})",
                limit.total_text()
            )),
            nothing(),
        ),
    }
}

/// Read the bake figures of every finished release into `state`, with the
/// context's bake settings, so `status` judges each bake as the control
/// room does.
async fn bake_all(
    state: &mut State,
    plan: &MetricsPlan,
    context: &str,
    all: &[Arc<Release>],
    at: DateTime<Utc>,
    limit: Limit,
) {
    let Ok((backend, profile, settings)) = plan.resolve(context) else {
        return;
    };
    let targets: Vec<BakeTarget> = all
        .iter()
        .filter_map(|r| {
            let completion = r.completion.as_ref()?;
            let duration = settings
                .bake
                .duration_for(&r.annotations)
                .unwrap_or(settings.bake.duration);
            (!duration.is_zero()).then(|| BakeTarget::of(r, completion, duration))
        })
        .collect();
    let (backend_ref, settings_ref) = (&backend, &settings);
    let read = futures::stream::iter(targets)
        .map(|t| async move {
            let figures = measure_bake(backend_ref, settings_ref, &t, at).await;
            (t.key, figures)
        })
        .buffered(4)
        .collect::<Vec<_>>();
    let Some(read) = limit.within(read).await else {
        return;
    };
    state.home.metrics_source = Some(MetricsSource {
        description: backend.describe(),
        profile,
        warning: backend.warning(),
        bake: settings.bake.clone(),
    });
    state.bakes.extend(read);
}

/// Attempts of a read that fails for a passing reason (connection refused,
/// 503), and the wait before the second (doubled each time): a server
/// that is restarting gets about two seconds, a script never waits long.
const READ_TRIES: u32 = 4;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(300);

/// Run `attempt`, trying again a few times when it fails for a passing
/// reason; the error says what was tried.
async fn patiently<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut delay = FIRST_RETRY_DELAY;
    let mut tries = 1;
    loop {
        let error = match attempt().await {
            Ok(done) => return Ok(done),
            Err(error) => error,
        };
        let Some(user) = error.downcast_ref::<UserError>().filter(|u| u.transient) else {
            return Err(error);
        };
        if tries == READ_TRIES {
            let mut user = user.clone();
            user.cause = format!(
                "{} (tried {tries} times in {:.1} s)",
                user.cause,
                started.elapsed().as_secs_f64()
            );
            return Err(user.into());
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
        tries += 1;
    }
}

/// The time `status` has in all (`--timeout`; `None`: no limit), counted
/// from its start.
#[derive(Debug, Clone, Copy)]
struct Limit {
    total: Option<Duration>,
    started: Instant,
}

impl Limit {
    fn left(&self) -> Option<Duration> {
        self.total.map(|t| t.saturating_sub(self.started.elapsed()))
    }

    /// `work`, or `None` when the deadline passes first.
    async fn within<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        match self.left() {
            Some(left) => tokio::time::timeout(left, work).await.ok(),
            None => Some(work.await),
        }
    }

    fn total_text(&self) -> String {
        let ms = self.total.unwrap_or_default().as_millis() as i64;
        crate::time::format_go(ms)
    }
}

/// Read every watched kind once and build the report. `read_only` reports
/// every action as unavailable, as the control room would. Everything
/// must be read within `deadline`: a cluster that does not answer in time
/// is an error naming it, metrics or databases that do not are reported.
/// With `name`, only that release (see [`StatusReport::named`]).
pub async fn report(
    options: &ConnectOptions,
    deadline: Option<Duration>,
    name: Option<&str>,
    read_only: bool,
    metrics: &MetricsPlan,
    databases: &Databases,
) -> Result<StatusReport> {
    let limit = Limit {
        total: deadline,
        started: Instant::now(),
    };
    let target = resolve(options).await?;
    let cluster_url = target.config.cluster_url.to_string();
    let server = Server {
        url: &cluster_url,
        context: &target.context,
        kubectl_flags: &target.kubectl_flags,
        request_timeout: options.request_timeout,
    };
    let silent = |doing: &str| server.silent(limit.total.unwrap_or_default(), "--timeout", doing);
    let (connection, objects) = limit
        .within(read_cluster(options, &server))
        .await
        .ok_or_else(|| silent("connecting and listing the releases"))??;
    let now = Utc::now();
    let mut state = State::new(now, read_only, Keymap::default());
    state.home.scope.user = connection.user.clone();
    state.home.cluster = crate::cluster::Catalog::new(objects);
    let velero = limit
        .within(read_velero(&connection))
        .await
        .ok_or_else(|| silent("listing Velero's backups"))?;
    let epoch = state.home.epoch;
    update(
        &mut state,
        Msg::Source {
            epoch,
            updates: velero,
        },
    );
    state.database_links = databases.links.clone();
    let database_limit = limit
        .left()
        .map_or(READ_TIMEOUT, |left| left.min(READ_TIMEOUT));
    let readings = futures::future::join_all(
        databases
            .configs
            .iter()
            .map(|db| crate::migrations::read(db, database_limit)),
    )
    .await;
    let backups = futures::future::join_all(databases.configs.iter().map(|db| async {
        let source = db.backups.as_ref()?;
        Some(crate::migrations::backups::read(source).await)
    }))
    .await;
    let prometheus = metrics.prometheus(Some(&connection.context));
    let freshness = futures::future::join_all(databases.configs.iter().map(|db| async {
        let source = db.freshness.as_ref()?;
        let read = crate::migrations::freshness::read(prometheus.as_ref(), source, now);
        let late = || Err("Prometheus did not answer within the deadline".to_string());
        Some(limit.within(read).await.unwrap_or_else(late))
    }))
    .await;
    for (((db, result), backups), freshness) in databases
        .configs
        .iter()
        .zip(readings)
        .zip(backups)
        .zip(freshness)
    {
        state.databases.insert(
            db.name.clone(),
            crate::app::state::DatabaseState::for_config(db),
        );
        update(
            &mut state,
            Msg::Database {
                name: db.name.clone(),
                result,
                at: now,
            },
        );
        if let Some(result) = backups {
            let name = db.name.clone();
            update(
                &mut state,
                Msg::Backups {
                    name,
                    result,
                    at: now,
                },
            );
        }
        if let Some(result) = freshness {
            let name = db.name.clone();
            update(
                &mut state,
                Msg::Freshness {
                    name,
                    result,
                    at: now,
                },
            );
        }
    }
    let unleash_problem = read_unleash(&mut state, metrics, &connection.context, &limit).await;
    rebuild_releases(&mut state);
    let mut all = state.releases.clone();
    if let Some(n) = name {
        all.retain(|r| r.key.name == n);
    }
    if !read_only {
        // One review per object and verb, as the API server decides: a
        // role may name the objects it allows.
        let keys: Vec<rbac::AccessKey> = all
            .iter()
            .flat_map(|r| [access_keys(&r.key), flag_access_keys(r)].concat())
            .collect();
        let client = &connection.client;
        let reviews = futures::stream::iter(keys)
            .map(|key| async move {
                let result = rbac::review(client, &key).await;
                (key, result)
            })
            .buffer_unordered(8)
            .collect::<Vec<_>>();
        let answers = limit
            .within(reviews)
            .await
            .ok_or_else(|| silent("asking what you may do"))?;
        for (key, result) in answers {
            update(
                &mut state,
                Msg::Access {
                    key,
                    result,
                    at: now,
                },
            );
        }
    }
    let (metrics_source, measured) =
        measure_all(metrics, &connection.context, &all, now, limit).await;
    state.home.scope.context = connection.context.clone();
    for (r, m) in all.iter().zip(&measured) {
        if let Some(m) = m {
            state.metrics.insert(r.key.clone(), m.clone());
        }
    }
    if metrics_source.is_ok() {
        bake_all(&mut state, metrics, &connection.context, &all, now, limit).await;
    }
    let alerts = crate::app::alerts::holding(&state)
        .into_iter()
        .filter(|h| name.is_none_or(|n| h.key.release.as_ref().is_some_and(|r| r.name == n)))
        .collect();
    let releases = all
        .iter()
        .zip(measured)
        .map(|(r, m)| release_status(r, &state, m))
        .collect();
    Ok(StatusReport {
        context: connection.context,
        namespace: connection.namespace,
        user: connection.user,
        read_at: now,
        metrics_problem: metrics_source.as_ref().err().cloned(),
        databases: state
            .databases
            .iter()
            .map(|(name, db)| {
                let reading = db.reading.as_ref();
                DatabaseStatus {
                    name: name.clone(),
                    error: db.error.clone(),
                    tools: reading.map(|r| r.tools.clone()).unwrap_or_default(),
                    blocked: reading.map(|r| r.blocked.clone()).unwrap_or_default(),
                    index_builds: reading.map(|r| r.index_builds.clone()).unwrap_or_default(),
                    tls: reading.and_then(|r| r.tls.clone()),
                    restore: db.backups.as_ref().map(RepositoryStatus::of),
                }
            })
            .collect(),
        metrics_source: metrics_source.ok(),
        unleash_problem,
        releases,
        alerts,
    })
}

/// Read `context`'s Unleash once, when the config names one, into `state`;
/// why it could not be read, if it could not.
async fn read_unleash(
    state: &mut State,
    plan: &MetricsPlan,
    context: &str,
    limit: &Limit,
) -> Option<String> {
    let section = plan.config.contexts.get(context)?.flags.unleash.as_ref()?;
    let result = match section.resolve().and_then(crate::unleash::Unleash::new) {
        Ok(unleash) => limit
            .within(crate::unleash::poll::read_flags(&unleash))
            .await
            .unwrap_or_else(|| Err("Unleash did not answer in time".into())),
        Err(e) => Err(e),
    };
    let problem = result.as_ref().err().cloned();
    let epoch = state.home.epoch;
    update(
        state,
        Msg::Unleash {
            epoch,
            source: String::new(),
            result,
            at: Utc::now(),
        },
    );
    problem
}

impl StatusReport {
    /// The report of `name`, which must be in it.
    pub fn named(self, name: Option<&str>) -> Result<StatusReport, UserError> {
        match name {
            Some(n) if self.releases.is_empty() => Err(no_release_named(
                n,
                self.namespace.as_deref(),
                &self.context,
            )),
            _ => Ok(self),
        }
    }
}

/// No release of any kind is named `name` in `namespace` (None: all).
pub(crate) fn no_release_named(name: &str, namespace: Option<&str>, context: &str) -> UserError {
    let scope = match namespace {
        Some(ns) => format!("namespace {ns}"),
        None => "any namespace".into(),
    };
    UserError::new(
        format!("no release named {name} in {scope} (context {context})"),
        "see the releases with: cutover status (-n NAMESPACE, or -A for all)",
    )
}

/// Connect and list every watched kind but events, each read tried again
/// briefly when the cluster is restarting or overloaded.
pub(crate) async fn read_cluster(
    options: &ConnectOptions,
    server: &Server<'_>,
) -> Result<(Connection, Objects)> {
    let connection = patiently(|| connect(options)).await?;
    let mut objects = Objects::default();
    for (kind, resource) in &connection.kinds {
        let source = resource.plural.as_str();
        match kind {
            // Velero's objects are in its own namespace: see `read_velero`.
            WatchedKind::Event
            | WatchedKind::VeleroBackup
            | WatchedKind::VeleroRestore
            | WatchedKind::VeleroSchedule => {}
            // Pods are kept as the watches keep them.
            WatchedKind::Pod => {
                let pods = list::<PodRead>(&connection, resource, server).await?;
                let kept = pods.into_iter().map(|p| Arc::new(p.into_stored()));
                objects.set_pods(source, kept.collect());
            }
            _ => {
                let items = list::<DynamicObject>(&connection, resource, server).await?;
                objects.set(source, *kind, items.into_iter().map(Arc::new).collect());
            }
        }
    }
    Ok((connection, objects))
}

/// Velero's objects in its namespace, as its watches would report them:
/// a kind that cannot be listed (403) is reported failing, not fatal.
async fn read_velero(connection: &Connection) -> Vec<SourceUpdate> {
    let mut updates = Vec::new();
    for kind in crate::cluster::velero::KINDS {
        let Some(resource) = connection.kinds.get(&kind) else {
            continue;
        };
        let api: Api<DynamicObject> = Api::namespaced_with(
            connection.client.clone(),
            crate::cluster::velero::NAMESPACE,
            resource,
        );
        let source = format!("{}{}", crate::cluster::velero::SOURCES, kind.plural());
        let at = Utc::now();
        updates.push(match api.list(&ListParams::default()).await {
            Ok(list) => SourceUpdate::Objects {
                source,
                kind,
                objects: list.items.into_iter().map(Arc::new).collect(),
                at,
            },
            Err(e) => SourceUpdate::Health {
                source,
                error: Some(crate::cluster::reconnect::cause(
                    &kube::runtime::watcher::Error::InitialListFailed(e),
                )),
                at,
            },
        });
    }
    updates
}

/// Every object of `resource` in the connection's scope.
async fn list<K: Kept>(
    connection: &Connection,
    resource: &ApiResource,
    server: &Server<'_>,
) -> Result<Vec<K>> {
    let api: Api<K> = match &connection.namespace {
        Some(ns) => Api::namespaced_with(connection.client.clone(), ns, resource),
        None => Api::all_with(connection.client.clone(), resource),
    };
    let doing = format!("listing {}", resource.plural);
    let list = patiently(|| async {
        api.list(&ListParams::default())
            .await
            .map_err(|e| request_failed(server, &doing, &e).into())
    })
    .await?;
    Ok(list.items)
}
