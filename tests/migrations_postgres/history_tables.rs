//! The classic tools' history tables as those tools create them.

use super::*;

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
