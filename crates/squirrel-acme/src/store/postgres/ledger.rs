//! The CA's ledger operations on PostgreSQL: what `squirrel pki list`,
//! `pki crl` and `pki ca migrate` do with the SQLite
//! [`Ledger`](squirrel_pki::ledger::Ledger), for a CA whose replicas share a
//! database.

use super::rows::{col, entry};
use super::{db_error, exec, insert_entry, PostgresStore};
use crate::store::stamp::revocation_stamp;
use crate::store::{Store, StoreError, StoreResult};
use squirrel_pki::ledger::{find_in, LedgerEntry, Status, ENTRY_COLUMNS};
use squirrel_pki::PkiError;
use time::OffsetDateTime;

/// Why `pki revoke` could not revoke: the query names no certificate (or
/// several, or one already revoked), or the database failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PostgresStore {
    /// Every certificate, oldest first.
    pub async fn list(&self) -> StoreResult<Vec<LedgerEntry>> {
        self.select("").await
    }

    /// The revoked certificates, oldest first (what a CRL lists).
    pub async fn revoked(&self) -> StoreResult<Vec<LedgerEntry>> {
        self.select("WHERE status = 'revoked'").await
    }

    async fn select(&self, filter: &str) -> StoreResult<Vec<LedgerEntry>> {
        let sql =
            format!("SELECT {ENTRY_COLUMNS} FROM certificates {filter} ORDER BY issued_at, seq");
        self.all(&sql, &[], entry).await
    }

    /// Marks the one certificate `query` names revoked (a serial, a unique
    /// prefix of one, or a name: [`find_in`], as the SQLite ledger finds
    /// it). The row lock of [`Store::revoke_certificate`] makes a
    /// revocation by another replica at the same moment an "already
    /// revoked", not a second revocation.
    pub async fn revoke(
        &self,
        query: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<LedgerEntry, LedgerError> {
        let entry = find_in(&self.list().await?, query, at)?;
        let already = || {
            PkiError::Refused(format!(
                "certificate {} ({}) is already revoked",
                entry.serial, entry.subject
            ))
        };
        if entry.status == Status::Revoked {
            return Err(already().into());
        }
        match self.revoke_certificate(&entry.serial, reason, at).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(already().into()),
            Err(e) => return Err(e.into()),
        }
        let at = revocation_stamp(at).ok();
        Ok(LedgerEntry {
            status: Status::Revoked,
            revoked_at: at,
            revocation_reason: Some(reason.into()),
            ..entry
        })
    }

    /// Records a certificate issued by hand (no ACME order).
    pub async fn record(&self, issued: &LedgerEntry) -> StoreResult<()> {
        let client = self.client().await?;
        insert_entry(&client, issued, None).await
    }

    /// The next CRL number (1, 2, ...), one counter for every replica: one
    /// statement, so two replicas never get the same number.
    pub async fn next_crl_number(&self) -> StoreResult<u64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('crl_number', 1)
                 ON CONFLICT (key) DO UPDATE SET value = meta.value + 1
                 RETURNING value",
            )
            .await
            .map_err(db_error)?;
        let row = client.query_one(&stmt, &[]).await.map_err(db_error)?;
        Ok(col::<i64>(&row, 0)? as u64)
    }

    /// Runs one SQL statement (for tests and tools that inspect the
    /// database); the number of rows it changed.
    pub async fn execute(&self, sql: &str) -> StoreResult<u64> {
        let client = self.client().await?;
        exec(&client, sql, &[]).await.map_err(db_error)
    }

    /// The one `BIGINT` value `sql` selects (a count, a version).
    pub async fn query_i64(&self, sql: &str) -> StoreResult<i64> {
        let client = self.client().await?;
        let row = client.query_one(sql, &[]).await.map_err(db_error)?;
        col(&row, 0)
    }
}
