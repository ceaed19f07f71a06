//! Reshape: its state machine in `reshape.data` (key `state`), completed
//! migrations in `reshape.migrations`, one `migration_<name>` schema per
//! live version, and a fixed advisory lock held while a command runs.
//!
//! Read directly: Reshape's own `State::load` runs DDL and `reshape status`
//! takes the lock.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio_postgres::Client;

use super::activity::AdvisoryLocks;
use super::{Catalog, column, failed, migration};
use crate::model::migration::PhaseState::{Done, Failed, Pending, Running};
use crate::model::migration::{Tool, ToolState};

const STARTED: &str = "reshape: started";
/// Reshape fills new columns while `start` runs.
const BACKFILLED: &str = "reshape backfills during start";

/// `reshape.data`'s `state` value, tagged by its `state` field
/// (reshape `src/state.rs`). Absent means idle.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
enum ReshapeState {
    Idle,
    Applying {
        migrations: Vec<Named>,
    },
    InProgress {
        migrations: Vec<Named>,
    },
    Completing {
        migrations: Vec<Named>,
        current_migration_index: usize,
        current_action_index: usize,
    },
    Aborting {
        migrations: Vec<Named>,
    },
}

/// A migration in the state; its actions are not needed here.
#[derive(Debug, Deserialize, PartialEq)]
struct Named {
    name: String,
}

/// The newest row of `reshape.migrations`.
struct Completed {
    name: String,
    at: Option<DateTime<Utc>>,
}

pub(super) async fn read(
    client: &Client,
    catalog: &Catalog,
    locks: &AdvisoryLocks,
) -> Result<ToolState, String> {
    let state = client
        .query_opt("SELECT value FROM reshape.data WHERE key = 'state'", &[])
        .await
        .map_err(failed("reading reshape.data"))?
        .map(|row| column::<Option<serde_json::Value>>(&row, 0, "reshape.data"))
        .transpose()?
        .flatten();
    let completed = if catalog.has("reshape.migrations") {
        // `completed_at` is a `timestamp` written with the server's clock.
        let row = client
            .query_opt(
                "SELECT name, completed_at::timestamptz FROM reshape.migrations \
                 ORDER BY index DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(failed("reading reshape.migrations"))?;
        match row {
            Some(row) => Some(Completed {
                name: column(&row, 0, "reshape.migrations")?,
                at: column(&row, 1, "reshape.migrations")?,
            }),
            None => None,
        }
    } else {
        None
    };
    let rows = client
        .query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'migration\\_%' ORDER BY 1",
            &[],
        )
        .await
        .map_err(failed("reading reshape's schemas"))?;
    let schemas = rows
        .iter()
        .map(|row| column(row, 0, "reshape's schemas"))
        .collect::<Result<Vec<String>, String>>()?;
    let lock_holder = locks.holder(Tool::Reshape, catalog);
    Ok(tool_state(state, completed, &schemas, lock_holder))
}

