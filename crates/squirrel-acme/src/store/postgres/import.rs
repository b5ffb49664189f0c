//! `squirrel pki ca migrate --to postgres://...`: a CA's SQLite ledger
//! copied into an empty PostgreSQL database, every row of every table, in
//! one transaction that commits only when each table's row count and
//! content fingerprint read back from PostgreSQL equal the file's.
//!
//! A table's fingerprint is the SHA-256 of its rows, each written as its
//! values in a canonical text (NULL, text, hex bytes, integers, flags as
//! 0/1), sorted: the same whatever order or column types each database
//! uses. Both sides are at the same schema version first (the file is
//! migrated when opened; PostgreSQL when connected), so the columns agree.

use super::{db_error, describe, PostgresStore};
use crate::store::{StoreError, StoreResult};
use aws_lc_rs::digest::{digest, SHA256};
use rusqlite::types::Value;
use std::path::Path;
use tokio_postgres::types::ToSql;

/// How a column is typed in PostgreSQL (SQLite's columns are dynamic).
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Bytes,
    Flag,
    Int,
}

use Kind::*;

/// A table: its name, the file's row order, and the columns to copy.
type Table = (&'static str, &'static str, &'static [(&'static str, Kind)]);

/// Every table, parents before children (foreign keys), with the columns
/// to copy (PostgreSQL's `seq` is made again, in the file's row order).
const TABLES: &[Table] = &[
    (
        "accounts",
        "rowid",
        &[
            ("id", Text),
            ("jwk", Text),
            ("thumbprint", Text),
            ("status", Text),
            ("contact", Text),
            ("terms_agreed", Flag),
            ("eab_kid", Text),
            ("created_at", Text),
        ],
    ),
    (
        "eab_keys",
        "rowid",
        &[
            ("kid", Text),
            ("name", Text),
            ("hmac_key", Bytes),
            ("created_at", Text),
            ("account_id", Text),
        ],
    ),
    (
        "orders",
        "rowid",
        &[
            ("id", Text),
            ("account_id", Text),
            ("status", Text),
            ("expires", Text),
            ("identifiers", Text),
            ("not_before", Text),
            ("not_after", Text),
            ("authz_ids", Text),
            ("error", Text),
            ("csr", Bytes),
            ("certificate_serial", Text),
            ("replaces", Text),
            ("created_at", Text),
        ],
    ),
    (
        "authorizations",
        "rowid",
        &[
            ("id", Text),
            ("account_id", Text),
            ("identifier_type", Text),
            ("identifier", Text),
            ("wildcard", Flag),
            ("status", Text),
            ("expires", Text),
        ],
    ),
    (
        "challenges",
        "rowid",
        &[
            ("id", Text),
            ("authz_id", Text),
            ("type", Text),
            ("token", Text),
            ("status", Text),
            ("validated", Text),
            ("error", Text),
        ],
    ),
    (
        "certificates",
        "rowid",
        &[
            ("serial", Text),
            ("subject", Text),
            ("alt_names", Text),
            ("not_before", Text),
            ("not_after", Text),
            ("profile", Text),
            ("sha256_fingerprint", Text),
            ("status", Text),
            ("revoked_at", Text),
            ("revocation_reason", Text),
            ("pem", Text),
            ("issued_at", Text),
            ("account_id", Text),
            ("order_id", Text),
        ],
    ),
    ("meta", "rowid", &[("key", Text), ("value", Int)]),
    ("acme_secrets", "name", &[("name", Text), ("value", Bytes)]),
    ("nonces", "nonce", &[("nonce", Text), ("expires", Text)]),
];

/// One table, as found on both sides after the copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCheck {
    pub table: &'static str,
    pub sqlite_rows: u64,
    pub postgres_rows: u64,
    /// SHA-256 of the table's rows (hex), in the file and in PostgreSQL.
    pub sqlite_fingerprint: String,
    pub postgres_fingerprint: String,
}

impl TableCheck {
    /// True when both sides hold the same rows.
    pub fn equal(&self) -> bool {
        self.sqlite_rows == self.postgres_rows
            && self.sqlite_fingerprint == self.postgres_fingerprint
    }
}

/// A value in one canonical text, for fingerprints.
fn canonical(value: &Value) -> String {
    match value {
        Value::Null => "N".into(),
        Value::Integer(i) => format!("I{i}"),
        Value::Real(r) => format!("R{r}"),
        Value::Text(t) => format!("T{t}"),
        Value::Blob(b) => format!("B{}", hex::encode(b)),
    }
}

/// The fingerprint of rows already in canonical text.
fn fingerprint(mut rows: Vec<String>) -> String {
    rows.sort_unstable();
    let mut all = String::new();
    for row in rows {
        all.push_str(&row);
        all.push('\n');
    }
    hex::encode(digest(&SHA256, all.as_bytes()).as_ref())
}

/// Converts a file's value to what PostgreSQL's column takes.
fn to_param(value: Value, kind: Kind, column: &str) -> StoreResult<Box<dyn ToSql + Sync + Send>> {
    let wrong = |v: &Value| {
        StoreError::Database(format!(
            "column {column} holds {v:?}, which its PostgreSQL column cannot take"
        ))
    };
    Ok(match (kind, value) {
        (Text, Value::Null) => Box::new(None::<String>),
        (Text, Value::Text(t)) => Box::new(Some(t)),
        (Bytes, Value::Null) => Box::new(None::<Vec<u8>>),
        (Bytes, Value::Blob(b)) => Box::new(Some(b)),
        (Flag, Value::Null) => Box::new(None::<bool>),
        (Flag, Value::Integer(i)) => Box::new(Some(i != 0)),
        (Int, Value::Null) => Box::new(None::<i64>),
        (Int, Value::Integer(i)) => Box::new(Some(i)),
        (_, other) => return Err(wrong(&other)),
    })
}

