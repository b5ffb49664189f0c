//! The CA's ledger operations on PostgreSQL: what `squirrel pki list`,
//! `pki crl` and `pki ca migrate` do with the SQLite
//! [`Ledger`](squirrel_pki::ledger::Ledger), for a CA whose replicas share a
//! database.

use super::rows::{col, entry};
use super::{db_error, exec, insert_entry, PostgresStore};
use crate::store::StoreResult;
use squirrel_pki::ledger::{LedgerEntry, ENTRY_COLUMNS};

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
