//! pgroll's `migrations` table as pgroll creates it.

use super::*;

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
