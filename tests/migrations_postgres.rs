//! The migration readers against a real PostgreSQL: Reshape driven by its
//! own command line, pgroll and the classic tools' tables as those tools
//! create them, lock waits and index builds made for real, an unreachable
//! server, and a password that must never show.
//!
//! One server for the file; each test has its own database.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cutover::migrations::{DatabaseConfig, read};
use cutover::model::migration::{
    DatabaseReading, Migration, PhaseName, RollbackSafety, Tool, ToolState, rollback_safety,
};
use support::postgres::{Postgres, free_port, passfile};
use tokio_postgres::Client;

const TIMEOUT: Duration = Duration::from_secs(5);

/// A fresh database on the shared server, a superuser connection to it and
/// the config the reader uses (user `postgres`, trusted on loopback).
async fn database(test: &str, name: &str) -> Option<(Arc<Postgres>, Client, DatabaseConfig)> {
    let server = Postgres::shared(test)?;
    let client = server.create_database(name).await;
    let config = DatabaseConfig {
        name: name.to_string(),
        url: server.url("postgres", name),
        ..Default::default()
    };
    Some((server, client, config))
}

async fn reading(db: &DatabaseConfig) -> DatabaseReading {
    read(db, TIMEOUT).await.expect("the database can be read")
}

async fn tool(db: &DatabaseConfig, tool: Tool) -> ToolState {
    let reading = reading(db).await;
    let tools: Vec<Tool> = reading.tools.iter().map(|t| t.tool).collect();
    assert_eq!(tools, [tool], "the only tool found");
    reading.tool(tool).cloned().expect("the tool")
}

fn states(m: &Migration) -> Vec<&'static str> {
    m.phases.iter().map(|p| p.state.word()).collect()
}

async fn exec(client: &Client, sql: &str) {
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
}

async fn backend_pid(client: &Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0)
}

