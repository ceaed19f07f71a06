use super::*;
use crate::clock::Clock;
use crate::patch::PatchKind;
use crate::resources::{ResourceDef, lookup};
use serde_json::{Value, json};
use std::sync::Arc;

fn store() -> Store {
    let s = Store::new(Arc::new(Clock::new(0.0)));
    let ns = lookup("", "v1", "namespaces").unwrap();
    s.create(
        ns,
        "",
        json!({"metadata": {"name": "shop"}}),
        WriteScope::Whole,
        false,
    )
    .unwrap();
    s
}

fn ro() -> &'static ResourceDef {
    lookup("argoproj.io", "v1alpha1", "rollouts").unwrap()
}

/// A merge patch of rollout `name` in shop.
fn merge(s: &Store, name: &str, body: &str, target: WriteScope) -> Arc<Value> {
    s.patch(
        ro(),
        "shop",
        name,
        PatchKind::Merge,
        body.as_bytes(),
        target,
        false,
    )
    .unwrap()
}

fn rv_of(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn create_fills_bookkeeping_and_drops_status() {
    let s = store();
    let obj = s
        .create(
            ro(),
            "shop",
            json!({"metadata": {"name": "checkout"}, "spec": {"replicas": 1}, "status": {"phase": "Healthy"}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    assert_eq!(obj["kind"], "Rollout");
    assert_eq!(obj["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(obj["metadata"]["generation"], 1);
    assert!(obj["metadata"]["uid"].is_string());
    assert!(obj.get("status").is_none());
    assert!(rv_of(&obj) > 1);
}

#[test]
fn a_restore_keeps_what_is_given_and_assigns_only_what_is_missing() {
    let s = store();
    let given = json!({
        "metadata": {
            "name": "a", "uid": "0f4c3d4e-1111-4222-8333-944455556666", "generation": 7,
            "creationTimestamp": "2024-01-02T03:04:05Z", "resourceVersion": "999",
            "labels": {"app": "a"}, "annotations": {"note": "kept"},
        },
        "spec": {"replicas": 2},
        "status": {"phase": "Healthy", "observedGeneration": "7"},
    });
    let a = s.restore(ro(), "shop", given.clone()).unwrap();
    for field in [
        "uid",
        "generation",
        "creationTimestamp",
        "labels",
        "annotations",
    ] {
        assert_eq!(a["metadata"][field], given["metadata"][field], "{field}");
    }
    assert_eq!(a["status"], given["status"]);
    assert_ne!(
        a["metadata"]["resourceVersion"], "999",
        "resourceVersion is the store's"
    );

    let b = s
        .restore(
            ro(),
            "shop",
            json!({"metadata": {"name": "b", "uid": "", "creationTimestamp": null}}),
        )
        .unwrap();
    assert!(b["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert_eq!(b["metadata"]["generation"], 1);
    assert_eq!(
        b["metadata"]["creationTimestamp"],
        crate::time::timestamp(s.clock().now())
    );

    let v = merge(
        &s,
        "a",
        r#"{"status":{"phase":"Degraded"}}"#,
        WriteScope::Status,
    );
    assert_eq!(v["metadata"]["generation"], 7, "status is not spec");
    let v = merge(&s, "a", r#"{"spec":{"replicas":3}}"#, WriteScope::Main);
    assert_eq!(v["metadata"]["generation"], 8);
    assert_eq!(v["metadata"]["uid"], given["metadata"]["uid"]);
}

#[test]
fn a_client_create_gets_the_servers_identity_whatever_it_sends() {
    let s = store();
    let c = s
        .create(
            ro(),
            "shop",
            json!({"metadata": {"name": "c", "uid": "mine", "generation": 7,
                                "creationTimestamp": "2024-01-02T03:04:05Z"}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    assert_ne!(c["metadata"]["uid"], "mine");
    assert_eq!(c["metadata"]["generation"], 1);
    assert_ne!(c["metadata"]["creationTimestamp"], "2024-01-02T03:04:05Z");
}

#[test]
fn a_restore_refuses_malformed_identity() {
    let s = store();
    for (metadata, field) in [
        (json!({"name": "a", "uid": 5}), "metadata.uid"),
        (
            json!({"name": "a", "creationTimestamp": "yesterday"}),
            "metadata.creationTimestamp",
        ),
        (json!({"name": "a", "generation": 0}), "metadata.generation"),
        (
            json!({"name": "a", "generation": "7"}),
            "metadata.generation",
        ),
    ] {
        let err = s
            .restore(ro(), "shop", json!({"metadata": metadata}))
            .unwrap_err();
        assert_eq!(err.code, 422, "{metadata}");
        assert!(err.message.contains(field), "{}", err.message);
    }
    assert_eq!(s.get(ro(), "shop", "a").unwrap_err().code, 404);
}

#[test]
fn generation_moves_on_spec_changes_only_and_status_is_protected() {
    let s = store();
    s.create(
        ro(),
        "shop",
        json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}}),
        WriteScope::Main,
        false,
    )
    .unwrap();
    let v = merge(&s, "a", r#"{"status":{"abort":true}}"#, WriteScope::Status);
    assert_eq!(v["metadata"]["generation"], 1);
    assert_eq!(v["status"]["abort"], true);
    let v = merge(
        &s,
        "a",
        r#"{"spec":{"paused":true},"status":{"abort":false}}"#,
        WriteScope::Main,
    );
    assert_eq!(v["metadata"]["generation"], 2);
    assert_eq!(v["status"]["abort"], true, "main resource ignores status");
    let v2 = merge(
        &s,
        "a",
        r#"{"metadata":{"labels":{"x":"y"}}}"#,
        WriteScope::Main,
    );
    assert_eq!(v2["metadata"]["generation"], 2);
    assert!(rv_of(&v2) > rv_of(&v));
}

#[test]
fn a_no_op_write_keeps_the_resource_version() {
    let s = store();
    let a = s
        .create(
            ro(),
            "shop",
            json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    let b = merge(&s, "a", r#"{"spec":{"replicas":1}}"#, WriteScope::Main);
    assert_eq!(a, b);
}

#[test]
fn stale_update_conflicts() {
    let s = store();
    let a = s
        .create(
            ro(),
            "shop",
            json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    let mut b = Value::clone(&a);
    b["spec"]["replicas"] = json!(2);
    s.update(ro(), "shop", "a", b.clone(), WriteScope::Main, false)
        .unwrap();
    let err = s
        .update(ro(), "shop", "a", b, WriteScope::Main, false)
        .unwrap_err();
    assert_eq!(err.code, 409);
    assert_eq!(err.reason, "Conflict");
}

#[test]
fn deleting_an_owner_collects_its_dependents() {
    let s = store();
    let rs = lookup("apps", "v1", "replicasets").unwrap();
    let pods = lookup("", "v1", "pods").unwrap();
    let owner = s
        .create(
            ro(),
            "shop",
            json!({"metadata": {"name": "a"}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    let uid = owner["metadata"]["uid"].clone();
    let r = s
        .create(rs, "shop", json!({"metadata": {"name": "a-1", "ownerReferences": [{"uid": uid, "kind": "Rollout", "name": "a", "apiVersion": "argoproj.io/v1alpha1"}]}}), WriteScope::Main, false)
        .unwrap();
    let ruid = r["metadata"]["uid"].clone();
    s.create(pods, "shop", json!({"metadata": {"name": "a-1-x", "ownerReferences": [{"uid": ruid, "kind": "ReplicaSet", "name": "a-1", "apiVersion": "apps/v1"}]}}), WriteScope::Main, false)
        .unwrap();
    s.delete(ro(), "shop", "a", Propagation::Background, false)
        .unwrap();
    assert_eq!(s.get(rs, "shop", "a-1").unwrap_err().code, 404);
    assert_eq!(s.get(pods, "shop", "a-1-x").unwrap_err().code, 404);
}

#[test]
fn owned_objects_follow_their_owner_references() {
    let s = store();
    let rs = lookup("apps", "v1", "replicasets").unwrap();
    let pods = lookup("", "v1", "pods").unwrap();
    let owner = s
        .create(
            rs,
            "shop",
            json!({"metadata": {"name": "a-1"}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    let uid = owner["metadata"]["uid"].as_str().unwrap();
    let owned = json!({"metadata": {"name": "a-1-x", "ownerReferences": [{"uid": uid, "kind": "ReplicaSet", "name": "a-1", "apiVersion": "apps/v1"}]}});
    s.create(pods, "shop", owned, WriteScope::Main, false)
        .unwrap();
    assert_eq!(s.owned_by(pods, uid).len(), 1);
    assert!(
        s.owned_by(rs, uid).is_empty(),
        "only the resource asked for"
    );
    s.patch(
        pods,
        "shop",
        "a-1-x",
        PatchKind::Merge,
        br#"{"metadata":{"ownerReferences":null}}"#,
        WriteScope::Main,
        false,
    )
    .unwrap();
    assert!(
        s.owned_by(pods, uid).is_empty(),
        "released when the reference goes"
    );
}

#[test]
fn list_pages_with_continue_and_expires_after_compaction() {
    let s = store();
    for i in 0..5 {
        s.create(
            ro(),
            "shop",
            json!({"metadata": {"name": format!("r{i}")}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    }
    let mut opts = ListOptions {
        limit: Some(2),
        ..Default::default()
    };
    let mut names = Vec::new();
    loop {
        let page = s.list(ro(), Some("shop"), &opts).unwrap();
        names.extend(
            page.items
                .iter()
                .map(|o| o["metadata"]["name"].as_str().unwrap().to_string()),
        );
        match page.continue_token {
            Some(t) => opts.continue_token = Some(t),
            None => break,
        }
    }
    assert_eq!(names, ["r0", "r1", "r2", "r3", "r4"]);
    let first = s
        .list(
            ro(),
            Some("shop"),
            &ListOptions {
                limit: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(first.remaining, Some(3));
    s.compact();
    let err = s
        .list(
            ro(),
            Some("shop"),
            &ListOptions {
                limit: Some(2),
                continue_token: first.continue_token,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.code, 410);
}

/// Every rollout's name, listed in pages of `limit` across all namespaces,
/// with the `remainingItemCount` of each page.
fn pages(s: &Store, labels: &str, limit: usize) -> (Vec<String>, Vec<Option<usize>>) {
    let mut opts = ListOptions {
        labels: crate::selector::LabelSelector::parse(labels).unwrap(),
        limit: Some(limit),
        ..Default::default()
    };
    let (mut names, mut remaining) = (Vec::new(), Vec::new());
    loop {
        let page = s.list(ro(), None, &opts).unwrap();
        names.extend(page.items.iter().map(|o| {
            format!(
                "{}/{}",
                o["metadata"]["namespace"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        }));
        remaining.push(page.remaining);
        match page.continue_token {
            Some(t) => opts.continue_token = Some(t),
            None => return (names, remaining),
        }
    }
}

#[test]
fn pages_go_on_after_the_last_object_and_count_the_rest_only_without_selectors() {
    let s = store();
    let ns = lookup("", "v1", "namespaces").unwrap();
    // `shop-eu/…` sorts after `shop/…` by namespace, though not as text.
    s.create(
        ns,
        "",
        json!({"metadata": {"name": "shop-eu"}}),
        WriteScope::Whole,
        false,
    )
    .unwrap();
    for (namespace, name) in [
        ("shop", "a"),
        ("shop", "b"),
        ("shop-eu", "a"),
        ("shop-eu", "c"),
    ] {
        s.create(
            ro(),
            namespace,
            json!({"metadata": {"name": name, "labels": {"tier": "web"}}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    }
    let every = ["shop/a", "shop/b", "shop-eu/a", "shop-eu/c"];
    let (names, remaining) = pages(&s, "", 2);
    assert_eq!(names, every);
    assert_eq!(remaining, [Some(2), None]);
    let (names, remaining) = pages(&s, "tier=web", 3);
    assert_eq!(names, every);
    assert_eq!(remaining, [None, None], "a filtered list is not counted");
}

#[test]
fn watch_resumes_from_history_and_answers_410_when_compacted() {
    let s = store();
    let a = s
        .create(
            ro(),
            "shop",
            json!({"metadata": {"name": "a"}}),
            WriteScope::Main,
            false,
        )
        .unwrap();
    merge(&s, "a", r#"{"spec":{"x":1}}"#, WriteScope::Main);
    let start = s.watch(ro(), Some(rv_of(&a))).unwrap();
    assert_eq!(start.initial.len(), 1);
    assert_eq!(start.initial[0].event, ChangeType::Modified);
    s.compact();
    assert_eq!(s.watch(ro(), Some(rv_of(&a))).unwrap_err().code, 410);
    assert_eq!(s.watch(ro(), None).unwrap().initial.len(), 1);
}

#[test]
fn creating_in_a_missing_namespace_is_not_found() {
    let s = store();
    let err = s
        .create(
            ro(),
            "nope",
            json!({"metadata": {"name": "a"}}),
            WriteScope::Main,
            false,
        )
        .unwrap_err();
    assert_eq!(err.code, 404);
    assert_eq!(err.message, "namespaces \"nope\" not found");
    let err = s
        .create(
            ro(),
            "shop",
            json!({"metadata": {"name": "Bad_Name"}}),
            WriteScope::Main,
            false,
        )
        .unwrap_err();
    assert_eq!(err.code, 422);
}

#[test]
fn feature_flags_record_when_each_write_happened() {
    let s = store();
    let ff = lookup("core.openfeature.dev", "v1beta1", "featureflags").unwrap();
    let flags = json!({"flagSpec": {"flags": {"f": {"state": "ENABLED"}}}});
    let created = s
        .create(
            ff,
            "shop",
            json!({"metadata": {"name": "shop-flags"}, "spec": flags}),
            WriteScope::Whole,
            false,
        )
        .unwrap();
    let time = |v: &Value| v["metadata"]["managedFields"][0]["time"].clone();
    assert_eq!(time(&created), created["metadata"]["creationTimestamp"]);
    s.clock.advance(chrono::Duration::minutes(5));
    let body = br#"{"spec":{"flagSpec":{"flags":{"f":{"state":"DISABLED"}}}}}"#;
    let turn_off = || {
        s.patch(
            ff,
            "shop",
            "shop-flags",
            PatchKind::Merge,
            body,
            WriteScope::Whole,
            false,
        )
        .unwrap()
    };
    let patched = turn_off();
    let entries = patched["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "one entry per manager");
    assert_eq!(
        time(&patched),
        json!(crate::time::timestamp(s.clock.now())),
        "stamped at the write"
    );
    // A write that changes nothing is no write.
    s.clock.advance(chrono::Duration::minutes(5));
    let same = turn_off();
    assert_eq!(same, patched);
    assert!(
        ro().managed_fields.then_some(()).is_none(),
        "only kinds that ask"
    );
}
