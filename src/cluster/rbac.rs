//! SelfSubjectAccessReview: may this user take this action here?

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};
use serde::Serialize;

/// One access question: verb on group/resource[/subresource] in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AccessKey {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    pub namespace: String,
}

impl std::fmt::Display for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if let Some(s) = self.subresource {
            write!(f, "/{s}")?;
        }
        write!(f, " in {}", self.namespace)
    }
}

/// Whether the API allows it, with the authorizer's reason when it says no.
pub async fn review(client: &Client, key: &AccessKey) -> Result<(bool, String), String> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let ssar = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(key.verb.into()),
                group: Some(key.group.into()),
                resource: Some(key.resource.into()),
                subresource: key.subresource.map(Into::into),
                namespace: Some(key.namespace.clone()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = api
        .create(&PostParams::default(), &ssar)
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status.unwrap_or_default();
    let reason = status.reason.unwrap_or_default();
    Ok((status.allowed && !status.denied.unwrap_or(false), reason))
}
