//! `[fleets.NAME]` and each context's `alias`. Whether a fleet's contexts
//! exist can only be told with the kubeconfig, when the fleet is used.

use super::{Checker, top};
use crate::config::problem::fix;
use crate::config::{ContextConfig, FleetSection};
use std::collections::BTreeMap;

/// Why `alias` cannot be a short cluster name, if it cannot: it is a word
/// of a table column and of a comma list.
pub(crate) fn alias_problem(alias: &str) -> Option<&'static str> {
    if alias.is_empty() {
        Some("is empty")
    } else if alias
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    {
        Some("has a blank or a comma in it")
    } else {
        None
    }
}

impl Checker<'_, '_> {
    /// An alias that cannot be used, or that another context has already,
    /// is dropped: the context's name is shown instead.
    pub(super) fn aliases(&mut self, contexts: &mut BTreeMap<String, ContextConfig>) {
        let fallback = "the context's name is shown instead";
        let mut taken: BTreeMap<String, String> = BTreeMap::new();
        for (name, context) in contexts.iter_mut() {
            let Some(alias) = context.alias.clone() else {
                continue;
            };
            let path = top("contexts").key(name).key("alias");
            if let Some(why) = alias_problem(&alias) {
                let hint = "give a short name such as eu or prod-us";
                self.report(
                    &path,
                    format!("alias {alias:?} {why}"),
                    fix(Some(hint), fallback),
                );
                context.alias = None;
            } else if let Some(other) = taken.get(&alias) {
                let why = format!("alias {alias:?} is context {other:?}'s already");
                let hint = "give each context its own alias";
                self.report(&path, why, fix(Some(hint), fallback));
                context.alias = None;
            } else {
                taken.insert(alias, name.clone());
            }
        }
    }

    /// A fleet with no context is dropped (`--fleet NAME` is refused
    /// until it has some); a context named twice, or with no name, is
    /// read once, or not at all.
    pub(super) fn fleets(&mut self, fleets: &mut BTreeMap<String, FleetSection>) {
        fleets.retain(|name, fleet| {
            let base = top("fleets").key(name).key("contexts");
            let mut kept: Vec<String> = Vec::new();
            for (i, context) in fleet.contexts.iter().enumerate() {
                if context.is_empty() {
                    let why = "a context with no name".to_string();
                    self.report(
                        &base.index(i),
                        why,
                        fix(Some("name a kubeconfig context"), "it is ignored"),
                    );
                } else if kept.contains(context) {
                    let why = format!("context {context:?} is named twice in fleet {name}");
                    self.report(&base.index(i), why, fix(None, "it is read once"));
                } else {
                    kept.push(context.clone());
                }
            }
            fleet.contexts = kept;
            if fleet.contexts.is_empty() {
                let why = format!("fleet {name} names no context");
                let hint = "list its kubeconfig contexts: contexts = [\"prod-eu\", \"prod-us\"]";
                let fallback = format!("--fleet {name} is refused until then");
                self.report_key(&top("fleets").key(name), why, fix(Some(hint), &fallback));
            }
            !fleet.contexts.is_empty()
        });
    }
}
