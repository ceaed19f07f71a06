use super::field::FieldSelector;
use super::*;
use serde_json::{Map, Value, json};

fn labels(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("labels object")
}

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("parse {s:?}: {e}"))
}

fn fmatch(selector: &str, obj: &Value) -> bool {
    FieldSelector::parse(selector)
        .unwrap_or_else(|e| panic!("parse {selector:?}: {e}"))
        .matches(obj)
}

fn obj(name: &str, namespace: Option<&str>, labels: Value) -> Value {
    let mut meta = json!({ "name": name, "labels": labels });
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    json!({ "apiVersion": "v1", "kind": "Pod", "metadata": meta })
}

#[test]
fn empty_selector_matches_everything() {
    let s = sel("");
    assert_eq!(s, LabelSelector::everything());
    assert!(s.matches(&json!({})));
    assert!(s.matches_labels(&labels(json!({"a": "b"}))));
    assert_eq!(sel("   "), LabelSelector::everything());
}

#[test]
fn equality_operators() {
    let l = labels(json!({"app": "web", "tier": "front"}));
    assert!(sel("app=web").matches_labels(&l));
    assert!(sel("app==web").matches_labels(&l));
    assert!(!sel("app=db").matches_labels(&l));
    assert!(!sel("missing=web").matches_labels(&l));
    assert_eq!(sel("app=web"), sel("app==web"));
}

#[test]
fn not_equals_matches_missing_label() {
    let l = labels(json!({"app": "web"}));
    assert!(!sel("app!=web").matches_labels(&l));
    assert!(sel("app!=db").matches_labels(&l));
    assert!(sel("other!=x").matches_labels(&l));
}

#[test]
fn set_operators() {
    let l = labels(json!({"env": "prod"}));
    assert!(sel("env in (prod, staging)").matches_labels(&l));
    assert!(!sel("env in (dev,staging)").matches_labels(&l));
    assert!(!sel("other in (prod)").matches_labels(&l));
    assert!(!sel("env notin (prod,staging)").matches_labels(&l));
    assert!(sel("env notin (dev)").matches_labels(&l));
    assert!(sel("other notin (prod)").matches_labels(&l));
    assert_eq!(sel("env in (b,a)"), sel("env in (a, b, a)"));
}

#[test]
fn existence_operators() {
    let l = labels(json!({"app": "web"}));
    assert!(sel("app").matches_labels(&l));
    assert!(!sel("other").matches_labels(&l));
    assert!(sel("!other").matches_labels(&l));
    assert!(!sel("!app").matches_labels(&l));
    assert!(sel(" ! other ").matches_labels(&l));
}

#[test]
fn numeric_comparisons() {
    let l = labels(json!({"replicas": "5"}));
    assert!(sel("replicas>3").matches_labels(&l));
    assert!(!sel("replicas>5").matches_labels(&l));
    assert!(sel("replicas<10").matches_labels(&l));
    assert!(!sel("missing<10").matches_labels(&l));
    assert!(!sel("replicas<10").matches_labels(&labels(json!({"replicas": "x"}))));
    assert!(LabelSelector::parse("replicas>abc").is_err());
}

#[test]
fn empty_values() {
    let empty = labels(json!({"k": ""}));
    let full = labels(json!({"k": "v"}));
    assert!(sel("k=").matches_labels(&empty));
    assert!(!sel("k=").matches_labels(&full));
    assert!(!sel("k=").matches_labels(&Map::new()));
    assert!(sel("k=,other").matches_labels(&labels(json!({"k": "", "other": "x"}))));
    assert!(sel("k!=").matches_labels(&full));
    assert!(sel("k in ()").matches_labels(&empty));
    assert!(sel("k in (v,)").matches_labels(&empty));
    assert!(sel("k in (,v)").matches_labels(&full));
}

