//! Actions a human can take, what each one sends (the exact requests of
//! `kubectl argo rollouts` and `kubectl rollout`), and when it is possible.

use super::flag::{FlagMove, FlagSource, kill_options};
use super::phase::Health;
use super::release::{Kind, Release, Strategy, step_fraction};
use super::traffic::Weight;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Action {
    Pause,
    Resume,
    Promote,
    PromoteFull,
    Abort,
    Retry,
    /// Roll back to a revision: the previous one when `None`.
    Undo(Option<u64>),
    Restart,
    /// Turn a linked feature flag off, or serve another of its variants:
    /// the `n`th of the release's [`flag::kill_options`] (the first when
    /// `None`).
    KillSwitch(Option<u16>),
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Promote => "promote",
            Action::PromoteFull => "promote-full",
            Action::Abort => "abort",
            Action::Retry => "retry",
            Action::Undo(_) => "undo",
            Action::Restart => "restart",
            Action::KillSwitch(_) => "kill-switch",
        }
    }

    /// Actions whose effect is hard to take back ask for the release name.
    pub fn needs_typed_name(self) -> bool {
        matches!(self, Action::Abort | Action::Undo(_) | Action::PromoteFull)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PatchType {
    Merge,
    Json,
    Strategic,
}

impl PatchType {
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Json => "application/json-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
        }
    }
}

/// One PATCH request: on the main resource or a subresource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchRequest {
    pub subresource: Option<&'static str>,
    pub kind: PatchType,
    pub body: Value,
}

impl PatchRequest {
    fn main(kind: PatchType, body: Value) -> Self {
        PatchRequest {
            subresource: None,
            kind,
            body,
        }
    }

    fn status(body: Value) -> Self {
        PatchRequest {
            subresource: Some("status"),
            kind: PatchType::Merge,
            body,
        }
    }
}

/// What an action will do to a release: requests in order, and the words a
/// confirmation shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionPlan {
    pub action: Action,
    pub requests: Vec<PatchRequest>,
    /// What will happen, in plain words.
    pub effect: String,
    /// The revision acted on ("revision 7 (6f646bf7b7)"), or the flag.
    pub revision: String,
    /// Set when the requests go to a feature flag rather than the release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<FlagTarget>,
}

/// The flag a kill switch writes, as the human saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagTarget {
    /// The FeatureFlag resource, or the Unleash project and environment.
    #[serde(flatten)]
    pub source: FlagSource,
    pub key: String,
    pub change: FlagMove,
    /// The flag's definition when shown: sent only if it is still this.
    #[serde(skip)]
    pub seen: Value,
    pub resource_version: String,
}

impl FlagTarget {
    /// "flag new-checkout-flow of FeatureFlag shop/checkout-flags".
    pub fn describe(&self) -> String {
        format!("flag {} of {}", self.key, self.source.describe())
    }

    /// The FeatureFlag resource's namespace and name, for a FeatureFlag.
    pub fn feature_flag(&self) -> Option<(&str, &str)> {
        match &self.source {
            FlagSource::FeatureFlag { namespace, name } => Some((namespace, name)),
            FlagSource::Unleash { .. } => None,
        }
    }

    /// What the kill switch sends to Unleash (it sends no patch): "POST
    /// /api/admin/projects/P/features/F/environments/E/off".
    pub fn unleash_request(&self) -> Option<String> {
        match &self.source {
            FlagSource::Unleash {
                project,
                environment,
            } => Some(format!(
                "POST /api/admin/projects/{project}/features/{}/environments/{environment}/off",
                self.key
            )),
            FlagSource::FeatureFlag { .. } => None,
        }
    }
}

/// The keys an action is offered on, in the order help lists them.
pub const ALL: [Action; 9] = [
    Action::Pause,
    Action::Resume,
    Action::Promote,
    Action::PromoteFull,
    Action::Abort,
    Action::Retry,
    Action::Undo(None),
    Action::Restart,
    Action::KillSwitch(None),
];

fn in_progress(r: &Release) -> bool {
    matches!(
        r.health,
        Health::Progressing | Health::Paused | Health::Degraded
    ) && !r.aborted
}

fn revision_words(r: &Release) -> String {
    match (r.current_revision, &r.current_hash) {
        (Some(n), Some(h)) => format!("revision {n} ({h})"),
        (Some(n), None) => format!("revision {n}"),
        (None, Some(h)) => format!("pod hash {h}"),
        (None, None) => "the current revision".into(),
    }
}

