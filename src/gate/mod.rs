//! `cutover gate NAME`: a release step for pipelines. It watches one
//! release as the control room does (the same watches, the same update
//! step, the same metrics task) until the release reaches the target,
//! fails, or cutover's verdict says Fail, or the timeout passes; it prints
//! a line per change and answers with its exit code. What decides the end
//! is [`crate::model::gate::judge`]; this is the loop around it.

mod abort;
pub mod command;
mod fleet;
mod line;

use crate::app::keymap::Keymap;
use crate::app::run::{DATABASE_REFRESH, MetricsPlan, database_sinks, scope_of};
use crate::app::state::View;
use crate::app::{Effect, Msg, State, update};
use crate::audit::Audit;
use crate::cluster::Catalog;
use crate::cluster::connect::{ConnectOptions, Connection, Server, resolve};
use crate::cluster::mutate::Mutator;
use crate::cluster::rbac;
use crate::cluster::watch::{Sink, Sources};
use crate::fleet::ContextPlan;
use crate::metrics::source::MetricsTask;
use crate::migrations::task::DatabasesTask;
use crate::model::gate::{
    BakeSeen, GateEnd, GateFacts, RequiredVerdict, Until, VerdictSeen, judge,
};
use crate::model::{Action, ActionOutcome, ReleaseKey};
use crate::status::{Databases, no_release_named, read_cluster, release_status};
use crate::user_error::UserError;
use abort::AbortResult;
use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr};
pub use line::Paint;
use line::{Ending, JsonLine, Observed, compared_verdict};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// The exit codes, as `--help` and the README list them.
pub const EXIT_REACHED: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_TIMED_OUT: u8 = 2;
pub const EXIT_CANNOT_READ: u8 = crate::user_error::EXIT_CANNOT_READ;
pub const EXIT_VERDICT: u8 = 4;

/// The first read (connecting, listing, finding the release) gets this
/// long at most, or less when `--timeout` is shorter.
const FIRST_READ: Duration = Duration::from_secs(15);

pub struct GateOptions {
    pub name: String,
    /// None: no limit.
    pub timeout: Option<Duration>,
    pub until: Until,
    pub required: RequiredVerdict,
    pub abort_on_fail: bool,
    /// No Mutator is built: `--read-only`, or the config file's.
    pub read_only: bool,
    pub audit_path: PathBuf,
    pub json: bool,
    pub paint: Paint,
    /// The text lines' characters, as the terminal's locale can show them.
    pub glyphs: crate::ui::glyphs::Glyphs,
    pub metrics: MetricsPlan,
    pub databases: Databases,
}

/// A context of a fleet's gate, named on each of its lines.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub context: String,
    pub alias: Option<String>,
}

impl Cluster {
    /// The short name: the alias, else the context's name.
    pub fn label(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.context)
    }
}

/// Watch until the gate ends in each of `contexts` and say how, as an exit
/// code: in a fleet (`fleet`), each context is judged on its own and the
/// worst of their codes is the gate's. An error is a release that cannot
/// be read (exit 3, said by the caller).
pub async fn run(options: GateOptions, contexts: Vec<ContextPlan>, fleet: bool) -> Result<u8> {
    let started = Instant::now();
    if options.abort_on_fail && options.read_only {
        eprintln!(
            "warning: --abort-on-fail cannot act in a read-only session (--read-only, or read_only in the config file): a Fail verdict will be reported, not aborted"
        );
    }
    // Every Mutator of a gate writes here: asked for, and not read-only.
    let audit = if options.abort_on_fail && !options.read_only {
        let audit = Audit::open(&options.audit_path)
            .wrap_err_with(|| format!("opening the audit file {}", options.audit_path.display()))?;
        Some(Arc::new(audit))
    } else {
        None
    };
    if fleet {
        return Ok(fleet::run(&options, &contexts, audit.as_ref(), started).await);
    }
    let Some(context) = contexts.first() else {
        return Ok(EXIT_CANNOT_READ);
    };
    watch_one(&options, &context.connect, None, audit, started).await
}