/// Wait until `sql` (one boolean) holds; the bound only stops a hung test.
async fn until(client: &Client, sql: &str) {
    let start = Instant::now();
    loop {
        let row = client.query_one(sql, &[]).await.expect(sql);
        if row.get::<_, bool>(0) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never: {sql}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------- Reshape

/// The `reshape` program with a migrations folder: 1 creates `users`, 2
/// adds `display_name`.
struct Reshape {
    program: PathBuf,
    dir: tempfile::TempDir,
    url: String,
}

impl Reshape {
    fn new(test: &str, url: &str) -> Option<Reshape> {
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
    fn run(&self, args: &[&str]) {
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
    fn first_migration_completed(&self) {
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

// ---------------------------------------------------------------- pgroll

/// `pgroll.migrations` as pgroll's `init.sql` leaves it, with its indexes.
const PGROLL_SCHEMA: &str = "
CREATE SCHEMA pgroll;
CREATE TABLE pgroll.migrations (
    schema NAME NOT NULL,
    name text NOT NULL,
    migration jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    parent text,
    done boolean NOT NULL DEFAULT FALSE,
    resulting_schema jsonb NOT NULL DEFAULT '{}'::jsonb,
    migration_type varchar(32) DEFAULT 'pgroll'
        CONSTRAINT migration_type_check CHECK (migration_type IN ('pgroll', 'inferred', 'baseline')),
    PRIMARY KEY (schema, name),
    FOREIGN KEY (schema, parent) REFERENCES pgroll.migrations (schema, name)
);
CREATE UNIQUE INDEX only_one_active ON pgroll.migrations (schema, name, done) WHERE done = FALSE;
CREATE UNIQUE INDEX only_first_migration_without_parent ON pgroll.migrations (schema) WHERE parent IS NULL;
CREATE UNIQUE INDEX history_is_linear ON pgroll.migrations (schema, parent);
CREATE TABLE pgroll.pgroll_version (
    version text NOT NULL,
    initialized_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (version)
);
";

#[tokio::test]
async fn pgroll_active_then_done() {
    let test = "pgroll_active_then_done";
    let Some((server, client, db)) = database(test, "pgroll").await else {
        return;
    };
    exec(&client, PGROLL_SCHEMA).await;
    // 01 completed; 02 (with its own version schema name) started.
    exec(
        &client,
        r#"
        INSERT INTO pgroll.pgroll_version (version) VALUES ('v0.16.2');
        INSERT INTO pgroll.migrations (schema, name, migration, created_at, parent, done)
        VALUES ('public', '01_initial',
                '{"name": "01_initial", "operations": [{"create_table": {"name": "users"}}]}',
                now() - interval '1 hour', NULL, true);
        INSERT INTO pgroll.migrations (schema, name, migration, created_at, parent, done)
        VALUES ('public', '02_add_assignee',
                '{"name": "02_add_assignee", "version_schema": "add_assignee_v2",
                  "operations": [{"add_column": {"table": "users"}}]}',
                now() - interval '1 minute', '01_initial', false);
        CREATE SCHEMA public_01_initial;
        CREATE SCHEMA public_add_assignee_v2;
        "#,
    )
    .await;
    let state = tool(&db, Tool::Pgroll).await;
    assert_eq!(state.applied.as_deref(), Some("01_initial"));
    assert_eq!(state.running, None);
    let active = state.migration.expect("the active migration");
    assert_eq!(active.name, "02_add_assignee");
    assert_eq!(states(&active), ["done", "done", "pending", "pending"]);
    let expand = active.phase(PhaseName::Expand).unwrap();
    assert!(expand.started.is_some());
    assert!(
        expand.evidence.contains("public_add_assignee_v2 exists"),
        "{}",
        expand.evidence
    );
    let contract = &active.phase(PhaseName::Contract).unwrap().evidence;
    assert!(
        contract.contains("public_01_initial still live"),
        "{contract}"
    );
    assert_eq!(rollback_safety(&active, None), RollbackSafety::Safe);

    // pgroll's own session, backfilling.
    let pgroll = server.client("pgroll").await;
    exec(&pgroll, "SET application_name = 'pgroll'").await;
    let pid = backend_pid(&pgroll).await;
    let state = tool(&db, Tool::Pgroll).await;
    assert_eq!(
        state.running,
        Some(format!("a pgroll session is connected (pid {pid})"))
    );
    let backfill = state.migration.unwrap();
    assert_eq!(states(&backfill), ["done", "running", "pending", "pending"]);
    drop(pgroll);

    // Complete: the row is done and the previous version schema dropped;
    // then DDL outside pgroll, recorded as an inferred migration.
    exec(
        &client,
        r#"
        UPDATE pgroll.migrations SET done = true WHERE name = '02_add_assignee';
        DROP SCHEMA public_01_initial;
        INSERT INTO pgroll.migrations (schema, name, migration, parent, done, migration_type)
        VALUES ('public', '02_add_assignee_20261123170000000000',
                '{"version_schema": "sql_1a2b3c4d", "operations": [{"sql": {"up": "create index"}}]}',
                '02_add_assignee', true, 'inferred');
        "#,
    )
    .await;
    until(
        &client,
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity \
         WHERE application_name = 'pgroll' AND datname = current_database())",
    )
    .await;
    let state = tool(&db, Tool::Pgroll).await;
    assert_eq!(
        state.applied.as_deref(),
        Some("02_add_assignee_20261123170000000000"),
        "the newest done row, of any kind"
    );
    let done = state.migration.expect("the latest pgroll migration");
    assert_eq!(done.name, "02_add_assignee");
    assert_eq!(states(&done), ["done", "done", "done", "done"]);
    let contract = &done.phase(PhaseName::Contract).unwrap().evidence;
    assert!(contract.contains("public_01_initial dropped"), "{contract}");
    assert!(matches!(
        rollback_safety(&done, None),
        RollbackSafety::Unsafe(_)
    ));
}

// ------------------------------------------------------- history tables

#[tokio::test]
async fn flyway_applied_and_failed() {
    let test = "flyway_applied_and_failed";
    let Some((_server, client, db)) = database(test, "flyway").await else {
        return;
    };
    exec(
        &client,
        r#"
        CREATE TABLE "public"."flyway_schema_history" (
            "installed_rank" INT NOT NULL,
            "version" VARCHAR(50),
            "description" VARCHAR(200) NOT NULL,
            "type" VARCHAR(20) NOT NULL,
            "script" VARCHAR(1000) NOT NULL,
            "checksum" INTEGER,
            "installed_by" VARCHAR(100) NOT NULL,
            "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
            "execution_time" INTEGER NOT NULL,
            "success" BOOLEAN NOT NULL
        );
        ALTER TABLE "public"."flyway_schema_history"
            ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
        CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
        INSERT INTO flyway_schema_history VALUES
          (1, '1', 'create users', 'SQL', 'V1__create_users.sql', 1234, 'app', now() - interval '1 day', 31, true),
          (2, '2', 'add display name', 'SQL', 'V2__add_display_name.sql', 5678, 'app', now(), 12, true),
          (3, NULL, 'views', 'SQL', 'R__views.sql', 42, 'app', now(), 3, true);
        "#,
    )
    .await;
    let state = tool(&db, Tool::Flyway).await;
    assert_eq!(
        state.applied.as_deref(),
        Some("2"),
        "a repeatable migration has no version"
    );
    assert!(state.applied_at.is_some());
    assert_eq!(state.failure, None);

    // A migration outside a transaction failed and left its row.
    exec(
        &client,
        "INSERT INTO flyway_schema_history VALUES \
           (4, '3', 'build index', 'SQL', 'V3__build_index.sql', 9, 'app', now(), 800, false)",
    )
    .await;
    let state = tool(&db, Tool::Flyway).await;
    assert_eq!(state.applied.as_deref(), Some("2"));
    assert_eq!(
        state.failure.as_deref(),
        Some("version 3 failed (V3__build_index.sql); it stays failed until flyway repair")
    );
}

#[tokio::test]
async fn liquibase_applied_and_locked() {
    let test = "liquibase_applied_and_locked";
    let Some((_server, client, db)) = database(test, "liquibase").await else {
        return;
    };
    // As Liquibase creates them on PostgreSQL: unquoted, so lower case.
    exec(
        &client,
        "
        CREATE TABLE public.DATABASECHANGELOGLOCK (ID INTEGER NOT NULL, LOCKED BOOLEAN NOT NULL,
            LOCKGRANTED TIMESTAMP WITHOUT TIME ZONE, LOCKEDBY VARCHAR(255),
            CONSTRAINT DATABASECHANGELOGLOCK_PKEY PRIMARY KEY (ID));
        INSERT INTO public.DATABASECHANGELOGLOCK (ID, LOCKED) VALUES (1, FALSE);
        CREATE TABLE public.DATABASECHANGELOG (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL,
            FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED TIMESTAMP WITHOUT TIME ZONE NOT NULL,
            ORDEREXECUTED INTEGER NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35),
            DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), TAG VARCHAR(255), LIQUIBASE VARCHAR(20),
            CONTEXTS VARCHAR(255), LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10));
        INSERT INTO public.DATABASECHANGELOG VALUES
          ('1-create-users', 'alice', 'db/changelog.xml', now() - interval '1 day', 1, 'EXECUTED',
           '9:0f1e', 'createTable tableName=users', '', NULL, '4.29.2', NULL, NULL, '3270912345'),
          ('2-add-display-name', 'alice', 'db/changelog.xml', now(), 2, 'EXECUTED',
           '9:77aa', 'addColumn tableName=users', '', NULL, '4.29.2', NULL, NULL, '3270999999');
        ",
    )
    .await;
    let state = tool(&db, Tool::Liquibase).await;
    assert_eq!(state.applied.as_deref(), Some("2-add-display-name"));
    assert!(state.applied_at.is_some());
    assert_eq!((state.failure, state.running), (None, None));

    exec(
        &client,
        "UPDATE databasechangeloglock SET locked = true, \
           lockgranted = '2026-11-23 14:02:00', lockedby = 'ci-runner-7 (10.0.0.5)' WHERE id = 1",
    )
    .await;
    let state = tool(&db, Tool::Liquibase).await;
    assert_eq!(
        state.running.as_deref(),
        Some(
            "locked by ci-runner-7 (10.0.0.5) since 2026-11-23 14:02:00: \
             a run is active, or a crashed run left the lock"
        )
    );
}

#[tokio::test]
async fn golang_migrate_clean_then_dirty() {
    let test = "golang_migrate_clean_then_dirty";
    let Some((_server, client, db)) = database(test, "golang_migrate").await else {
        return;
    };
    exec(
        &client,
        r#"CREATE TABLE IF NOT EXISTS "public"."schema_migrations"
             (version bigint not null primary key, dirty boolean not null);
           INSERT INTO schema_migrations (version, dirty) VALUES (20, false);"#,
    )
    .await;
    let state = tool(&db, Tool::GolangMigrate).await;
    assert_eq!(state.applied.as_deref(), Some("20"));
    assert_eq!(state.failure, None);

    // Before running 21 it writes (21, dirty); a failure leaves it so.
    exec(
        &client,
        "TRUNCATE schema_migrations; INSERT INTO schema_migrations (version, dirty) VALUES (21, true)",
    )
    .await;
    let state = tool(&db, Tool::GolangMigrate).await;
    assert_eq!(state.applied.as_deref(), Some("21"));
    assert_eq!(
        state.failure.as_deref(),
        Some("version 21 is dirty: it failed or was interrupted; fix it, then migrate force")
    );
}

#[tokio::test]
async fn sqlx_applied_unfinished_dirty_and_locked() {
    let test = "sqlx_applied_unfinished_dirty_and_locked";
    // sqlx's lock key for a database named `zone` is known from its own tests.
    let Some((server, client, db)) = database(test, "zone").await else {
        return;
    };
    exec(
        &client,
        r#"
        CREATE TABLE IF NOT EXISTS _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
            success BOOLEAN NOT NULL,
            checksum BYTEA NOT NULL,
            execution_time BIGINT NOT NULL
        );
        INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES
          (20240101000000, 'create users', true, '\x0102', 1200000),
          (20240102000000, 'add display name', true, '\x0304', 900000);
        "#,
    )
    .await;
    let state = tool(&db, Tool::Sqlx).await;
    assert_eq!(state.applied.as_deref(), Some("20240102000000"));
    assert!(state.applied_at.is_some());
    assert_eq!(
        (state.failure.as_deref(), state.running.as_deref()),
        (None, None)
    );

    // Committed, but the run ended before it wrote the execution time.
    exec(
        &client,
        r"INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
          VALUES (20240103000000, 'backfill', true, '\x05', -1)",
    )
    .await;
    let state = tool(&db, Tool::Sqlx).await;
    assert_eq!(state.applied.as_deref(), Some("20240103000000"));
    assert_eq!(
        state.failure.as_deref(),
        Some("version 20240103000000 was applied but its run never finished (execution_time = -1)")
    );

    exec(
        &client,
        r"INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
          VALUES (20240104000000, 'add index', false, '\x06', 0)",
    )
    .await;
    let runner = server.client("zone").await;
    exec(&runner, "SELECT pg_advisory_lock(2771974297191923538)").await;
    let pid = backend_pid(&runner).await;
    let state = tool(&db, Tool::Sqlx).await;
    assert_eq!(state.applied.as_deref(), Some("20240103000000"));
    assert_eq!(
        state.failure.as_deref(),
        Some("version 20240104000000 is dirty: it failed part-way")
    );
    assert_eq!(
        state.running,
        Some(format!("a sqlx run holds its advisory lock (pid {pid})"))
    );
}