/// Whether `action` can be taken on `r`, and if not, why. Permission and
/// read-only checks are the app's; this is only the release's own state.
pub fn check(r: &Release, action: Action) -> Result<(), String> {
    plan(r, action, DateTime::<Utc>::MIN_UTC).map(|_| ())
}

/// The requests `action` sends on `r` at `now`, or why it cannot be taken.
pub fn plan(r: &Release, action: Action, now: DateTime<Utc>) -> Result<ActionPlan, String> {
    if let Action::KillSwitch(choice) = action {
        return kill_switch(r, choice);
    }
    let (requests, effect) = match r.key.kind {
        Kind::Rollout => argo(r, action, now)?,
        Kind::Canary => flagger(r, action)?,
        Kind::Deployment => deployment(r, action, now)?,
    };
    let revision = match action {
        Action::Undo(to) => undo_target(r, to)
            .map(|t| format!("{} → revision {}", revision_words(r), t.number.unwrap_or(0)))
            .unwrap_or_else(|_| revision_words(r)),
        _ => revision_words(r),
    };
    Ok(ActionPlan {
        action,
        requests,
        effect,
        revision,
        flag: None,
    })
}

/// The kill switch's `choice`th option on `r`: one merge patch on that
/// flag's key alone, so the resource's other flags are left as they are.
fn kill_switch(r: &Release, choice: Option<u16>) -> Result<ActionPlan, String> {
    let options = kill_options(r);
    if options.is_empty() {
        return Err(if r.flags.is_empty() {
            "no linked feature flag (cutover.dev/flags)".into()
        } else {
            "no linked flag is on: nothing to switch off".into()
        });
    }
    let index = usize::from(choice.unwrap_or(0));
    let (flag, change) = options
        .into_iter()
        .nth(index)
        .ok_or("that flag option is gone: open the kill switch again")?;
    let (requests, effect) = match (&flag.source, &change) {
        (FlagSource::Unleash { environment, .. }, _) => (
            Vec::new(),
            format!(
                "turns flag {} off in Unleash environment {environment}: every caller there gets its code default; other environments are not touched",
                flag.key
            ),
        ),
        (FlagSource::FeatureFlag { .. }, FlagMove::Off) => (
            feature_flag_patch(&flag.key, json!({"state": "DISABLED"})),
            format!(
                "sets state DISABLED on flag {}: it stops being evaluated and every caller gets its code default; the resource's other flags are not touched",
                flag.key
            ),
        ),
        (FlagSource::FeatureFlag { .. }, FlagMove::DefaultVariant(v)) => (
            feature_flag_patch(&flag.key, json!({"defaultVariant": v})),
            format!(
                "sets defaultVariant of flag {} to \"{v}\": it stays ENABLED and serves \"{v}\" where no rule decides otherwise; the resource's other flags are not touched",
                flag.key
            ),
        ),
    };
    let target = FlagTarget {
        source: flag.source.clone(),
        key: flag.key.clone(),
        change,
        seen: flag.definition.clone(),
        resource_version: flag.resource_version.clone(),
    };
    Ok(ActionPlan {
        action: Action::KillSwitch(Some(u16::try_from(index).unwrap_or(u16::MAX))),
        requests,
        effect,
        revision: if target.resource_version.is_empty() {
            target.describe()
        } else {
            format!(
                "{} (resourceVersion {})",
                target.describe(),
                target.resource_version
            )
        },
        flag: Some(target),
    })
}

/// One merge patch on flag `key` of a FeatureFlag alone, so the
/// resource's other flags are left as they are.
fn feature_flag_patch(key: &str, field: Value) -> Vec<PatchRequest> {
    let body = json!({"spec": {"flagSpec": {"flags": {key: field}}}});
    vec![PatchRequest::main(PatchType::Merge, body)]
}

type Planned = (Vec<PatchRequest>, String);

fn unpause() -> PatchRequest {
    PatchRequest::main(PatchType::Merge, json!({"spec": {"paused": false}}))
}

/// The kill switch writes a flag, not the release: [`plan`] sends it to
/// [`kill_switch`] before any kind's own actions.
const NOT_A_RELEASE_ACTION: &str = "the kill switch writes a feature flag, not the release";

