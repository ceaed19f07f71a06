//! The AnalysisRuns a rollout starts and waits on (`rollout/analysis.go`):
//! one per analysis step and one before a blue-green promotion, built from
//! the AnalysisTemplates of the namespace, owned by the rollout, cancelled
//! (`spec.terminate`) when no longer current; their phase pauses (Inconclusive)
//! or aborts (Failed, Error) the rollout.

use super::super::analysis::{AnalysisPhase, Argument, analysis_runs, analysis_templates};
use super::super::events::EventType;
use super::super::workload::{self, ARGO, ARGO_HASH_LABEL, ARGO_REVISION, hash_of};
use super::rollout_status::{PAUSE_BLUE_GREEN, PAUSE_INCONCLUSIVE, RunRef};
use super::spec::RolloutAnalysis;
use super::{CurrentRuns, Reconcile};
use crate::store::{ListOptions, WriteScope};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const ROLLOUT_TYPE: &str = "rollout-type";
const STEP_INDEX: &str = "step-index";
const TYPE_STEP: &str = "Step";
const TYPE_PRE_PROMOTION: &str = "PrePromotion";

pub fn phase_of(run: &Value) -> Option<AnalysisPhase> {
    run["status"]["phase"]
        .as_str()
        .and_then(AnalysisPhase::parse)
}

fn run_ref(run: &Value) -> RunRef {
    RunRef {
        name: workload::name_of(run).to_string(),
        status: run["status"]["phase"].as_str().unwrap_or("").to_string(),
        message: run["status"]["message"].as_str().unwrap_or("").to_string(),
    }
}

fn same_run(a: &Option<Arc<Value>>, b: &Value) -> bool {
    a.as_ref()
        .is_some_and(|a| workload::name_of(a) == workload::name_of(b))
}