#[test]
fn combinations_are_anded_and_sorted() {
    let s = sel(" app = web , tier in (front,back), !legacy, env ");
    let ok = labels(json!({"app": "web", "tier": "back", "env": "x"}));
    assert!(s.matches_labels(&ok));
    let mut legacy = ok.clone();
    legacy.insert("legacy".into(), json!("true"));
    assert!(!s.matches_labels(&legacy));
    let mut no_env = ok.clone();
    no_env.remove("env");
    assert!(!s.matches_labels(&no_env));
    assert_eq!(sel("a=1,b=2"), sel("b=2,a=1"));
    assert_ne!(sel("a=1"), sel("a!=1"));
}

#[test]
fn prefixed_keys_and_keyword_values() {
    let l = labels(json!({"app.kubernetes.io/name": "in", "in": "notin"}));
    assert!(sel("app.kubernetes.io/name=in").matches_labels(&l));
    assert!(sel("app.kubernetes.io/name in (in, notin)").matches_labels(&l));
    assert!(sel("in=notin").matches_labels(&l));
}

#[test]
fn matches_reads_metadata_labels() {
    let s = sel("app=web");
    assert!(s.matches(&obj("p", Some("ns"), json!({"app": "web"}))));
    assert!(!s.matches(&obj("p", Some("ns"), json!({"app": "db"}))));
    let unlabeled = json!({"metadata": {"name": "p"}});
    assert!(!s.matches(&unlabeled));
    assert!(sel("app!=web").matches(&unlabeled));
    assert!(sel("!app").matches(&json!({})));
    assert!(sel("app notin (web)").matches(&json!({"metadata": {"labels": null}})));
}

#[test]
fn parse_errors() {
    for bad in [
        "a=b=c",
        "in (",
        "a in (",
        "a in (b",
        "a in b",
        "a in (b c)",
        "a in (b))",
        "a notin",
        "a=(b)",
        ",a",
        "a,",
        "a,,b",
        "=a",
        "!",
        "!a=b",
        "a b",
        "a)",
        "a=b c",
        "a!b",
        "a/b/c=x",
        "/a=b",
        "a/=b",
        "Bad_Prefix/a=b",
        "-a=b",
        "a=b@c",
        "a=-b",
        "a@b",
    ] {
        assert!(LabelSelector::parse(bad).is_err(), "{bad:?} should fail");
    }
    let long = "x".repeat(64);
    assert!(LabelSelector::parse(&format!("{long}=a")).is_err());
    assert!(LabelSelector::parse(&format!("a={long}")).is_err());
    assert!(LabelSelector::parse(&format!("{}=a", "x".repeat(63))).is_ok());
}

#[test]
fn parse_error_messages() {
    let e = LabelSelector::parse("a=b=c").unwrap_err();
    assert_eq!(e.0, "found '=', expected: ',' or 'end of string'");
    let e = LabelSelector::parse("a in (").unwrap_err();
    assert!(e.0.starts_with("unable to parse requirement: "), "{e}");
    let e = LabelSelector::parse("a@b").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unable to parse requirement: key: Invalid value: \"a@b\""),
        "{e}"
    );
    let e = LabelSelector::parse("a,").unwrap_err();
    assert_eq!(e.0, "found '', expected: identifier after ','");
}

#[test]
fn object_form_match_labels_and_expressions() {
    let s = LabelSelector::from_label_selector_object(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "back"]},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "team", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist", "values": []}
        ]
    }))
    .unwrap();
    assert_eq!(
        s,
        sel("app=web,tier in (front,back),env notin (dev),team,!legacy")
    );
    let good = obj(
        "p",
        None,
        json!({"app": "web", "tier": "front", "team": "a"}),
    );
    assert!(s.matches(&good));
    let dev = obj(
        "p",
        None,
        json!({"app": "web", "tier": "front", "team": "a", "env": "dev"}),
    );
    assert!(!s.matches(&dev));
    let legacy = obj(
        "p",
        None,
        json!({"app": "web", "tier": "front", "team": "a", "legacy": "1"}),
    );
    assert!(!s.matches(&legacy));
    let no_team = obj("p", None, json!({"app": "web", "tier": "front"}));
    assert!(!s.matches(&no_team));
}

