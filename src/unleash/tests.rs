use super::*;
use serde_json::json;

#[test]
fn a_token_never_prints() {
    let token = Token::new("*:*.planted-secret\n");
    assert_eq!(format!("{token:?}"), "<redacted>");
    let source = UnleashSource {
        url: Url::parse("http://127.0.0.1:1/").expect("url"),
        project: "default".into(),
        environment: "production".into(),
        token,
    };
    assert!(!format!("{source:?}").contains("planted-secret"));
}

#[test]
fn the_rollout_is_the_first_enabled_flexible_rollout() {
    let env = json!({"strategies": [
        {"name": "flexibleRollout", "disabled": true, "parameters": {"rollout": "90"}},
        {"name": "default"},
        {"name": "flexibleRollout", "parameters": {"rollout": "20", "stickiness": "default"}},
    ]});
    assert_eq!(flexible_rollout(&env), Some(20.0));
    assert_eq!(flexible_rollout(&json!({"strategies": []})), None);
}

#[test]
fn a_flag_shows_its_environment_and_split() {
    let source = UnleashSource {
        url: Url::parse("http://127.0.0.1:1/").expect("url"),
        project: "default".into(),
        environment: "production".into(),
        token: Token::new("t"),
    };
    let read = UnleashFlag {
        name: "new-checkout-flow".into(),
        enabled: Some(true),
        rollout: Some(20.0),
        changed_at: None,
        definition: json!({"enabled": true}),
    };
    let flag = read.to_flag(&source, FlagLink::Annotation);
    assert_eq!(flag.source.describe(), "Unleash default/production");
    assert_eq!(flag.rollout_text().as_deref(), Some("on 20% · off 80%"));
    assert!(flag.partially_rolled_out());
    let missing = UnleashFlag {
        enabled: None,
        ..read
    };
    assert_eq!(
        missing.to_flag(&source, FlagLink::Annotation).state,
        FlagState::Unknown
    );
}
