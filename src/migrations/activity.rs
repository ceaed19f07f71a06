//! What is happening now: sessions waiting on locks and who holds them,
//! index builds, and the advisory locks migration tools take while they run.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::{Catalog, column, failed};
use crate::model::migration::{BlockedSession, BlockingSession, IndexBuild, Tool};

/// Statements are shown cut to this many characters.
const QUERY_CHARS: i32 = 200;

/// Sessions of this database waiting for a heavyweight lock, each with the
/// sessions `pg_blocking_pids` says are in its way.
pub(super) async fn blocked_sessions(client: &Client) -> Result<Vec<BlockedSession>, String> {
    // `pg_locks.waitstart` exists from PostgreSQL 14; before, the query's
    // start is the best bound on the wait.
    let since = if server_version(client).await? >= 140000 {
        "coalesce(l.waitstart, w.query_start)"
    } else {
        "w.query_start"
    };
    let sql = format!(
        "SELECT w.pid, w.application_name, left(w.query, $1), {since}, \
                coalesce(l.locktype, w.wait_event) \
                  || coalesce(' ' || l.relation::regclass::text, ''), \
                b.pid, coalesce(b.application_name, ''), coalesce(b.state, ''), \
                coalesce(left(b.query, $1), '') \
         FROM pg_stat_activity w \
         LEFT JOIN LATERAL (SELECT locktype, relation, waitstart FROM pg_locks \
                            WHERE pid = w.pid AND NOT granted LIMIT 1) l ON true \
         CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocker(pid) \
         LEFT JOIN pg_stat_activity b ON b.pid = blocker.pid \
         WHERE w.wait_event_type = 'Lock' AND w.datname = current_database() \
         ORDER BY w.pid, b.pid"
    );
    let rows = client
        .query(&sql, &[&QUERY_CHARS])
        .await
        .map_err(failed("reading lock waits"))?;
    let mut sessions: BTreeMap<i32, BlockedSession> = BTreeMap::new();
    for row in &rows {
        let what = "lock waits";
        let pid: i32 = column(row, 0, what)?;
        let blocker = BlockingSession {
            pid: column(row, 5, what)?,
            application: column(row, 6, what)?,
            state: column(row, 7, what)?,
            query: column(row, 8, what)?,
        };
        let session = match sessions.entry(pid) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(BlockedSession {
                pid,
                application: column::<Option<String>>(row, 1, what)?.unwrap_or_default(),
                query: column::<Option<String>>(row, 2, what)?.unwrap_or_default(),
                waiting_since: column(row, 3, what)?,
                waits_for: column::<Option<String>>(row, 4, what)?.unwrap_or_default(),
                blocked_by: Vec::new(),
            }),
        };
        session.blocked_by.push(blocker);
    }
    Ok(sessions.into_values().collect())
}

/// `CREATE INDEX` and `REINDEX` runs on this database, with their progress.
pub(super) async fn index_builds(client: &Client) -> Result<Vec<IndexBuild>, String> {
    // `index_relid` is 0 until a plain build has created its index.
    let rows = client
        .query(
            "SELECT p.pid, p.relid::regclass::text, \
                    CASE WHEN p.index_relid = 0 THEN '' ELSE p.index_relid::regclass::text END, \
                    p.phase, p.blocks_done, p.blocks_total \
             FROM pg_stat_progress_create_index p \
             WHERE p.datname = current_database() ORDER BY p.pid",
            &[],
        )
        .await
        .map_err(failed("reading index builds"))?;
    rows.iter()
        .map(|row| {
            let what = "index builds";
            Ok(IndexBuild {
                pid: column(row, 0, what)?,
                relation: column(row, 1, what)?,
                index: column(row, 2, what)?,
                phase: column(row, 3, what)?,
                blocks_done: column(row, 4, what)?,
                blocks_total: column(row, 5, what)?,
            })
        })
        .collect()
}

async fn server_version(client: &Client) -> Result<i32, String> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(failed("reading the server version"))?;
    column(&row, 0, "the server version")
}

/// The advisory locks held in this database, by their one-`bigint` key.
pub(super) struct AdvisoryLocks(Vec<(i64, i32)>);

impl AdvisoryLocks {
    /// Read from `pg_locks`, never by taking them: a lock taken with one
    /// `bigint` key shows its high 32 bits in `classid`, its low 32 bits in
    /// `objid`, and `objsubid = 1`.
    pub(super) async fn read(client: &Client) -> Result<AdvisoryLocks, String> {
        let rows = client
            .query(
                "SELECT (classid::int8 << 32) | objid::int8, pid FROM pg_locks \
                 WHERE locktype = 'advisory' AND objsubid = 1 AND granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 ORDER BY pid",
                &[],
            )
            .await
            .map_err(failed("reading advisory locks"))?;
        let locks = rows
            .iter()
            .map(|row| {
                Ok((
                    column(row, 0, "advisory locks")?,
                    column(row, 1, "advisory locks")?,
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(AdvisoryLocks(locks))
    }

    /// The session holding `tool`'s migration lock, if one does.
    pub(super) fn holder(&self, tool: Tool, catalog: &Catalog) -> Option<i32> {
        let keys = lock_keys(tool, catalog);
        self.0
            .iter()
            .find(|(key, _)| keys.contains(key))
            .map(|&(_, pid)| pid)
    }
}

/// The advisory lock keys a tool takes while it migrates this database.
fn lock_keys(tool: Tool, catalog: &Catalog) -> Vec<i64> {
    let db = catalog.database.as_bytes();
    match tool {
        // A fixed key (reshape `src/db.rs`).
        Tool::Reshape => vec![4036779288569897133],
        // `0x3d32ad9e * crc32(database)` (sqlx-postgres `migrate.rs`).
        Tool::Sqlx => vec![0x3d32ad9e * i64::from(crc32(db))],
        // `MIGRATOR_SALT * crc32(database)` (activerecord `migration.rb`).
        Tool::Rails => vec![2053462845 * i64::from(crc32(db))],
        // `crc32(schema \0 table \0 database) * salt` in 32 bits; versions
        // before the migrations table was part of it hashed the database alone.
        Tool::GolangMigrate => {
            const SALT: u32 = 1486364155;
            let schema = catalog
                .table("schema_migrations")
                .map_or("public", |t| t.schema.as_str());
            let named = [schema.as_bytes(), b"schema_migrations", db].join(&0u8);
            vec![
                i64::from(crc32(&named).wrapping_mul(SALT)),
                i64::from(crc32(db).wrapping_mul(SALT)),
            ]
        }
        _ => Vec::new(),
    }
}

/// CRC-32 (IEEE 802.3, as zlib and Go's `crc32.ChecksumIEEE`).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_checksum() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn sqlx_lock_key_matches_its_migrator() {
        let catalog = Catalog::empty("zone");
        assert_eq!(
            lock_keys(Tool::Sqlx, &catalog),
            vec![2_771_974_297_191_923_538]
        );
    }
}
