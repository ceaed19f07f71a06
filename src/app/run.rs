//! The main loop: terminal keys and cluster sources become messages, the
//! update step turns them into state and effects, effect runners do the
//! I/O, and the screen is redrawn only when something visible changed:
//! new data, or the moment an age or countdown on screen reads differently.

use super::alerts::{self, sinks::AlertSinks};
use super::board::{Board, BoardSettings};
use super::frames::{Alarm, Drain, deadline, take_burst};
use super::keymap::{Chord, Keymap};
use super::member::Member;
use super::state::{ConfigProblems, MetricsSource, Scope, State, TerminalLoss};
use super::terminal::{self, Screen};
use super::update::{Effect, Msg, ScopeChange, update};
use crate::audit::Audit;
use crate::cluster::connect::{ConnectOptions, Connection, connect, requested_scope};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::mutate::Mutator;
use crate::cluster::rbac;
use crate::cluster::watch::{Sink, Sources};
use crate::config::Config;
use crate::metrics::judge::MetricsSettings;
use crate::metrics::profiles::Profile;
use crate::metrics::prometheus::Prometheus;
use crate::metrics::source::{Backend, BakeSink, MetricsSink, MetricsTask, TrafficWindowSource};
use crate::migrations::DatabaseConfig;
use crate::migrations::task::{DatabaseSinks, DatabasesTask};
use crate::model::ActionOutcome;
use crate::model::migration::DatabaseLink;
use crate::signals::{QuitSignal, QuitSignals};
use crate::ui::clock::next_change;
use crate::ui::theme::Themes;
use crate::unleash::poll::UnleashTask;
use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr, eyre};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

pub struct Options {
    /// The contexts shown, each with its CLUSTER name (empty when one is
    /// shown): one connection, its watches and its Mutator each.
    pub contexts: Vec<(ConnectOptions, String)>,
    pub read_only: bool,
    /// The board of `cutover watch` instead of the list and the detail.
    pub board: Option<BoardSettings>,
    pub simulated: bool,
    /// The theme of each context: the screen follows a switch of context.
    pub themes: Themes,
    pub keymap: Keymap,
    pub warnings: Vec<String>,
    pub config_problems: ConfigProblems,
    /// Where actions are audited; unused in read-only mode.
    pub audit_path: std::path::PathBuf,
    pub metrics: MetricsPlan,
    /// Databases to read migrations from, and which releases use them.
    pub databases: Vec<DatabaseConfig>,
    pub database_links: Vec<DatabaseLink>,
}

/// Between two readings of the databases.
pub(crate) const DATABASE_REFRESH: Duration = Duration::from_secs(10);

/// Sinks that hand the databases task's readings to the app as messages.
pub(crate) fn database_sinks(tx: &UnboundedSender<Msg>) -> DatabaseSinks {
    let (reading_tx, backups_tx, freshness_tx) = (tx.clone(), tx.clone(), tx.clone());
    DatabaseSinks {
        reading: Arc::new(move |name, result, at| {
            let _ = reading_tx.send(Msg::Database { name, result, at });
        }),
        backups: Arc::new(move |name, result, at| {
            let _ = backups_tx.send(Msg::Backups { name, result, at });
        }),
        freshness: Arc::new(move |name, result, at| {
            let _ = freshness_tx.send(Msg::Freshness { name, result, at });
        }),
    }
}

/// Each simulated cluster's traffic, counted in this process (the demo),
/// by the name of the context that reaches it.
pub type InProcessTraffic = Vec<(String, Arc<dyn TrafficWindowSource>)>;

/// How the metrics source of a context is chosen.
pub struct MetricsPlan {
    pub config: Config,
    /// `--prometheus` or `CUTOVER_PROMETHEUS_URL`: over every context's URL.
    pub prometheus_url: Option<String>,
    /// Traffic counted in this process (the demo), by context: used when
    /// no Prometheus is set.
    pub in_process: InProcessTraffic,
}