fn argo(r: &Release, action: Action, now: DateTime<Utc>) -> Result<Planned, String> {
    let name = &r.key.name;
    match action {
        Action::KillSwitch(_) => Err(NOT_A_RELEASE_ACTION.into()),
        Action::Pause => {
            if r.spec_paused {
                return Err("already paused: resume with p".into());
            }
            Ok((
                vec![PatchRequest::main(
                    PatchType::Merge,
                    json!({"spec": {"paused": true}}),
                )],
                format!(
                    "sets spec.paused on {name}: the controller holds the rollout where it is until resumed"
                ),
            ))
        }
        Action::Resume => {
            if !r.spec_paused {
                return Err("not manually paused".into());
            }
            Ok((
                vec![unpause()],
                format!(
                    "clears spec.paused on {name}: the rollout continues from its current step"
                ),
            ))
        }
        Action::Promote => argo_promote(r),
        Action::PromoteFull => {
            if r.aborted {
                return Err("aborted: retry first (R), or undo".into());
            }
            let mut requests = Vec::new();
            if r.spec_paused {
                requests.push(unpause());
            }
            if !r.fully_promoted() {
                requests.push(PatchRequest::status(
                    json!({"status": {"promoteFull": true}}),
                ));
            }
            if requests.is_empty() {
                return Err("already fully promoted".into());
            }
            Ok((
                requests,
                format!(
                    "skips every remaining step and analysis: {name} sends 100% of traffic to the new revision at once"
                ),
            ))
        }
        Action::Abort => {
            if r.aborted {
                return Err("already aborted".into());
            }
            if r.fully_promoted() || !in_progress(r) {
                return Err("no update in progress to abort".into());
            }
            Ok((
                vec![PatchRequest::status(json!({"status": {"abort": true}}))],
                format!(
                    "sends all traffic back to the stable revision and scales the canary down; {name} becomes Degraded and keeps the new template in its spec (retry starts it again). Unlike undo, abort does not change the spec"
                ),
            ))
        }
        Action::Retry => {
            if !r.aborted {
                return Err("only an aborted rollout can be retried".into());
            }
            Ok((
                vec![PatchRequest::status(json!({"status": {"abort": false}}))],
                format!(
                    "clears the abort: {name} starts the same update again from the first step"
                ),
            ))
        }
        Action::Undo(to) => {
            let target = undo_target(r, to)?;
            let template = template_without(target, "rollouts-pod-template-hash")?;
            Ok((
                vec![PatchRequest::main(
                    PatchType::Json,
                    json!([{"op": "replace", "path": "/spec/template", "value": template}]),
                )],
                format!(
                    "replaces the pod template of {name} with revision {}'s ({}), which starts a new revision that goes through the steps again. Unlike abort, undo changes the spec",
                    target.number.unwrap_or(0),
                    target.images.join(", ")
                ),
            ))
        }
        Action::Restart => Ok((
            vec![PatchRequest::main(
                PatchType::Merge,
                json!({"spec": {"restartAt": now.to_rfc3339_opts(SecondsFormat::Secs, true)}}),
            )],
            format!("restarts every pod of {name}, one at a time, without changing the revision"),
        )),
    }
}

