//! `--abort-on-fail`: the abort (or, after a bake breach, the rollback),
//! sent as the control room sends it. The
//! same plan, the same permission reviews and their reading, the request
//! built on what was seen (the Mutator reads the object again and refuses
//! if it changed), audited before and after, and an Event on the object.

use crate::app::access::{Permission, access_keys, permission};
use crate::app::request::{action_request, seen_now};
use crate::app::{Msg, State, update};
use crate::cluster::mutate::Mutator;
use crate::cluster::rbac;
use crate::model::action::{self, Action};
use crate::model::{ActionOutcome, ReleaseKey};
use chrono::Utc;
use kube::Client;

/// Why the abort was not sent, or how it went when it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortResult {
    /// Not sent: why, and what to do instead.
    NotSent { why: String, fix: String },
    /// Sent, and what the Mutator says of it (sent and accepted, or
    /// refused or failed on the way).
    Sent(ActionOutcome),
}

/// `action` (the abort, or the undo) on `key` as `state` has it now.
/// `mutator` is None in a read-only session: then nothing is asked or sent.
pub async fn act(
    state: &mut State,
    key: &ReleaseKey,
    action: Action,
    mutator: Option<&Mutator>,
    client: &Client,
) -> AbortResult {
    let word = action.word();
    let command = match key.kind {
        crate::model::Kind::Deployment => format!("kubectl rollout {word} deployment/{}", key.name),
        _ => format!("kubectl argo rollouts {word} {}", key.name),
    };
    let by_hand = format!(
        "{word} it by hand if it must be: {command} -n {}",
        key.namespace
    );
    let not_sent = |why: String, fix: &str| AbortResult::NotSent {
        why,
        fix: fix.to_string(),
    };
    let Some(mutator) = mutator else {
        return not_sent(
            "this session is read-only (--read-only, or read_only in the config file)".into(),
            &format!("run without --read-only (or with --write) to let the gate {word}"),
        );
    };
    let Some(release) = state.release(key) else {
        return not_sent(format!("{} is no longer in the cluster", key.name), "");
    };
    let plan = match action::plan(release, action, state.now) {
        Ok(plan) => plan,
        Err(reason) => return not_sent(reason, ""),
    };
    // Asked now, whatever was asked before: the answer decides a write.
    for access in access_keys(key) {
        let result = rbac::review(client, &access).await;
        update(
            state,
            Msg::Access {
                key: access,
                result,
                at: Utc::now(),
            },
        );
    }
    match permission(state, key, &plan) {
        Permission::Granted => {}
        Permission::Refused(why) => return not_sent(why, &by_hand),
        Permission::Awaiting => {
            return not_sent("the permission review did not answer".into(), &by_hand);
        }
    }
    let Some(seen) = seen_now(state, key) else {
        return not_sent(format!("{} is no longer in the cluster", key.name), "");
    };
    let request = action_request(state, 1, key, plan, seen, None);
    AbortResult::Sent(mutator.execute(&request).await)
}