impl MetricsPlan {
    /// The backend and settings of `context`, or why it has none.
    pub fn resolve(&self, context: &str) -> Result<(Backend, Profile, MetricsSettings), String> {
        let resolved = self
            .config
            .metrics_for(context, self.prometheus_url.as_deref())?;
        let in_process = self
            .in_process
            .iter()
            .find(|(name, _)| name == context)
            .map(|(_, source)| source);
        let backend = match (resolved.prometheus, in_process) {
            (Some(cfg), _) => Backend::Prometheus(Prometheus::new(cfg)?),
            (None, Some(source)) => Backend::InProcess(source.clone()),
            (None, None) => {
                return Err(format!(
                    "no Prometheus for context {context}: set [metrics.prometheus] url (or [contexts.{context}.metrics.prometheus]) in the config file, or use --prometheus URL"
                ));
            }
        };
        Ok((backend, resolved.profile, resolved.settings))
    }

    /// The Prometheus of `context` (the config's top level one while the
    /// context is not known yet), for the queries beside the releases'
    /// (backup freshness); None when it has none.
    pub fn prometheus(&self, context: Option<&str>) -> Option<Prometheus> {
        match self.resolve(context.unwrap_or_default()) {
            Ok((Backend::Prometheus(p), ..)) => Some(p),
            _ => None,
        }
    }

    /// Start measuring for `context`: the task, and what to tell the app.
    pub(crate) fn start(
        &self,
        context: &str,
        epoch: u64,
        tx: &UnboundedSender<Msg>,
    ) -> (Option<MetricsTask>, Result<MetricsSource, String>) {
        match self.resolve(context) {
            Ok((backend, profile, settings)) => {
                let source = MetricsSource {
                    description: backend.describe(),
                    profile,
                    warning: backend.warning(),
                    bake: settings.bake.clone(),
                };
                let (metrics_tx, bake_tx) = (tx.clone(), tx.clone());
                let sink: MetricsSink = Arc::new(move |key, metrics| {
                    let _ = metrics_tx.send(Msg::Metrics {
                        epoch,
                        key,
                        metrics: Box::new(metrics),
                        at: Utc::now(),
                    });
                });
                let bake_sink: BakeSink = Arc::new(move |key, figures| {
                    let _ = bake_tx.send(Msg::BakeFigures {
                        epoch,
                        key,
                        figures: Box::new(figures),
                        at: Utc::now(),
                    });
                });
                let task =
                    MetricsTask::spawn_with_bakes(backend, Arc::new(settings), sink, bake_sink);
                (Some(task), Ok(source))
            }
            Err(why) => (None, Err(why)),
        }
    }
}

/// The live connection: its watches, its metrics task and, unless
/// read-only, the Mutator.
struct Live {
    sources: Sources,
    metrics: Option<MetricsTask>,
    mutator: Option<Arc<Mutator>>,
    /// Reads the context's Unleash, when it has one.
    _unleash: Option<UnleashTask>,
}

/// One context's connection as the runner keeps it: what it connects
/// with, and what it runs once connected.
struct Link {
    /// The CLUSTER name its releases' keys carry.
    cluster: String,
    options: ConnectOptions,
    live: Arc<Mutex<Option<Live>>>,
    events_for: Arc<Mutex<Option<crate::model::ReleaseKey>>>,
    connecting: Option<tokio::task::JoinHandle<()>>,
}

