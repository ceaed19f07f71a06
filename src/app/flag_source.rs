//! The context's Unleash, when its config names one: the task that reads
//! it, and the client the Mutator writes through (never built read-only).

use super::update::Msg;
use crate::config::Config;
use crate::unleash::poll::{UNLEASH_REFRESH, UnleashSink, UnleashTask};
use crate::unleash::{Unleash, UnleashSource};
use chrono::Utc;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// Start reading `context`'s Unleash; its messages carry `epoch`. With the
/// task, where it reads, for the Mutator to write to. None when the config
/// names none; a section that cannot be used (its token unreadable) is
/// said once, as a failed reading.
pub(super) fn start(
    config: &Config,
    context: &str,
    epoch: u64,
    tx: &UnboundedSender<Msg>,
) -> Option<(UnleashTask, UnleashSource)> {
    let section = config.contexts.get(context)?.flags.unleash.as_ref()?;
    let name = format!(
        "Unleash {}/{}",
        section.project.as_deref().unwrap_or_default(),
        section.environment.as_deref().unwrap_or_default()
    );
    let resolved = section
        .resolve()
        .and_then(|source| Ok((Unleash::new(source.clone())?, source)));
    let (unleash, source) = match resolved {
        Ok((unleash, source)) => (Arc::new(unleash), source),
        Err(error) => {
            let _ = tx.send(Msg::Unleash {
                epoch,
                source: name,
                result: Err(error),
                at: Utc::now(),
            });
            return None;
        }
    };
    let tx = tx.clone();
    let sink: UnleashSink = Arc::new(move |result, at| {
        let _ = tx.send(Msg::Unleash {
            epoch,
            source: name.clone(),
            result,
            at,
        });
    });
    let task = UnleashTask::spawn(unleash, UNLEASH_REFRESH, sink);
    Some((task, source))
}
