use super::resource_path::parse_resource_path;
use super::watch::visible_event;
use crate::resources::{self, Served};
use crate::selector::LabelSelector;
use crate::store::{Change, ChangeType, ListOptions};
use serde_json::json;
use std::sync::Arc;

#[test]
fn resource_paths_parse_like_the_apiserver() {
    let t = parse_resource_path(
        "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout/status",
        Served::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(t.res.plural, "rollouts");
    assert_eq!(t.namespace.as_deref(), Some("shop"));
    assert_eq!(t.name, Some("checkout"));
    assert_eq!(t.subresource, Some("status"));
    let t = parse_resource_path("/api/v1/namespaces/shop", Served::default())
        .unwrap()
        .unwrap();
    assert_eq!(t.res.plural, "namespaces");
    assert_eq!(t.name, Some("shop"));
    let t = parse_resource_path("/api/v1/namespaces/shop/status", Served::default())
        .unwrap()
        .unwrap();
    assert_eq!(t.subresource, Some("status"));
    let t = parse_resource_path("/apis/apps/v1/deployments", Served::default())
        .unwrap()
        .unwrap();
    assert!(t.namespace.is_none() && t.name.is_none());
    assert!(
        parse_resource_path(
            "/apis/apps/v1/namespaces/shop/deployments/a/exec",
            Served::default()
        )
        .is_err()
    );
    assert!(
        parse_resource_path(
            "/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns/a/scale",
            Served::default()
        )
        .is_err()
    );
}

#[test]
fn label_selected_watches_see_objects_leave_and_enter() {
    let res = resources::lookup("", "v1", "pods").unwrap();
    let opts = ListOptions {
        labels: LabelSelector::parse("app=a").unwrap(),
        ..Default::default()
    };
    let old = json!({"metadata": {"name": "p", "labels": {"app": "a"}, "resourceVersion": "4"}});
    let new = json!({"metadata": {"name": "p", "labels": {"app": "b"}, "resourceVersion": "5"}});
    let change = Change {
        rv: 5,
        event: ChangeType::Modified,
        res,
        namespace: "shop".into(),
        object: Arc::new(new.clone()),
        old: Some(Arc::new(old.clone())),
    };
    let (kind, obj) = visible_event(&change, res, Some("shop"), &opts).unwrap();
    assert_eq!(kind, ChangeType::Deleted);
    assert_eq!(obj["metadata"]["resourceVersion"], "5");
    let back = Change {
        object: Arc::new(old),
        old: Some(Arc::new(new)),
        ..change.clone()
    };
    assert_eq!(
        visible_event(&back, res, Some("shop"), &opts).unwrap().0,
        ChangeType::Added
    );
    assert!(visible_event(&change, res, Some("other"), &opts).is_none());
}