#[tokio::test]
async fn alembic_head_and_branches() {
    let test = "alembic_head_and_branches";
    let Some((_server, client, db)) = database(test, "alembic").await else {
        return;
    };
    exec(
        &client,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,
             CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    )
    .await;
    let state = tool(&db, Tool::Alembic).await;
    assert_eq!(state.applied, None, "no revision applied yet");

    exec(
        &client,
        "INSERT INTO alembic_version VALUES ('ae1027a6acf')",
    )
    .await;
    assert_eq!(
        tool(&db, Tool::Alembic).await.applied.as_deref(),
        Some("ae1027a6acf")
    );

    exec(
        &client,
        "DELETE FROM alembic_version; \
         INSERT INTO alembic_version VALUES ('27c6a30d7c24'), ('1975ea83b712')",
    )
    .await;
    let state = tool(&db, Tool::Alembic).await;
    assert_eq!(state.applied.as_deref(), Some("1975ea83b712, 27c6a30d7c24"));
    assert_eq!((state.failure, state.running), (None, None));
}

#[tokio::test]
async fn rails_is_told_apart_from_golang_migrate_and_its_lock_seen() {
    let test = "rails_is_told_apart_from_golang_migrate_and_its_lock_seen";
    let Some((server, client, db)) = database(test, "rails_app").await else {
        return;
    };
    exec(
        &client,
        r#"
        CREATE TABLE "schema_migrations" ("version" character varying NOT NULL PRIMARY KEY);
        CREATE TABLE "ar_internal_metadata" ("key" character varying NOT NULL PRIMARY KEY,
            "value" character varying, "created_at" timestamp(6) NOT NULL,
            "updated_at" timestamp(6) NOT NULL);
        INSERT INTO ar_internal_metadata VALUES ('environment', 'production', now(), now());
        INSERT INTO schema_migrations VALUES ('20240101120000'), ('20240215093000'), ('20231130080000');
        "#,
    )
    .await;
    let state = tool(&db, Tool::Rails).await;
    assert_eq!(state.applied.as_deref(), Some("20240215093000"));
    assert_eq!(
        (state.failure.as_deref(), state.running.as_deref()),
        (None, None)
    );

    // MIGRATOR_SALT * Zlib.crc32("rails_app"), as zlib computes it.
    let runner = server.client("rails_app").await;
    exec(&runner, "SELECT pg_advisory_lock(3245793382243884885)").await;
    let pid = backend_pid(&runner).await;
    assert_eq!(
        tool(&db, Tool::Rails).await.running,
        Some(format!("a rails run holds its advisory lock (pid {pid})"))
    );
}

