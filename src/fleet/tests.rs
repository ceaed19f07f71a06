//! Choosing the fleet from the flags, the config and a kubeconfig.

use super::*;
use clap::Parser;
use std::path::Path;

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    cluster: ClusterArgs,
}

fn args(flags: &[&str]) -> ClusterArgs {
    let argv = std::iter::once("cutover").chain(flags.iter().copied());
    Flags::try_parse_from(argv).expect("flags parse").cluster
}

/// A kubeconfig with the contexts prod-eu, prod-us and prod-ap.
fn kubeconfig(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let context = |name: &str| {
        format!("- name: {name}\n  context: {{cluster: {name}, user: {name}, namespace: shop}}\n")
    };
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod-eu\nclusters: []\nusers: []\ncontexts:\n{}{}{}",
        context("prod-eu"),
        context("prod-us"),
        context("prod-ap")
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn config(text: &str) -> Config {
    toml::from_str(text).unwrap()
}

fn plan_of(flags: &[&str], config_text: &str) -> Result<Plan, UserError> {
    let dir = tempfile::tempdir().unwrap();
    let args = args(flags);
    let base = ConnectOptions {
        kubeconfig: Some(kubeconfig(dir.path())),
        ..args.options()
    };
    plan(
        &args,
        &base,
        &config(config_text),
        Path::new("/etc/cutover.toml"),
    )
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.contexts
        .iter()
        .filter_map(ContextPlan::context)
        .collect()
}

#[test]
fn the_flags_choose_one_context_a_list_every_context_or_a_fleet() {
    assert_eq!(Choice::of(&args(&[])), Ok(Choice::Current));
    assert_eq!(
        Choice::of(&args(&["--context", "prod-eu"])),
        Ok(Choice::One("prod-eu".into()))
    );
    assert_eq!(
        Choice::of(&args(&["--context", "prod-eu, prod-us"])),
        Ok(Choice::List(vec!["prod-eu".into(), "prod-us".into()]))
    );
    assert_eq!(Choice::of(&args(&["--all-contexts"])), Ok(Choice::All));
    assert_eq!(
        Choice::of(&args(&["--fleet", "prod"])),
        Ok(Choice::Named("prod".into()))
    );
    let argv = ["cutover", "--fleet", "prod", "--context", "a"];
    assert!(Flags::try_parse_from(argv).is_err(), "one way to choose");
    let argv = ["cutover", "--all-contexts", "--fleet", "prod"];
    assert!(Flags::try_parse_from(argv).is_err(), "one way to choose");
}

#[test]
fn a_list_with_an_empty_or_repeated_name_is_a_mistake() {
    let err = Choice::of(&args(&["--context", "a,,b"])).unwrap_err();
    assert_eq!(err.cause, "--context a,,b: a name of the list is empty");
    let err = Choice::of(&args(&["--context", "a,b,a"])).unwrap_err();
    assert_eq!(err.cause, "--context a,b,a: context \"a\" is named twice");
}

#[test]
fn one_context_is_not_a_fleet_and_keeps_todays_options() {
    let plan = plan_of(&["--context", "prod-us"], "").unwrap();
    assert!(!plan.fleet);
    assert_eq!(names(&plan), ["prod-us"]);
    let current = plan_of(&[], "").unwrap();
    assert!(!current.fleet);
    assert_eq!(
        current.contexts[0].context(),
        None,
        "kube takes the current one"
    );
}

#[test]
fn a_list_every_context_and_a_named_fleet_each_give_their_contexts_and_aliases() {
    let aliases = "[contexts.prod-eu]\nalias = \"eu\"\n[fleets.prod]\ncontexts = [\"prod-us\", \"prod-eu\"]\n";
    let list = plan_of(&["--context", "prod-eu,prod-ap"], aliases).unwrap();
    assert!(list.fleet);
    assert_eq!(names(&list), ["prod-eu", "prod-ap"]);
    assert_eq!(list.contexts[0].alias.as_deref(), Some("eu"));
    assert_eq!(list.contexts[1].alias, None);
    let all = plan_of(&["--all-contexts", "-n", "payments"], aliases).unwrap();
    assert_eq!(names(&all), ["prod-eu", "prod-us", "prod-ap"]);
    assert!(
        all.contexts
            .iter()
            .all(|c| c.connect.namespace.as_deref() == Some("payments")),
        "-n is every context's"
    );
    let named = plan_of(&["--fleet", "prod"], aliases).unwrap();
    assert_eq!(names(&named), ["prod-us", "prod-eu"]);
}

#[test]
fn an_unknown_context_or_fleet_is_said_as_kubectl_would() {
    let fleets = "[fleets.prod]\ncontexts = [\"prod-eu\", \"prod-xx\"]\n";
    let err = plan_of(&["--context", "prod-eu,prod-xx"], "").unwrap_err();
    assert!(
        err.cause
            .starts_with("--context prod-eu,prod-xx: context \"prod-xx\" does not exist in "),
        "{err:?}"
    );
    assert_eq!(
        err.fix.as_deref(),
        Some("choose among: prod-eu, prod-us, prod-ap (kubectl config get-contexts)")
    );
    let err = plan_of(&["--fleet", "prod"], fleets).unwrap_err();
    assert!(
        err.cause
            .starts_with("--fleet prod: context \"prod-xx\" does not exist"),
        "{err:?}"
    );
    let err = plan_of(&["--fleet", "staging"], fleets).unwrap_err();
    assert_eq!(
        err.cause,
        "fleet \"staging\" is not in the config /etc/cutover.toml (or has a mistake: cutover config check)"
    );
    assert_eq!(err.fix.as_deref(), Some("choose one of: prod"));
}
