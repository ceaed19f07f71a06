//! SelfSubjectAccessReview: may this user take this action on this object?

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};
use serde::Serialize;

/// One access question: verb on group/resource[/subresource] of one
/// object. The object's name is part of it, as roles may list the names
/// they allow (`resourceNames`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AccessKey {
    /// The cluster asked (empty when one context is shown): each context
    /// answers for its own user.
    #[serde(skip)]
    pub cluster: String,
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if let Some(s) = self.subresource {
            write!(f, "/{s}")?;
        }
        write!(f, " \"{}\" in {}", self.name, self.namespace)
    }
}

/// The review that asks `key`, about the one object it names.
fn access_review(key: &AccessKey) -> SelfSubjectAccessReview {
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(key.verb.into()),
                group: Some(key.group.into()),
                resource: Some(key.resource.into()),
                subresource: key.subresource.map(Into::into),
                namespace: Some(key.namespace.clone()),
                name: Some(key.name.clone()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Whether the API allows it, with the authorizer's reason when it says no.
pub async fn review(client: &Client, key: &AccessKey) -> Result<(bool, String), String> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answer = api
        .create(&PostParams::default(), &access_review(key))
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status.unwrap_or_default();
    let reason = status.reason.unwrap_or_default();
    Ok((status.allowed && !status.denied.unwrap_or(false), reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_names_the_object_even_for_a_subresource() {
        let key = AccessKey {
            cluster: String::new(),
            verb: "patch",
            group: "argoproj.io",
            resource: "rollouts",
            subresource: Some("status"),
            namespace: "shop".into(),
            name: "checkout".into(),
        };
        let review = serde_json::to_value(access_review(&key)).expect("serializes");
        assert_eq!(
            review["spec"]["resourceAttributes"],
            serde_json::json!({
                "verb": "patch",
                "group": "argoproj.io",
                "resource": "rollouts",
                "subresource": "status",
                "namespace": "shop",
                "name": "checkout"
            })
        );
        assert_eq!(
            key.to_string(),
            "patch rollouts/status \"checkout\" in shop"
        );
    }
}
