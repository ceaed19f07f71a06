//! Permission pre-checks of actions: which SelfSubjectAccessReviews a
//! release needs and what their answers allow (when to send them is the
//! update step's, `update::access`). The
//! API server enforces RBAC anyway; these keep the screen honest: an
//! action is offered when the last answer allowed it, refused when it
//! denied it, and an expired answer is used while a fresh one is asked.

use super::state::{AccessAnswer, State};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::kinds::watched_kind;
use crate::cluster::rbac::AccessKey;
use crate::model::action;
use crate::model::flag::FlagSource;
use crate::model::{Action, ActionPlan, Kind, PatchRequest, Release, ReleaseKey};

/// The access question of one request of an action on `release`.
fn request_key(release: &ReleaseKey, subresource: Option<&'static str>) -> AccessKey {
    let wk = watched_kind(release.kind);
    AccessKey {
        cluster: release.cluster.clone(),
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

/// The access question of patching the FeatureFlag `name` in
/// `namespace`, asked in the cluster of `release`.
fn feature_flag_key(release: &ReleaseKey, namespace: &str, name: &str) -> AccessKey {
    let kind = WatchedKind::FeatureFlag;
    AccessKey {
        cluster: release.cluster.clone(),
        verb: "patch",
        group: kind.group(),
        resource: kind.plural(),
        subresource: None,
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

/// The access questions of the kill switch on `release`: one per
/// FeatureFlag resource its flags come from.
pub fn flag_access_keys(release: &Release) -> Vec<AccessKey> {
    let mut keys: Vec<AccessKey> = release
        .flags
        .iter()
        // Unleash answers for its token when asked: nothing to ask first.
        .filter_map(|f| match &f.source {
            FlagSource::FeatureFlag { namespace, name } => {
                Some(feature_flag_key(&release.key, namespace, name))
            }
            FlagSource::Unleash { .. } => None,
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The access question of one request of `plan`: on the flag it writes,
/// else on the release.
fn plan_request_key(release: &ReleaseKey, plan: &ActionPlan, request: &PatchRequest) -> AccessKey {
    match plan.flag.as_ref().and_then(|f| f.feature_flag()) {
        Some((namespace, name)) => feature_flag_key(release, namespace, name),
        None => request_key(release, request.subresource),
    }
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
        let key = plan_request_key(release, plan, request);
        let check = state.access.get(&key);
        let checking = check.is_some_and(|c| c.checking);
        match check.and_then(|c| c.answer.as_ref()) {
            Some(AccessAnswer::Allowed(_)) => {}
            Some(AccessAnswer::Denied { reason, .. }) => {
                let user = state
                    .member_of(&release.cluster)
                    .and_then(|m| m.scope.user.as_deref())
                    .unwrap_or("you");
                let why = if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                };
                return Permission::Refused(format!("forbidden: {user} may not {key}{why}"));
            }
            // A failed review being asked again may yet answer.
            Some(AccessAnswer::Unknown { .. }) if checking => awaiting = true,
            Some(AccessAnswer::Unknown { error, .. }) => {
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

/// Why `action` cannot be offered on `release` now, or None when it can.
pub fn unavailable(state: &State, release: &Release, action: Action) -> Option<String> {
    if state.read_only {
        return Some("read-only".into());
    }
    let plan = match action::plan(release, action, state.now) {
        Ok(plan) => plan,
        Err(reason) => return Some(reason),
    };
    match permission(state, &release.key, &plan) {
        Permission::Granted => None,
        Permission::Refused(reason) => Some(reason),
        Permission::Awaiting => Some(CHECKING.into()),
    }
}

/// What a press waits for while its permission is being asked.
pub const CHECKING: &str = "checking permission…";
