//! Which store a command uses: the SQLite ledger file beside the CA (the
//! default), or the PostgreSQL database its replicas share (`--db
//! postgres://...`, or `SQUIRREL_DB`).

use super::postgres::{self, PostgresStore};
use super::sqlite::SqliteStore;
use super::{Store, StoreError, StoreResult};
use std::path::Path;
use std::sync::Arc;

/// The store at `db` when given (a PostgreSQL URL), else the ledger file
/// `ledger`. Either way the schema is brought up to date first.
pub async fn open(db: Option<&str>, ledger: &Path) -> StoreResult<Arc<dyn Store>> {
    Ok(match db {
        Some(url) => Arc::new(PostgresStore::connect(url).await?),
        None => Arc::new(SqliteStore::open(ledger).map_err(|e| {
            StoreError::Database(format!(
                "cannot open the CA database {}: {}",
                ledger.display(),
                detail(e)
            ))
        })?),
    })
}

/// Where the store is, as it may be printed: the URL without its
/// password, or the ledger file.
pub fn describe(db: Option<&str>, ledger: &Path) -> String {
    match db {
        Some(url) => postgres::redact(url),
        None => ledger.display().to_string(),
    }
}

/// The message of a store error, without the "the CA database failed"
/// its `Display` starts with (for wrapping it in a message of its own).
pub(crate) fn detail(e: StoreError) -> String {
    match e {
        StoreError::Conflict(m) | StoreError::Database(m) => m,
    }
}
