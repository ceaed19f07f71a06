//! The Mutator: the only code that changes the cluster. Read-only and watch
//! modes never build one, so no key, bug or stray effect can send a write.

use super::connect::Connection;
use super::fingerprint::object_fingerprint;
use super::kinds::{WatchedKind, watched_kind};
use crate::audit::{Audit, AuditEntry};
use crate::model::action::FlagTarget;
use crate::model::flag::FlagSource;
use crate::model::{ActionOutcome, ActionRequest, Kind, PatchRequest, PatchType, ReleaseKey};
use crate::unleash::{UnleashSource, UnleashSwitch};
use chrono::Utc;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct Mutator {
    client: Client,
    kinds: BTreeMap<WatchedKind, ApiResource>,
    audit: Arc<Audit>,
    /// The context's Unleash, when its config names one.
    unleash: Option<UnleashSwitch>,
}

fn api_error(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({}): {}", s.reason, s.code, s.message),
        other => other.to_string(),
    }
}

impl Mutator {
    pub fn new(connection: &Connection, audit: Arc<Audit>) -> Mutator {
        Mutator {
            client: connection.client.clone(),
            kinds: connection.kinds.clone(),
            audit,
            unleash: None,
        }
    }

    /// The same, also writing the flags of `unleash`; an Unleash that
    /// cannot be used is left out (the control room says why it cannot
    /// read it).
    pub fn with_unleash(self, unleash: Option<UnleashSource>) -> Mutator {
        let unleash = unleash.and_then(|source| match UnleashSwitch::new(source) {
            Ok(switch) => Some(switch),
            Err(e) => {
                tracing::warn!("no Unleash kill switch: {e}");
                None
            }
        });
        Mutator { unleash, ..self }
    }

    /// The Unleash a kill switch on `flag` writes: the context's, when it
    /// reads that project and environment.
    fn unleash_of(&self, flag: &FlagTarget) -> Result<&UnleashSwitch, String> {
        let FlagSource::Unleash {
            project,
            environment,
        } = &flag.source
        else {
            return Err(format!("{} is not an Unleash flag", flag.describe()));
        };
        self.unleash
            .as_ref()
            .filter(|u| {
                let source = u.reader().source();
                source.project == *project && source.environment == *environment
            })
            .ok_or_else(|| {
                format!(
                    "no Unleash for project {project}, environment {environment} in this context's config"
                )
            })
    }

    fn resource(&self, kind: Kind) -> Result<&ApiResource, String> {
        self.kinds
            .get(&watched_kind(kind))
            .ok_or_else(|| format!("this cluster does not serve {}", kind.word()))
    }

    /// The release's own resource, in its namespace.
    fn api(&self, key: &ReleaseKey) -> Result<Api<DynamicObject>, String> {
        let resource = self.resource(key.kind)?;
        Ok(Api::namespaced_with(
            self.client.clone(),
            &key.namespace,
            resource,
        ))
    }

    async fn get(&self, key: &ReleaseKey) -> Result<DynamicObject, String> {
        self.api(key)?.get(&key.name).await.map_err(api_error)
    }

    /// The FeatureFlag resource a kill switch writes.
    fn flag_api(&self, flag: &FlagTarget) -> Result<Api<DynamicObject>, String> {
        let (namespace, _) = flag
            .feature_flag()
            .ok_or_else(|| format!("{} is not a FeatureFlag", flag.describe()))?;
        let resource = self
            .kinds
            .get(&WatchedKind::FeatureFlag)
            .ok_or("this cluster does not serve FeatureFlag (core.openfeature.dev)")?;
        Ok(Api::namespaced_with(
            self.client.clone(),
            namespace,
            resource,
        ))
    }

    /// The object `request` writes: the flag it names, else the release.
    fn target(&self, request: &ActionRequest) -> Result<(Api<DynamicObject>, String), String> {
        match &request.plan.flag {
            Some(flag) => {
                let name = flag.feature_flag().map(|(_, name)| name.to_string());
                Ok((self.flag_api(flag)?, name.unwrap_or_default()))
            }
            None => Ok((self.api(&request.key)?, request.key.name.clone())),
        }
    }

    /// Send one patch exactly as planned: its content type, its body, on
    /// its subresource, with no field manager or other parameter (as the
    /// plugin and kubectl send theirs).
    async fn patch(
        &self,
        (api, name): &(Api<DynamicObject>, String),
        request: &PatchRequest,
    ) -> Result<DynamicObject, kube::Error> {
        let body = request.body.clone();
        let patch = match request.kind {
            PatchType::Merge => Patch::Merge(body),
            PatchType::Strategic => Patch::Strategic(body),
            // Only `op`, `path` and `value` members: read back, they
            // serialize to the same bytes.
            PatchType::Json => {
                Patch::Json(serde_json::from_value(body).map_err(kube::Error::SerdeError)?)
            }
        };
        let params = PatchParams::default();
        match request.subresource {
            Some(subresource) => {
                api.patch_subresource(subresource, name, &params, &patch)
                    .await
            }
            None => api.patch(name, &params, &patch).await,
        }
    }

