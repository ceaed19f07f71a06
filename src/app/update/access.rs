//! The update side of permission pre-checks: which reviews to send, and
//! keeping their answers (what the answers allow is `app::access`).

use super::Effect;
use crate::app::access::{access_keys, flag_access_keys};
use crate::app::state::{ACCESS_TTL_SECONDS, AccessAnswer, AccessCheck, State};
use crate::cluster::rbac::AccessKey;
use chrono::{DateTime, Utc};

/// Reviews to send for the target release: those never asked and those
/// whose answer expired, unless one is already on its way.
pub(super) fn access_checks(state: &mut State) -> Vec<Effect> {
    if state.read_only {
        return Vec::new();
    }
    let Some(target) = state.target() else {
        return Vec::new();
    };
    let mut keys = access_keys(&target.key);
    keys.extend(flag_access_keys(target));
    let now = state.now;
    let mut effects = Vec::new();
    for key in keys {
        let check = state.access.entry(key.clone()).or_default();
        let fresh = check
            .answer
            .as_ref()
            .is_some_and(|a| (now - a.at()).num_seconds() < ACCESS_TTL_SECONDS);
        if !fresh && !check.checking {
            check.checking = true;
            effects.push(Effect::CheckAccess(key));
        }
    }
    effects
}

/// Keep a review's answer (an error is an answer of its own: unknown).
pub(super) fn record_answer(
    state: &mut State,
    key: AccessKey,
    result: Result<(bool, String), String>,
    at: DateTime<Utc>,
) {
    let answer = match result {
        Ok((true, _)) => AccessAnswer::Allowed(at),
        Ok((false, reason)) => AccessAnswer::Denied { reason, at },
        Err(error) => AccessAnswer::Unknown { error, at },
    };
    state.access.insert(
        key,
        AccessCheck {
            answer: Some(answer),
            checking: false,
        },
    );
}