#[test]
fn object_form_empty_and_null() {
    let empty = LabelSelector::from_label_selector_object(&json!({})).unwrap();
    assert_eq!(empty, LabelSelector::everything());
    assert!(empty.matches(&json!({})));
    let nothing = LabelSelector::from_label_selector_object(&Value::Null).unwrap();
    assert!(!nothing.matches(&obj("p", None, json!({"app": "web"}))));
    assert!(!nothing.matches_labels(&Map::new()));
}

#[test]
fn object_form_errors() {
    for bad in [
        json!("app=web"),
        json!({"matchLabels": {"app": 1}}),
        json!({"matchLabels": ["app"]}),
        json!({"matchLabels": {"bad key": "x"}}),
        json!({"matchExpressions": {}}),
        json!({"matchExpressions": [{"operator": "Exists"}]}),
        json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
        json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
        json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
        json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]}),
    ] {
        assert!(
            LabelSelector::from_label_selector_object(&bad).is_err(),
            "{bad} should fail"
        );
    }
    let e = LabelSelector::from_label_selector_object(
        &json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
    )
    .unwrap_err();
    assert_eq!(e.0, "\"Gt\" is not a valid label selector operator");
}

#[test]
fn field_selector_equality() {
    let pod = obj("web-1", Some("prod"), json!({}));
    assert!(fmatch("metadata.name=web-1", &pod));
    assert!(fmatch("metadata.name==web-1", &pod));
    assert!(!fmatch("metadata.name=web-2", &pod));
    assert!(fmatch("metadata.name!=web-2", &pod));
    assert!(!fmatch("metadata.name!=web-1", &pod));
    assert!(fmatch("metadata.namespace=prod", &pod));
    assert!(fmatch("metadata.namespace=prod,metadata.name=web-1", &pod));
    assert!(!fmatch(
        "metadata.namespace=prod,metadata.name!=web-1",
        &pod
    ));
}

#[test]
fn field_selector_missing_fields_and_everything() {
    let cluster_scoped = json!({"kind": "Node", "metadata": {"name": "n1"}});
    assert!(fmatch("metadata.namespace=", &cluster_scoped));
    assert!(!fmatch("metadata.namespace=default", &cluster_scoped));
    assert!(fmatch("metadata.namespace!=default", &cluster_scoped));
    assert!(fmatch("metadata.name=", &json!({})));
    let all = FieldSelector::parse("").unwrap();
    assert_eq!(all, FieldSelector::everything());
    assert!(all.matches(&cluster_scoped));
    assert_eq!(
        FieldSelector::parse("metadata.name=a,").unwrap(),
        FieldSelector::parse("metadata.name=a").unwrap()
    );
    assert_eq!(
        FieldSelector::parse("metadata.name=a,metadata.namespace=b").unwrap(),
        FieldSelector::parse("metadata.namespace=b,metadata.name=a").unwrap()
    );
}

#[test]
fn field_selector_escapes() {
    let s = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").unwrap();
    assert!(s.matches(&json!({"metadata": {"name": r"a,b=c\d"}})));
    assert!(!s.matches(&json!({"metadata": {"name": "a"}})));
    assert!(FieldSelector::parse(r"metadata.name=a\x").is_err());
    assert!(FieldSelector::parse(r"metadata.name=a\").is_err());
    assert!(FieldSelector::parse("metadata.name=a=b").is_err());
}

#[test]
fn field_selector_errors() {
    let e = FieldSelector::parse("spec.foo=bar").unwrap_err();
    assert_eq!(e.to_string(), "field label not supported: spec.foo");
    let e = FieldSelector::parse("metadata.name=a,status.phase!=Running").unwrap_err();
    assert_eq!(e.0, "field label not supported: status.phase");
    let e = FieldSelector::parse("metadata.name").unwrap_err();
    assert_eq!(
        e.0,
        "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
    );
    assert!(FieldSelector::parse("=a").is_err());
}
