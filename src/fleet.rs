//! Choosing the fleet: the kubeconfig contexts a command reads, from
//! `--context a,b,c`, `--all-contexts` or `--fleet NAME` (the config's
//! `[fleets.NAME]`), each with its own connection options and short name.
//! A command runs its plan once per context.

use crate::cli::ClusterArgs;
use crate::cluster::connect::{ConnectOptions, kubeconfig_contexts};
use crate::config::Config;
use crate::user_error::UserError;

/// Which contexts the flags ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// No flag: the kubeconfig's current context.
    Current,
    /// `--context NAME`: one context, exactly as before fleets.
    One(String),
    /// `--context a,b,c`.
    List(Vec<String>),
    /// `--all-contexts`: every context of the kubeconfig.
    All,
    /// `--fleet NAME`: the config's `[fleets.NAME]`.
    Named(String),
}

impl Choice {
    /// The choice the flags make; a list with an empty or repeated name is
    /// a mistake.
    pub fn of(args: &ClusterArgs) -> Result<Choice, UserError> {
        if args.all_contexts {
            return Ok(Choice::All);
        }
        if let Some(name) = &args.fleet {
            return Ok(Choice::Named(name.clone()));
        }
        let Some(flag) = &args.context else {
            return Ok(Choice::Current);
        };
        if !flag.contains(',') {
            return Ok(Choice::One(flag.clone()));
        }
        let mut names: Vec<String> = Vec::new();
        for name in flag.split(',').map(str::trim) {
            if name.is_empty() {
                return Err(UserError::new(
                    format!("--context {flag}: a name of the list is empty"),
                    "give the contexts as a,b,c (kubectl config get-contexts lists them)",
                ));
            }
            if names.iter().any(|n| n == name) {
                return Err(UserError::new(
                    format!("--context {flag}: context {name:?} is named twice"),
                    "name each context once",
                ));
            }
            names.push(name.to_string());
        }
        Ok(Choice::List(names))
    }

    /// The flag that made this choice, as the user wrote it.
    fn flag(&self) -> String {
        match self {
            Choice::Current => "the current context".into(),
            Choice::One(name) => format!("--context {name}"),
            Choice::List(names) => format!("--context {}", names.join(",")),
            Choice::All => "--all-contexts".into(),
            Choice::Named(name) => format!("--fleet {name}"),
        }
    }
}

/// One context of a plan: how to connect to it, and its short name.
#[derive(Debug, Clone)]
pub struct ContextPlan {
    /// `context` is `None` for the current context.
    pub connect: ConnectOptions,
    /// The config's `alias` of the context, when it has one.
    pub alias: Option<String>,
}

impl ContextPlan {
    /// One context alone, with no short name: shown as before fleets.
    pub fn one(connect: ConnectOptions) -> ContextPlan {
        ContextPlan {
            connect,
            alias: None,
        }
    }

    /// The context's name, when the flags gave it.
    pub fn context(&self) -> Option<&str> {
        self.connect.context.as_deref()
    }

    /// The CLUSTER column's name: the alias, else the context's name.
    pub fn short_name(&self) -> String {
        self.alias
            .clone()
            .or_else(|| self.connect.context.clone())
            .unwrap_or_default()
    }
}

/// The contexts a command reads, in the order chosen.
#[derive(Debug, Clone)]
pub struct Plan {
    pub contexts: Vec<ContextPlan>,
    /// Chosen as a fleet (a list, every context, a named fleet), even of
    /// one: the output says which cluster each release is in.
    pub fleet: bool,
}

/// The plan for `args`: each context with `base`'s options (timeouts,
/// limits, the namespace flags) and its alias from `config`. The names
/// of a list or a fleet are checked against the kubeconfig, as kubectl
/// checks `--context`; `config_file` names where fleets come from.
pub fn plan(
    args: &ClusterArgs,
    base: &ConnectOptions,
    config: &Config,
    config_file: &std::path::Path,
) -> Result<Plan, UserError> {
    let choice = Choice::of(args)?;
    let names: Option<Vec<String>> = match &choice {
        Choice::Current => None,
        Choice::One(name) => Some(vec![name.clone()]),
        Choice::List(names) => Some(checked(names, base, &choice.flag())?),
        Choice::All => {
            let (all, from) = kubeconfig_contexts(base.kubeconfig.as_deref())?;
            if all.is_empty() {
                return Err(UserError::new(
                    format!("--all-contexts: the kubeconfig {from} has no contexts"),
                    "add one (kubectl config set-context) or give another --kubeconfig",
                ));
            }
            Some(all)
        }
        Choice::Named(name) => {
            let Some(fleet) = config.fleets.get(name) else {
                let known: Vec<&str> = config.fleets.keys().map(String::as_str).collect();
                let fix = if known.is_empty() {
                    "add one: [fleets.NAME] contexts = [\"a\", \"b\"] (then check it with: cutover config check)".to_string()
                } else {
                    format!("choose one of: {}", known.join(", "))
                };
                return Err(UserError::new(
                    format!(
                        "fleet {name:?} is not in the config {} (or has a mistake: cutover config check)",
                        config_file.display()
                    ),
                    fix,
                ));
            };
            Some(checked(&fleet.contexts, base, &choice.flag())?)
        }
    };
    let contexts = match names {
        None => vec![ContextPlan {
            connect: base.clone(),
            alias: None,
        }],
        Some(names) => names
            .into_iter()
            .map(|name| ContextPlan {
                alias: config.alias(&name).map(str::to_string),
                connect: ConnectOptions {
                    context: Some(name),
                    ..base.clone()
                },
            })
            .collect(),
    };
    let fleet = matches!(choice, Choice::List(_) | Choice::All | Choice::Named(_));
    Ok(Plan { contexts, fleet })
}

/// `names`, each checked against the kubeconfig.
fn checked(names: &[String], base: &ConnectOptions, flag: &str) -> Result<Vec<String>, UserError> {
    let (known, from) = kubeconfig_contexts(base.kubeconfig.as_deref())?;
    match names.iter().find(|n| !known.contains(n)) {
        Some(missing) => Err(UserError::new(
            format!("{flag}: context {missing:?} does not exist in {from}"),
            format!(
                "choose among: {} (kubectl config get-contexts)",
                known.join(", ")
            ),
        )),
        None => Ok(names.to_vec()),
    }
}

/// The contexts the flags choose, each with `base`'s options. The config
/// is read only when the flags name a fleet.
pub fn shown(
    args: &ClusterArgs,
    base: ConnectOptions,
    config_file: &std::path::Path,
    database_flags: &[String],
) -> Result<Plan, UserError> {
    let choice = Choice::of(args)?;
    if matches!(choice, Choice::Current | Choice::One(_)) {
        return Ok(Plan {
            contexts: vec![ContextPlan::one(base)],
            fleet: false,
        });
    }
    let config = crate::config::load(config_file, database_flags).config;
    plan(args, &base, &config, config_file)
}

#[cfg(test)]
mod tests;