impl Link {
    fn live(&self) -> std::sync::MutexGuard<'_, Option<Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs effects: owns the connections and spawns the I/O tasks. Each
/// context's tasks are its own: one down or slow never holds the others.
struct Runner {
    tx: UnboundedSender<Msg>,
    read_only: bool,
    /// The board shows every release's outcomes: their Events are watched.
    board: bool,
    audit: Option<Arc<Audit>>,
    /// The home context first, as `State::members`.
    links: Vec<Link>,
    metrics: Arc<MetricsPlan>,
    /// To the main loop, which owns the terminal.
    suspend: UnboundedSender<()>,
    alerts: AlertSinks,
}

pub(crate) fn scope_of(c: &Connection) -> Scope {
    let served: Vec<WatchedKind> = c.kinds.keys().copied().collect();
    Scope {
        context: c.context.clone(),
        namespace: c.namespace.clone(),
        user: c.user.clone(),
        contexts: c.contexts.clone(),
        cluster_url: c.cluster_url.clone(),
        missing_kinds: WatchedKind::ALL
            .into_iter()
            .filter(|k| {
                !served.contains(k) && matches!(k, WatchedKind::Rollout | WatchedKind::Canary)
            })
            .map(|k| k.kind().to_string())
            .collect(),
    }
}

fn watch_events(live: &mut Live, key: Option<&crate::model::ReleaseKey>) {
    live.sources
        .watch_events_for(key.map(|k| (k.kind.word(), k.namespace.as_str(), k.name.as_str())));
}

impl Runner {
    /// Connect the context of `links[index]`: its messages carry `epoch`.
    fn connect(&mut self, index: usize, epoch: u64) {
        let link = &mut self.links[index];
        if let Some(task) = link.connecting.take() {
            task.abort();
        }
        *link.live() = None;
        let tx = self.tx.clone();
        let options = link.options.clone();
        let live = link.live.clone();
        let events_for = link.events_for.clone();
        let audit = self.audit.clone();
        let read_only = self.read_only;
        let board = self.board;
        let plan = self.metrics.clone();
        let (context, namespace) = requested_scope(&options);
        let _ = tx.send(Msg::Connecting {
            epoch,
            context,
            namespace,
            at: Utc::now(),
        });
        self.links[index].connecting = Some(tokio::spawn(async move {
            let mut delay = Duration::from_secs(1);
            loop {
                match connect(&options).await {
                    Ok(connection) => {
                        let scope = scope_of(&connection);
                        let sink_tx = tx.clone();
                        let sink: Sink = Arc::new(move |update| {
                            let _ = sink_tx.send(Msg::Source {
                                epoch,
                                updates: vec![update],
                            });
                        });
                        let (unleash_task, unleash_source) = super::flag_source::start(
                            &plan.config,
                            &connection.context,
                            epoch,
                            &tx,
                        )
                        .unzip();
                        // The only place a Mutator is built: never in read-only mode.
                        let mutator = match (&audit, read_only) {
                            (Some(audit), false) => Some(Arc::new(
                                Mutator::new(&connection, audit.clone())
                                    .with_unleash(unleash_source),
                            )),
                            _ => None,
                        };
                        let (metrics, metrics_source) = plan.start(&connection.context, epoch, &tx);
                        let mut new_live = Live {
                            sources: Sources::start(connection, sink),
                            metrics,
                            mutator,
                            _unleash: unleash_task,
                        };
                        if board {
                            new_live.sources.watch_release_events();
                        }
                        let key = events_for.lock().unwrap_or_else(|p| p.into_inner()).clone();
                        watch_events(&mut new_live, key.as_ref());
                        *live.lock().unwrap_or_else(|p| p.into_inner()) = Some(new_live);
                        // After the task is reachable: the app answers with its targets.
                        let _ = tx.send(Msg::MetricsSource {
                            epoch,
                            source: metrics_source,
                            at: Utc::now(),
                        });
                        let _ = tx.send(Msg::Connected {
                            epoch,
                            scope,
                            at: Utc::now(),
                        });
                        return;
                    }
                    Err(e) => {
                        tracing::warn!("connecting: {e:#}");
                        let _ = tx.send(Msg::ConnectFailed {
                            epoch,
                            error: format!("{e:#}"),
                            at: Utc::now(),
                        });
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(crate::cluster::reconnect::MAX_DELAY);
                    }
                }
            }
        }));
    }

    /// The link of the cluster a release was read from.
    fn link_of(&self, cluster: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.cluster == cluster)
    }

    /// The Mutator of `cluster`'s connection: none in read-only mode, and
    /// none of another cluster's.
    fn mutator(&self, cluster: &str) -> Option<Arc<Mutator>> {
        self.link_of(cluster)?
            .live()
            .as_ref()
            .and_then(|l| l.mutator.clone())
    }

    fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Reconnect { epoch, change } => {
                // Only one context shown is switched (a fleet's are fixed).
                let home = &mut self.links[0];
                match change {
                    ScopeChange::Namespace(ns) => {
                        home.options.all_namespaces = ns.is_none();
                        home.options.namespace = ns;
                    }
                    ScopeChange::Context(ctx) => {
                        home.options.context = Some(ctx);
                        home.options.namespace = None;
                        home.options.all_namespaces = false;
                    }
                }
                *home.events_for.lock().unwrap_or_else(|p| p.into_inner()) = None;
                self.connect(0, epoch);
            }
            Effect::WatchEvents(key) => {
                for link in &self.links {
                    let mine = key.clone().filter(|k| k.cluster == link.cluster);
                    *link.events_for.lock().unwrap_or_else(|p| p.into_inner()) = mine.clone();
                    if let Some(live) = link.live().as_mut() {
                        watch_events(live, mine.as_ref());
                    }
                }
            }
            Effect::MeasureTargets(targets) => {
                for link in &self.links {
                    if let Some(task) = link.live().as_ref().and_then(|l| l.metrics.as_ref()) {
                        let mine = targets.iter().filter(|t| t.key.cluster == link.cluster);
                        task.set_targets(mine.cloned().collect());
                    }
                }
            }
            Effect::BakeTargets(bakes) => {
                for link in &self.links {
                    if let Some(task) = link.live().as_ref().and_then(|l| l.metrics.as_ref()) {
                        let mine = bakes.iter().filter(|t| t.key.cluster == link.cluster);
                        task.set_bakes(mine.cloned().collect());
                    }
                }
            }
            Effect::CheckAccess(key) => {
                let client = self.link_of(&key.cluster).and_then(|l| {
                    l.live()
                        .as_ref()
                        .map(|l| l.sources.connection().client.clone())
                });
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = match client {
                        Some(c) => rbac::review(&c, &key).await,
                        None => Err("not connected".into()),
                    };
                    let _ = tx.send(Msg::Access {
                        key,
                        result,
                        at: Utc::now(),
                    });
                });
            }
            Effect::Alert(alert) => self.alerts.send(&alert),
            Effect::Suspend => {
                let _ = self.suspend.send(());
            }
            Effect::AuditRefusal { request, reason } => {
                if let Some(m) = self.mutator(&request.key.cluster) {
                    tokio::spawn(async move { m.record_refusal(&request, reason).await });
                }
            }
            Effect::Act(request) => {
                let mutator = self.mutator(&request.key.cluster);
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let outcome = match mutator {
                        Some(m) => m.execute(&request).await,
                        None => {
                            ActionOutcome::Failed("read-only or not connected: nothing sent".into())
                        }
                    };
                    let _ = tx.send(Msg::ActionDone {
                        id: request.id,
                        outcome,
                        at: Utc::now(),
                    });
                });
            }
        }
    }
}

async fn read_terminal(tx: UnboundedSender<Msg>) {
    let mut events = EventStream::new();
    let reason = loop {
        let at = Utc::now();
        let msg = match events.next().await {
            Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => Msg::Key {
                chord: Chord::from_event(&k),
                at,
            },
            Some(Ok(TermEvent::Resize(..))) => Msg::Resize { at },
            Some(Ok(_)) => continue,
            Some(Err(e)) => break format!("the terminal cannot be read: {e}"),
            None => break "the terminal's input ended".to_string(),
        };
        if tx.send(msg).is_err() {
            return;
        }
    };
    lose_terminal(&tx, TerminalLoss::Unreadable(reason));
}

/// On a thread of its own: the terminal hanging up ends the program.
fn watch_for_hang_up(tx: UnboundedSender<Msg>) {
    std::thread::spawn(move || match terminal::wait_for_hang_up() {
        Ok(()) => lose_terminal(&tx, TerminalLoss::HungUp),
        Err(e) => tracing::warn!("cannot watch the terminal for a hang-up: {e}"),
    });
}