#[tokio::test]
async fn django_latest_applied() {
    let test = "django_latest_applied";
    let Some((_server, client, db)) = database(test, "django").await else {
        return;
    };
    exec(
        &client,
        r#"
        CREATE TABLE "django_migrations" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
            "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL,
            "applied" timestamp with time zone NOT NULL);
        INSERT INTO django_migrations (app, name, applied) VALUES
          ('contenttypes', '0001_initial', '2026-11-20 09:00:00+00'),
          ('payments', '0002_add_display_name', '2026-11-23 14:02:00+00'),
          ('auth', '0001_initial', '2026-11-20 09:00:01+00');
        "#,
    )
    .await;
    let state = tool(&db, Tool::Django).await;
    assert_eq!(
        state.applied.as_deref(),
        Some("payments.0002_add_display_name")
    );
    assert_eq!(
        state.applied_at.map(|t| t.to_rfc3339()),
        Some("2026-11-23T14:02:00+00:00".to_string())
    );
    assert_eq!((state.failure, state.running), (None, None));
}

#[tokio::test]
async fn diesel_latest_version() {
    let test = "diesel_latest_version";
    let Some((_server, client, db)) = database(test, "diesel").await else {
        return;
    };
    exec(
        &client,
        "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
             version VARCHAR(50) PRIMARY KEY NOT NULL,
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
         INSERT INTO __diesel_schema_migrations (version) VALUES
           ('00000000000000'), ('20240215093000'), ('20240101120000');",
    )
    .await;
    let state = tool(&db, Tool::Diesel).await;
    assert_eq!(state.applied.as_deref(), Some("20240215093000"));
    let at = state.applied_at.expect("run_on");
    assert!((Utc::now() - at).num_seconds().abs() < 60, "{at}");
    assert_eq!((state.failure, state.running), (None, None));
}

