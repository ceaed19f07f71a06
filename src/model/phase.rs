//! Phase derivation, exactly as each controller defines it.

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

/// Inputs to Argo Rollouts' `GetRolloutPhase` (utils/rollout/rolloututil.go)
/// after the controller's own status fields are read.
#[derive(Debug, Clone, Default)]
pub struct ArgoPhaseInputs<'a> {
    pub generation: i64,
    /// `status.observedGeneration`, a string in Argo's status.
    pub observed_generation: Option<&'a str>,
    pub status_phase: Option<&'a str>,
    pub status_message: Option<&'a str>,
    pub controller_pause: bool,
    pub pause_conditions: usize,
}

/// Argo's displayed phase: the controller's `status.phase` is only trusted
/// once it has observed the current generation and is not in the middle of
/// unpausing (`controllerPause` still set but pause conditions cleared).
pub fn argo_phase(inputs: &ArgoPhaseInputs<'_>) -> (Health, String, String) {
    let observed = inputs
        .observed_generation
        .and_then(|g| g.parse::<i64>().ok())
        .is_some_and(|g| g == inputs.generation);
    if !observed {
        return (
            Health::Progressing,
            "Progressing".into(),
            "waiting for rollout spec update to be observed".into(),
        );
    }
    if inputs.controller_pause && inputs.pause_conditions == 0 {
        return (
            Health::Progressing,
            "Progressing".into(),
            "waiting for rollout to unpause".into(),
        );
    }
    let message = inputs.status_message.unwrap_or_default().to_string();
    match inputs.status_phase {
        Some("Healthy") => (Health::Healthy, "Healthy".into(), message),
        Some("Progressing") => (Health::Progressing, "Progressing".into(), message),
        Some("Paused") => (Health::Paused, "Paused".into(), message),
        Some("Degraded") => (Health::Degraded, "Degraded".into(), message),
        Some(other) if !other.is_empty() => (Health::Unknown, other.to_string(), message),
        _ => (Health::Progressing, "Progressing".into(), message),
    }
}

/// Flagger's phases mapped onto health; the word stays Flagger's.
pub fn flagger_health(phase: &str, suspended: bool) -> Health {
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
        "Terminated" => Health::Unknown,
        _ => Health::Progressing,
    }
}

/// Inputs to `kubectl rollout status` for a Deployment
/// (`DeploymentStatusViewer.Status` in kubectl).
#[derive(Debug, Clone, Default)]
pub struct DeploymentPhaseInputs<'a> {
    pub generation: i64,
    pub observed_generation: i64,
    pub paused: bool,
    pub desired: i64,
    pub updated: i64,
    pub replicas: i64,
    pub available: i64,
    /// Reason of the `Progressing` condition.
    pub progressing_reason: Option<&'a str>,
}

/// A Deployment's phase as `kubectl rollout status` judges it.
pub fn deployment_phase(i: &DeploymentPhaseInputs<'_>) -> (Health, String, String) {
    if i.observed_generation < i.generation {
        return (
            Health::Progressing,
            "Progressing".into(),
            "waiting for deployment spec update to be observed".into(),
        );
    }
    if i.progressing_reason == Some("ProgressDeadlineExceeded") {
        return (
            Health::Degraded,
            "Degraded".into(),
            "ProgressDeadlineExceeded: deployment exceeded its progress deadline".into(),
        );
    }
    if i.paused {
        return (Health::Paused, "Paused".into(), "manually paused".into());
    }
    if i.updated < i.desired {
        return (
            Health::Progressing,
            "Progressing".into(),
            format!(
                "{} of {} updated replicas are available",
                i.updated, i.desired
            ),
        );
    }
    if i.replicas > i.updated {
        return (
            Health::Progressing,
            "Progressing".into(),
            format!(
                "{} old replicas are pending termination",
                i.replicas - i.updated
            ),
        );
    }
    if i.available < i.updated {
        return (
            Health::Progressing,
            "Progressing".into(),
            format!(
                "{} of {} updated replicas are available",
                i.available, i.updated
            ),
        );
    }
    (Health::Healthy, "Healthy".into(), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argo(observed: &str, phase: &str, controller_pause: bool, conditions: usize) -> Health {
        argo_phase(&ArgoPhaseInputs {
            generation: 3,
            observed_generation: Some(observed),
            status_phase: Some(phase),
            status_message: Some("CanaryPauseStep"),
            controller_pause,
            pause_conditions: conditions,
        })
        .0
    }

    #[test]
    fn argo_phase_trusts_status_only_when_generation_observed() {
        assert_eq!(argo("3", "Paused", true, 1), Health::Paused);
        assert_eq!(argo("2", "Paused", true, 1), Health::Progressing);
        assert_eq!(
            argo("not-a-number", "Healthy", false, 0),
            Health::Progressing
        );
    }

    #[test]
    fn argo_unpausing_is_progressing() {
        assert_eq!(argo("3", "Paused", true, 0), Health::Progressing);
        assert_eq!(argo("3", "Degraded", false, 0), Health::Degraded);
    }

    #[test]
    fn flagger_phases() {
        assert_eq!(flagger_health("WaitingPromotion", false), Health::Paused);
        assert_eq!(flagger_health("Failed", false), Health::Degraded);
        assert_eq!(flagger_health("Progressing", true), Health::Paused);
        assert_eq!(flagger_health("Succeeded", true), Health::Healthy);
    }

    #[test]
    fn deployment_phases() {
        let base = DeploymentPhaseInputs {
            generation: 2,
            observed_generation: 2,
            desired: 3,
            updated: 3,
            replicas: 3,
            available: 3,
            ..Default::default()
        };
        assert_eq!(deployment_phase(&base).0, Health::Healthy);
        let old = DeploymentPhaseInputs {
            replicas: 4,
            ..base.clone()
        };
        assert_eq!(deployment_phase(&old).0, Health::Progressing);
        let stale = DeploymentPhaseInputs {
            observed_generation: 1,
            ..base.clone()
        };
        assert_eq!(deployment_phase(&stale).0, Health::Progressing);
        let paused = DeploymentPhaseInputs {
            paused: true,
            updated: 1,
            ..base.clone()
        };
        assert_eq!(deployment_phase(&paused).0, Health::Paused);
        let dead = DeploymentPhaseInputs {
            progressing_reason: Some("ProgressDeadlineExceeded"),
            ..base
        };
        assert_eq!(deployment_phase(&dead).0, Health::Degraded);
    }
}