    fn audit(
        &self,
        request: &ActionRequest,
        id: &str,
        stage: &str,
        result: Option<&str>,
    ) -> Result<(), String> {
        let entry = AuditEntry {
            time: Utc::now(),
            stage,
            id,
            user: &request.user,
            context: &request.context,
            namespace: &request.key.namespace,
            kind: request.key.kind.word(),
            name: &request.key.name,
            action: request.plan.action.word(),
            revision_seen: &request.plan.revision,
            resource_version_seen: &request.seen_resource_version,
            requests: &request.plan.requests,
            result,
            override_of: request.override_of.as_deref(),
            flag: request.plan.flag.as_ref(),
        };
        self.audit.record(&entry).map_err(|e| {
            format!(
                "cannot write the audit file {}: {e}",
                self.audit.path().display()
            )
        })
    }

    /// Audit, check the release is still what the human saw, send the
    /// patches in order, audit the outcome, and leave an Event on the object.
    pub async fn execute(&self, request: &ActionRequest) -> ActionOutcome {
        let id = crate::audit::new_action_id();
        // No audit line on disk, nothing sent.
        if let Err(e) = self.audit(request, &id, "requested", None) {
            return ActionOutcome::Refused(format!(
                "not sent: {e}. Make its folder writable (or restart with \
                 --audit-file FILE) and retry"
            ));
        }
        let outcome = self.send(request).await;
        let text = outcome.text();
        let audit_result = self.audit(request, &id, outcome.word(), Some(&text));
        let event_result = self.record_event(request, &outcome).await;
        match (outcome, audit_result, event_result) {
            (ActionOutcome::Done(m), Err(e), _) => ActionOutcome::Done(format!("{m}; {e}")),
            (ActionOutcome::Done(m), Ok(()), Err(e)) => {
                ActionOutcome::Done(format!("{m}; no Event recorded: {e}"))
            }
            (other, _, _) => other,
        }
    }

    /// Audit and record an action that was refused before it was sent.
    pub async fn record_refusal(&self, request: &ActionRequest, reason: String) {
        let outcome = ActionOutcome::Refused(reason);
        let text = outcome.text();
        let id = crate::audit::new_action_id();
        if let Err(e) = self.audit(request, &id, outcome.word(), Some(&text)) {
            tracing::error!("{e}");
        }
        if let Err(e) = self.record_event(request, &outcome).await {
            tracing::warn!("recording the refusal as an Event: {e}");
        }
    }

    /// Why the object the request writes is no longer what the human saw,
    /// read fresh; None when it is as seen.
    async fn stale(&self, request: &ActionRequest) -> Result<Option<String>, String> {
        if let Some(flag) = request
            .plan
            .flag
            .as_ref()
            .filter(|f| f.unleash_request().is_some())
        {
            let current = self
                .unleash_of(flag)?
                .reader()
                .flag(&flag.key)
                .await
                .map_err(|e| format!("reading {}: {e}", flag.describe()))?;
            return Ok((current.definition != flag.seen).then(|| {
                format!(
                    "{} changed since you looked. Look again and retry",
                    flag.describe()
                )
            }));
        }
        if let Some(flag) = &request.plan.flag {
            let (_, name) = flag.feature_flag().unwrap_or_default();
            let current = self
                .flag_api(flag)?
                .get(name)
                .await
                .map_err(|e| format!("reading {}: {}", flag.describe(), api_error(e)))?;
            let definition = current
                .data
                .pointer("/spec/flagSpec/flags")
                .and_then(|flags| flags.get(&flag.key));
            return Ok(match definition {
                None => Some(format!("{} is gone. Look again", flag.describe())),
                Some(d) if *d != flag.seen => Some(format!(
                    "{} changed since you looked (resourceVersion {} → {}). Look again and retry",
                    flag.describe(),
                    flag.resource_version,
                    current.metadata.resource_version.as_deref().unwrap_or("?"),
                )),
                Some(_) => None,
            });
        }
        let current = self
            .get(&request.key)
            .await
            .map_err(|e| format!("reading {}: {e}", request.key))?;
        let now = object_fingerprint(request.key.kind, &current);
        let changes = now.changes_since(&request.seen);
        Ok((!changes.is_empty()).then(|| {
            format!(
                "{} changed since you looked (resourceVersion {} → {}): {}. Look again and retry",
                request.key.name,
                request.seen_resource_version,
                current.metadata.resource_version.as_deref().unwrap_or("?"),
                changes.join("; ")
            )
        }))
    }

