//! Everything the screen shows, and nothing else: changed only by
//! [`super::update`], read by the views.

use super::board::Board;
use super::keymap::Keymap;
use super::member::Member;
use super::wave::{self, WaveCursor};
use crate::cluster::rbac::AccessKey;
use crate::metrics::profiles::{MetricsTarget, Profile};
use crate::model::metrics::{ReleaseMetrics, Verdict};
use crate::model::migration::{DatabaseLink, DatabaseReading, RollbackSafety};
use crate::model::{Action, ActionPlan, Release, ReleaseKey, TimelineEntry};
use chrono::{DateTime, Utc};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// After this, an access review's answer is asked again; it is still used
/// until the new one arrives.
pub const ACCESS_TTL_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    List,
    Detail(ReleaseKey),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Attention,
    Name,
    Age,
    Phase,
    Kind,
    /// In a fleet: by cluster, in the order the contexts were chosen.
    Cluster,
}

impl SortKey {
    /// The sort after this one; by cluster only in a fleet.
    pub fn next(self, fleet: bool) -> SortKey {
        match self {
            SortKey::Attention => SortKey::Name,
            SortKey::Name => SortKey::Age,
            SortKey::Age => SortKey::Phase,
            SortKey::Phase => SortKey::Kind,
            SortKey::Kind if fleet => SortKey::Cluster,
            SortKey::Kind | SortKey::Cluster => SortKey::Attention,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            SortKey::Attention => "attention",
            SortKey::Name => "name",
            SortKey::Age => "age",
            SortKey::Phase => "phase",
            SortKey::Kind => "kind",
            SortKey::Cluster => "cluster",
        }
    }
}

/// An action waiting for the human's confirmation.
#[derive(Debug, Clone)]
pub struct Confirm {
    pub key: ReleaseKey,
    pub plan: ActionPlan,
    /// The release's object when the confirmation opened.
    pub seen: crate::app::request::Seen,
    /// What the human has typed, when the action asks for the name.
    pub typed: String,
    /// The context to type instead of the release's name, when its config
    /// says `confirm = "typed"`: in a fleet the release's name is the same
    /// in every cluster; the context's is what tells them apart.
    pub typed_context: Option<String>,
    /// Enter was pressed on a name that does not match: nothing was sent.
    pub mismatch: bool,
    /// Revisions an undo may go back to, newest first, and the chosen one.
    pub undo_choices: Vec<u64>,
    pub undo_index: usize,
    /// The schema check of a rollback (abort, undo), when the release has a
    /// migration.
    pub safety: Option<RollbackSafety>,
    /// The second step of overriding an unsafe rollback: what the human
    /// has typed of [`OVERRIDE_PHRASE`], once the name matched.
    pub override_typed: Option<String>,
    /// Warnings that do not block (a backfill still running …).
    pub warnings: Vec<String>,
    /// After a contract, the restore a rollback needs: which backup, how
    /// far PITR reaches, when a restore was last tested.
    pub way_back: Option<String>,
}

/// What overriding the rollback interlock takes, after the release's name.
pub const OVERRIDE_PHRASE: &str = "I understand";

impl Confirm {
    pub fn needs_name(&self) -> bool {
        self.typed_context.is_some()
            || self.plan.action.needs_typed_name()
            || self.blocked_by().is_some()
    }

    /// What must be typed: the context's name where it asks for it, else
    /// the release's.
    pub fn expected(&self) -> &str {
        self.typed_context.as_deref().unwrap_or(&self.key.name)
    }

    /// Why the action is blocked, when the schema no longer supports the
    /// revision it returns to.
    pub fn blocked_by(&self) -> Option<&str> {
        match &self.safety {
            Some(RollbackSafety::Unsafe(reason)) => Some(reason),
            _ => None,
        }
    }

    pub fn name_matches(&self) -> bool {
        self.typed == self.expected()
    }
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help,
    /// The config file's problems (`:config`).
    ConfigProblems,
    Confirm(Box<Confirm>),
    /// The `:` command line being typed.
    Command(String),
}

/// An access review's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessAnswer {
    Allowed(DateTime<Utc>),
    Denied {
        reason: String,
        at: DateTime<Utc>,
    },
    /// The review itself failed: the action is not offered.
    Unknown {
        error: String,
        at: DateTime<Utc>,
    },
}

impl AccessAnswer {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            AccessAnswer::Allowed(at)
            | AccessAnswer::Denied { at, .. }
            | AccessAnswer::Unknown { at, .. } => *at,
        }
    }
}