// ------------------------------------------------------------- activity

#[tokio::test]
async fn a_lock_queue_shows_who_waits_for_whom() {
    let test = "a_lock_queue_shows_who_waits_for_whom";
    let Some((server, client, db)) = database(test, "lock_queue").await else {
        return;
    };
    exec(&client, "CREATE TABLE users (id int)").await;
    // The holder's statement is long: the reader shows 200 characters.
    let holder = server.client("lock_queue").await;
    let long_lock = format!(
        "LOCK TABLE users IN ACCESS EXCLUSIVE MODE /* {} */",
        "x".repeat(300)
    );
    let holder_pid = backend_pid(&holder).await;
    exec(&holder, "BEGIN").await;
    exec(&holder, &long_lock).await;
    let alter = server.client("lock_queue").await;
    let alter_pid = backend_pid(&alter).await;
    let altering = tokio::spawn(async move {
        alter
            .batch_execute("ALTER TABLE users ADD COLUMN display_name text")
            .await
    });
    let select = server.client("lock_queue").await;
    let select_pid = backend_pid(&select).await;
    until(
        &client,
        "SELECT count(*) = 1 FROM pg_stat_activity \
         WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )
    .await;
    let selecting = tokio::spawn(async move { select.batch_execute("SELECT * FROM users").await });
    until(
        &client,
        "SELECT count(*) = 2 FROM pg_stat_activity \
         WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )
    .await;

    let reading = reading(&db).await;
    assert!(reading.tools.is_empty());
    let pids: Vec<i32> = reading.blocked.iter().map(|b| b.pid).collect();
    let mut expected = vec![alter_pid, select_pid];
    expected.sort();
    assert_eq!(pids, expected);
    let alter = reading.blocked.iter().find(|b| b.pid == alter_pid).unwrap();
    assert_eq!(
        alter.query,
        "ALTER TABLE users ADD COLUMN display_name text"
    );
    assert_eq!(alter.waits_for, "relation users");
    assert!(alter.waiting_since.is_some());
    assert_eq!(alter.blocked_by.len(), 1);
    let blocker = &alter.blocked_by[0];
    assert_eq!(blocker.pid, holder_pid);
    assert_eq!(blocker.state, "idle in transaction");
    assert_eq!(blocker.query, long_lock[..200]);
    // The SELECT queues behind both the holder and the waiting ALTER.
    let select = reading
        .blocked
        .iter()
        .find(|b| b.pid == select_pid)
        .unwrap();
    let blockers: Vec<i32> = select.blocked_by.iter().map(|b| b.pid).collect();
    assert!(blockers.contains(&holder_pid), "{blockers:?}");

    exec(&holder, "COMMIT").await;
    altering
        .await
        .unwrap()
        .expect("the ALTER ran once the lock was free");
    selecting.await.unwrap().expect("the SELECT ran after it");
}

#[tokio::test]
async fn a_locked_tool_table_fails_fast_instead_of_queueing() {
    let test = "a_locked_tool_table_fails_fast_instead_of_queueing";
    let Some((server, client, db)) = database(test, "locked_history").await else {
        return;
    };
    exec(
        &client,
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL,
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )
    .await;
    // A migration holds its table while it runs.
    let migration = server.client("locked_history").await;
    exec(&migration, "BEGIN").await;
    exec(
        &migration,
        "LOCK TABLE __diesel_schema_migrations IN ACCESS EXCLUSIVE MODE",
    )
    .await;
    let started = Instant::now();
    let err = read(&db, TIMEOUT).await.expect_err("the table is locked");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up after the lock timeout, not the whole timeout: {:?}",
        started.elapsed()
    );
    assert!(
        err.starts_with("database locked_history (127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("reading the diesel tables"), "{err}");
    assert!(err.contains("lock timeout"), "{err}");
    exec(&migration, "COMMIT").await;
    assert_eq!(tool(&db, Tool::Diesel).await.applied, None);
}

#[tokio::test]
async fn a_concurrent_index_build_shows_its_phase() {
    let test = "a_concurrent_index_build_shows_its_phase";
    let Some((server, client, db)) = database(test, "index_build").await else {
        return;
    };
    exec(&client, "CREATE TABLE users (id int, email text)").await;
    // An open write keeps CREATE INDEX CONCURRENTLY waiting for writers.
    let writer = server.client("index_build").await;
    exec(
        &writer,
        "BEGIN; INSERT INTO users VALUES (1, 'a@example.com')",
    )
    .await;
    let writer_pid = backend_pid(&writer).await;
    let builder = server.client("index_build").await;
    let builder_pid = backend_pid(&builder).await;
    let building = tokio::spawn(async move {
        builder
            .batch_execute("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)")
            .await
    });
    until(
        &client,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index \
         WHERE phase LIKE 'waiting for writers%' AND datname = current_database())",
    )
    .await;

    let reading = reading(&db).await;
    assert_eq!(reading.index_builds.len(), 1, "{:?}", reading.index_builds);
    let build = &reading.index_builds[0];
    assert_eq!(build.pid, builder_pid);
    assert_eq!(build.relation, "users");
    assert_eq!(build.index, "users_email_idx");
    assert_eq!(build.phase, "waiting for writers before build");
    let waiting = reading.blocked.iter().find(|b| b.pid == builder_pid);
    let waiting = waiting.expect("the build waits on the writer");
    assert_eq!(waiting.waits_for, "virtualxid");
    assert_eq!(waiting.blocked_by[0].pid, writer_pid);

    exec(&writer, "COMMIT").await;
    building.await.unwrap().expect("the index was built");
}

// ------------------------------------------------------ failures, secrets

#[tokio::test]
async fn a_closed_port_is_an_error_naming_the_database_quickly() {
    let db = DatabaseConfig {
        name: "orders".into(),
        url: format!("postgres://app@127.0.0.1:{}/orders", free_port()),
        ..Default::default()
    };
    let started = Instant::now();
    let err = read(&db, TIMEOUT).await.expect_err("nothing listens");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.starts_with("database orders (127.0.0.1:"), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections and says nothing, like a hung server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _server = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let db = DatabaseConfig {
        name: "orders".into(),
        url: format!("postgres://app@127.0.0.1:{port}/orders"),
        ..Default::default()
    };
    let started = Instant::now();
    let err = read(&db, Duration::from_millis(300))
        .await
        .expect_err("no answer");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err,
        format!("database orders (127.0.0.1:{port}): no answer within 300ms")
    );
}

const PLANTED: &str = "s3cr3t-planted-pw";

/// A role logging in with the planted password (scram-sha-256 is required
/// of it on 127.0.0.1, see the harness) that may read Django's history,
/// where payments' `migration` is applied.
async fn django_readable_by(client: &Client, role: &str, migration: &str) {
    exec(
        client,
        &format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{PLANTED}' IN ROLE password_required;
             CREATE TABLE django_migrations (id bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
                 app varchar(255) NOT NULL, name varchar(255) NOT NULL,
                 applied timestamp with time zone NOT NULL);
             INSERT INTO django_migrations (app, name, applied) VALUES ('payments', '{migration}', now());
             GRANT SELECT ON django_migrations TO {role};"
        ),
    )
    .await;
}