fn argo_promote(r: &Release) -> Result<Planned, String> {
    if r.aborted {
        return Err("aborted: retry first (R), or undo".into());
    }
    if r.fully_promoted() && !r.spec_paused {
        return Err("already fully promoted".into());
    }
    let mut requests = Vec::new();
    if r.spec_paused {
        requests.push(unpause());
    }
    // As the plugin's `getPatches`: the status patch follows the pause
    // conditions and the step analysis, whether or not spec.paused is set.
    let argo = r.argo.as_ref();
    let paused_by_controller = argo.is_some_and(|a| !a.pause_conditions.is_empty());
    let inconclusive = r.strategy == Strategy::Canary
        && paused_by_controller
        && argo.is_some_and(|a| {
            a.controller_pause && a.step_analysis_phase.as_deref() == Some("Inconclusive")
        });
    let current = r.current_step.argo();
    // The step after the current one; never guessed from an index that
    // cannot be read.
    let next = current
        .map(|i| (i + 1).min(r.steps.len()))
        .ok_or("the current step is unknown (status.currentStepIndex cannot be read): promote cannot tell which step comes next");
    let running = current
        .filter(|&i| i < r.steps.len())
        .map_or("the current step".into(), |i| r.step_name(i));
    let effect;
    if inconclusive && !r.steps.is_empty() {
        let index = next?;
        requests.push(PatchRequest::status(json!({
            "status": {"pauseConditions": null, "controllerPause": false, "currentStepIndex": index}
        })));
        effect = format!(
            "accepts the inconclusive analysis of {running} and {}",
            moves_on(r, index)
        );
    } else if paused_by_controller {
        requests.push(PatchRequest::status(
            json!({"status": {"pauseConditions": null}}),
        ));
        let at_pause_step =
            argo.is_some_and(|a| a.pause_conditions.iter().any(|c| c == "CanaryPauseStep"));
        effect = match next {
            _ if r.strategy == Strategy::BlueGreen => {
                "switches the active service to the new revision".to_string()
            }
            _ if r.steps.is_empty() => "ends the pause".to_string(),
            // Clearing the pause writes no step: nothing is guessed.
            Err(_) => "ends the pause (which step comes next is unknown)".to_string(),
            Ok(index) if at_pause_step => format!("ends the pause and {}", moves_on(r, index)),
            // Paused by an analysis outside the steps: the step being run
            // goes on.
            Ok(_) => format!("ends the pause: {running} goes on"),
        };
    } else if r.strategy == Strategy::Canary && !r.steps.is_empty() {
        let index = next?;
        requests.push(PatchRequest::status(json!({
            "status": {"pauseConditions": null, "currentStepIndex": index}
        })));
        effect = format!("skips {running} and {}", moves_on(r, index));
    } else if r.spec_paused {
        effect = "clears the manual pause".to_string();
    } else {
        return Err("not paused and no step to skip".into());
    }
    Ok((requests, effect))
}

/// Where a promote leaves a canary whose step index becomes `next`: the
/// step named as the step list numbers it (from 1), and the STEP column as
/// it will read (steps done of all, as Argo's CLI counts them).
fn moves_on(r: &Release, next: usize) -> String {
    let to = if next < r.steps.len() {
        format!("moves on to {}", r.step_name(next))
    } else {
        "completes the last step".to_string()
    };
    format!(
        "{to}; STEP then reads {}",
        step_fraction(Some(next), r.steps.len())
    )
}

/// A revision's pod template without the controller's hash label: what an
/// undo writes back into the spec.
fn template_without(target: &super::Revision, hash_label: &str) -> Result<Value, String> {
    let mut template = target
        .template()
        .cloned()
        .ok_or("the ReplicaSet of that revision has no template")?;
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(hash_label);
    }
    Ok(template)
}

fn undo_target(r: &Release, to: Option<u64>) -> Result<&super::Revision, String> {
    let target = match to {
        Some(n) => r.revision(n).ok_or(format!("no revision {n}"))?,
        None => r
            .previous_revision()
            .ok_or("no previous revision to roll back to")?,
    };
    if Some(target.number.unwrap_or(0)) == r.current_revision {
        return Err("that is the current revision".into());
    }
    Ok(target)
}

fn flagger(r: &Release, action: Action) -> Result<Planned, String> {
    let f = r.flagger.as_ref().ok_or("no Flagger status yet")?;
    let name = &r.key.name;
    let merge = |body| vec![PatchRequest::main(PatchType::Merge, body)];
    match action {
        Action::KillSwitch(_) => Err(NOT_A_RELEASE_ACTION.into()),
        Action::Pause if f.suspended => Err("already suspended: resume with p".into()),
        Action::Pause => Ok((
            merge(json!({"spec": {"suspend": true}})),
            format!(
                "sets spec.suspend on {name}: Flagger stops reconciling it and traffic weights stay at {}%",
                Weight::read(f.weight).text()
            ),
        )),
        Action::Resume if !f.suspended => Err("not suspended".into()),
        Action::Resume => Ok((
            merge(json!({"spec": {"suspend": false}})),
            format!("clears spec.suspend on {name}: the analysis continues"),
        )),
        Action::Promote => {
            if f.skip_analysis {
                return Err("skipAnalysis is already set".into());
            }
            if !matches!(
                f.phase.as_str(),
                "Progressing" | "Waiting" | "WaitingPromotion"
            ) {
                return Err(format!("nothing to promote while {}", f.phase));
            }
            Ok((
                merge(json!({"spec": {"skipAnalysis": true}})),
                format!(
                    "sets spec.skipAnalysis on {name}: Flagger stops the analysis and promotes the canary to the primary. Remove it afterwards or later revisions skip analysis too"
                ),
            ))
        }
        Action::PromoteFull | Action::Abort | Action::Retry | Action::Undo(_) | Action::Restart => {
            Err(format!(
                "Flagger has no {}: it rolls back by itself when checks fail",
                action.word()
            ))
        }
    }
}

