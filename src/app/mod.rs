//! The control room: state, the pure update step, keys, and the main loop
//! that connects them to the terminal and the cluster.

pub mod access;
pub mod alerts;
pub mod board;
pub(crate) mod feeds;
mod flag_source;
mod frames;
pub(crate) mod health;
pub mod keymap;
pub mod member;
pub mod request;
pub mod restore;
pub(crate) mod run;
pub mod state;
mod terminal;
pub mod update;
pub mod wave;

#[cfg(test)]
mod tests;

pub use state::State;
pub use update::{Effect, Msg, Outcome, update};
