use super::*;

fn argo(observed: &str, phase: &str, controller_pause: bool, conditions: usize) -> Health {
    argo_phase(&ArgoPhaseInputs {
        generation: 3,
        observed_generation: Some(observed.to_string()),
        status_phase: Some(phase),
        status_message: Some("CanaryPauseStep"),
        controller_pause,
        pause_reasons: vec!["CanaryPauseStep"; conditions],
        ..Default::default()
    })
    .0
}

#[test]
fn argo_phase_trusts_status_once_the_generation_is_observed() {
    assert_eq!(argo("3", "Paused", true, 1), Health::Paused);
    assert_eq!(argo("4", "Paused", true, 1), Health::Paused);
    assert_eq!(argo("2", "Paused", true, 1), Health::Progressing);
    // A hash from a controller older than v0.10 counts as observed.
    assert_eq!(argo("7d77fd9646", "Healthy", false, 0), Health::Healthy);
    assert!(argo_generation_observed(None, 3));
}

#[test]
fn argo_unpausing_is_progressing() {
    assert_eq!(argo("3", "Paused", true, 0), Health::Progressing);
    assert_eq!(argo("3", "Degraded", false, 0), Health::Degraded);
}

/// A canary without `status.phase`, fully promoted and at full size.
fn settled() -> ArgoPhaseInputs<'static> {
    ArgoPhaseInputs {
        generation: 2,
        observed_generation: Some("2".into()),
        replicas: Replicas {
            desired: Some(3),
            current: Some(3),
            updated: Some(3),
            ready: Some(3),
            available: Some(3),
        },
        current_pod_hash: Some("abc"),
        stable_rs: Some("abc"),
        strategy: ArgoStrategyFacts::Canary {
            traffic_routed: false,
        },
        ..Default::default()
    }
}

fn computed(i: ArgoPhaseInputs<'_>) -> (Health, String) {
    let (health, _, message) = argo_phase(&i);
    (health, message)
}

#[test]
fn argo_phase_computed_in_argo_order_without_status_phase() {
    let progressing = |m: &str| (Health::Progressing, m.to_string());
    let condition = |kind, reason, message| ArgoCondition {
        kind,
        reason,
        message,
    };
    let r = settled().replicas;
    let cases: Vec<(ArgoPhaseInputs<'static>, (Health, String))> = vec![
        (settled(), (Health::Healthy, String::new())),
        (
            ArgoPhaseInputs {
                conditions: vec![
                    condition("Available", "AvailableReason", "ok"),
                    condition("InvalidSpec", "InvalidSpec", "bad selector"),
                ],
                spec_paused: true,
                ..settled()
            },
            (Health::Degraded, "InvalidSpec: bad selector".into()),
        ),
        (
            ArgoPhaseInputs {
                conditions: vec![condition(
                    "Progressing",
                    "ProgressDeadlineExceeded",
                    "timed out",
                )],
                ..settled()
            },
            (
                Health::Degraded,
                "ProgressDeadlineExceeded: timed out".into(),
            ),
        ),
        (
            ArgoPhaseInputs {
                conditions: vec![condition("Progressing", "RolloutAborted", "aborted")],
                pause_reasons: vec!["CanaryPauseStep"],
                ..settled()
            },
            (Health::Degraded, "RolloutAborted: aborted".into()),
        ),
        (
            ArgoPhaseInputs {
                spec_paused: true,
                pause_reasons: vec!["CanaryPauseStep"],
                ..settled()
            },
            (Health::Paused, "manually paused".into()),
        ),
        (
            ArgoPhaseInputs {
                pause_reasons: vec!["BlueGreenPause"],
                controller_pause: true,
                ..settled()
            },
            (Health::Paused, "BlueGreenPause".into()),
        ),
        (
            ArgoPhaseInputs {
                restart_pending: true,
                ..settled()
            },
            progressing("rollout is restarting"),
        ),
        (
            ArgoPhaseInputs {
                replicas: Replicas {
                    updated: Some(1),
                    ..r.clone()
                },
                ..settled()
            },
            progressing("more replicas need to be updated"),
        ),
        (
            ArgoPhaseInputs {
                replicas: Replicas {
                    available: Some(2),
                    ..r.clone()
                },
                ..settled()
            },
            progressing("updated replicas are still becoming available"),
        ),
        (
            ArgoPhaseInputs {
                replicas: Replicas {
                    current: Some(4),
                    ..r.clone()
                },
                ..settled()
            },
            progressing("old replicas are pending termination"),
        ),
        (
            ArgoPhaseInputs {
                replicas: Replicas {
                    available: None,
                    ..r.clone()
                },
                ..settled()
            },
            (Health::Unknown, COUNTS_UNKNOWN.into()),
        ),
        (
            ArgoPhaseInputs {
                replicas: Replicas {
                    current: Some(4),
                    ..r.clone()
                },
                strategy: ArgoStrategyFacts::Canary {
                    traffic_routed: true,
                },
                ..settled()
            },
            (Health::Healthy, String::new()),
        ),
        (
            ArgoPhaseInputs {
                stable_rs: Some("old"),
                ..settled()
            },
            progressing("waiting for all steps to complete"),
        ),
        (
            ArgoPhaseInputs {
                strategy: ArgoStrategyFacts::BlueGreen {
                    active_selector: Some("old"),
                    post_promotion_analysis_pending: false,
                },
                ..settled()
            },
            progressing("active service cutover pending"),
        ),
        (
            ArgoPhaseInputs {
                stable_rs: Some("old"),
                strategy: ArgoStrategyFacts::BlueGreen {
                    active_selector: Some("abc"),
                    post_promotion_analysis_pending: true,
                },
                ..settled()
            },
            progressing("waiting for analysis to complete"),
        ),
        (
            ArgoPhaseInputs {
                stable_rs: None,
                strategy: ArgoStrategyFacts::BlueGreen {
                    active_selector: Some("abc"),
                    post_promotion_analysis_pending: false,
                },
                ..settled()
            },
            progressing("waiting for post-promotion verification to complete"),
        ),
    ];
    for (i, expected) in cases {
        let what = format!("{i:?}");
        assert_eq!(computed(i), expected, "{what}");
    }
}

