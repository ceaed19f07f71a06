//! The domain: releases of every kind, their phases, traffic, revisions,
//! the statistics that judge their metrics and the actions a human can take
//! on them. No I/O and no clock reads: time arrives as an argument.

pub mod action;
pub mod alert;
pub mod bake;
pub mod flag;
pub mod gate;
pub mod metrics;
pub mod migration;
pub mod phase;
pub mod release;
pub mod restore;
pub mod revision;
pub mod traffic;

pub use action::{Action, ActionOutcome, ActionPlan, ActionRequest, PatchRequest, PatchType};
pub use phase::Health;
pub use release::*;
pub use revision::*;
