//! Phase derivation, exactly as each controller defines it.

use super::release::Replicas;
use serde::Serialize;

/// The health every kind maps onto: drives the symbol, colour and sort order.
/// The controller's own word (e.g. Flagger's `WaitingPromotion`) is kept
/// beside it in [`crate::model::Release::phase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Health {
    Degraded,
    Paused,
    Progressing,
    Healthy,
    Unknown,
}

impl Health {
    pub const ALL: [Health; 5] = [
        Health::Degraded,
        Health::Paused,
        Health::Progressing,
        Health::Healthy,
        Health::Unknown,
    ];

    /// The symbol `kubectl argo rollouts get` uses for this health.
    pub fn symbol(self) -> &'static str {
        match self {
            Health::Healthy => "✔",
            Health::Progressing => "◌",
            Health::Paused => "॥",
            Health::Degraded => "✖",
            Health::Unknown => "?",
        }
    }

    /// The word for a health the controller has no word of its own for.
    pub fn word(self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Progressing => "Progressing",
            Health::Paused => "Paused",
            Health::Degraded => "Degraded",
            Health::Unknown => "Unknown",
        }
    }

    /// The symbol in plain ASCII, for terminals without Unicode.
    pub fn ascii_symbol(self) -> &'static str {
        match self {
            Health::Healthy => "+",
            Health::Progressing => "~",
            Health::Paused => "=",
            Health::Degraded => "x",
            Health::Unknown => "?",
        }
    }
}

/// The phases Argo Rollouts writes in `status.phase`.
pub const ARGO_PHASES: [&str; 4] = ["Healthy", "Progressing", "Paused", "Degraded"];

/// The phases Flagger writes in a Canary's `status.phase`.
pub const FLAGGER_PHASES: [&str; 11] = [
    "Initializing",
    "Initialized",
    "Waiting",
    "Progressing",
    "WaitingPromotion",
    "Promoting",
    "Finalising",
    "Succeeded",
    "Failed",
    "Terminating",
    "Terminated",
];

/// The message beside a phase that counts cannot decide.
const COUNTS_UNKNOWN: &str = "phase unknown: a replica count is malformed";

/// One entry of a Rollout's `status.conditions`.
#[derive(Debug, Clone, Default)]
pub struct ArgoCondition<'a> {
    /// The condition's `type` (`InvalidSpec`, `Progressing`, …).
    pub kind: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

/// What a Rollout's strategy adds to the phase calculation.
#[derive(Debug, Clone, Default)]
pub enum ArgoStrategyFacts<'a> {
    BlueGreen {
        /// `status.blueGreen.activeSelector`.
        active_selector: Option<&'a str>,
        /// A post-promotion analysis is configured and its run has not
        /// completed.
        post_promotion_analysis_pending: bool,
    },
    Canary {
        /// `spec.strategy.canary.trafficRouting` is set.
        traffic_routed: bool,
    },
    #[default]
    Neither,
}

/// Inputs to Argo Rollouts' `GetRolloutPhase` and, when the controller
/// wrote no `status.phase` (v0.10 and older), `CalculateRolloutPhase`
/// (utils/rollout/rolloututil.go).
#[derive(Debug, Clone, Default)]
pub struct ArgoPhaseInputs<'a> {
    pub generation: i64,
    /// `status.observedGeneration`: a number written as a string, or a hash
    /// from controllers older than v0.10.
    pub observed_generation: Option<String>,
    pub status_phase: Option<&'a str>,
    pub status_message: Option<&'a str>,
    pub controller_pause: bool,
    /// Reasons of `status.pauseConditions`, in order.
    pub pause_reasons: Vec<&'a str>,
    pub conditions: Vec<ArgoCondition<'a>>,
    /// `spec.paused`.
    pub spec_paused: bool,
    /// `spec.restartAt` is set and differs from `status.restartedAt`.
    pub restart_pending: bool,
    /// `spec.replicas` (default 1) and the status counts; a malformed one
    /// makes a phase that needs it unknown.
    pub replicas: Replicas,
    pub current_pod_hash: Option<&'a str>,
    pub stable_rs: Option<&'a str>,
    pub strategy: ArgoStrategyFacts<'a>,
}

/// Whether the controller has seen the current spec: a numeric
/// `observedGeneration` must have reached `metadata.generation`; anything
/// else (a hash, nothing at all) counts as observed, as Argo's CLI counts it.
pub fn argo_generation_observed(observed: Option<&str>, generation: i64) -> bool {
    match observed.and_then(|g| g.parse::<i64>().ok()) {
        Some(g) => g >= generation,
        None => true,
    }
}

/// Argo's displayed phase: the controller's `status.phase` is only trusted
/// once it has observed the current generation and is not in the middle of
/// unpausing (`controllerPause` still set but pause conditions cleared).
/// Without a `status.phase` the phase is computed from spec and status.
pub fn argo_phase(inputs: &ArgoPhaseInputs<'_>) -> (Health, String, String) {
    let (phase, message) =
        if !argo_generation_observed(inputs.observed_generation.as_deref(), inputs.generation) {
            (
                "Progressing",
                "waiting for rollout spec update to be observed".to_string(),
            )
        } else if inputs.controller_pause && inputs.pause_reasons.is_empty() {
            ("Progressing", "waiting for rollout to unpause".to_string())
        } else if let Some(phase) = inputs.status_phase.filter(|p| !p.is_empty()) {
            (phase, inputs.status_message.unwrap_or_default().to_string())
        } else {
            calculate_argo_phase(inputs)
        };
    let health = match phase {
        "Healthy" => Health::Healthy,
        "Progressing" => Health::Progressing,
        "Paused" => Health::Paused,
        "Degraded" => Health::Degraded,
        _ => Health::Unknown,
    };
    (health, phase.to_string(), message)
}