#[tokio::test]
async fn a_password_from_a_file_logs_in_and_never_shows() {
    let test = "a_password_from_a_file_logs_in_and_never_shows";
    let Some((server, client, _)) = database(test, "secrets").await else {
        return;
    };
    django_readable_by(&client, "planted", "0001_initial").await;
    let dir = tempfile::tempdir().unwrap();
    let port = server.port;
    let line = |pw: &str| format!("127.0.0.1:{port}:secrets:planted:{pw}");
    let mut db = DatabaseConfig {
        name: "secrets".into(),
        url: server.url("planted", "secrets"),
        password_file: Some(passfile(dir.path(), "good", &line(PLANTED), 0o600)),
        ..Default::default()
    };

    let reading = reading(&db).await;
    assert_eq!(
        reading
            .tool(Tool::Django)
            .and_then(|t| t.applied.as_deref()),
        Some("payments.0001_initial"),
        "read as the password's role"
    );
    for text in [format!("{db:?}"), format!("{reading:?}")] {
        assert!(!text.contains(PLANTED), "{text}");
    }

    let wrong = "wrong-planted-pw";
    db.password_file = Some(passfile(dir.path(), "wrong", &line(wrong), 0o600));
    let err = read(&db, TIMEOUT).await.expect_err("wrong password");
    assert!(err.starts_with("database secrets (127.0.0.1:"), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains(wrong) && !err.contains(PLANTED), "{err}");
    assert!(!format!("{db:?}").contains(wrong));

    // libpq ignores a password file others can read; so does the reader.
    db.password_file = Some(passfile(dir.path(), "shared", &line(PLANTED), 0o644));
    let err = read(&db, TIMEOUT).await.expect_err("no usable password");
    assert!(err.starts_with("database secrets (127.0.0.1:"), "{err}");
    assert!(
        err.ends_with("none was found (password_env, PGPASSWORD or a password file)"),
        "{err}"
    );
    assert!(!err.contains(PLANTED), "{err}");
}