#[test]
fn flagger_phases() {
    assert_eq!(flagger_health("WaitingPromotion", false), Health::Paused);
    assert_eq!(flagger_health("Failed", false), Health::Degraded);
    assert_eq!(flagger_health("Progressing", true), Health::Paused);
    assert_eq!(flagger_health("Succeeded", true), Health::Healthy);
    assert_eq!(flagger_health("Terminated", false), Health::Unknown);
    // A phase Flagger never writes is not guessed at, suspended or not.
    assert_eq!(flagger_health("Weird", false), Health::Unknown);
    assert_eq!(flagger_health("Weird", true), Health::Unknown);
}

/// Each branch of kubectl's `DeploymentStatusViewer.Status`, in its
/// order, with kubectl's sentence.
#[test]
fn deployment_phases_in_kubectls_words() {
    let base = DeploymentPhaseInputs {
        name: "frontend",
        generation: 2,
        observed_generation: 2,
        desired: Some(5),
        updated: Some(5),
        replicas: Some(5),
        available: Some(5),
        ..Default::default()
    };
    let waiting =
        |what: &str| format!("Waiting for deployment \"frontend\" rollout to finish: {what}...");
    let cases = [
        (
            DeploymentPhaseInputs {
                observed_generation: 1,
                progressing_reason: Some("ProgressDeadlineExceeded"),
                ..base.clone()
            },
            Health::Progressing,
            "Waiting for deployment spec update to be observed...".to_string(),
        ),
        (
            DeploymentPhaseInputs {
                progressing_reason: Some("ProgressDeadlineExceeded"),
                updated: Some(3),
                ..base.clone()
            },
            Health::Degraded,
            "deployment \"frontend\" exceeded its progress deadline".into(),
        ),
        (
            DeploymentPhaseInputs {
                updated: Some(3),
                replicas: Some(6),
                available: Some(2),
                ..base.clone()
            },
            Health::Progressing,
            waiting("3 out of 5 new replicas have been updated"),
        ),
        (
            DeploymentPhaseInputs {
                replicas: Some(7),
                available: Some(2),
                ..base.clone()
            },
            Health::Progressing,
            waiting("2 old replicas are pending termination"),
        ),
        (
            DeploymentPhaseInputs {
                available: Some(4),
                ..base.clone()
            },
            Health::Progressing,
            waiting("4 of 5 updated replicas are available"),
        ),
        (
            base.clone(),
            Health::Healthy,
            "deployment \"frontend\" successfully rolled out".into(),
        ),
        (
            DeploymentPhaseInputs {
                paused: true,
                updated: Some(1),
                ..base.clone()
            },
            Health::Paused,
            waiting("1 out of 5 new replicas have been updated"),
        ),
        (
            DeploymentPhaseInputs {
                desired: None,
                ..base.clone()
            },
            Health::Unknown,
            COUNTS_UNKNOWN.into(),
        ),
    ];
    for (inputs, health, message) in cases {
        let what = format!("{inputs:?}");
        let (h, phase, m) = deployment_phase(&inputs);
        assert_eq!(
            (h, phase.as_str(), m),
            (health, health.word(), message),
            "{what}"
        );
    }
}
