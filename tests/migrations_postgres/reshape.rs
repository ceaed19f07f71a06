//! Reshape driven by its own command line: start, abort, its lock, and a
//! complete that dies.

use super::*;

/// The `reshape` program with a migrations folder: 1 creates `users`, 2
/// adds `display_name`.
pub struct Reshape {
    program: PathBuf,
    pub dir: tempfile::TempDir,
    url: String,
}

impl Reshape {
    pub fn new(test: &str, url: &str) -> Option<Reshape> {
        let program = support::require_program("reshape", test)?;
        let dir = tempfile::tempdir().expect("temp dir");
        let migrations = dir.path().join("migrations");
        std::fs::create_dir(&migrations).expect("migrations folder");
        std::fs::write(
            migrations.join("1_create_users.toml"),
            r#"[[actions]]
type = "create_table"
name = "users"
primary_key = ["id"]

    [[actions.columns]]
    name = "id"
    type = "INTEGER"
    generated = "ALWAYS AS IDENTITY"

    [[actions.columns]]
    name = "name"
    type = "TEXT"
"#,
        )
        .expect("migration 1");
        std::fs::write(
            migrations.join("2_add_display_name.toml"),
            r#"[[actions]]
type = "add_column"
table = "users"
up = "name"

    [actions.column]
    name = "display_name"
    type = "TEXT"
"#,
        )
        .expect("migration 2");
        Some(Reshape {
            program,
            dir,
            url: url.to_string(),
        })
    }

    /// `reshape migration <args> --url …`, which must succeed.
    pub fn run(&self, args: &[&str]) {
        let out = Command::new(&self.program)
            .arg("migration")
            .args(args)
            .args(["--url", &self.url])
            .current_dir(self.dir.path())
            // These would win over --url.
            .env_remove("DB_URL")
            .env_remove("DB_HOST")
            .env_remove("DB_NAME")
            .output()
            .expect("run reshape");
        assert!(
            out.status.success(),
            "reshape migration {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Migration 1 started and completed: the baseline of every test.
    pub fn first_migration_completed(&self) {
        self.run(&["start", "--migration", "1_create_users"]);
        self.run(&["complete"]);
    }
}

async fn schemas(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'migration%' ORDER BY 1",
            &[],
        )
        .await
        .expect("schemas")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn reshape_start_shows_the_expand_and_complete_the_contract() {
    let test = "reshape_start_shows_the_expand_and_complete_the_contract";
    let Some((_server, client, db)) = database(test, "reshape_complete").await else {
        return;
    };
    let Some(reshape) = Reshape::new(test, &db.url) else {
        return;
    };
    reshape.first_migration_completed();
    let state = tool(&db, Tool::Reshape).await;
    assert_eq!(state.applied.as_deref(), Some("1_create_users"));
    let first = state.migration.expect("the completed migration");
    assert_eq!(first.name, "1_create_users");
    assert_eq!(states(&first), ["done", "done", "done", "done"]);

    reshape.run(&["start"]);
    assert_eq!(
        schemas(&client).await,
        ["migration_1_create_users", "migration_2_add_display_name"]
    );
    let state = tool(&db, Tool::Reshape).await;
    assert_eq!(
        (state.failure.as_deref(), state.running.as_deref()),
        (None, None)
    );
    assert_eq!(state.applied.as_deref(), Some("1_create_users"));
    let second = state.migration.expect("the migration in progress");
    assert_eq!(second.name, "2_add_display_name");
    assert_eq!(states(&second), ["done", "done", "pending", "pending"]);
    let expand = second.phase(PhaseName::Expand).unwrap();
    assert!(
        expand
            .evidence
            .contains("migration_1_create_users, migration_2_add_display_name"),
        "{}",
        expand.evidence
    );
    assert_eq!(rollback_safety(&second, None), RollbackSafety::Safe);

    reshape.run(&["complete"]);
    assert_eq!(schemas(&client).await, ["migration_2_add_display_name"]);
    let state = tool(&db, Tool::Reshape).await;
    assert_eq!(state.applied.as_deref(), Some("2_add_display_name"));
    let done = state.migration.expect("the completed migration");
    assert_eq!(done.name, "2_add_display_name");
    assert_eq!(states(&done), ["done", "done", "done", "done"]);
    let contract = done.phase(PhaseName::Contract).unwrap();
    let finished = contract.finished.expect("reshape records completed_at");
    assert!(
        (Utc::now() - finished).num_seconds().abs() < 60,
        "completed just now, read as UTC: {finished}"
    );
    assert_eq!(state.applied_at, Some(finished));
    assert!(
        !contract.evidence.contains("migration_1_create_users"),
        "{}",
        contract.evidence
    );
    assert!(matches!(
        rollback_safety(&done, None),
        RollbackSafety::Unsafe(_)
    ));
    assert_eq!(
        rollback_safety(&done, Some("2_add_display_name")),
        RollbackSafety::Safe
    );
}

#[tokio::test]
async fn reshape_abort_leaves_no_migration_in_flight() {
    let test = "reshape_abort_leaves_no_migration_in_flight";
    let Some((_server, client, db)) = database(test, "reshape_abort").await else {
        return;
    };
    let Some(reshape) = Reshape::new(test, &db.url) else {
        return;
    };
    reshape.first_migration_completed();
    reshape.run(&["start"]);
    reshape.run(&["abort"]);
    assert_eq!(schemas(&client).await, ["migration_1_create_users"]);
    let state = tool(&db, Tool::Reshape).await;
    assert_eq!(
        (state.failure.as_deref(), state.running.as_deref()),
        (None, None)
    );
    assert_eq!(state.applied.as_deref(), Some("1_create_users"));
    let latest = state.migration.expect("the latest completed migration");
    assert_eq!(latest.name, "1_create_users", "2 was aborted");
    assert_eq!(states(&latest), ["done", "done", "done", "done"]);
}

#[tokio::test]
async fn reshape_lock_means_running_and_a_dead_complete_is_a_failure() {
    let test = "reshape_lock_means_running_and_a_dead_complete_is_a_failure";
    let Some((server, client, db)) = database(test, "reshape_lock").await else {
        return;
    };
    let Some(reshape) = Reshape::new(test, &db.url) else {
        return;
    };
    reshape.first_migration_completed();
    reshape.run(&["start"]);

    // A reshape command holds its lock: another session, as reshape takes it.
    let command = server.client("reshape_lock").await;
    exec(&command, "SELECT pg_advisory_lock(4036779288569897133)").await;
    let pid = backend_pid(&command).await;
    let state = tool(&db, Tool::Reshape).await;
    assert_eq!(
        state.running,
        Some(format!("a reshape command is running (pid {pid})"))
    );
    let holders: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(holders, 1, "the reader never takes the lock itself");
    exec(&command, "SELECT pg_advisory_unlock_all()").await;

    // A complete that died after saving `completing`, before finishing.
    exec(
        &client,
        "UPDATE reshape.data SET value = jsonb_build_object('state', 'completing', \
           'migrations', value->'migrations', 'current_migration_index', 0, \
           'current_action_index', 0) WHERE key = 'state'",
    )
    .await;
    let state = tool(&db, Tool::Reshape).await;
    let failure = state.failure.expect("an interrupted complete");
    assert!(
        failure.starts_with("complete of 2_add_display_name was interrupted"),
        "{failure}"
    );
    let m = state.migration.unwrap();
    assert_eq!(states(&m), ["done", "done", "done", "failed"]);
    assert!(matches!(
        rollback_safety(&m, None),
        RollbackSafety::Unsafe(_)
    ));
}
