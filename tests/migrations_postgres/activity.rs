//! Lock waits and index builds made for real.

use super::*;

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