impl Reconcile<'_> {
    /// Sort the rollout's runs into the ones its status names and the others.
    pub(super) fn load_runs(&mut self) {
        let runs = self
            .ctx
            .store
            .list(
                analysis_runs(),
                Some(self.namespace()),
                &ListOptions::default(),
            )
            .map(|l| l.items)
            .unwrap_or_default();
        let step = self
            .status
            .canary
            .current_step_analysis_run_status
            .as_ref()
            .map(|r| r.name.clone());
        let pre = self
            .status
            .blue_green
            .pre_promotion_analysis_run_status
            .as_ref()
            .map(|r| r.name.clone());
        for run in runs
            .into_iter()
            .filter(|r| workload::is_owned_by(r, &self.ro))
        {
            let name = Some(workload::name_of(&run).to_string());
            if name == step {
                self.runs.step = Some(run);
            } else if name == pre {
                self.runs.pre_promotion = Some(run);
            } else {
                self.other_runs.push(run);
            }
        }
    }

    /// `reconcileAnalysisRuns`.
    pub(super) fn reconcile_analysis_runs(&mut self) {
        let rollback_within_delay = self
            .new_rs()
            .is_some_and(|rs| super::replicas::has_scale_down_deadline(&rs));
        if self.is_aborted()
            || self.status.promote_full
            || rollback_within_delay
            || self.status.stable_rs.is_empty()
        {
            let current = self.runs.clone();
            self.set_current_runs(current.clone());
            let all: Vec<Arc<Value>> = [current.step, current.pre_promotion]
                .into_iter()
                .flatten()
                .chain(self.other_runs.clone())
                .collect();
            self.cancel_runs(&all);
            return;
        }
        let previous = self.status.clone();
        let mut current = CurrentRuns::default();
        if self.spec.canary().is_some() {
            current.step = self.reconcile_step_run();
        }
        if self.spec.blue_green().is_some() {
            current.pre_promotion = self.reconcile_pre_promotion_run();
            if let Some(run) = &current.pre_promotion {
                self.pause_or_abort_on(run, "Blue/green pre-promotion analysis phase error/failed");
            }
        }
        self.set_current_runs(current.clone());
        let others: Vec<Arc<Value>> = self
            .other_runs
            .iter()
            .filter(|r| !same_run(&current.step, r) && !same_run(&current.pre_promotion, r))
            .cloned()
            .collect();
        self.cancel_runs(&others);
        self.emit_run_change(
            previous.canary.current_step_analysis_run_status.as_ref(),
            current.step.as_deref(),
            TYPE_STEP,
        );
        self.emit_run_change(
            previous
                .blue_green
                .pre_promotion_analysis_run_status
                .as_ref(),
            current.pre_promotion.as_deref(),
            TYPE_PRE_PROMOTION,
        );
    }

    /// Record the current runs in the new status (`SetCurrentAnalysisRuns`).
    fn set_current_runs(&mut self, runs: CurrentRuns) {
        let canary = self.spec.canary().is_some();
        self.new_status.canary.current_step_analysis_run_status =
            runs.step.as_ref().filter(|_| canary).map(|r| run_ref(r));
        self.new_status
            .canary
            .current_background_analysis_run_status = None;
        self.new_status.blue_green.pre_promotion_analysis_run_status = runs
            .pre_promotion
            .as_ref()
            .filter(|_| !canary)
            .map(|r| run_ref(r));
        self.runs = runs;
    }

    /// An event when a run's phase changes (`emitAnalysisRunStatusChanges`).
    fn emit_run_change(&self, previous: Option<&RunRef>, run: Option<&Value>, kind: &str) {
        let Some(run) = run else {
            return;
        };
        let Some(phase) = phase_of(run) else {
            return;
        };
        let name = workload::name_of(run);
        let changed = match previous {
            None => true,
            Some(p) => p.name == name && p.status != phase.as_str(),
        };
        if !changed {
            return;
        }
        let before = previous.map_or("NoPreviousStatus", |p| p.status.as_str());
        let event_type = match phase {
            AnalysisPhase::Failed | AnalysisPhase::Error => EventType::Warning,
            _ => EventType::Normal,
        };
        self.event(
            event_type,
            &format!("AnalysisRun{}", phase.as_str()),
            &format!(
                "{kind} Analysis Run '{name}' Status New: '{}' Previous: '{before}'",
                phase.as_str()
            ),
        );
    }

    fn pause_or_abort_on(&mut self, run: &Value, abort_prefix: &str) {
        match phase_of(run) {
            Some(AnalysisPhase::Inconclusive) => self.pause.add.push(PAUSE_INCONCLUSIVE),
            Some(AnalysisPhase::Failed | AnalysisPhase::Error) => {
                let message = run["status"]["message"].as_str().unwrap_or("");
                self.pause.add_abort(&format!("{abort_prefix}: {message}"));
            }
            _ => {}
        }
    }

    /// Whether to start another run in place of `current` (`needsNewAnalysisRun`).
    fn needs_new_run(&self, current: &Option<Arc<Value>>) -> bool {
        let Some(current) = current else {
            return true;
        };
        if self.status.controller_pause && self.status.pause_condition(PAUSE_BLUE_GREEN).is_none() {
            return phase_of(current) == Some(AnalysisPhase::Inconclusive);
        }
        self.status.aborted_at.is_some()
    }

    /// `reconcileStepBasedAnalysisRun`.
    fn reconcile_step_run(&mut self) -> Option<Arc<Value>> {
        let current = self.runs.step.clone();
        if !self.status.pause_conditions.is_empty() || self.status.abort {
            return current;
        }
        let Some((step, index)) = self.current_step() else {
            self.cancel_runs(current.as_slice());
            return None;
        };
        let Some(analysis) = step.analysis else {
            self.cancel_runs(current.as_slice());
            return None;
        };
        if self.needs_new_run(&current) {
            let labels = json!({
                ROLLOUT_TYPE: TYPE_STEP,
                STEP_INDEX: index.to_string(),
                ARGO_HASH_LABEL: self.new_hash(),
            });
            return self.create_run(&analysis, &index.to_string(), labels);
        }
        if let Some(run) = &current {
            self.pause_or_abort_on(run, "Step-based analysis phase error/failed");
        }
        current
    }

    /// Whether a pre-promotion run is not (yet, or any more) wanted (`skipPrePromotionAnalysisRun`).
    fn skip_pre_promotion(&self) -> bool {
        let hash = self.new_hash();
        let active = &self.status.blue_green.active_selector;
        if self.status.stable_rs == hash || active.is_empty() || *active == hash || hash.is_empty()
        {
            return true;
        }
        let Some(rs) = self.new_rs() else {
            return true;
        };
        match self.spec.blue_green().and_then(|b| b.preview_replica_count) {
            Some(preview) => {
                let c = workload::counts(&rs);
                c.desired != preview || c.available != preview
            }
            None => !self.is_saturated(&rs),
        }
    }

    /// `reconcilePrePromotionAnalysisRun`.
    fn reconcile_pre_promotion_run(&mut self) -> Option<Arc<Value>> {
        let current = self.runs.pre_promotion.clone();
        let Some(analysis) = self
            .spec
            .blue_green()
            .and_then(|b| b.pre_promotion_analysis.clone())
        else {
            self.cancel_runs(current.as_slice());
            return None;
        };
        if self.skip_pre_promotion() {
            self.cancel_runs(current.as_slice());
            return current;
        }
        if self.status.pause_condition(PAUSE_INCONCLUSIVE).is_some() {
            return current;
        }
        if self.needs_new_run(&current) {
            let labels =
                json!({ROLLOUT_TYPE: TYPE_PRE_PROMOTION, ARGO_HASH_LABEL: self.new_hash()});
            return self.create_run(&analysis, "pre", labels);
        }
        current
    }

    /// Whether the pre-promotion analysis passed, or there is none (`completedPrePromotionAnalysis`).
    pub(super) fn completed_pre_promotion_analysis(&self) -> bool {
        if self
            .spec
            .blue_green()
            .is_none_or(|b| b.pre_promotion_analysis.is_none())
        {
            return true;
        }
        self.runs
            .pre_promotion
            .as_ref()
            .is_some_and(|r| phase_of(r) == Some(AnalysisPhase::Successful))
    }

    /// Stop runs that are still measuring (`cancelAnalysisRuns`).
    fn cancel_runs(&self, runs: &[Arc<Value>]) {
        for run in runs {
            let done = phase_of(run).is_some_and(AnalysisPhase::is_completed);
            if done || run["spec"]["terminate"] == true {
                continue;
            }
            if let Err(e) = self.ctx.store.modify(
                analysis_runs(),
                self.namespace(),
                workload::name_of(run),
                |r| r["spec"]["terminate"] = json!(true),
            ) {
                tracing::debug!("cancelling {}: {e}", workload::name_of(run));
            }
        }
    }

    /// An argument's value from the rollout (`BuildArgumentsForRolloutAnalysisRun`).
    fn resolve_argument(&self, arg: &Argument) -> Argument {
        let Some(from) = &arg.value_from else {
            return arg.clone();
        };
        let value = if let Some(which) = from["podTemplateHashValue"].as_str() {
            let rs = match which {
                "Latest" => self.new_rs(),
                _ => self.stable_rs(),
            };
            rs.map(|rs| hash_of(&rs, ARGO).to_string())
                .unwrap_or_default()
        } else if let Some(path) = from["fieldRef"]["fieldPath"].as_str() {
            self.field_path(path)
        } else {
            return arg.clone();
        };
        Argument {
            name: arg.name.clone(),
            value: Some(value),
            value_from: None,
        }
    }

    /// A downward-API style field of the rollout (`metadata.name`, `metadata.labels['app']`, …).
    fn field_path(&self, path: &str) -> String {
        let keyed = |prefix: &str| {
            path.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix("['"))
                .and_then(|rest| rest.strip_suffix("']"))
                .map(str::to_string)
        };
        let meta = &self.ro["metadata"];
        let value = if let Some(key) = keyed("metadata.labels") {
            &meta["labels"][key]
        } else if let Some(key) = keyed("metadata.annotations") {
            &meta["annotations"][key]
        } else {
            let mut v = &self.ro;
            for part in path.split('.') {
                v = &v[part];
            }
            v
        };
        match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// Build and create a run from the analysis' templates (`createAnalysisRun`).
    fn create_run(
        &mut self,
        analysis: &RolloutAnalysis,
        infix: &str,
        labels: Value,
    ) -> Option<Arc<Value>> {
        let hash = self.new_hash();
        if hash.is_empty() {
            return None;
        }
        let mut metrics = Vec::new();
        let mut args: Vec<Argument> = Vec::new();
        let mut dry_run = analysis.dry_run.clone();
        let mut retention = analysis.measurement_retention.clone();
        for t in &analysis.templates {
            let template = self
                .ctx
                .store
                .get(analysis_templates(), self.namespace(), &t.template_name)
                .ok()?;
            let spec = &template["spec"];
            metrics.extend(spec["metrics"].as_array().cloned().unwrap_or_default());
            dry_run.extend(spec["dryRun"].as_array().cloned().unwrap_or_default());
            retention.extend(
                spec["measurementRetention"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
            for arg in spec["args"].as_array().into_iter().flatten() {
                if let Ok(arg) = serde_json::from_value::<Argument>(arg.clone())
                    && !args.iter().any(|a| a.name == arg.name)
                {
                    args.push(arg);
                }
            }
        }
        for incoming in analysis.args.iter().map(|a| self.resolve_argument(a)) {
            if let Some(arg) = args.iter_mut().find(|a| a.name == incoming.name) {
                if incoming.value.is_some() {
                    arg.value = incoming.value;
                } else if incoming.value_from.is_some() {
                    arg.value_from = incoming.value_from;
                }
            }
        }
        if let Some(missing) = args
            .iter()
            .find(|a| a.value.is_none() && a.value_from.is_none())
        {
            tracing::warn!(
                "rollout {}: args.{} was not resolved; no AnalysisRun started",
                self.name(),
                missing.name
            );
            return None;
        }
        let revision = self.revision().to_string();
        let mut name = format!("{}-{hash}-{revision}", self.name());
        if !infix.is_empty() {
            name = format!("{name}-{infix}");
        }
        let mut all_labels: Map<String, Value> = labels.as_object().cloned().unwrap_or_default();
        all_labels.extend(analysis.analysis_run_metadata.labels.clone());
        if let Some(match_labels) = self.ro["spec"]["selector"]["matchLabels"].as_object() {
            all_labels.extend(match_labels.clone());
        }
        let mut annotations = Map::new();
        annotations.insert(ARGO_REVISION.into(), json!(revision));
        annotations.extend(analysis.analysis_run_metadata.annotations.clone());
        let mut spec = json!({"metrics": metrics, "args": args});
        if !dry_run.is_empty() {
            spec["dryRun"] = json!(dry_run);
        }
        if !retention.is_empty() {
            spec["measurementRetention"] = json!(retention);
        }
        let mut run = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {
                "name": name,
                "namespace": self.namespace(),
                "labels": all_labels,
                "annotations": annotations,
                "ownerReferences": [workload::owner_reference(&self.ro)],
            },
            "spec": spec,
        });
        // A name already taken (a run of an earlier attempt) gets a counter.
        for collision in 0.. {
            if collision > 0 {
                run["metadata"]["name"] = json!(format!("{name}.{collision}"));
            }
            match self.ctx.store.create(
                analysis_runs(),
                self.namespace(),
                run.clone(),
                WriteScope::Whole,
                false,
            ) {
                Ok(created) => return Some(created),
                Err(e) if e.code == 409 => continue,
                Err(e) => {
                    tracing::warn!("creating AnalysisRun {name}: {e}");
                    return None;
                }
            }
        }
        None
    }
}
