//! Unleash as a flag source, against a real Unleash (unleash-server 7.5 on
//! the test PostgreSQL, one database per test): flags per environment,
//! the kill switch's write in one environment only, a wrong token, an
//! unreachable server, and a token that never shows.

#[path = "../support/mod.rs"]
mod support;

use cutover::model::flag::{FlagLink, FlagState};
use cutover::unleash::{Token, Unleash, UnleashError, UnleashSource, UnleashSwitch};
use support::postgres::{Postgres, free_port};
use support::unleash::UnleashServer;

const SECRET: &str = "planted-unleash-secret-7f3a";

async fn server(test: &str) -> Option<UnleashServer> {
    let postgres = Postgres::shared(test)?;
    UnleashServer::start(test, postgres, test, SECRET).await
}

fn source(url: &str, environment: &str, token: &str) -> UnleashSource {
    UnleashSource {
        url: url.parse().expect("url"),
        project: "default".into(),
        environment: environment.into(),
        token: Token::new(token),
    }
}

fn client(url: &str, environment: &str, token: &str) -> Unleash {
    Unleash::new(source(url, environment, token)).expect("client")
}

/// The writer the Mutator alone builds.
fn switch(url: &str, environment: &str, token: &str) -> UnleashSwitch {
    UnleashSwitch::new(source(url, environment, token)).expect("client")
}

/// `new-checkout-flow` at 20% and on in production, on in development;
/// `fast-payments` off in production, on in development.
async fn seed(unleash: &UnleashServer) {
    unleash.seed_checkout_flag().await;
    unleash.create_flag("fast-payments").await;
    unleash.switch("fast-payments", "development", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_flags_appear_per_environment() {
    let Some(unleash) = server("unleash_per_environment").await else {
        return;
    };
    seed(&unleash).await;
    let production = client(&unleash.url, "production", &unleash.token);
    let flags = production.flags().await.expect("read production");
    let shown: Vec<_> = flags
        .iter()
        .map(|f| f.to_flag(production.source(), FlagLink::Annotation))
        .collect();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    let checkout = shown
        .iter()
        .find(|f| f.key == "new-checkout-flow")
        .expect("checkout");
    assert_eq!(checkout.state, FlagState::Enabled);
    assert_eq!(checkout.source.describe(), "Unleash default/production");
    assert_eq!(checkout.rollout_text().as_deref(), Some("on 20% · off 80%"));
    assert!(checkout.changed_at.is_some(), "Unleash's change time");
    let payments = shown
        .iter()
        .find(|f| f.key == "fast-payments")
        .expect("payments");
    assert_eq!(payments.state, FlagState::Disabled);

    let development = client(&unleash.url, "development", &unleash.token);
    let flags = development.flags().await.expect("read development");
    assert!(flags.iter().all(|f| f.enabled == Some(true)), "{flags:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_off_touches_that_environment_only() {
    let Some(unleash) = server("unleash_switch_off").await else {
        return;
    };
    seed(&unleash).await;
    let writer = switch(&unleash.url, "production", &unleash.token);
    let production = writer.reader();
    let before = production.flag("new-checkout-flow").await.expect("read");
    writer
        .switch_off("new-checkout-flow")
        .await
        .expect("switch off");
    assert!(!unleash.enabled("new-checkout-flow", "production").await);
    assert!(unleash.enabled("new-checkout-flow", "development").await);
    let after = production.flag("new-checkout-flow").await.expect("read");
    assert_eq!(after.enabled, Some(false));
    assert_ne!(
        after.definition, before.definition,
        "the stale guard sees the change"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_says_so_and_changes_nothing() {
    let Some(unleash) = server("unleash_wrong_token").await else {
        return;
    };
    seed(&unleash).await;
    let wrong = client(&unleash.url, "production", "*:*.not-the-token");
    assert_eq!(wrong.flags().await, Err(UnleashError::Unauthorized));
    assert_eq!(
        switch(&unleash.url, "production", "*:*.not-the-token")
            .switch_off("new-checkout-flow")
            .await,
        Err(UnleashError::Unauthorized)
    );
    assert!(unleash.enabled("new-checkout-flow", "production").await);
    let said = UnleashError::Unauthorized.to_string();
    assert!(said.contains("401") && said.contains("token"), "{said}");
    assert!(!said.contains("not-the-token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_unleash_is_an_error_not_a_flag_off() {
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let unreachable = client(&nobody, "production", &format!("*:*.{SECRET}"));
    let error = unreachable.flags().await.expect_err("nobody answers");
    assert!(matches!(error, UnleashError::Unreachable(_)), "{error:?}");
    let said = format!("{error} {error:?}");
    assert!(said.contains("unreachable"), "{said}");
    assert!(!said.contains(SECRET), "{said}");
}