/// The gate in one context, from `started`: `cluster` names it in a fleet.
async fn watch_one(
    options: &GateOptions,
    connect: &ConnectOptions,
    cluster: Option<&Cluster>,
    audit: Option<Arc<Audit>>,
    started: Instant,
) -> Result<u8> {
    let deadline = options.timeout.map(|t| started + t);
    let (connection, key) = find(options, connect).await?;
    // This cluster's own Mutator: each writes to the cluster it was built on.
    let mutator = audit.map(|audit| Mutator::new(&connection, audit));
    let client = connection.client.clone();
    let mut state = State::new(Utc::now(), options.read_only, Keymap::default());
    // The one release, as if open in the detail: its permissions are
    // asked as the control room asks them for the release on screen.
    state.view = View::Detail(key.clone());
    state.database_links = options.databases.links.clone();
    for db in &options.databases.configs {
        state.databases.insert(
            db.name.clone(),
            crate::app::state::DatabaseState::for_config(db),
        );
    }
    let (tx, mut rx) = unbounded_channel::<Msg>();
    let live = start(connection, &state, options, &tx);
    let mut watch = Watch {
        key,
        cluster: cluster.cloned(),
        first: true,
        last: None,
        verdict: None,
    };
    let ending = loop {
        let first = tokio::select! {
            msg = rx.recv() => msg,
            () = sleep_until(deadline) => None,
        };
        let Some(first) = first else {
            let why = watch.timed_out(&state, options, started);
            // Waited through an outage that has not ended: not a slow
            // release, a cluster that cannot be read.
            break match state.home.sources.outage(Utc::now()) {
                Some(outage) => Ending::Unreadable(format!(
                    "{why}; the watches have failed ({}), {}",
                    outage.error,
                    outage.data_text()
                )),
                None => Ending::TimedOut(why),
            };
        };
        let mut msg = Some(first);
        while let Some(m) = msg {
            let outcome = update(&mut state, m);
            live.run(outcome.effects, &client, &tx);
            msg = rx.try_recv().ok();
        }
        // Never judged on a partial list.
        if state
            .home
            .sources
            .releases_loading(&state.home.scope.missing_kinds)
        {
            continue;
        }
        if let Some(end) = watch.observe(&state, options)? {
            break Ending::Judged(end);
        }
    };
    watch.print_end(&state, options, &ending)?;
    let code = match &ending {
        Ending::TimedOut(_) => EXIT_TIMED_OUT,
        Ending::Unreadable(_) => EXIT_CANNOT_READ,
        Ending::Judged(GateEnd::Reached) => EXIT_REACHED,
        Ending::Judged(GateEnd::Failed(_)) => EXIT_FAILED,
        Ending::Judged(GateEnd::VerdictNotHeld(_)) => EXIT_VERDICT,
        Ending::Judged(GateEnd::VerdictFailed(_)) => {
            if options.abort_on_fail {
                let result = abort::act(
                    &mut state,
                    &watch.key,
                    Action::Abort,
                    mutator.as_ref(),
                    &client,
                )
                .await;
                say_abort(&watch.key, cluster, Action::Abort, &result);
            }
            EXIT_VERDICT
        }
        // After the release finished, the way back is the rollback (undo),
        // as the control room recommends on a breach.
        Ending::Judged(GateEnd::SloBreached(_)) => {
            if options.abort_on_fail {
                let undo = Action::Undo(None);
                let result =
                    abort::act(&mut state, &watch.key, undo, mutator.as_ref(), &client).await;
                say_abort(&watch.key, cluster, undo, &result);
            }
            EXIT_VERDICT
        }
    };
    drop(live);
    Ok(code)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Connect, list, and find the release named: a Rollout before a Canary
/// before a Deployment of the same name (a Flagger canary's Deployment is
/// its own).
async fn find(options: &GateOptions, connect: &ConnectOptions) -> Result<(Connection, ReleaseKey)> {
    let target = resolve(connect).await?;
    let url = target.config.cluster_url.to_string();
    let server = Server {
        url: &url,
        context: &target.context,
        kubectl_flags: &target.kubectl_flags,
        request_timeout: connect.request_timeout,
    };
    let limit = options.timeout.map_or(FIRST_READ, |t| t.min(FIRST_READ));
    let (connection, objects) = tokio::time::timeout(limit, read_cluster(connect, &server))
        .await
        .map_err(|_| server.silent(limit, "--timeout", "connecting and listing the releases"))??;
    let mut keys: Vec<ReleaseKey> = Catalog::new(objects)
        .releases()
        .filter(|r| r.key.name == options.name)
        .map(|r| r.key.clone())
        .collect();
    keys.sort_by(|a, b| (a.kind, &a.namespace).cmp(&(b.kind, &b.namespace)));
    let mut namespaces: Vec<&str> = keys.iter().map(|k| k.namespace.as_str()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    if namespaces.len() > 1 {
        return Err(UserError::new(
            format!(
                "{} names a release in more than one namespace: {}",
                options.name,
                namespaces.join(", ")
            ),
            "choose one with -n NAMESPACE",
        )
        .into());
    }
    match keys.into_iter().next() {
        Some(key) => Ok((connection, key)),
        None => {
            let namespace = connection.namespace.as_deref();
            Err(no_release_named(&options.name, namespace, &connection.context).into())
        }
    }
}

/// The watches, metrics and databases of the gate; dropping it stops them.
struct Live {
    _sources: Sources,
    metrics: Option<MetricsTask>,
    _databases: Option<DatabasesTask>,
}

fn start(
    connection: Connection,
    state: &State,
    options: &GateOptions,
    tx: &UnboundedSender<Msg>,
) -> Live {
    let epoch = state.epoch;
    let at = Utc::now();
    let context = connection.context.clone();
    let _ = tx.send(Msg::Connected {
        epoch,
        scope: scope_of(&connection),
        at,
    });
    let sink_tx = tx.clone();
    let sink: Sink = Arc::new(move |update| {
        let _ = sink_tx.send(Msg::Source {
            epoch,
            updates: vec![update],
        });
    });
    let sources = Sources::start(connection, sink);
    let (metrics, source) = options.metrics.start(&context, epoch, tx);
    let _ = tx.send(Msg::MetricsSource { epoch, source, at });
    let database_sink = database_sinks(tx);
    let configs = options.databases.configs.clone();
    let prometheus = options.metrics.prometheus(Some(&context));
    Live {
        _sources: sources,
        metrics,
        _databases: (!configs.is_empty())
            .then(|| DatabasesTask::spawn(configs, DATABASE_REFRESH, database_sink, prometheus)),
    }
}

impl Live {
    /// The effects a watching session has: what to measure, and the
    /// permission reviews the release's actions need (for `actions` in
    /// the JSON lines). No key is pressed, so nothing else comes.
    fn run(&self, effects: Vec<Effect>, client: &kube::Client, tx: &UnboundedSender<Msg>) {
        for effect in effects {
            match effect {
                Effect::MeasureTargets(targets) => {
                    if let Some(task) = &self.metrics {
                        task.set_targets(targets);
                    }
                }
                Effect::BakeTargets(bakes) => {
                    if let Some(task) = &self.metrics {
                        task.set_bakes(bakes);
                    }
                }
                Effect::CheckAccess(key) => {
                    let (client, tx) = (client.clone(), tx.clone());
                    tokio::spawn(async move {
                        let result = rbac::review(&client, &key).await;
                        let _ = tx.send(Msg::Access {
                            key,
                            result,
                            at: Utc::now(),
                        });
                    });
                }
                _ => {}
            }
        }
    }
}

/// What the gate has seen of its release.
struct Watch {
    key: ReleaseKey,
    /// In a fleet, the context watched: named on each line.
    cluster: Option<Cluster>,
    first: bool,
    last: Option<Observed>,
    /// The last verdict with both versions compared: after a promotion
    /// there is no canary left to compare, and the verdict it had counts.
    verdict: Option<VerdictSeen>,
}

impl Watch {
    /// Print what changed and judge.
    fn observe(&mut self, state: &State, options: &GateOptions) -> Result<Option<GateEnd>> {
        let Some(release) = state.release(&self.key) else {
            let scope = &state.home.scope;
            let gone = no_release_named(&self.key.name, scope.namespace.as_deref(), &scope.context);
            return Err(UserError {
                cannot_read: true,
                ..gone
            }
            .into());
        };
        let metrics = state.metrics.get(&self.key);
        if let Some(m) = metrics.filter(|m| m.versions.is_some()) {
            self.verdict = Some(VerdictSeen {
                verdict: m.verdict.verdict,
                reasons: m.verdict.reasons.clone(),
            });
        }
        let bake = state.bake_of(release);
        let observed = Observed::of(release, metrics, bake.as_ref());
        if self.last.as_ref() != Some(&observed) {
            let event = if self.first { "observed" } else { "changed" };
            self.first = false;
            self.print(state, options, event, None, &observed)?;
            self.last = Some(observed);
        }
        let measuring =
            metrics.is_none() && state.metrics_targets.iter().any(|t| t.key == self.key);
        Ok(judge(
            &GateFacts::of(release, BakeSeen::of(bake.as_ref())),
            self.verdict.as_ref(),
            measuring,
            options.until,
            options.required,
        ))
    }

    fn print(
        &self,
        state: &State,
        options: &GateOptions,
        event: &'static str,
        detail: Option<String>,
        observed: &Observed,
    ) -> Result<()> {
        let Some(release) = state.release(&self.key) else {
            return Ok(());
        };
        let at = Utc::now();
        let text = if options.json {
            let metrics = state.metrics.get(&self.key).cloned();
            let status = release_status(release, state, metrics);
            JsonLine {
                event,
                at: line::json_time(at),
                detail,
                cluster: self.cluster.as_ref().map(|c| c.context.as_str()),
                alias: self.cluster.as_ref().and_then(|c| c.alias.as_deref()),
                release: &status,
            }
            .text()?
        } else {
            let text = line::text(at, release, observed, options.paint);
            options.glyphs.text(&self.prefixed(&text))
        };
        crate::cli::write_out(&format!("{text}\n"))?;
        Ok(())
    }

    fn print_end(&self, state: &State, options: &GateOptions, ending: &Ending) -> Result<()> {
        let lines = ending.lines(&self.key.name, options.until);
        if options.json {
            let observed = self.last.clone().or_else(|| {
                let release = state.release(&self.key)?;
                let bake = state.bake_of(release);
                Some(Observed::of(
                    release,
                    state.metrics.get(&self.key),
                    bake.as_ref(),
                ))
            });
            if let Some(observed) = observed {
                let detail = lines.iter().map(|l| l.trim()).collect::<Vec<_>>();
                self.print(
                    state,
                    options,
                    ending.event(),
                    Some(detail.join("; ")),
                    &observed,
                )?;
            }
            return Ok(());
        }
        let text: String = lines
            .iter()
            .map(|l| format!("{}\n", self.prefixed(l)))
            .collect();
        crate::cli::write_out(&options.glyphs.text(&text))?;
        Ok(())
    }

    /// `eu: LINE` in a fleet, where the lines of every cluster mingle.
    fn prefixed(&self, line: &str) -> String {
        match &self.cluster {
            Some(c) => format!("{}: {line}", c.label()),
            None => line.to_string(),
        }
    }

    /// What a timeout says: what the release was waited for, how long,
    /// and how it was last seen.
    fn timed_out(&self, state: &State, options: &GateOptions, started: Instant) -> String {
        // The limit as given (`5m`), not the instant it was noticed.
        let limit = options.timeout.unwrap_or_else(|| started.elapsed());
        let waited = crate::time::format_go(limit.as_millis() as i64);
        let last = match (&self.last, state.release(&self.key)) {
            (Some(seen), Some(r)) => {
                let mut words = format!("last seen {}", seen.phase);
                if let Some(step) = &seen.step {
                    words.push_str(&format!(" at step {step}"));
                }
                if !r.message.is_empty() {
                    words.push_str(&format!(" ({})", r.message));
                }
                let verdict = compared_verdict(state.metrics.get(&self.key));
                words.push_str(&format!(", verdict {}", verdict.map_or("-", |v| v.word())));
                words
            }
            _ => "not seen yet".into(),
        };
        format!(
            "{} is not {} after {waited}: {last}",
            self.key.name,
            options.until.word()
        )
    }
}

/// The abort's (or undo's) outcome on stderr, kubectl-like; in a fleet,
/// each line names its cluster.
fn say_abort(key: &ReleaseKey, cluster: Option<&Cluster>, action: Action, result: &AbortResult) {
    let word = action.word();
    let not = match action {
        Action::Abort => "not aborted",
        _ => "not rolled back",
    };
    let mut text = match result {
        AbortResult::NotSent { why, fix } if fix.is_empty() => {
            format!("error: {not}, nothing sent: {why}\n")
        }
        AbortResult::NotSent { why, fix } => {
            format!("error: {not}, nothing sent: {why}\n{fix}\n")
        }
        AbortResult::Sent(ActionOutcome::Done(text)) => format!("{word} {}: {text}\n", key.name),
        AbortResult::Sent(outcome) => format!("error: {word} {}: {}\n", key.name, outcome.text()),
    };
    if let Some(c) = cluster {
        text = text
            .lines()
            .map(|l| format!("{}: {l}\n", c.label()))
            .collect();
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
}