/// kubectl's `annotationsToSkip`: never copied from the ReplicaSet on an
/// undo; the Deployment keeps its own values of these.
const DEPLOYMENT_ANNOTATIONS_NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

fn deployment(r: &Release, action: Action, now: DateTime<Utc>) -> Result<Planned, String> {
    let name = &r.key.name;
    let strategic = |body| vec![PatchRequest::main(PatchType::Strategic, body)];
    match action {
        Action::KillSwitch(_) => Err(NOT_A_RELEASE_ACTION.into()),
        Action::Pause if r.spec_paused => Err("already paused: resume with p".into()),
        Action::Pause => Ok((
            strategic(json!({"spec": {"paused": true}})),
            format!("pauses {name}: no new ReplicaSet changes until resumed"),
        )),
        Action::Resume if !r.spec_paused => Err("not paused".into()),
        // What `kubectl rollout resume` sends: the two-way merge of the
        // object before and after, where a false `paused` is left out.
        Action::Resume => Ok((
            strategic(json!({"spec": {"paused": null}})),
            format!("resumes {name}: the rolling update continues"),
        )),
        Action::Restart if r.spec_paused => {
            Err("can't restart a paused deployment: resume it first".into())
        }
        Action::Restart => Ok((
            strategic(json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": now.to_rfc3339_opts(SecondsFormat::Secs, true)
            }}}}})),
            format!("replaces every pod of {name} by a rolling update of the same template"),
        )),
        Action::Undo(_) if r.spec_paused => {
            Err("you cannot roll back a paused deployment: resume it first".into())
        }
        Action::Undo(to) => {
            let target = undo_target(r, to)?;
            let template = template_without(target, "pod-template-hash")?;
            // As kubectl: the Deployment keeps only its own bookkeeping
            // annotations; every other one comes from the revision.
            let mut annotations: BTreeMap<String, String> = r
                .annotations
                .iter()
                .filter(|(k, _)| DEPLOYMENT_ANNOTATIONS_NOT_COPIED.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let copied = target
                .replica_set_object
                .iter()
                .flat_map(|o| o.annotations());
            for (k, v) in copied {
                if !DEPLOYMENT_ANNOTATIONS_NOT_COPIED.contains(&k.as_str()) {
                    annotations.insert(k.clone(), v.clone());
                }
            }
            Ok((
                vec![PatchRequest::main(
                    PatchType::Json,
                    json!([
                        {"op": "replace", "path": "/spec/template", "value": template},
                        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
                    ]),
                )],
                format!(
                    "rolls {name} back to revision {}'s template ({})",
                    target.number.unwrap_or(0),
                    target.images.join(", ")
                ),
            ))
        }
        Action::Promote | Action::PromoteFull | Action::Abort | Action::Retry => Err(format!(
            "a Deployment has no steps: {} applies to Argo Rollouts",
            action.word()
        )),
    }
}

/// An action the human confirmed, with what they saw when they decided.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRequest {
    pub id: u64,
    pub key: super::ReleaseKey,
    pub plan: ActionPlan,
    pub seen: super::DecisionFingerprint,
    pub seen_resource_version: String,
    pub user: String,
    pub context: String,
    /// Set when the human overrode the rollback interlock: its reason.
    pub override_of: Option<String>,
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ActionOutcome {
    Done(String),
    /// Not sent: the release changed since the human looked.
    Refused(String),
    Failed(String),
}

impl ActionOutcome {
    pub fn text(&self) -> String {
        match self {
            ActionOutcome::Done(m) => m.clone(),
            ActionOutcome::Refused(m) => format!("refused: {m}"),
            ActionOutcome::Failed(m) => format!("failed: {m}"),
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            ActionOutcome::Done(_) => "done",
            ActionOutcome::Refused(_) => "refused",
            ActionOutcome::Failed(_) => "failed",
        }
    }
}
