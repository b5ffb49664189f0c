//! [`SqliteStore`]: the ACME server's state in the CA's ledger file.
//!
//! The tables are made by the ledger's migrations in `squirrel-pki`
//! ([`squirrel_pki::ledger::migrations`]), opened through
//! [`squirrel_pki::ledger::open_connection`], so the schema has one owner
//! and the CLI (`pki list`, `pki revoke`, `pki crl`) sees ACME certificates
//! as ordinary ledger rows.
//!
//! One connection behind a [`Mutex`] serves the reads (each a few
//! microseconds of SQLite, never held across an `.await`) and the
//! [`Writer`] thread, which puts the writes that arrive together in one
//! transaction (group commit); a request awaits the commit of its write,
//! so what it answered is on disk. Sharing the connection keeps its page
//! cache warm (see [`background`]). Several processes may share the file
//! (a second server, the CLI): the writer's transactions start with `BEGIN
//! IMMEDIATE`, taking the write lock first, and wait for another process's
//! writer (letting the connection go meanwhile) instead of failing with
//! "database is locked".
//!
//! Times are stored as RFC 3339 UTC text with a fixed nine-digit fraction,
//! so comparing the text in SQL (nonce and authorization expiry) compares
//! the instants; revocation times are written exactly as
//! [`squirrel_pki::ledger::Ledger::revoke`] writes them.

use super::{Prefetch, Prefetched, Store, StoreError, StoreResult};
use crate::model::{
    AccountRecord, AuthzRecord, CertificateRecord, ChallengeRecord, EabKey, Identifier,
    OrderRecord, OrderStatus,
};
use async_trait::async_trait;
use columns::*;
use errors::{conflict, missing};
use rusqlite::{params, Connection, OptionalExtension, Params, Row};
use squirrel_pki::ledger::migrations::{normal_serial_key, NORMAL_SERIAL_SQL};
use squirrel_pki::ledger::{insert_entry, Status};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use time::OffsetDateTime;

mod background;
mod checkpoint;
mod columns;
mod errors;
mod orders;
mod reads;

use background::Writer;
use checkpoint::Checkpointer;

/// Expired nonces are deleted once every this many spends, amortized over
/// the requests that spent them: of the oldest 256 (the front of the
/// table, which is in the order the nonces were made; `crate::nonce`), those
/// that have expired. Four times as many as were spent since the last
/// purge, so the purge keeps up, and never a scan of the whole table.
const PURGE_EVERY: u32 = 64;