fn lose_terminal(tx: &UnboundedSender<Msg>, loss: TerminalLoss) {
    let _ = tx.send(Msg::TerminalLost {
        loss,
        at: Utc::now(),
    });
}

/// The job-control signals: SIGTSTP (`kill -TSTP`; Ctrl-Z itself arrives
/// as a key in raw mode) and SIGCONT (`fg` after any stop).
struct JobSignals {
    stop: Signal,
    cont: Signal,
}

impl JobSignals {
    fn new() -> Result<JobSignals> {
        Ok(JobSignals {
            stop: signal(SignalKind::from_raw(libc::SIGTSTP)).wrap_err("SIGTSTP")?,
            cont: signal(SignalKind::from_raw(libc::SIGCONT)).wrap_err("SIGCONT")?,
        })
    }
}

/// Run the control room until the user quits or a signal arrives, and say
/// which signal, if one did. The terminal is restored on every exit path,
/// panics included.
pub async fn run(options: Options) -> Result<Option<QuitSignal>> {
    let audit = if options.read_only {
        None
    } else {
        Some(Arc::new(Audit::open(&options.audit_path).wrap_err_with(
            || format!("opening the audit file {}", options.audit_path.display()),
        )?))
    };
    let (tx, mut rx) = unbounded_channel::<Msg>();
    let (suspend_tx, mut suspend_rx) = unbounded_channel::<()>();
    let mut state = State::new(Utc::now(), options.read_only, options.keymap);
    // Drawn before any message arrives: where it connects to, already.
    for (i, (connect, cluster)) in options.contexts.iter().enumerate() {
        let epoch = i as u64;
        let mut member = Member::new(cluster, epoch, state.now);
        let (context, namespace) = requested_scope(connect);
        member.scope.aim(context, namespace);
        state.epoch = epoch;
        match i {
            0 => state.home = member,
            _ => state.more.push(member),
        }
    }
    state.simulated = options.simulated;
    state.board = options
        .board
        .map(|settings| Board::new(settings, state.now));
    state.job_control = terminal::job_control();
    state.warnings = options.warnings;
    state.config_problems = options.config_problems;
    state.database_links = options.database_links;
    state.typed_contexts = options.metrics.config.typed_contexts();
    state.alerts.set_rules(&options.metrics.config);
    let alert_sinks = AlertSinks::new(
        Arc::new(options.metrics.config.clone()),
        options.board.is_some(),
        tx.clone(),
    );
    for db in &options.databases {
        state.databases.insert(
            db.name.clone(),
            crate::app::state::DatabaseState::for_config(db),
        );
    }
    let database_sink = database_sinks(&tx);
    let prometheus = options
        .contexts
        .first()
        .and_then(|(connect, _)| options.metrics.prometheus(connect.context.as_deref()));
    let _databases = (!options.databases.is_empty()).then(|| {
        DatabasesTask::spawn(
            options.databases,
            DATABASE_REFRESH,
            database_sink,
            prometheus,
        )
    });
    let mut runner = Runner {
        tx: tx.clone(),
        read_only: options.read_only,
        board: options.board.is_some(),
        audit,
        links: options
            .contexts
            .into_iter()
            .map(|(options, cluster)| Link {
                cluster,
                options,
                live: Arc::new(Mutex::new(None)),
                events_for: Arc::new(Mutex::new(None)),
                connecting: None,
            })
            .collect(),
        metrics: Arc::new(options.metrics),
        suspend: suspend_tx,
        alerts: alert_sinks,
    };
    let epochs: Vec<u64> = state.members().map(|m| m.epoch).collect();
    for (index, epoch) in epochs.into_iter().enumerate() {
        runner.connect(index, epoch);
    }

    // Before the terminal is taken: from here on, a signal ends the loop
    // below, which gives the terminal back, instead of killing the process.
    let mut quit = QuitSignals::listen()?;
    // ratatui::init installs a panic hook that restores the terminal first.
    let mut screen = Screen::new(ratatui::init());
    let input = tokio::spawn(read_terminal(tx.clone()));
    watch_for_hang_up(tx.clone());
    let result: Result<Option<QuitSignal>> = async {
        let mut jobs = JobSignals::new()?;
        // The one timer: set for the next moment the screen changes by
        // itself, and reset only when that moment moves.
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut alarm = Alarm::default();
        let mut redraw = true;
        loop {
            if redraw {
                let theme = options.themes.for_context(&state.home.scope.context);
                screen.draw(&state, theme)?;
                let next = next_change(&state, screen.area()?);
                // An alert may begin with no message: data turning stale.
                let next = next.into_iter().chain(alerts::next_due(&state)).min();
                if alarm.aim(next)
                    && let Some(at) = next
                {
                    let due = deadline(at, Utc::now(), Instant::now());
                    timer.as_mut().reset(due.into());
                }
            }
            redraw = false;
            let first = tokio::select! {
                msg = rx.recv() => msg,
                () = &mut timer, if alarm.is_set() => {
                    alarm.rang();
                    Some(Msg::Tick(Utc::now()))
                }
                // Back from a stop, the screen is drawn whole at the time
                // it is continued.
                Some(()) = suspend_rx.recv() => {
                    screen.suspend()?;
                    Some(Msg::Tick(Utc::now()))
                }
                _ = jobs.stop.recv() => {
                    if !state.job_control {
                        tracing::info!("SIGTSTP ignored: no shell with job control could continue cutover");
                        continue;
                    }
                    screen.suspend()?;
                    Some(Msg::Tick(Utc::now()))
                }
                // Continued after a stop by anyone: whatever happened to
                // the terminal meanwhile, take it again.
                _ = jobs.cont.recv() => {
                    screen.resume()?;
                    Some(Msg::Tick(Utc::now()))
                }
                signal = quit.recv() => {
                    tracing::info!("quitting on {}", signal.name());
                    return Ok(Some(signal));
                }
            };
            let Some(first) = first else { return Ok(None) };
            // Take the burst before drawing once, but draw at least every
            // frame under a flood.
            let mut drain = Drain::new(Instant::now());
            let mut msg = Some(first);
            while let Some(m) = msg {
                let (m, held) = take_burst(m, || rx.try_recv().ok());
                let outcome = update(&mut state, m);
                redraw |= outcome.redraw;
                for effect in outcome.effects {
                    runner.run(effect);
                }
                if state.quit {
                    return Ok(None);
                }
                // Between frames, never inside one.
                // An alert that cannot be written is logged; the frame
                // that follows tells whether the terminal is gone.
                if let Err(e) = screen.notify(&runner.alerts.take_terminal()) {
                    tracing::warn!("{e:#}");
                }
                let more = drain.take(Instant::now());
                msg = held.or_else(|| more.then(|| rx.try_recv().ok()).flatten());
            }
        }
    }
    .await;
    input.abort();
    // What can be restored is, and a failure is logged: `ratatui::restore`
    // and the terminal's drop would write it to a terminal that may be
    // gone, and panic when that fails.
    let cursor = screen.terminal.show_cursor();
    if cursor.is_err() {
        // Its drop would show the cursor again.
        std::mem::forget(screen);
    }
    for e in [cursor.err(), ratatui::try_restore().err()]
        .into_iter()
        .flatten()
    {
        tracing::warn!("restoring the terminal: {e}");
    }
    // Logged: the terminal that would show it may be gone.
    match state.terminal_lost {
        Some(loss) => {
            tracing::error!("quitting: {loss}");
            match loss {
                // What a shell reports when SIGHUP ends a process.
                TerminalLoss::HungUp => Ok(Some(QuitSignal::Hangup)),
                TerminalLoss::Unreadable(why) => Err(eyre!(why)),
            }
        }
        None => result.inspect_err(|e| tracing::error!("quitting: {e:#}")),
    }
}
