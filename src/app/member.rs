//! One context the control room shows: one alone, or each of a fleet's.
//! Each has its own connection, scope, watched objects and watch health;
//! the messages of its connection carry its epoch, which no other
//! context's share, so news lands in exactly the context it came from.

use super::health::Watches;
use super::state::{ConnectionState, MetricsSource, Scope};
use crate::cluster::Catalog;
use crate::model::flag::feed::UnleashFeed;
use crate::model::restore::velero::VeleroState;
use chrono::{DateTime, Utc};

#[derive(Debug)]
pub struct Member {
    /// The CLUSTER column's name (the alias, else the context's name);
    /// empty when one context is shown, as before fleets.
    pub alias: String,
    /// Which connection the incoming messages must belong to.
    pub epoch: u64,
    pub connection: ConnectionState,
    pub scope: Scope,
    /// The watched objects and the releases they make.
    pub cluster: Catalog,
    pub sources: Watches,
    /// None until the runner says which source serves this context, and
    /// when none is configured.
    pub metrics_source: Option<MetricsSource>,
    /// Why there is no metrics source (none configured, a config mistake).
    pub metrics_problem: Option<String>,
    /// The context's Unleash, when its config names one: with its name
    /// ("Unleash default/production").
    pub unleash: Option<(String, UnleashFeed)>,
    /// Velero's backups, restores and schedules, when the cluster serves
    /// them: their watches' failures are theirs, not an outage.
    pub velero: VeleroState,
}

impl Member {
    pub fn new(alias: &str, epoch: u64, now: DateTime<Utc>) -> Member {
        Member {
            alias: alias.to_string(),
            epoch,
            connection: ConnectionState::Connecting { since: now },
            scope: Scope::default(),
            cluster: Catalog::of_cluster(alias),
            sources: Watches::default(),
            metrics_source: None,
            metrics_problem: None,
            unleash: None,
            velero: VeleroState::default(),
        }
    }
}