/// The ACME store in a ledger file.
pub struct SqliteStore {
    conn: background::Shared,
    nonces_put: AtomicU32,
    _checkpointer: Checkpointer,
    writer: Writer,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the ledger at `path`, bringing its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = squirrel_pki::ledger::open_connection(path)
            .map_err(|e| StoreError::Database(e.to_string()))?;
        // Every statement below is prepared once per connection.
        conn.set_prepared_statement_cache_capacity(64);
        checkpoint::leave_checkpoints_to_the_thread(&conn)
            .map_err(|e| StoreError::Database(e.to_string()))?;
        // Savepoints (the writer's, when a batch is run again after a
        // failed write) copy the pages they change into a sub-journal,
        // which SQLite moves to a temporary file past 64 KiB: a file made,
        // written and deleted. In memory, it never touches the disk.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let checkpointer = Checkpointer::start(path)?;
        let conn = Arc::new(Mutex::new(conn));
        Ok(SqliteStore {
            writer: Writer::start(conn.clone())?,
            conn,
            nonces_put: AtomicU32::new(0),
            _checkpointer: checkpointer,
        })
    }

    /// Spends `nonce` and, when it was fresh, reads the account
    /// `account_id` and the record `read`, all in one job of the writer:
    /// the reads ride in its transaction, so the request has no read
    /// transaction (and file locks) of its own. Every request signed with
    /// `kid` reads its account, and most read one record more.
    async fn spend_then_read(
        &self,
        nonce: &str,
        expires: OffsetDateTime,
        account_id: Option<&str>,
        read: Option<Prefetch>,
    ) -> StoreResult<(bool, Option<AccountRecord>, Option<Prefetched>)> {
        let purge = self.nonces_put.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == 0;
        let (nonce, expires) = (nonce.to_string(), stamp(expires));
        let account_id = account_id.map(str::to_owned);
        self.writer
            .write(move |conn| {
                if purge {
                    conn.prepare_cached(
                        "DELETE FROM nonces WHERE expires <= ?1
                           AND nonce IN (SELECT nonce FROM nonces ORDER BY nonce LIMIT 256)",
                    )?
                    .execute([stamp(OffsetDateTime::now_utc())])?;
                }
                let fresh = conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO nonces (nonce, expires) VALUES (?1, ?2)",
                    )?
                    .execute(params![nonce, expires])?
                    == 1;
                if !fresh {
                    return Ok((false, None, None));
                }
                let account = match account_id.as_deref() {
                    Some(id) => find_account(conn, id)?,
                    None => None,
                };
                let found = match &read {
                    Some(read) => Some(reads::prefetch(conn, read)?),
                    None => None,
                };
                Ok((true, account, found))
            })
            .await
    }

    /// Runs `f` with the connection, between two of the writer's
    /// transactions.
    fn run<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        f(&mut background::lock(&self.conn))
    }

    /// The row `sql` selects with `params`, read by `read`, if there is one.
    fn one<T>(
        &self,
        sql: &str,
        params: impl Params,
        read: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        self.run(|conn| {
            Ok(conn
                .prepare_cached(sql)?
                .query_row(params, read)
                .optional()?)
        })
    }

    /// Every row `sql` selects with `params`, read by `read`, in order.
    fn all<T>(
        &self,
        sql: &str,
        params: impl Params,
        read: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        self.run(|conn| {
            Ok(conn
                .prepare_cached(sql)?
                .query_map(params, read)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn nonce_key(&self) -> StoreResult<Vec<u8>> {
        let mut fresh = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut fresh)
            .map_err(|_| StoreError::Database("the system random generator failed".into()))?;
        self.run(|conn| {
            // The first server to ask makes it; every other one reads it.
            conn.prepare_cached(
                "INSERT OR IGNORE INTO acme_secrets (name, value) VALUES ('nonce_key', ?1)",
            )?
            .execute([&fresh])?;
            Ok(conn
                .prepare_cached("SELECT value FROM acme_secrets WHERE name = 'nonce_key'")?
                .query_row([], |r| r.get(0))?)
        })
    }

    async fn spend_nonce_then_find_account(
        &self,
        nonce: &str,
        expires: OffsetDateTime,
        account_id: Option<&str>,
    ) -> StoreResult<(bool, Option<AccountRecord>)> {
        let (fresh, account, _) = self
            .spend_then_read(nonce, expires, account_id, None)
            .await?;
        Ok((fresh, account))
    }

    async fn spend_nonce_then_read(
        &self,
        nonce: &str,
        expires: OffsetDateTime,
        account_id: Option<&str>,
        read: &Prefetch,
    ) -> StoreResult<(bool, Option<AccountRecord>, Option<Prefetched>)> {
        self.spend_then_read(nonce, expires, account_id, Some(read.clone()))
            .await
    }

    async fn create_account(&self, account: &AccountRecord) -> StoreResult<()> {
        let account = account.clone();
        self.writer
            .write(move |tx| {
                tx.prepare_cached(&format!(
                    "INSERT INTO accounts ({ACCOUNT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ))?
                .execute(params![
                    account.id,
                    account.jwk,
                    account.thumbprint,
                    account.status.name(),
                    to_json(&account.contact)?,
                    account.terms_agreed,
                    account.eab_kid,
                    stamp(account.created_at),
                ])
                .map_err(conflict(|e| {
                    if e.contains("accounts.thumbprint") {
                        "an account with this key already exists".into()
                    } else {
                        format!("an account with id {:?} already exists", account.id)
                    }
                }))?;
                if let Some(kid) = &account.eab_kid {
                    let bound = tx
                    .prepare_cached(
                        "UPDATE eab_keys SET account_id = ?1 WHERE kid = ?2 AND account_id IS NULL",
                    )?
                    .execute(params![account.id, kid])?;
                    if bound == 0 {
                        return Err(StoreError::Conflict(format!(
                            "the external account binding key {kid:?} is unknown or already bound \
                         to an account"
                        )));
                    }
                }
                Ok(())
            })
            .await
    }

    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        self.run(|conn| Ok(find_account(conn, id)?))
    }

    async fn account_by_thumbprint(&self, thumbprint: &str) -> StoreResult<Option<AccountRecord>> {
        self.one(
            &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE thumbprint = ?1"),
            [thumbprint],
            account_row,
        )
    }

    async fn update_account(&self, account: &AccountRecord) -> StoreResult<()> {
        let account = account.clone();
        self.writer
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE accounts SET jwk = ?2, thumbprint = ?3, status = ?4, contact = ?5,
                         terms_agreed = ?6
                     WHERE id = ?1",
                    )?
                    .execute(params![
                        account.id,
                        account.jwk,
                        account.thumbprint,
                        account.status.name(),
                        to_json(&account.contact)?,
                        account.terms_agreed,
                    ])
                    .map_err(conflict(|_| {
                        "the new key belongs to another account".into()
                    }))?;
                if changed == 0 {
                    return Err(missing("account", &account.id));
                }
                Ok(())
            })
            .await
    }

    async fn add_eab_key(&self, key: &EabKey) -> StoreResult<()> {
        let key = key.clone();
        self.writer
            .write(move |conn| {
                conn.prepare_cached(&format!(
                    "INSERT INTO eab_keys ({EAB_COLS}) VALUES (?1, ?2, ?3, ?4, ?5)"
                ))?
                .execute(params![
                    key.kid,
                    key.name,
                    key.hmac_key,
                    stamp(key.created_at),
                    key.account_id,
                ])
                .map_err(conflict(|e| {
                    if e.contains("eab_keys.name") {
                        format!("an EAB key named {:?} already exists", key.name)
                    } else {
                        format!("an EAB key with kid {:?} already exists", key.kid)
                    }
                }))?;
                Ok(())
            })
            .await
    }

    async fn eab_key(&self, kid: &str) -> StoreResult<Option<EabKey>> {
        self.one(
            &format!("SELECT {EAB_COLS} FROM eab_keys WHERE kid = ?1"),
            [kid],
            eab_row,
        )
    }

    async fn eab_keys(&self) -> StoreResult<Vec<EabKey>> {
        self.all(
            &format!("SELECT {EAB_COLS} FROM eab_keys ORDER BY created_at, rowid"),
            [],
            eab_row,
        )
    }

    async fn remove_eab_key(&self, kid_or_name: &str) -> StoreResult<bool> {
        let kid_or_name = kid_or_name.to_string();
        self.writer
            .write(move |conn| {
                // The kid first: a kid that happens to be another key's name
                // names the key it is the kid of.
                let mut removed = conn
                    .prepare_cached("DELETE FROM eab_keys WHERE kid = ?1")?
                    .execute([&kid_or_name])?;
                if removed == 0 {
                    removed = conn
                        .prepare_cached("DELETE FROM eab_keys WHERE name = ?1")?
                        .execute([&kid_or_name])?;
                }
                Ok(removed > 0)
            })
            .await
    }

    async fn create_order(
        &self,
        order: &OrderRecord,
        authorizations: &[AuthzRecord],
    ) -> StoreResult<()> {
        let (order, authorizations) = (order.clone(), authorizations.to_vec());
        self.writer
            .write(move |tx| orders::create_order(tx, &order, &authorizations))
            .await
    }

    async fn order(&self, id: &str) -> StoreResult<Option<OrderRecord>> {
        self.run(|conn| reads::order(conn, id))
    }

    async fn update_order(&self, order: &OrderRecord) -> StoreResult<()> {
        let order = order.clone();
        self.writer
            .write(move |conn| {
                if !save_order(
                    conn,
                    &order,
                    order.status,
                    order.certificate_serial.as_deref(),
                )? {
                    return Err(missing("order", &order.id));
                }
                Ok(())
            })
            .await
    }

    async fn update_order_if(
        &self,
        order: &OrderRecord,
        from: &[OrderStatus],
    ) -> StoreResult<bool> {
        let (order, from) = (order.clone(), from.to_vec());
        self.writer
            .write(move |conn| orders::update_order_if(conn, &order, &from))
            .await
    }

    async fn orders_of_account(&self, account_id: &str, limit: usize) -> StoreResult<Vec<String>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.all(
            "SELECT id FROM orders WHERE account_id = ?1
             ORDER BY created_at DESC, rowid DESC LIMIT ?2",
            params![account_id, limit],
            |r| r.get(0),
        )
    }

    async fn processing_orders(&self) -> StoreResult<Vec<OrderRecord>> {
        self.all(
            &format!(
                "SELECT {ORDER_COLS} FROM orders WHERE status = 'processing'
                 ORDER BY created_at, rowid"
            ),
            [],
            order_row,
        )
    }

    async fn authz(&self, id: &str) -> StoreResult<Option<AuthzRecord>> {
        self.run(|conn| reads::authz(conn, id))
    }

    async fn reusable_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        wildcard: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AuthzRecord>> {
        // The one that stays valid longest.
        static REUSABLE: LazyLock<String> = LazyLock::new(|| {
            with_challenges(
                "SELECT * FROM authorizations
                 WHERE account_id = ?1 AND identifier_type = ?2 AND identifier = ?3
                   AND wildcard = ?4 AND status = 'valid' AND expires > ?5
                 ORDER BY expires DESC LIMIT 1",
            )
        });
        let params = params![
            account_id,
            identifier.kind.name(),
            identifier.value,
            wildcard,
            stamp(now),
        ];
        self.run(|conn| authz_with_challenges(conn, &REUSABLE, params))
    }

    async fn update_authz(&self, authz: &AuthzRecord) -> StoreResult<()> {
        let authz = authz.clone();
        self.writer
            .write(move |tx| {
                let changed = tx
                    .prepare_cached(
                        "UPDATE authorizations SET status = ?2, expires = ?3 WHERE id = ?1",
                    )?
                    .execute(params![authz.id, authz.status.name(), stamp(authz.expires)])?;
                if changed == 0 {
                    return Err(missing("authorization", &authz.id));
                }
                for challenge in &authz.challenges {
                    let changed = tx
                        .prepare_cached(
                            "UPDATE challenges SET status = ?3, validated = ?4, error = ?5
                         WHERE id = ?1 AND authz_id = ?2",
                        )?
                        .execute(params![
                            challenge.id,
                            authz.id,
                            challenge.status.name(),
                            opt_stamp(challenge.validated),
                            opt_json(challenge.error.as_ref())?,
                        ])?;
                    if changed == 0 {
                        return Err(missing("challenge of this authorization", &challenge.id));
                    }
                }
                Ok(())
            })
            .await
    }

    async fn authz_of_challenge(&self, challenge_id: &str) -> StoreResult<Option<AuthzRecord>> {
        self.run(|conn| reads::authz_of_challenge(conn, challenge_id))
    }

    async fn challenge(&self, id: &str) -> StoreResult<Option<ChallengeRecord>> {
        self.one(
            &format!("SELECT {CHALLENGE_COLS} FROM challenges WHERE id = ?1"),
            [id],
            challenge_row,
        )
    }

    async fn processing_challenges(&self) -> StoreResult<Vec<ChallengeRecord>> {
        self.all(
            &format!(
                "SELECT {CHALLENGE_COLS} FROM challenges WHERE status = 'processing'
                 ORDER BY rowid"
            ),
            [],
            challenge_row,
        )
    }

    /// Inserts the ledger row with [`squirrel_pki::ledger::insert_entry`]
    /// (status `valid`), with its account and order, and saves the
    /// order with status `valid` and this certificate's serial whatever
    /// `order` says of them.
    async fn record_certificate(
        &self,
        certificate: &CertificateRecord,
        order: &OrderRecord,
    ) -> StoreResult<()> {
        // The record's account wins over the entry's, as a ledger row has
        // one account column.
        let mut entry = certificate.entry.clone();
        if let Some(id) = &certificate.account_id {
            entry.account = Some(id.clone());
        }
        let order_id = certificate.order_id.clone();
        let order = order.clone();
        self.writer
            .write(move |tx| {
                orders::check_processing(tx, &order.id)?;
                insert_entry(tx, &entry, order_id.as_deref()).map_err(conflict(|e| {
                    if e.contains("sha256_fingerprint") {
                        format!(
                            "a certificate with fingerprint {} is already in the ledger",
                            entry.sha256_fingerprint
                        )
                    } else {
                        format!(
                            "a certificate with serial {} is already in the ledger",
                            entry.serial
                        )
                    }
                }))?;
                if !save_order(tx, &order, OrderStatus::Valid, Some(&entry.serial))? {
                    return Err(missing("order", &order.id));
                }
                Ok(())
            })
            .await
    }

    async fn certificate(&self, serial: &str) -> StoreResult<Option<CertificateRecord>> {
        self.run(|conn| reads::certificate(conn, serial))
    }

    async fn revoke_certificate(
        &self,
        serial: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let (serial, reason) = (serial.to_string(), reason.to_string());
        // As `squirrel pki revoke` writes it: RFC 3339 UTC, whole seconds.
        let at = super::stamp::revocation_stamp(at)
            .map_err(|e| StoreError::Database(format!("cannot write the time: {e}")))?;
        self.writer
            .write(move |tx| {
                let found: Option<(String, Status)> = tx
                    .prepare_cached(&format!(
                        "SELECT serial, status FROM certificates
                     WHERE {NORMAL_SERIAL_SQL} = ?1 ORDER BY rowid LIMIT 1"
                    ))?
                    .query_row([normal_serial_key(&serial)], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                let Some((stored, status)) = found else {
                    return Err(StoreError::Database(format!(
                        "there is no certificate with serial {serial} in the ledger"
                    )));
                };
                if status == Status::Revoked {
                    return Err(StoreError::Conflict(format!(
                        "certificate {stored} is already revoked"
                    )));
                }
                tx.prepare_cached(
                    "UPDATE certificates SET status = ?4, revoked_at = ?2, revocation_reason = ?3
                 WHERE serial = ?1",
                )?
                .execute(params![stored, at, reason, Status::Revoked])?;
                Ok(())
            })
            .await
    }
}