/// `CalculateRolloutPhase`: the first rule that matches decides.
fn calculate_argo_phase<'a>(i: &ArgoPhaseInputs<'a>) -> (&'a str, String) {
    let progressing = |why: &str| ("Progressing", why.to_string());
    for c in &i.conditions {
        if c.kind == "InvalidSpec" {
            return ("Degraded", format!("InvalidSpec: {}", c.message));
        }
        if matches!(c.reason, "RolloutAborted" | "ProgressDeadlineExceeded") {
            return ("Degraded", format!("{}: {}", c.reason, c.message));
        }
    }
    if i.spec_paused {
        return ("Paused", "manually paused".to_string());
    }
    if let Some(reason) = i.pause_reasons.first() {
        return ("Paused", reason.to_string());
    }
    if i.restart_pending {
        return progressing("rollout is restarting");
    }
    let r = &i.replicas;
    let (Some(desired), Some(current), Some(updated), Some(available)) =
        (r.desired, r.current, r.updated, r.available)
    else {
        return ("Unknown", COUNTS_UNKNOWN.to_string());
    };
    if updated < desired {
        return progressing("more replicas need to be updated");
    }
    if available < updated {
        return progressing("updated replicas are still becoming available");
    }
    let fully_promoted = i.stable_rs.is_some() && i.stable_rs == i.current_pod_hash;
    match &i.strategy {
        ArgoStrategyFacts::BlueGreen {
            active_selector,
            post_promotion_analysis_pending,
        } => {
            if active_selector.is_none() || *active_selector != i.current_pod_hash {
                return progressing("active service cutover pending");
            }
            if !fully_promoted && *post_promotion_analysis_pending {
                return progressing("waiting for analysis to complete");
            }
            if !fully_promoted {
                return progressing("waiting for post-promotion verification to complete");
            }
        }
        ArgoStrategyFacts::Canary { traffic_routed } => {
            if !traffic_routed && current > updated {
                return progressing("old replicas are pending termination");
            }
            if !fully_promoted {
                return progressing("waiting for all steps to complete");
            }
        }
        ArgoStrategyFacts::Neither => {}
    }
    ("Healthy", String::new())
}

/// Flagger's phases mapped onto health; the word stays Flagger's. A phase
/// Flagger does not write is unknown, suspended or not.
pub fn flagger_health(phase: &str, suspended: bool) -> Health {
    if !FLAGGER_PHASES.contains(&phase) {
        return Health::Unknown;
    }
    if suspended && !matches!(phase, "Succeeded" | "Failed" | "Initialized") {
        return Health::Paused;
    }
    match phase {
        "Initialized" | "Succeeded" => Health::Healthy,
        "Initializing" | "Progressing" | "Promoting" | "Finalising" | "Terminating" => {
            Health::Progressing
        }
        "Waiting" | "WaitingPromotion" => Health::Paused,
        "Failed" => Health::Degraded,
        _ => Health::Unknown,
    }
}

/// Inputs to `kubectl rollout status` for a Deployment
/// (`DeploymentStatusViewer.Status` in kubectl).
#[derive(Debug, Clone, Default)]
pub struct DeploymentPhaseInputs<'a> {
    /// The Deployment's name, which kubectl's sentences quote.
    pub name: &'a str,
    pub generation: i64,
    pub observed_generation: i64,
    pub paused: bool,
    /// `spec.replicas` and the status counts; None where malformed.
    pub desired: Option<i64>,
    pub updated: Option<i64>,
    pub replicas: Option<i64>,
    pub available: Option<i64>,
    /// Reason of the `Progressing` condition.
    pub progressing_reason: Option<&'a str>,
}

/// A Deployment's phase as `kubectl rollout status` judges it, with
/// kubectl's own sentence as the message (without its trailing newline).
/// A paused Deployment is Paused, its message still kubectl's.
pub fn deployment_phase(i: &DeploymentPhaseInputs<'_>) -> (Health, String, String) {
    let judged = |health: Health, message: String| (health, health.word().to_string(), message);
    if i.observed_generation < i.generation {
        return judged(
            Health::Progressing,
            "Waiting for deployment spec update to be observed...".into(),
        );
    }
    let name = i.name;
    if i.progressing_reason == Some("ProgressDeadlineExceeded") {
        return judged(
            Health::Degraded,
            format!("deployment \"{name}\" exceeded its progress deadline"),
        );
    }
    let (Some(desired), Some(updated), Some(replicas), Some(available)) =
        (i.desired, i.updated, i.replicas, i.available)
    else {
        return judged(Health::Unknown, COUNTS_UNKNOWN.into());
    };
    let waiting_for = if updated < desired {
        Some(format!(
            "{updated} out of {desired} new replicas have been updated"
        ))
    } else if replicas > updated {
        Some(format!(
            "{} old replicas are pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Some(format!(
            "{available} of {updated} updated replicas are available"
        ))
    } else {
        None
    };
    let (health, message) = match waiting_for {
        Some(what) => (
            Health::Progressing,
            format!("Waiting for deployment \"{name}\" rollout to finish: {what}..."),
        ),
        None => (
            Health::Healthy,
            format!("deployment \"{name}\" successfully rolled out"),
        ),
    };
    judged(if i.paused { Health::Paused } else { health }, message)
}

#[cfg(test)]
mod tests;