/// What is known of one access question.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccessCheck {
    /// The last answer, used until a fresh one arrives.
    pub answer: Option<AccessAnswer>,
    /// A review is on its way.
    pub checking: bool,
}

/// An action pressed before its permission was known: it goes ahead
/// (or is refused) when the answer arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingAction {
    pub key: ReleaseKey,
    /// As pressed: pause becomes resume when the release is paused then.
    pub action: Action,
}

/// The config file's mistakes, for the status line and the `:config`
/// panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigProblems {
    pub file: String,
    /// Each `LINE:COL: problem: fix`, in file order.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionState {
    Connecting { since: DateTime<Utc> },
    Failed { error: String, since: DateTime<Utc> },
    Connected,
}

/// The identity and scope of the cluster connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub context: String,
    /// `None` is all namespaces.
    pub namespace: Option<String>,
    pub user: Option<String>,
    pub contexts: Vec<String>,
    pub cluster_url: String,
    /// Kinds this cluster does not serve (no Argo Rollouts, no Flagger …).
    pub missing_kinds: Vec<String>,
}

impl Scope {
    /// Connecting to `context`, in `namespace` (`None`: all): what is
    /// known of another context (its user, its kinds) is forgotten.
    pub fn aim(&mut self, context: String, namespace: Option<String>) {
        if context != self.context {
            *self = Scope {
                context,
                contexts: std::mem::take(&mut self.contexts),
                ..Scope::default()
            };
        }
        self.namespace = namespace;
    }
}

/// How the terminal was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalLoss {
    /// It hung up (its pty closed) with no SIGHUP sent: it ends as SIGHUP
    /// would have ended it.
    HungUp,
    /// Its input failed or ended.
    Unreadable(String),
}

impl std::fmt::Display for TerminalLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TerminalLoss::HungUp => f.write_str("the terminal hung up"),
            TerminalLoss::Unreadable(why) => f.write_str(why),
        }
    }
}

/// The metrics source of the current context.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSource {
    /// `Prometheus http://…` or the simulator.
    pub description: String,
    /// The context's profile; a release's annotation may override it.
    pub profile: Profile,
    /// A standing warning (TLS verification off).
    pub warning: Option<String>,
    /// How the context bakes its finished releases.
    pub bake: crate::model::bake::BakeSettings,
}

/// What the control room knows of one configured database.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatabaseState {
    /// The last good reading, kept while the database fails.
    pub reading: Option<DatabaseReading>,
    pub error: Option<String>,
    /// Since when it has been failing without a break.
    pub failing_since: Option<DateTime<Utc>>,
    /// Its backup repository, when a source is configured.
    pub backups: Option<crate::model::restore::BackupsState>,
    /// Its newest backup's time from Prometheus, when a query is configured.
    pub freshness: Option<crate::model::restore::freshness::FreshnessState>,
}