// ------------------------------------------------- a rollout linked to it

/// `cutover status -o json payments` with the database given on the command line.
fn payments_status(sim: &support::ServeProcess, database_url: &str) -> serde_json::Value {
    let database = format!("payments={database_url}");
    let report = sim.status_json_with_databases(&[database], &["payments"]);
    report["releases"][0]["migration"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_follows_its_reshape_migration_and_is_unsafe_to_roll_back_after_complete() {
    let test = "a_rollout_follows_its_reshape_migration";
    let Some((_server, _client, db)) = database(test, "payments").await else {
        return;
    };
    let Some(reshape) = Reshape::new(test, &db.url) else {
        return;
    };
    // Named as the demo's payments rollout names its migration.
    let migrations = reshape.dir.path().join("migrations");
    std::fs::rename(
        migrations.join("2_add_display_name.toml"),
        migrations.join("add_display_name.toml"),
    )
    .expect("rename the migration");
    reshape.first_migration_completed();
    let sim = support::ServeProcess::start_with(&["--scenario", "default"]);

    reshape.run(&["start"]);
    let started = tokio::task::block_in_place(|| payments_status(&sim, &db.url));
    assert_eq!(started["database"], "payments", "{started:#}");
    assert_eq!(started["name"], "add_display_name", "{started:#}");
    let phase_states: Vec<&str> = started["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["state"].as_str())
        .collect();
    assert_eq!(phase_states[0], "done", "expanded: {started:#}");
    assert_eq!(phase_states[3], "pending", "{started:#}");
    assert_eq!(started["rollbackSafety"]["safety"], "safe", "{started:#}");

    reshape.run(&["complete"]);
    let completed = tokio::task::block_in_place(|| payments_status(&sim, &db.url));
    assert_eq!(completed["phases"][3]["state"], "done", "{completed:#}");
    assert_eq!(
        completed["rollbackSafety"]["safety"], "unsafe",
        "{completed:#}"
    );
    let reason = completed["rollbackSafety"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("contract of add_display_name done at "),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_database_makes_rollback_safety_unknown_and_says_why() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://app@{}/payments", closed.local_addr().unwrap());
    drop(closed);
    let sim = support::ServeProcess::start_with(&["--scenario", "default"]);
    let migration = tokio::task::block_in_place(|| {
        // The demo's payments has its expand Job; without it, nothing is known.
        let job = "payments-add-display-name-expand";
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = payments_status(&sim, &url);
            if m["phases"][0]["evidence"] == format!("Job {job}") || Instant::now() > deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let problem = migration["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("database payments unreadable since"),
        "{migration:#}"
    );
    assert_eq!(
        migration["rollbackSafety"]["safety"], "unknown",
        "{migration:#}"
    );
}

/// Every file below `dir`, as text, for a search.
fn all_text_below(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&all_text_below(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planted_password_shows_in_no_log_audit_status_or_screen() {
    let test = "a_planted_password_shows_in_no_log_audit_status_or_screen";
    let Some(tmux_program) = support::require_program("tmux", test) else {
        return;
    };
    let Some((server, client, _)) = database(test, "payments_secret").await else {
        return;
    };
    django_readable_by(&client, "planted_app", "0007_display_name").await;
    let url = server.url("planted_app", "payments_secret");
    let sim = support::ServeProcess::start_with(&["--scenario", "default"]);
    let dir = sim.dir.path();
    let database = format!("payments={url}");
    let cutover = env!("CARGO_BIN_EXE_cutover");
    let run_status = |password: &str| {
        Command::new(cutover)
            .env("PGPASSWORD", password)
            .args(["--log-file", &dir.join("status.log").display().to_string()])
            .args(["--config", &dir.join("none.toml").display().to_string()])
            .args(["--kubeconfig", &sim.kubeconfig.display().to_string()])
            .args([
                "--context",
                "sim-admin",
                "-n",
                "shop",
                "--database",
                &database,
            ])
            .args(["status", "-o", "json", "payments"])
            .output()
            .expect("run cutover status")
    };
    let good = run_status(PLANTED);
    let report: serde_json::Value = serde_json::from_slice(&good.stdout).expect("JSON");
    assert_eq!(
        report["databases"][0]["error"],
        serde_json::Value::Null,
        "{report:#}"
    );
    assert_eq!(
        report["databases"][0]["tools"][0]["applied"],
        "payments.0007_display_name"
    );
    let wrong = run_status("wrong-planted-pw");
    let wrong_report = String::from_utf8_lossy(&wrong.stdout).into_owned();
    assert!(
        wrong_report.contains("password authentication failed"),
        "{wrong_report}"
    );

    // The control room, reading the database and acting once (audited).
    let audit = dir.join("audit.jsonl");
    let command = format!(
        "PGPASSWORD={PLANTED} TERM=xterm-256color {cutover} --log-file {log} --audit-file {audit} \
         --config {none} --kubeconfig {kc} --context sim-admin -n shop --database {database}",
        log = dir.join("ui.log").display(),
        audit = audit.display(),
        none = dir.join("none.toml").display(),
        kc = sim.kubeconfig.display(),
    );
    let tmux = support::tmux::Tmux::start(&tmux_program, dir, 160, 48, &command);
    tmux.wait_for_text("● live", Duration::from_secs(30));
    tmux.keys(&["/"]);
    tmux.type_text("payments");
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for_text("0007_display_name", Duration::from_secs(30));
    tmux.keys(&["p"]);
    tmux.wait_for_text("pause payments?", Duration::from_secs(30));
    tmux.keys(&["y"]);
    tmux.wait_for_text("pause payments: 1 patch accepted", Duration::from_secs(30));
    let screen = tmux.screen();

    let outputs = [good, wrong]
        .iter()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect::<String>();
    let files = all_text_below(dir);
    assert!(
        files.contains("\"stage\":\"done\""),
        "the audit file was written"
    );
    for (what, text) in [
        ("status output", &outputs),
        ("screen", &screen),
        ("logs and audit", &files),
    ] {
        assert!(!text.contains(PLANTED), "the password is in the {what}");
    }
}
