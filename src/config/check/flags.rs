//! `[contexts.X.flags.unleash]`: a section that cannot be used is dropped,
//! and the context's releases show no Unleash flags until it is corrected.

use super::{Checker, top};
use crate::config::ContextConfig;
use crate::config::problem::fix;
use std::collections::BTreeMap;

impl Checker<'_, '_> {
    pub(super) fn unleash(&mut self, contexts: &mut BTreeMap<String, ContextConfig>) {
        for (name, context) in contexts.iter_mut() {
            let Some(section) = &context.flags.unleash else {
                continue;
            };
            let Some((key, problem, hint)) = section.problem() else {
                continue;
            };
            let section = top("contexts").key(name).key("flags").key("unleash");
            let path = key.map_or_else(|| section.clone(), |k| section.key(k));
            let fallback = "no Unleash flags are shown for this context until then";
            self.report(
                &path,
                format!("{path} {problem}"),
                fix(Some(hint), fallback),
            );
            context.flags.unleash = None;
        }
    }
}
