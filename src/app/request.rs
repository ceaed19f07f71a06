//! What an action is sent with: the release's object as this state has it
//! (its decision fingerprint and resourceVersion, which the Mutator checks
//! against a fresh read before it writes), and the request naming the
//! user and context. The control room's confirmations and `cutover gate`'s
//! abort build their requests here alike.

use super::State;
use crate::cluster::fingerprint::object_fingerprint;
use crate::cluster::kinds::watched_kind;
use crate::model::action::FlagTarget;
use crate::model::{ActionPlan, ActionRequest, DecisionFingerprint, ReleaseKey};

/// What the decision was taken on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub fingerprint: DecisionFingerprint,
    pub resource_version: String,
}

/// The release's object as `state` has it now; None when it is gone.
pub fn seen_now(state: &State, key: &ReleaseKey) -> Option<Seen> {
    let object = state.member_of(&key.cluster)?.cluster.objects().find(
        watched_kind(key.kind),
        &key.namespace,
        &key.name,
    )?;
    Some(Seen {
        fingerprint: object_fingerprint(key.kind, object),
        resource_version: object.metadata.resource_version.clone().unwrap_or_default(),
    })
}

/// The request to send `plan` on `key`, decided on `seen`, by the user and
/// context of the cluster `key` was read from.
pub fn action_request(
    state: &State,
    id: u64,
    key: &ReleaseKey,
    plan: ActionPlan,
    seen: Seen,
    override_of: Option<String>,
) -> ActionRequest {
    let scope = state.member_of(&key.cluster).map(|m| &m.scope);
    ActionRequest {
        id,
        key: key.clone(),
        plan,
        seen: seen.fingerprint,
        seen_resource_version: seen.resource_version,
        user: scope
            .and_then(|s| s.user.clone())
            .unwrap_or_else(|| "unknown".into()),
        context: scope.map_or_else(|| key.cluster.clone(), |s| s.context.clone()),
        override_of,
    }
}

/// How the flag `target` names changed, as `state` has it now, since the
/// human saw it: empty when it is as seen.
pub fn flag_changes(state: &State, key: &ReleaseKey, target: &FlagTarget) -> Vec<String> {
    let now = state.release(key).and_then(|r| {
        r.flags
            .iter()
            .find(|f| f.key == target.key && f.source == target.source)
    });
    match now {
        None => vec![format!(
            "{} is no longer linked to {}",
            target.describe(),
            key.name
        )],
        Some(flag) if flag.definition != target.seen => vec![if flag.resource_version.is_empty() {
            format!("{} changed", target.describe())
        } else {
            format!(
                "{} changed (resourceVersion {} → {})",
                target.describe(),
                target.resource_version,
                flag.resource_version
            )
        }],
        Some(_) => Vec::new(),
    }
}
