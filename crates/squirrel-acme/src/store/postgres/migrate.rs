//! Brings a PostgreSQL database to the ledger's schema version, with
//! [`POSTGRES_MIGRATIONS`] (the SQL lives in `squirrel-pki`, beside the
//! SQLite list it is in step with).
//!
//! The version is the one row of `schema_version`, PostgreSQL's stand-in
//! for SQLite's `PRAGMA user_version`. Each migration runs in its own
//! transaction with the version bump, so a failure leaves the previous
//! version. Replicas starting together on a new database would race to
//! create the same tables: every step first takes one transaction-level
//! advisory lock, so they run one after another, and each reads the
//! version again under the lock and skips what another did.

use crate::store::{StoreError, StoreResult};
use squirrel_pki::ledger::migrations::Migration;
use squirrel_pki::ledger::postgres_schema::POSTGRES_MIGRATIONS;
use tokio_postgres::Client;

/// The advisory lock key of schema changes: any fixed number, the same in
/// every replica ("squirrel" in ASCII).
const MIGRATION_LOCK: i64 = 0x7371_7569_7272_656c;

/// Applies the migrations the database lacks.
pub(super) async fn migrate(client: &mut Client) -> StoreResult<()> {
    migrate_with(client, POSTGRES_MIGRATIONS).await
}

/// The schema version the database is at (0: none yet).
pub(crate) async fn version(client: &Client) -> StoreResult<i64> {
    let row = client
        .query_opt("SELECT version FROM schema_version WHERE only_row", &[])
        .await
        .map_err(super::db_error)?;
    Ok(row.map_or(0, |r| r.get(0)))
}

fn too_new(found: i64, known: usize) -> StoreError {
    StoreError::Database(format!(
        "the PostgreSQL database is at schema version {found}, but this squirrel knows only up \
         to version {known}: a newer squirrel has used this CA. Fix: upgrade squirrel to use \
         this CA (the database is left untouched)"
    ))
}

async fn migrate_with(client: &mut Client, migrations: &[Migration]) -> StoreResult<()> {
    let known = migrations.len();
    {
        let tx = client.transaction().await.map_err(super::db_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(super::db_error)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
                 version  BIGINT NOT NULL
             );
             INSERT INTO schema_version (version) VALUES (0) ON CONFLICT DO NOTHING;",
        )
        .await
        .map_err(super::db_error)?;
        tx.commit().await.map_err(super::db_error)?;
    }
    for (index, migration) in migrations.iter().enumerate() {
        let version = index as i64 + 1;
        let failed = |e: tokio_postgres::Error| {
            StoreError::Database(format!(
                "cannot upgrade the PostgreSQL database to schema version {version} ({}): {}. \
                 The database was left at the version before",
                migration.description,
                super::describe(&e)
            ))
        };
        let tx = client.transaction().await.map_err(failed)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(failed)?;
        let now_at: i64 = tx
            .query_one("SELECT version FROM schema_version WHERE only_row", &[])
            .await
            .map_err(failed)?
            .get(0);
        if now_at > known as i64 {
            return Err(too_new(now_at, known));
        }
        if now_at >= version {
            continue;
        }
        tx.batch_execute(migration.sql).await.map_err(failed)?;
        tx.execute(
            "UPDATE schema_version SET version = $1 WHERE only_row",
            &[&version],
        )
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
    }
    // A database already at the latest version skips the loop's checks.
    let at = version(client).await?;
    if at > known as i64 {
        return Err(too_new(at, known));
    }
    Ok(())
}