/// What the state, the newest completed migration, the live version schemas
/// and the lock say together.
fn tool_state(
    state: Option<serde_json::Value>,
    completed: Option<Completed>,
    schemas: &[String],
    lock_holder: Option<i32>,
) -> ToolState {
    let mut out = ToolState::new(Tool::Reshape);
    out.applied = completed.as_ref().map(|c| c.name.clone());
    out.applied_at = completed.as_ref().and_then(|c| c.at);
    out.running = lock_holder.map(|pid| format!("a reshape command is running (pid {pid})"));
    let live = if schemas.is_empty() {
        "no version schema".to_string()
    } else {
        format!("schemas {}", schemas.join(", "))
    };
    // An in-between state with nobody holding the lock is a command that died.
    let interrupted = |command: &str, what: &str| {
        lock_holder
            .is_none()
            .then(|| format!("{what} was interrupted: run `reshape migration {command}` again"))
    };
    let state = match state.map(serde_json::from_value::<ReshapeState>) {
        None => ReshapeState::Idle,
        Some(Ok(state)) => state,
        Some(Err(e)) => {
            out.failure = Some(format!(
                "reshape.data holds a state this reader does not know: {e}"
            ));
            return out;
        }
    };
    let target = |migrations: &[Named]| {
        migrations
            .last()
            .map_or_else(|| "(none)".to_string(), |m| m.name.clone())
    };
    // Ran, or is running unless its command died.
    let ran_or = |failure: &Option<String>| match failure {
        Some(_) => Failed,
        None => Running,
    };
    out.migration = match state {
        ReshapeState::Idle => completed.map(|c| {
            let mut m = migration(
                &c.name,
                [
                    (Done, STARTED),
                    (Done, BACKFILLED),
                    (Done, "reshape: complete ran, so clients had switched"),
                    (Done, &format!("reshape: completed; {live} left")),
                ],
            );
            m.phases[3].finished = c.at;
            m
        }),
        ReshapeState::Applying { migrations } => {
            let name = target(&migrations);
            out.failure = interrupted("start", &format!("start of {name}"))
                .map(|f| format!("{f}, or abort it"));
            let state = ran_or(&out.failure);
            Some(migration(
                &name,
                [
                    (state, "reshape: applying"),
                    (state, BACKFILLED),
                    (Pending, ""),
                    (Pending, ""),
                ],
            ))
        }
        ReshapeState::InProgress { migrations } => Some(migration(
            &target(&migrations),
            [
                (Done, &format!("reshape: in progress; {live}")),
                (Done, BACKFILLED),
                (Pending, "reshape: old and new schemas both live"),
                (Pending, "reshape: complete not run; abort still possible"),
            ],
        )),
        ReshapeState::Completing {
            migrations,
            current_migration_index: at_migration,
            current_action_index: at_action,
        } => {
            let name = target(&migrations);
            out.failure = interrupted("complete", &format!("complete of {name}"))
                .map(|f| format!("{f} (abort is refused from here on)"));
            Some(migration(
                &name,
                [
                    (Done, STARTED),
                    (Done, BACKFILLED),
                    (Done, "reshape: complete began, so clients had switched"),
                    (
                        ran_or(&out.failure),
                        &format!(
                            "reshape: completing, at migration {at_migration} action {at_action}; \
                             the old schema is dropped first"
                        ),
                    ),
                ],
            ))
        }
        ReshapeState::Aborting { migrations } => {
            let name = target(&migrations);
            out.failure = interrupted("abort", &format!("abort of {name}"));
            out.running =
                lock_holder.map(|pid| format!("aborting {name}: undoing its expand (pid {pid})"));
            Some(migration(
                &name,
                [
                    (Failed, "reshape: aborting, the expand is being undone"),
                    (Pending, ""),
                    (Pending, ""),
                    (Pending, ""),
                ],
            ))
        }
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::migration::Migration;
    use serde_json::json;

    fn phases(m: &Migration) -> Vec<&'static str> {
        m.phases.iter().map(|p| p.state.word()).collect()
    }

    fn completed() -> Option<Completed> {
        Some(Completed {
            name: "1_create_users".into(),
            at: None,
        })
    }

    #[test]
    fn in_progress_is_expanded_and_still_safe_to_roll_back() {
        let state = json!({"state": "in_progress", "migrations": [
            {"name": "2_add_display_name", "description": null, "actions": []}]});
        let s = tool_state(Some(state), completed(), &[], None);
        let m = s.migration.unwrap();
        assert_eq!(m.name, "2_add_display_name");
        assert_eq!(phases(&m), ["done", "done", "pending", "pending"]);
        assert_eq!(s.applied.as_deref(), Some("1_create_users"));
        assert_eq!(s.failure, None);
    }

    #[test]
    fn completing_without_the_lock_held_was_interrupted() {
        let state = json!({"state": "completing", "migrations": [{"name": "2_x", "actions": []}],
            "current_migration_index": 0, "current_action_index": 1});
        let s = tool_state(Some(state.clone()), completed(), &[], None);
        assert_eq!(
            phases(s.migration.as_ref().unwrap()),
            ["done", "done", "done", "failed"]
        );
        assert!(
            s.failure
                .unwrap()
                .contains("complete of 2_x was interrupted")
        );

        let s = tool_state(Some(state), completed(), &[], Some(42));
        assert_eq!(
            phases(s.migration.as_ref().unwrap()),
            ["done", "done", "done", "running"]
        );
        assert_eq!(s.failure, None);
        assert_eq!(
            s.running.as_deref(),
            Some("a reshape command is running (pid 42)")
        );
    }

    #[test]
    fn aborting_says_so() {
        let state = json!({"state": "aborting", "migrations": [{"name": "2_x", "actions": []}],
            "last_migration_index": 0, "last_action_index": 0});
        let s = tool_state(Some(state), completed(), &[], Some(7));
        assert_eq!(
            s.running.as_deref(),
            Some("aborting 2_x: undoing its expand (pid 7)")
        );
        let m = s.migration.unwrap();
        assert_eq!(phases(&m), ["failed", "pending", "pending", "pending"]);
        assert!(!m.contract_begun());
    }

    #[test]
    fn an_unknown_state_is_a_failure_not_a_guess() {
        let s = tool_state(Some(json!({"state": "sideways"})), None, &[], None);
        assert!(s.failure.unwrap().contains("does not know"));
        assert_eq!(s.migration, None);
    }
}