impl DatabaseState {
    /// Nothing read yet; with its backups' alarm age when it has a source.
    pub fn for_config(db: &crate::migrations::DatabaseConfig) -> Self {
        let within = |b: &crate::migrations::backups::BackupSource| {
            chrono::Duration::from_std(b.restore_tested_within).unwrap_or(chrono::Duration::MAX)
        };
        DatabaseState {
            backups: db
                .backups
                .as_ref()
                .map(|b| crate::model::restore::BackupsState::new(within(b))),
            freshness: db.freshness.as_ref().map(|f| {
                crate::model::restore::freshness::FreshnessState::new(
                    chrono::Duration::from_std(f.max_age).unwrap_or(chrono::Duration::MAX),
                )
            }),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LastResult {
    pub at: DateTime<Utc>,
    pub text: String,
    pub ok: bool,
}

#[derive(Debug)]
pub struct State {
    pub now: DateTime<Utc>,
    pub read_only: bool,
    /// Running against the embedded simulated cluster.
    pub simulated: bool,
    /// Started by a shell with job control: Ctrl-Z stops the job and `fg`
    /// continues it. Without one, nothing could continue it.
    pub job_control: bool,
    pub keymap: Keymap,
    /// The last epoch handed to a connection: each connection's is new.
    pub epoch: u64,
    /// The context shown first: the only one unless a fleet is shown.
    pub home: Member,
    /// A fleet's other contexts, in the order chosen.
    pub more: Vec<Member>,
    /// Every context's releases.
    pub releases: Vec<Arc<Release>>,
    pub view: View,
    pub selected: Option<ReleaseKey>,
    /// The user moved the selection: keep it where they put it.
    pub selection_chosen: bool,
    pub filter: String,
    pub filter_editing: bool,
    pub sort: SortKey,
    pub detail_scroll: u16,
    pub overlay: Option<Overlay>,
    pub access: HashMap<AccessKey, AccessCheck>,
    pub waiting: Option<WaitingAction>,
    pub last_result: Option<LastResult>,
    /// Actions taken from here, per release, shown in the timeline.
    pub local_timeline: HashMap<ReleaseKey, Vec<TimelineEntry>>,
    pub in_flight: BTreeMap<u64, (ReleaseKey, Action)>,
    pub next_action_id: u64,
    /// Problems to show once (a theme that cannot be loaded …).
    pub warnings: Vec<String>,
    pub config_problems: ConfigProblems,
    /// The releases being measured, as last handed to the metrics task.
    pub metrics_targets: Vec<MetricsTarget>,
    /// Why a release is not measured (no canary, an unknown profile …).
    pub metrics_skipped: HashMap<ReleaseKey, String>,
    pub metrics: HashMap<ReleaseKey, ReleaseMetrics>,
    /// The releases in their bake window, as last handed to the metrics task.
    pub bake_targets: Vec<crate::metrics::bake::BakeTarget>,
    /// Each baking release's latest figures.
    pub bakes: HashMap<ReleaseKey, crate::model::bake::BakeFigures>,
    /// Which releases use which database (the config's links).
    pub database_links: Vec<DatabaseLink>,
    /// Every configured database by name, read or not yet.
    pub databases: BTreeMap<String, DatabaseState>,
    pub quit: bool,
    /// Why the terminal is gone, when that is why it quits.
    pub terminal_lost: Option<TerminalLoss>,
    /// `cutover watch`: the board is drawn instead of the list and detail.
    pub board: Option<Board>,
    /// The wave view is chosen (`w`, in a fleet): drawn instead of the
    /// list, at this cell.
    pub wave: Option<WaveCursor>,
    /// The contexts whose actions ask for the context's name typed
    /// (`confirm = "typed"`).
    pub typed_contexts: BTreeSet<String>,
    /// The alert conditions holding, their rules and failing sinks.
    pub alerts: super::alerts::Alerts,
}

impl State {
    pub fn new(now: DateTime<Utc>, read_only: bool, keymap: Keymap) -> State {
        State {
            now,
            read_only,
            simulated: false,
            job_control: false,
            keymap,
            epoch: 0,
            home: Member::new("", 0, now),
            more: Vec::new(),
            releases: Vec::new(),
            view: View::List,
            selected: None,
            selection_chosen: false,
            filter: String::new(),
            filter_editing: false,
            sort: SortKey::default(),
            detail_scroll: 0,
            overlay: None,
            access: HashMap::new(),
            waiting: None,
            last_result: None,
            local_timeline: HashMap::new(),
            in_flight: BTreeMap::new(),
            next_action_id: 1,
            warnings: Vec::new(),
            config_problems: ConfigProblems::default(),
            metrics_targets: Vec::new(),
            metrics_skipped: HashMap::new(),
            metrics: HashMap::new(),
            bake_targets: Vec::new(),
            bakes: HashMap::new(),
            database_links: Vec::new(),
            databases: BTreeMap::new(),
            quit: false,
            terminal_lost: None,
            board: None,
            wave: None,
            typed_contexts: BTreeSet::new(),
            alerts: super::alerts::Alerts::default(),
        }
    }

    /// Every context shown, the first one first.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        std::iter::once(&self.home).chain(&self.more)
    }

    /// A fleet of more than one context is shown: rows name their cluster.
    pub fn is_fleet(&self) -> bool {
        !self.more.is_empty()
    }

    /// Whether `epoch` is a current connection's.
    pub fn knows(&self, epoch: u64) -> bool {
        self.members().any(|m| m.epoch == epoch)
    }

    /// Whether rows name their namespace: all namespaces are shown, or a
    /// fleet's contexts show different ones.
    pub fn many_namespaces(&self) -> bool {
        let home = &self.home.scope.namespace;
        home.is_none() || self.more.iter().any(|m| &m.scope.namespace != home)
    }

    /// The context whose connection is `epoch`'s, if still current.
    pub fn member_mut(&mut self, epoch: u64) -> Option<&mut Member> {
        std::iter::once(&mut self.home)
            .chain(&mut self.more)
            .find(|m| m.epoch == epoch)
    }

    /// The context a release of `cluster` was read from.
    pub fn member_of(&self, cluster: &str) -> Option<&Member> {
        self.members().find(|m| m.alias == cluster)
    }

    pub fn release(&self, key: &ReleaseKey) -> Option<&Release> {
        self.releases
            .iter()
            .map(Arc::as_ref)
            .find(|r| &r.key == key)
    }

    /// The release the keys act on: the open one, or the highlighted row.
    pub fn target(&self) -> Option<&Release> {
        match &self.view {
            View::Detail(key) => self.release(key),
            View::List if self.wave_shown() => wave::release_at(self, self.wave.as_ref()?),
            View::List => self.selected.as_ref().and_then(|k| self.release(k)),
        }
    }

    /// The wave view is drawn instead of the list: chosen, in a fleet.
    pub fn wave_shown(&self) -> bool {
        self.wave.is_some() && self.is_fleet() && self.view == View::List
    }

    /// Whether `r` shows under the filter, lowercased as `needle`.
    pub(crate) fn matches_filter(r: &Release, needle: &str) -> bool {
        [
            r.key.name.as_str(),
            r.key.namespace.as_str(),
            r.key.cluster.as_str(),
            r.key.kind.word(),
            r.phase.as_str(),
            r.canary_image().unwrap_or_default(),
            r.stable_image().unwrap_or_default(),
        ]
        .iter()
        .any(|s| contains_lowercased(s, needle))
    }

    /// The rows of the list, filtered and sorted. By attention: the rows
    /// that need a human first, worst health first; the others by name
    /// alone, so a release rolling out on its own keeps its row and the
    /// rows around it stay where the eye left them.
    pub fn visible(&self) -> Vec<&Release> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&Release> = self
            .releases
            .iter()
            .map(Arc::as_ref)
            .filter(|r| needle.is_empty() || State::matches_filter(r, &needle))
            .collect();
        // Each row's key taken once: comparing keys reads no more of a
        // release, which counts at thousands of rows each frame.
        match self.sort {
            SortKey::Attention => rows.sort_by_cached_key(|r| self.attention_order(r)),
            SortKey::Name => rows.sort_by_cached_key(|r| namespace_name(r)),
            SortKey::Age => rows.sort_by_cached_key(|r| (Reverse(r.created), namespace_name(r))),
            SortKey::Phase => rows.sort_by_cached_key(|r| (r.health, namespace_name(r))),
            SortKey::Kind => rows.sort_by_cached_key(|r| (r.key.kind, namespace_name(r))),
            SortKey::Cluster => {
                let order: Vec<&str> = self.members().map(|m| m.alias.as_str()).collect();
                let place = |r: &Release| order.iter().position(|c| *c == r.key.cluster);
                rows.sort_by_cached_key(|r| (place(r), namespace_name(r)));
            }
        }
        rows
    }

    /// What needs a human first, worst health first; the others by
    /// namespace and name alone: the list's default order, and the board's.
    pub fn attention_order<'a>(
        &self,
        r: &'a Release,
    ) -> (
        Reverse<bool>,
        Option<crate::model::Health>,
        (&'a str, &'a str, &'a str),
    ) {
        let attention = self.needs_attention(r);
        (
            Reverse(attention),
            attention.then_some(r.health),
            namespace_name(r),
        )
    }

    /// Whether a release needs a human: its own state says so, or
    /// cutover's metrics say Fail.
    pub fn needs_attention(&self, r: &Release) -> bool {
        r.needs_attention() || self.verdict_of(&r.key) == Some(Verdict::Fail)
    }

    /// The bake window of a finished release, judged now; None when it
    /// has not finished, its context has no metrics source, or its bake
    /// is off.
    pub fn bake_of(&self, release: &Release) -> Option<crate::model::bake::Bake> {
        let completion = release.completion.as_ref()?;
        let settings = &self
            .member_of(&release.key.cluster)?
            .metrics_source
            .as_ref()?
            .bake;
        // A malformed annotation is the context's duration (config check names it).
        let duration = settings
            .duration_for(&release.annotations)
            .unwrap_or(settings.duration);
        crate::model::bake::judge(
            completion,
            duration,
            settings,
            self.bakes.get(&release.key),
            self.now,
        )
    }

    /// cutover's verdict on a release, when it is measured.
    pub fn verdict_of(&self, key: &ReleaseKey) -> Option<Verdict> {
        self.metrics.get(key).map(|m| m.verdict.verdict)
    }

    /// The release's Events and the actions taken from here, newest first.
    pub fn timeline_of(&self, release: &Release) -> Vec<TimelineEntry> {
        let mut all: Vec<TimelineEntry> = release.timeline.iter().rev().cloned().collect();
        if let Some(local) = self.local_timeline.get(&release.key) {
            all.extend(local.iter().cloned());
        }
        TimelineEntry::sort_newest_first(&mut all);
        all
    }
}

/// What the list sorts by after its sort key: the namespace, then the
/// name, then the cluster, so one release's rows across a fleet stay
/// together.
fn namespace_name(r: &Release) -> (&str, &str, &str) {
    (&r.key.namespace, &r.key.name, &r.key.cluster)
}

/// Whether `text`, lowercased, contains `needle` (lowercase already). The
/// names and images are ASCII: those are compared as they are, not copied
/// lowercased, which would cost a list of thousands each frame.
fn contains_lowercased(text: &str, needle: &str) -> bool {
    if !text.is_ascii() {
        return text.to_lowercase().contains(needle);
    }
    // A needle of other characters cannot occur in ASCII text.
    needle.is_empty()
        || text
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Attention;
    use crate::model::phase::Health;
    use crate::test_support::fixture::{EVERY_STRATEGY, Fixture};
    use std::cmp::Ordering;

    /// The order each sort promises: its key, then namespace and name.
    fn promised(sort: SortKey, a: &Release, b: &Release) -> Ordering {
        let by_name = (&a.key.namespace, &a.key.name).cmp(&(&b.key.namespace, &b.key.name));
        match sort {
            SortKey::Attention => {
                b.needs_attention()
                    .cmp(&a.needs_attention())
                    .then(if a.needs_attention() {
                        a.health.cmp(&b.health)
                    } else {
                        Ordering::Equal
                    })
            }
            SortKey::Name => Ordering::Equal,
            SortKey::Age => b.created.cmp(&a.created),
            SortKey::Phase => a.health.cmp(&b.health),
            SortKey::Kind => a.key.kind.cmp(&b.key.kind),
            // One cluster alone: the order by name.
            SortKey::Cluster => Ordering::Equal,
        }
        .then(by_name)
    }

    #[test]
    fn each_sort_orders_by_its_key_then_by_name_ties_as_listed() {
        let base = Fixture::load(&EVERY_STRATEGY).releases();
        let healths = [
            Health::Healthy,
            Health::Degraded,
            Health::Paused,
            Health::Unknown,
        ];
        let mut releases = Vec::new();
        for i in 0..24_usize {
            let mut r = base[i % base.len()].clone();
            // Names repeat across kinds: equal under every sort but kind.
            r.key.name = format!("svc-{}", (i * 7) % 10);
            r.health = healths[i % healths.len()];
            r.created = r
                .created
                .map(|t| t - chrono::Duration::minutes((i % 5) as i64));
            if i % 3 == 0 {
                r.attention.push(Attention::Degraded("pods failing".into()));
            }
            releases.push(r);
        }
        let mut state = State::new(releases[0].created.unwrap(), true, Keymap::default());
        state.releases = releases.into_iter().map(Arc::new).collect();
        for sort in [
            SortKey::Attention,
            SortKey::Name,
            SortKey::Age,
            SortKey::Phase,
            SortKey::Kind,
            SortKey::Cluster,
        ] {
            state.sort = sort;
            let mut expected: Vec<&Release> = state.releases.iter().map(Arc::as_ref).collect();
            expected.sort_by(|a, b| promised(sort, a, b));
            let keys = |rows: Vec<&Release>| -> Vec<ReleaseKey> {
                rows.into_iter().map(|r| r.key.clone()).collect()
            };
            assert_eq!(keys(state.visible()), keys(expected), "{sort:?}");
        }
        let tied = |a: &Release, b: &Release| {
            namespace_name(a) == namespace_name(b) && a.key.kind != b.key.kind
        };
        assert!(
            state
                .releases
                .iter()
                .enumerate()
                .any(|(i, a)| { state.releases[i + 1..].iter().any(|b| tied(a, b)) }),
            "some releases differ only in kind: ties whose order is kept"
        );
    }

    #[test]
    fn the_filter_ignores_case_as_lowercasing_would() {
        let texts = [
            "Checkout-V2",
            "shop/checkout:1.5.0",
            "Ärger-SVC",
            "İstanbul",
            "",
        ];
        let filters = [
            "kout-v", "CHECKOUT", "1.5", "ärg", "svc", "i̇st", "ä", "x", "-",
        ];
        for text in texts {
            for filter in filters {
                let needle = filter.to_lowercase();
                assert_eq!(
                    contains_lowercased(text, &needle),
                    text.to_lowercase().contains(&needle),
                    "{filter:?} in {text:?}"
                );
            }
        }
    }
}
