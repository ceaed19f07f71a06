//! Permission pre-checks of actions: which SelfSubjectAccessReviews a
//! release needs, when to (re)send them, and what their answers allow. The
//! API server enforces RBAC anyway; these keep the screen honest: an
//! action is offered when the last answer allowed it, refused when it
//! denied it, and an expired answer is used while a fresh one is asked.

use super::state::{ACCESS_TTL_SECONDS, Access, AccessCheck, State};
use super::update::Effect;
use crate::cluster::kinds::watched_kind;
use crate::cluster::rbac::AccessKey;
use crate::model::{ActionPlan, Kind, ReleaseKey};
use chrono::{DateTime, Utc};

/// The access question of one request of an action on `release`.
fn request_key(release: &ReleaseKey, subresource: Option<&'static str>) -> AccessKey {
    let wk = watched_kind(release.kind);
    AccessKey {
        verb: "patch",
        group: wk.group(),
        resource: wk.plural(),
        subresource,
        namespace: release.namespace.clone(),
        name: release.name.clone(),
    }
}

/// The access questions for the actions on one release.
pub fn access_keys(release: &ReleaseKey) -> Vec<AccessKey> {
    match release.kind {
        Kind::Rollout => vec![
            request_key(release, None),
            request_key(release, Some("status")),
        ],
        Kind::Canary | Kind::Deployment => vec![request_key(release, None)],
    }
}

/// Reviews to send for the target release: those never asked and those
/// whose answer expired, unless one is already on its way.
pub fn access_checks(state: &mut State) -> Vec<Effect> {
    if state.read_only {
        return Vec::new();
    }
    let Some(target) = state.target() else {
        return Vec::new();
    };
    let keys = access_keys(&target.key);
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
pub fn record_answer(
    state: &mut State,
    key: AccessKey,
    result: Result<(bool, String), String>,
    at: DateTime<Utc>,
) {
    let answer = match result {
        Ok((true, _)) => Access::Allowed(at),
        Ok((false, reason)) => Access::Denied { reason, at },
        Err(error) => Access::Unknown { error, at },
    };
    state.access.insert(
        key,
        AccessCheck {
            answer: Some(answer),
            checking: false,
        },
    );
}

/// What the answers say of a planned action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    Granted,
    /// Denied, or the review failed: why, in plain words.
    Refused(String),
    /// No answer yet for some request (and none denied).
    Awaiting,
}

/// Whether the last answers allow every request of `plan`.
pub fn permission(state: &State, release: &ReleaseKey, plan: &ActionPlan) -> Permission {
    let mut awaiting = false;
    for request in &plan.requests {
        let key = request_key(release, request.subresource);
        let check = state.access.get(&key);
        let checking = check.is_some_and(|c| c.checking);
        match check.and_then(|c| c.answer.as_ref()) {
            Some(Access::Allowed(_)) => {}
            Some(Access::Denied { reason, .. }) => {
                let user = state.scope.user.as_deref().unwrap_or("you");
                let why = if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                };
                return Permission::Refused(format!("forbidden: {user} may not {key}{why}"));
            }
            // A failed review being asked again may yet answer.
            Some(Access::Unknown { .. }) if checking => awaiting = true,
            Some(Access::Unknown { error, .. }) => {
                return Permission::Refused(format!("permission unknown ({error})"));
            }
            None => awaiting = true,
        }
    }
    if awaiting {
        Permission::Awaiting
    } else {
        Permission::Granted
    }
}
