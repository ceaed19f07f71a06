use super::*;

fn facts(kind: Kind, health: Health, phase: &str) -> GateFacts {
    GateFacts {
        kind,
        health,
        phase: phase.into(),
        message: String::new(),
        aborted: false,
        waiting_for_decision: false,
        fully_promoted: health == Health::Healthy,
        bake: BakeSeen::None,
    }
}

fn seen(verdict: Verdict) -> VerdictSeen {
    VerdictSeen {
        verdict,
        reasons: vec![format!("{verdict}: why")],
    }
}

use RequiredVerdict::{Any, NotFail, Pass};

#[test]
fn a_pause_that_waits_for_a_decision_is_paused_a_timed_one_is_not() {
    let mut paused = facts(Kind::Rollout, Health::Paused, "Paused");
    assert_eq!(judge(&paused, None, false, Until::Paused, NotFail), None);
    paused.waiting_for_decision = true;
    assert_eq!(
        judge(&paused, None, false, Until::Paused, NotFail),
        Some(GateEnd::Reached)
    );
    assert_eq!(
        judge(&paused, None, false, Until::Healthy, NotFail),
        None,
        "still waiting for healthy"
    );
}

#[test]
fn healthy_needs_a_rollout_fully_promoted() {
    let mut healthy = facts(Kind::Rollout, Health::Healthy, "Healthy");
    assert_eq!(
        judge(&healthy, None, false, Until::Healthy, NotFail),
        Some(GateEnd::Reached)
    );
    healthy.fully_promoted = false;
    assert_eq!(judge(&healthy, None, false, Until::Healthy, NotFail), None);
    let deployment = GateFacts {
        fully_promoted: false,
        ..facts(Kind::Deployment, Health::Healthy, "Healthy")
    };
    assert_eq!(
        judge(&deployment, None, false, Until::Promoted, NotFail),
        Some(GateEnd::Reached),
        "promoted is healthy for the kinds without Flagger's word"
    );
}

#[test]
fn promoted_is_flaggers_succeeded_not_initialized() {
    let initialized = facts(Kind::Canary, Health::Healthy, "Initialized");
    assert_eq!(judge(&initialized, None, false, Until::Promoted, Any), None);
    assert_eq!(
        judge(&initialized, None, false, Until::Healthy, Any),
        Some(GateEnd::Reached)
    );
    let succeeded = facts(Kind::Canary, Health::Healthy, "Succeeded");
    assert_eq!(
        judge(&succeeded, None, false, Until::Promoted, Any),
        Some(GateEnd::Reached)
    );
}

#[test]
fn degraded_failed_or_aborted_is_a_failure_with_the_controllers_words() {
    let failed = GateFacts {
        message: "Canary analysis failed".into(),
        ..facts(Kind::Canary, Health::Degraded, "Failed")
    };
    assert_eq!(
        judge(&failed, None, false, Until::Promoted, Any),
        Some(GateEnd::Failed("Failed: Canary analysis failed".into()))
    );
    let aborting = GateFacts {
        aborted: true,
        ..facts(Kind::Rollout, Health::Progressing, "Progressing")
    };
    assert_eq!(
        judge(&aborting, None, false, Until::Healthy, NotFail),
        Some(GateEnd::Failed("aborted".into()))
    );
    // A failure is the controller's fact: it comes before the verdict.
    assert_eq!(
        judge(
            &failed,
            Some(&seen(Verdict::Fail)),
            false,
            Until::Healthy,
            Pass
        ),
        Some(GateEnd::Failed("Failed: Canary analysis failed".into()))
    );
}

#[test]
fn a_fail_verdict_ends_the_gate_unless_any_verdict_will_do() {
    let running = facts(Kind::Rollout, Health::Progressing, "Progressing");
    let fail = seen(Verdict::Fail);
    for required in [Pass, NotFail] {
        assert_eq!(
            judge(&running, Some(&fail), false, Until::Healthy, required),
            Some(GateEnd::VerdictFailed(vec!["Fail: why".into()]))
        );
    }
    assert_eq!(
        judge(&running, Some(&fail), false, Until::Healthy, Any),
        None
    );
    let done = facts(Kind::Rollout, Health::Healthy, "Healthy");
    assert_eq!(
        judge(&done, Some(&fail), false, Until::Healthy, Any),
        Some(GateEnd::Reached)
    );
}

#[test]
fn pass_is_required_at_the_end_and_waited_for_while_measuring() {
    let done = facts(Kind::Rollout, Health::Healthy, "Healthy");
    assert_eq!(judge(&done, None, true, Until::Healthy, Pass), None);
    assert_eq!(
        judge(&done, None, false, Until::Healthy, Pass),
        Some(GateEnd::VerdictNotHeld(
            "healthy with no verdict (nothing was measured): --require-verdict pass needs a Pass"
                .into()
        ))
    );
    assert_eq!(
        judge(
            &done,
            Some(&seen(Verdict::Marginal)),
            false,
            Until::Healthy,
            Pass
        ),
        Some(GateEnd::VerdictNotHeld(
            "healthy with the verdict Marginal: --require-verdict pass needs a Pass".into()
        ))
    );
    assert_eq!(
        judge(
            &done,
            Some(&seen(Verdict::Pass)),
            false,
            Until::Healthy,
            Pass
        ),
        Some(GateEnd::Reached)
    );
    for verdict in [
        None,
        Some(seen(Verdict::NoData)),
        Some(seen(Verdict::Marginal)),
    ] {
        assert_eq!(
            judge(&done, verdict.as_ref(), false, Until::Healthy, NotFail),
            Some(GateEnd::Reached),
            "no data is not a Fail: {verdict:?}"
        );
    }
}

#[test]
fn the_words_parse_back() {
    for word in Until::WORDS {
        assert_eq!(word.parse::<Until>().map(Until::word), Ok(word));
    }
    for word in RequiredVerdict::WORDS {
        assert!(word.parse::<RequiredVerdict>().is_ok(), "{word}");
    }
    assert!("done".parse::<Until>().is_err());
}

#[test]
fn baked_waits_through_the_window_and_a_breach_ends_it() {
    let mut done = facts(Kind::Rollout, Health::Healthy, "Healthy");
    assert_eq!(
        judge(&done, None, false, Until::Baked, NotFail),
        None,
        "not finished"
    );
    done.bake = BakeSeen::Baking;
    assert_eq!(judge(&done, None, false, Until::Baked, NotFail), None);
    done.bake = BakeSeen::Baked;
    assert_eq!(
        judge(&done, None, false, Until::Baked, NotFail),
        Some(GateEnd::Reached)
    );
    done.bake = BakeSeen::Breached("error ratio 3% above its limit 1%".into());
    assert_eq!(
        judge(&done, None, false, Until::Baked, NotFail),
        Some(GateEnd::SloBreached(
            "error ratio 3% above its limit 1%".into()
        ))
    );
    assert_eq!(
        judge(&done, None, false, Until::Healthy, NotFail),
        Some(GateEnd::Reached),
        "a breach ends only a gate that waits for the bake"
    );
    let mut failed = facts(Kind::Rollout, Health::Degraded, "Degraded");
    failed.bake = BakeSeen::Baking;
    assert!(matches!(
        judge(&failed, None, false, Until::Baked, NotFail),
        Some(GateEnd::Failed(_))
    ));
}
