//! `Release`: one rollout of any kind, as the control room shows it.

use super::phase::Health;
use super::revision::{Revision, Role, RunningImage};
use super::traffic::Weights;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    /// Argo Rollouts `Rollout`.
    Rollout,
    /// Flagger `Canary`.
    Canary,
    Deployment,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Rollout => "Rollout",
            Kind::Canary => "Canary",
            Kind::Deployment => "Deployment",
        }
    }

    /// The short form used in narrow columns.
    pub fn short(self) -> &'static str {
        match self {
            Kind::Rollout => "ro",
            Kind::Canary => "canary",
            Kind::Deployment => "deploy",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ReleaseKey {
    /// The cluster (the context's short name) the release was read from:
    /// the same name in two clusters is two releases. Empty when one
    /// context is shown, as before fleets.
    #[serde(skip)]
    pub cluster: String,
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl ReleaseKey {
    /// The name as the status line says it: `us/checkout` in a fleet,
    /// `checkout` alone otherwise.
    pub fn shown_name(&self) -> String {
        match self.cluster.as_str() {
            "" => self.name.clone(),
            cluster => format!("{cluster}/{}", self.name),
        }
    }
}

/// By namespace and name, as kubectl lists.
pub fn in_listing_order<R: std::borrow::Borrow<Release>>(releases: &mut [R]) {
    releases.sort_by(|a, b| {
        let (a, b) = (&a.borrow().key, &b.borrow().key);
        (a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
            .then(a.kind.cmp(&b.kind))
    });
}

impl std::fmt::Display for ReleaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.cluster.is_empty() {
            write!(f, "{}: ", self.cluster)?;
        }
        write!(
            f,
            "{}/{} -n {}",
            self.kind.short(),
            self.name,
            self.namespace
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Strategy {
    Canary,
    BlueGreen,
    /// Flagger's progressive canary (or its A/B and blue-green variants).
    Progressive,
    RollingUpdate,
    Recreate,
}

impl Strategy {
    pub fn word(self) -> &'static str {
        match self {
            Strategy::Canary => "Canary",
            Strategy::BlueGreen => "BlueGreen",
            Strategy::Progressive => "Progressive",
            Strategy::RollingUpdate => "RollingUpdate",
            Strategy::Recreate => "Recreate",
        }
    }
}

/// One step of an Argo canary, in the words `kubectl argo rollouts` uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Step {
    /// None when the weight is out of range or malformed.
    SetWeight(Option<u32>),
    /// `pause: {}` has no duration: it waits for a human.
    Pause {
        seconds: Option<u64>,
    },
    Analysis {
        templates: Vec<String>,
    },
    SetCanaryScale(String),
    SetHeaderRoute {
        name: String,
    },
    Other(String),
}

impl Step {
    pub fn label(&self) -> String {
        match self {
            Step::SetWeight(w) => {
                format!("setWeight {}", w.map_or("?".into(), |w| w.to_string()))
            }
            Step::Pause { seconds: Some(s) } => format!("pause {}", format_seconds(*s)),
            Step::Pause { seconds: None } => "pause (manual)".into(),
            Step::Analysis { templates } => format!("analysis {}", templates.join(",")),
            Step::SetCanaryScale(what) => format!("setCanaryScale {what}"),
            Step::SetHeaderRoute { name } => format!("setHeaderRoute {name}"),
            Step::Other(key) => key.clone(),
        }
    }
}

/// "N/M" as Argo's CLI writes `Step:` (`currentStepIndex/len(steps)`): N
/// steps done of M, so the step being run is number N+1 of the step list;
/// "?/M" when the index cannot be read.
pub fn step_fraction(done: Option<usize>, total: usize) -> String {
    let done = done.map_or("?".into(), |n| n.to_string());
    format!("{done}/{total}")
}

/// Argo's `status.currentStepIndex`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum StepIndex {
    /// Not written: Argo reads it as the first step.
    #[default]
    Unset,
    /// The step being run; the number of steps once all are done.
    At(usize),
    /// Negative, not a number, or beyond the steps: never used, and the
    /// release warns of it.
    Unknown,
}

impl StepIndex {
    /// The index as Argo reads it (a missing one is step 0); None when it
    /// cannot be read.
    pub fn argo(self) -> Option<usize> {
        match self {
            StepIndex::Unset => Some(0),
            StepIndex::At(i) => Some(i),
            StepIndex::Unknown => None,
        }
    }
}

pub fn format_seconds(s: u64) -> String {
    match s {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s if s >= 60 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Why a release is paused, and until when if the pause is timed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pause {
    /// `CanaryPauseStep`, `BlueGreenPause`, `InconclusiveAnalysisRun`,
    /// "manually paused", Flagger's `WaitingPromotion`, …
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
    /// When a timed pause ends on its own.
    pub until: Option<DateTime<Utc>>,
    /// True when the controller waits for a human decision.
    pub needs_decision: bool,
}

impl Pause {
    /// Seconds left of a timed pause at `now` (never negative).
    pub fn remaining(&self, now: DateTime<Utc>) -> Option<i64> {
        self.until.map(|u| (u - now).num_seconds().max(0))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub phase: String,
    pub value: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    pub name: String,
    pub phase: String,
    pub successful: u32,
    pub failed: u32,
    pub inconclusive: u32,
    pub error: u32,
    pub success_condition: Option<String>,
    pub failure_condition: Option<String>,
    pub measurements: Vec<Measurement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRunInfo {
    pub name: String,
    /// `Step`, `Background`, `PrePromotion` or `PostPromotion`.
    pub run_type: String,
    pub step_index: Option<usize>,
    pub revision: Option<u64>,
    pub phase: String,
    pub message: String,
    pub created: Option<DateTime<Utc>>,
    pub metrics: Vec<MetricResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreen {
    pub active_hash: Option<String>,
    pub preview_hash: Option<String>,
    pub active_service: String,
    pub preview_service: Option<String>,
    pub auto_promotion: bool,
}

/// The Argo status fields a promote decides on (the plugin's `getPatches`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ArgoStatus {
    /// Reasons of `status.pauseConditions`, also while `spec.paused` is set.
    pub pause_conditions: Vec<String>,
    /// `status.controllerPause`.
    pub controller_pause: bool,
    /// `status.canary.currentStepAnalysisRunStatus.status`.
    pub step_analysis_phase: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlaggerStatus {
    pub phase: String,
    /// `status.canaryWeight`; None (null) when out of range or malformed,
    /// as is every weight here.
    pub weight: Option<u32>,
    pub max_weight: Option<u32>,
    pub step_weight: Option<u32>,
    pub step_weights: Vec<Option<u32>>,
    pub failed_checks: u32,
    pub threshold: u32,
    pub iterations: u32,
    pub suspended: bool,
    pub skip_analysis: bool,
    pub primary: String,
    pub target: String,
    pub interval: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventKind {
    Normal,
    Warning,
    /// An action taken from this control room (a local entry, not an Event).
    Action,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: Option<DateTime<Utc>>,
    pub kind: EventKind,
    pub reason: String,
    pub message: String,
    pub count: u32,
}

impl TimelineEntry {
    /// Newest first, so what just happened is at the top. Entries of the
    /// same instant come in reverse of the order they were added (the later
    /// one first); entries without a time come last.
    pub fn sort_newest_first(entries: &mut [TimelineEntry]) {
        entries.sort_by_key(|e| e.at);
        entries.reverse();
    }
}

/// What makes a release need a human's eyes: the list sorts these first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Attention {
    Degraded(String),
    AwaitingDecision(String),
    WeightDrift {
        applied: u32,
        router: u32,
    },
    FailingAnalysis(String),
    CrashLooping(String),
    /// Code and schema out of step: a contract under running old code, or
    /// new code before its expand.
    MigrationOrder(String),
    /// The way back past a contract is missing or untested: no backup
    /// newer than the expand, no recent tested restore, a failed backup.
    Restore(String),
    /// An SLO breached during the bake window after the release finished:
    /// which SLO, its value and limit, since when.
    SloBreached(String),
}

impl Attention {
    pub fn describe(&self) -> String {
        match self {
            Attention::Degraded(m) => format!("degraded: {m}"),
            Attention::AwaitingDecision(r) => format!("waiting for a decision: {r}"),
            Attention::WeightDrift { applied, router } => {
                format!("weight drift: controller applied {applied}%, router has {router}%")
            }
            Attention::FailingAnalysis(m) => format!("analysis failing: {m}"),
            Attention::CrashLooping(p) => format!("crash-looping: {p}"),
            Attention::MigrationOrder(m) => format!("migration out of order: {m}"),
            Attention::Restore(m) => format!("restore: {m}"),
            Attention::SloBreached(m) => format!("SLO breached: {m}"),
        }
    }

    pub fn short(&self) -> &'static str {
        match self {
            Attention::Degraded(_) => "degraded",
            Attention::AwaitingDecision(_) => "decide",
            Attention::WeightDrift { .. } => "drift",
            Attention::FailingAnalysis(_) => "analysis",
            Attention::CrashLooping(_) => "crashloop",
            Attention::MigrationOrder(_) | Attention::Restore(_) => "schema",
            Attention::SloBreached(_) => "slo",
        }
    }
}

/// A workload's replica counts; None (null) for a count that is negative
/// or malformed, which is never used as a count.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Replicas {
    pub desired: Option<i64>,
    pub current: Option<i64>,
    pub updated: Option<i64>,
    pub ready: Option<i64>,
    pub available: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    pub key: ReleaseKey,
    pub uid: String,
    pub resource_version: String,
    pub generation: i64,
    pub created: Option<DateTime<Utc>>,
    pub strategy: Strategy,
    pub health: Health,
    /// The controller's own word for the phase.
    pub phase: String,
    pub message: String,
    pub steps: Vec<Step>,
    pub current_step: StepIndex,
    pub weights: Weights,
    pub pause: Option<Pause>,
    /// `spec.paused` (Argo, Deployment) or `spec.suspend` (Flagger).
    pub spec_paused: bool,
    /// Argo `status.abort`.
    pub aborted: bool,
    pub promote_full: bool,
    /// The hash of the revision being rolled out (Argo `currentPodHash`,
    /// a Deployment's newest ReplicaSet).
    pub current_hash: Option<String>,
    /// The hash of the revision serving as stable (Argo `stableRS`).
    pub stable_hash: Option<String>,
    pub current_revision: Option<u64>,
    pub revisions: Vec<Revision>,
    pub replicas: Replicas,
    pub analysis: Vec<AnalysisRunInfo>,
    pub blue_green: Option<BlueGreen>,
    /// The Services in front of the stable (or active) and the canary (or
    /// preview) pods, where the strategy has them.
    pub stable_service: Option<String>,
    pub canary_service: Option<String>,
    pub argo: Option<ArgoStatus>,
    pub flagger: Option<FlaggerStatus>,
    pub timeline: Vec<TimelineEntry>,
    pub attention: Vec<Attention>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The pod selector, for watching this release's pods.
    pub selector: BTreeMap<String, String>,
    /// The schema migration the release belongs to: from its database when
    /// it is read, else from its migration Jobs.
    pub migration: Option<crate::model::migration::Migration>,
    /// The database the release is linked to, by its config name.
    pub database: Option<String>,
    /// Why the migration's state is not known for sure (its database
    /// unreachable or not read yet).
    pub migration_problem: Option<String>,
    /// Every value the mapping met out of range or of the wrong type, in
    /// plain sentences: "status.currentStepIndex is 7 but the rollout has 3
    /// steps". Such a value is shown as unknown, never used.
    pub warnings: Vec<String>,
    /// When it finished and from which version, read from the object;
    /// None while it rolls, or for a first deployment (no previous version).
    pub completion: Option<crate::model::bake::Completion>,
    /// The feature flags linked to it (see [`crate::model::flag`]).
    pub flags: Vec<crate::model::flag::Flag>,
    /// The flag keys its `cutover.dev/flags` annotation names: what links
    /// a flag of Unleash, which has no labels of Kubernetes, to it.
    pub flag_names: Vec<String>,
}

impl Release {
    pub fn revision_by_role(&self, role: Role) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.roles.contains(&role))
    }

    /// The first image of the running revision in `roles` (the first role
    /// that has one).
    fn running_image(&self, roles: [Role; 2]) -> Option<&str> {
        let rev = roles.into_iter().find_map(|role| {
            self.revisions
                .iter()
                .find(|r| r.runs() && r.roles.contains(&role))
        })?;
        rev.images.first().map(String::as_str)
    }

    /// The canary's (or preview's) image while it runs: a ReplicaSet scaled
    /// to zero (after an abort) is history, not the canary.
    pub fn canary_image(&self) -> Option<&str> {
        self.running_image([Role::Canary, Role::Preview])
    }

    pub fn stable_image(&self) -> Option<&str> {
        self.running_image([Role::Stable, Role::Active])
    }

    /// The images that run, as `kubectl argo rollouts get` lists them: the
    /// images of every ReplicaSet with pods, each with the roles of the
    /// ReplicaSets running it (merged roles in alphabetical order), sorted
    /// by image.
    pub fn running_images(&self) -> Vec<RunningImage> {
        let mut out: Vec<RunningImage> = Vec::new();
        for rev in self.revisions.iter().filter(|r| r.runs()) {
            for image in &rev.images {
                match out.iter_mut().find(|i| &i.image == image) {
                    Some(seen) => {
                        for role in &rev.roles {
                            if !seen.roles.contains(role) {
                                seen.roles.push(*role);
                            }
                        }
                        seen.roles.sort_by_key(|r| r.word());
                    }
                    None => out.push(RunningImage {
                        image: image.clone(),
                        roles: rev.roles.clone(),
                    }),
                }
            }
        }
        out.sort_by(|a, b| a.image.cmp(&b.image));
        out
    }

    /// The current step (None when the index cannot be read) and the
    /// number of steps, for a canary with steps whose controller has
    /// written `currentStepIndex`.
    pub fn step(&self) -> Option<(Option<usize>, usize)> {
        let total = self.steps.len();
        if total == 0 {
            return None;
        }
        match self.current_step {
            StepIndex::Unset => None,
            StepIndex::At(i) => Some((Some(i), total)),
            StepIndex::Unknown => Some((None, total)),
        }
    }

    /// "N/M", as Argo's `Step`; "?/M" when the index cannot be read.
    pub fn step_text(&self) -> Option<String> {
        self.step().map(|(n, total)| step_fraction(n, total))
    }

    /// Step `index` (from 0) as the detail's step list shows it: numbered
    /// from 1, with what it does.
    pub fn step_name(&self, index: usize) -> String {
        let what = self.steps.get(index).map(|s| s.label()).unwrap_or_default();
        format!("step {} ({what})", index + 1)
    }

    /// True when the new revision is fully promoted (Argo: stableRS ==
    /// currentPodHash).
    pub fn fully_promoted(&self) -> bool {
        self.current_hash.is_some() && self.current_hash == self.stable_hash
    }

    /// The previous revision an undo would return to, and the revision it
    /// would leave.
    pub fn previous_revision(&self) -> Option<&Revision> {
        let current = self.current_revision?;
        self.revisions
            .iter()
            .filter(|r| r.number.is_some_and(|n| n < current))
            .max_by_key(|r| r.number)
    }

    pub fn revision(&self, number: u64) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.number == Some(number))
    }

    /// Something needs a human, or the release's own fields cannot all be
    /// read: what is shown of it is then partly unknown.
    pub fn needs_attention(&self) -> bool {
        !self.attention.is_empty() || !self.warnings.is_empty()
    }

    /// What must be unchanged between the moment a human looked and the
    /// moment their action is sent: the spec generation, the revision
    /// being rolled out, the step, and the pause and abort state. Replica
    /// counts moving is not a change of the decision.
    pub fn decision_fingerprint(&self) -> DecisionFingerprint {
        DecisionFingerprint {
            generation: self.generation,
            current_hash: self.current_hash.clone(),
            stable_hash: self.stable_hash.clone(),
            current_step: self.current_step,
            phase: self.phase.clone(),
            paused: self.spec_paused,
            pause_reason: self.pause.as_ref().map(|p| p.reason.clone()),
            aborted: self.aborted,
            flagger_weight: self.flagger.as_ref().and_then(|f| f.weight),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionFingerprint {
    pub generation: i64,
    pub current_hash: Option<String>,
    pub stable_hash: Option<String>,
    pub current_step: StepIndex,
    pub phase: String,
    pub paused: bool,
    pub pause_reason: Option<String>,
    pub aborted: bool,
    pub flagger_weight: Option<u32>,
}

impl DecisionFingerprint {
    /// The differences, in words, from `seen` to `self`.
    pub fn changes_since(&self, seen: &DecisionFingerprint) -> Vec<String> {
        let mut out = Vec::new();
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
        if self.generation != seen.generation {
            out.push(format!(
                "spec changed (generation {} → {})",
                seen.generation, self.generation
            ));
        }
        if self.current_hash != seen.current_hash {
            out.push(format!(
                "revision being rolled out changed ({} → {})",
                opt(&seen.current_hash),
                opt(&self.current_hash)
            ));
        }
        if self.stable_hash != seen.stable_hash {
            out.push(format!(
                "stable revision changed ({} → {})",
                opt(&seen.stable_hash),
                opt(&self.stable_hash)
            ));
        }
        if self.current_step != seen.current_step {
            let s = |o: StepIndex| match o {
                StepIndex::Unset => "none".into(),
                StepIndex::At(v) => v.to_string(),
                StepIndex::Unknown => "unknown".into(),
            };
            out.push(format!(
                "step changed ({} → {})",
                s(seen.current_step),
                s(self.current_step)
            ));
        }
        if self.phase != seen.phase {
            out.push(format!("phase changed ({} → {})", seen.phase, self.phase));
        }
        if self.paused != seen.paused || self.pause_reason != seen.pause_reason {
            out.push(format!(
                "pause changed ({} → {})",
                opt(&seen.pause_reason),
                opt(&self.pause_reason)
            ));
        }
        if self.aborted != seen.aborted {
            out.push(format!(
                "abort changed ({} → {})",
                seen.aborted, self.aborted
            ));
        }
        if self.flagger_weight != seen.flagger_weight {
            let w = |o: Option<u32>| o.map_or("none".into(), |v| format!("{v}%"));
            out.push(format!(
                "canary weight changed ({} → {})",
                w(seen.flagger_weight),
                w(self.flagger_weight)
            ));
        }
        out
    }
}