/// A PostgreSQL value back in the file's canonical text.
fn pg_canonical(row: &tokio_postgres::Row, index: usize, kind: Kind) -> StoreResult<String> {
    let value = match kind {
        Text => super::rows::col::<Option<String>>(row, index)?.map_or(Value::Null, Value::Text),
        Bytes => super::rows::col::<Option<Vec<u8>>>(row, index)?.map_or(Value::Null, Value::Blob),
        Flag => super::rows::col::<Option<bool>>(row, index)?
            .map_or(Value::Null, |b| Value::Integer(b.into())),
        Int => super::rows::col::<Option<i64>>(row, index)?.map_or(Value::Null, Value::Integer),
    };
    Ok(canonical(&value))
}

/// Every row of one table of the file, as values.
fn read_file_table(
    conn: &rusqlite::Connection,
    table: &str,
    order: &str,
    columns: &[(&str, Kind)],
) -> StoreResult<Vec<Vec<Value>>> {
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", "));
    let failed = |e: rusqlite::Error| StoreError::Database(format!("reading {table}: {e}"));
    let mut stmt = conn.prepare(&sql).map_err(failed)?;
    let rows = stmt
        .query_map([], |r| {
            (0..columns.len()).map(|i| r.get::<_, Value>(i)).collect()
        })
        .map_err(failed)?;
    rows.collect::<rusqlite::Result<_>>().map_err(failed)
}

impl PostgresStore {
    /// Copies the ledger file at `ledger` into this database, which must
    /// hold no certificate, account or EAB key yet; commits only when
    /// every table reads back equal, and returns what was compared.
    pub async fn import_sqlite(&self, ledger: &Path) -> StoreResult<Vec<TableCheck>> {
        let conn = squirrel_pki::ledger::open_connection(ledger).map_err(|e| {
            StoreError::Database(format!("cannot open the ledger {}: {e}", ledger.display()))
        })?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        // Nobody else writes while the copy runs (a replica started too
        // early waits, or fails, rather than mixing its rows in).
        tx.batch_execute(
            "LOCK TABLE accounts, eab_keys, orders, authorizations, challenges, certificates,
                        meta, acme_secrets, nonces IN EXCLUSIVE MODE",
        )
        .await
        .map_err(db_error)?;
        let held: i64 = tx
            .query_one(
                "SELECT (SELECT count(*) FROM certificates) + (SELECT count(*) FROM accounts)
                      + (SELECT count(*) FROM eab_keys)",
                &[],
            )
            .await
            .map_err(db_error)?
            .get(0);
        if held > 0 {
            return Err(StoreError::Conflict(format!(
                "the PostgreSQL database already holds {held} certificates, accounts or EAB \
                 keys; migrate into a new, empty database (CREATE DATABASE ...), so that \
                 nothing is mixed or overwritten"
            )));
        }
        // The secret made by a replica that started before the copy gives
        // way to the file's.
        tx.batch_execute("DELETE FROM acme_secrets; DELETE FROM nonces; DELETE FROM meta")
            .await
            .map_err(db_error)?;
        let mut checks = Vec::new();
        for &(table, order, columns) in TABLES {
            let rows = read_file_table(&conn, table, order, columns)?;
            let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
            let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
            let insert = tx
                .prepare(&format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    names.join(", "),
                    marks.join(", ")
                ))
                .await
                .map_err(db_error)?;
            let sqlite_rows = rows.len() as u64;
            let mut file_text = Vec::with_capacity(rows.len());
            for row in rows {
                file_text.push(row.iter().map(canonical).collect::<Vec<_>>().join("|"));
                let params = row
                    .into_iter()
                    .zip(columns)
                    .map(|(v, &(name, kind))| to_param(v, kind, name))
                    .collect::<StoreResult<Vec<_>>>()?;
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
                tx.execute(&insert, &refs).await.map_err(|e| {
                    StoreError::Database(format!("copying into {table}: {}", describe(&e)))
                })?;
            }
            let back = tx
                .query(&format!("SELECT {} FROM {table}", names.join(", ")), &[])
                .await
                .map_err(db_error)?;
            let mut pg_text = Vec::with_capacity(back.len());
            for row in &back {
                let values = columns
                    .iter()
                    .enumerate()
                    .map(|(i, &(_, kind))| pg_canonical(row, i, kind))
                    .collect::<StoreResult<Vec<_>>>()?;
                pg_text.push(values.join("|"));
            }
            checks.push(TableCheck {
                table,
                sqlite_rows,
                postgres_rows: back.len() as u64,
                sqlite_fingerprint: fingerprint(file_text),
                postgres_fingerprint: fingerprint(pg_text),
            });
        }
        if let Some(bad) = checks.iter().find(|c| !c.equal()) {
            return Err(StoreError::Database(format!(
                "table {} did not arrive whole ({} rows in the file, {} in PostgreSQL); \
                 nothing was committed",
                bad.table, bad.sqlite_rows, bad.postgres_rows
            )));
        }
        tx.commit().await.map_err(db_error)?;
        Ok(checks)
    }
}