    async fn send(&self, request: &ActionRequest) -> ActionOutcome {
        match self.stale(request).await {
            Err(e) => return ActionOutcome::Failed(e),
            Ok(Some(why)) => return ActionOutcome::Refused(why),
            Ok(None) => {}
        }
        if let Some(flag) = request
            .plan
            .flag
            .as_ref()
            .filter(|f| f.unleash_request().is_some())
        {
            let sent = match self.unleash_of(flag) {
                Ok(unleash) => unleash
                    .switch_off(&flag.key)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            return match sent {
                Ok(()) => ActionOutcome::Done(format!(
                    "Unleash accepted: {} is off in {}",
                    flag.key,
                    flag.source.describe()
                )),
                Err(e) => ActionOutcome::Failed(e),
            };
        }
        let target = match self.target(request) {
            Ok(target) => target,
            Err(e) => return ActionOutcome::Failed(e),
        };
        for patch in &request.plan.requests {
            let mut result = self.patch(&target, patch).await;
            // Argo before v0.10 has no status subresource: send the same
            // body to the main resource, as the plugin falls back.
            if patch.subresource == Some("status")
                && matches!(&result, Err(kube::Error::Api(s)) if s.code == 404)
            {
                let unified = PatchRequest {
                    subresource: None,
                    ..patch.clone()
                };
                result = self.patch(&target, &unified).await;
            }
            if let Err(e) = result {
                return ActionOutcome::Failed(api_error(e));
            }
        }
        let n = request.plan.requests.len();
        ActionOutcome::Done(format!(
            "{n} {} accepted",
            if n == 1 { "patch" } else { "patches" }
        ))
    }

    async fn record_event(
        &self,
        request: &ActionRequest,
        outcome: &ActionOutcome,
    ) -> Result<(), String> {
        let object = self.get(&request.key).await?;
        let now = Utc::now();
        let time = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::from_second(now.timestamp()).map_err(|e| e.to_string())?,
        );
        let resource = self.resource(request.key.kind)?;
        let event = Event {
            metadata: kube::api::ObjectMeta {
                name: Some(format!(
                    "{}.cutover-{}",
                    request.key.name,
                    uuid::Uuid::new_v4().simple()
                )),
                namespace: Some(request.key.namespace.clone()),
                // Which kubeconfig context sent it: in a fleet, the same
                // user acts on several clusters.
                annotations: Some(
                    [(CONTEXT_ANNOTATION.to_string(), request.context.clone())].into(),
                ),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some(resource.api_version.clone()),
                kind: Some(resource.kind.clone()),
                name: Some(request.key.name.clone()),
                namespace: Some(request.key.namespace.clone()),
                uid: object.metadata.uid.clone(),
                resource_version: object.metadata.resource_version.clone(),
                ..Default::default()
            },
            reason: Some(event_reason(request, outcome)),
            message: Some(format!(
                "{} by {} from cutover (context {}) on {}: {}",
                request.plan.action.word(),
                request.user,
                request.context,
                request.plan.revision,
                outcome.text()
            )),
            type_: Some(
                if matches!(outcome, ActionOutcome::Done(_)) {
                    "Normal"
                } else {
                    "Warning"
                }
                .into(),
            ),
            action: Some(request.plan.action.word().into()),
            count: Some(1),
            first_timestamp: Some(time.clone()),
            last_timestamp: Some(time),
            source: Some(EventSource {
                component: Some("cutover".into()),
                host: None,
            }),
            reporting_component: Some("cutover".into()),
            reporting_instance: Some(format!("cutover-{}", request.user)),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &request.key.namespace);
        api.create(&PostParams::default(), &event)
            .await
            .map_err(api_error)?;
        Ok(())
    }
}

/// The annotation of cutover's Events naming the kubeconfig context the
/// action was sent from.
pub const CONTEXT_ANNOTATION: &str = "cutover.dev/context";

/// `CutoverPromote`, `CutoverAbortRefused`, …
fn event_reason(request: &ActionRequest, outcome: &ActionOutcome) -> String {
    let word: String = request
        .plan
        .action
        .word()
        .split('-')
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let suffix = match outcome {
        ActionOutcome::Done(_) => "",
        ActionOutcome::Refused(_) => "Refused",
        ActionOutcome::Failed(_) => "Failed",
    };
    format!("Cutover{word}{suffix}")
}

#[cfg(test)]
mod tests;
