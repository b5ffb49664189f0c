//! [`PostgresStore`]: the ACME server's state, and the CA's ledger, in a
//! PostgreSQL database that several `squirrel pki ca serve` replicas share
//! (`--db postgres://...`).
//!
//! The schema is the ledger's, version for version
//! ([`squirrel_pki::ledger::postgres_schema`]), brought up to date on
//! connect ([`migrate`]). What must hold across replicas is the database's
//! job, never a read-then-write in one process:
//! - a nonce is spent by `INSERT ... ON CONFLICT DO NOTHING`: whichever
//!   replica inserts the row first accepts it, every other refuses it;
//! - the nonce key is made by the first replica that asks (`ON CONFLICT DO
//!   NOTHING`) and read by all;
//! - serials and fingerprints are unique by constraint, so two replicas
//!   cannot record the same certificate;
//! - binding an EAB key, revoking, and moving an order on are conditional
//!   `UPDATE`s or run under a row lock (`FOR UPDATE`) in one transaction.
//!
//! Connections come from a pool ([`deadpool_postgres`]), without TLS: the
//! database is expected on the same host or a private network. The
//! password in the URL is never printed ([`redact`]).

use super::backend::detail;
use super::joined::authz_with_challenges_sql;
use super::stamp::{revocation_stamp, stamp};
use super::{Prefetch, Prefetched, Store, StoreError, StoreResult};
use crate::model::{
    AccountRecord, AuthzRecord, CertificateRecord, ChallengeRecord, EabKey, Identifier,
    OrderRecord, OrderStatus,
};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rows::*;
use squirrel_pki::ledger::migrations::{normal_serial_key, NORMAL_SERIAL_SQL};
use squirrel_pki::ledger::{LedgerEntry, Status};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::LazyLock;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

mod errors;
pub mod import;
pub mod ledger;
mod migrate;
mod orders;
mod reads;
mod rows;
pub mod tls;
pub mod url;

use errors::{conflict, missing};
pub(crate) use errors::{db_error, describe};
use orders::{authz_with_challenges, insert_entry, insert_order, save_order};

pub use url::redact;

/// Expired nonces are deleted once every this many spends, of the oldest
/// 256, as in the SQLite store.
const PURGE_EVERY: u32 = 64;

/// At most this many connections per replica.
const POOL_SIZE: usize = 16;

/// How long to wait for the database before failing a request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The ACME store (and CA ledger) in PostgreSQL.
pub struct PostgresStore {
    pool: Pool,
    nonces_put: AtomicU32,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`,
    /// or the key=value form) and brings its schema up to date. TLS is as
    /// the URL's `sslmode` and `sslrootcert` say ([`tls`]). Errors name the
    /// URL without its password.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let shown = redact(url);
        let target =
            tls::split(url).map_err(|why| StoreError::Database(format!("{shown}: {why}")))?;
        let mut config: tokio_postgres::Config = target.url.parse().map_err(|e| {
            StoreError::Database(format!(
                "{shown} is not a PostgreSQL URL ({}); write it like \
                 postgres://USER:PASSWORD@HOST:5432/DATABASE",
                describe(&e)
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.ssl_mode(target.mode.for_tokio_postgres());
        let tls = tls::client_config(&target)
            .map_err(|why| StoreError::Database(format!("{shown}: {why}")))?;
        let recycling = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls {
            None => Manager::from_config(config, NoTls, recycling()),
            Some(tls) => Manager::from_config(
                config,
                tokio_postgres_rustls::MakeRustlsConnect::new(tls),
                recycling(),
            ),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Database(format!("cannot make a pool for {shown}: {e}")))?;
        let store = PostgresStore {
            pool,
            nonces_put: AtomicU32::new(0),
        };
        let mut client = store.client().await.map_err(|e| {
            let why = detail(e);
            let fix = if why.contains("does not support TLS") {
                "turn TLS on in PostgreSQL (ssl = on), or lower sslmode"
            } else if why.contains("certificate") || why.contains("TLS") {
                "check sslrootcert (the CA certificate that signed the server's) and, with \
                 sslmode=verify-full, that the URL's host is a name of that certificate"
            } else {
                "check that PostgreSQL runs there and that the user, password and database are \
                 right"
            };
            StoreError::Database(format!("cannot connect to {shown}: {why}. Fix: {fix}"))
        })?;
        migrate::migrate(&mut client)
            .await
            .map_err(|e| StoreError::Database(format!("{shown}: {}", detail(e))))?;
        Ok(store)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| {
            let why = match e {
                deadpool_postgres::PoolError::Backend(e) => describe(&e),
                other => other.to_string(),
            };
            StoreError::Database(format!("no connection to PostgreSQL ({why})"))
        })
    }

    /// A pooled connection for a nonce's spend; at every
    /// [`PURGE_EVERY`]th, the oldest expired nonces are deleted first.
    async fn client_purging_nonces(&self) -> StoreResult<deadpool_postgres::Object> {
        let client = self.client().await?;
        if self.nonces_put.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == 0 {
            let now = stamp(OffsetDateTime::now_utc());
            let purge = "DELETE FROM nonces WHERE expires <= $1
                           AND nonce IN (SELECT nonce FROM nonces ORDER BY nonce LIMIT 256)";
            exec(&client, purge, &[&now]).await.map_err(db_error)?;
        }
        Ok(client)
    }

    /// The row `sql` selects, read by `read`, if there is one.
    async fn one<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        read: fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
        let row = client.query_opt(&stmt, params).await.map_err(db_error)?;
        row.as_ref().map(read).transpose()
    }

    /// Every row `sql` selects, read by `read`, in order.
    async fn all<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        read: fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
        let rows = client.query(&stmt, params).await.map_err(db_error)?;
        rows.iter().map(read).collect()
    }
}

/// Runs `sql` on `client` (a connection or a transaction); rows changed.
async fn exec(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, tokio_postgres::Error> {
    let stmt = client.prepare_cached(sql).await?;
    client.execute(&stmt, params).await
}

#[async_trait]
impl Store for PostgresStore {
    async fn nonce_key(&self) -> StoreResult<Vec<u8>> {
        let mut fresh = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut fresh)
            .map_err(|_| StoreError::Database("the system random generator failed".into()))?;
        let client = self.client().await?;
        // The first replica to ask makes it; every other one reads it.
        exec(
            &client,
            "INSERT INTO acme_secrets (name, value) VALUES ('nonce_key', $1)
             ON CONFLICT (name) DO NOTHING",
            &[&fresh],
        )
        .await
        .map_err(db_error)?;
        let stmt = client
            .prepare_cached("SELECT value FROM acme_secrets WHERE name = 'nonce_key'")
            .await
            .map_err(db_error)?;
        let row = client.query_one(&stmt, &[]).await.map_err(db_error)?;
        col(&row, 0)
    }

    /// Pipelined on one pooled connection (`reads::spend_then_read`).
    async fn spend_nonce_then_find_account(
        &self,
        nonce: &str,
        expires: OffsetDateTime,
        account_id: Option<&str>,
    ) -> StoreResult<(bool, Option<AccountRecord>)> {
        let client = self.client_purging_nonces().await?;
        let (fresh, account, _) =
            reads::spend_then_read(&client, nonce, expires, account_id, None).await?;
        Ok((fresh, account))
    }

    /// Pipelined on one pooled connection (`reads::spend_then_read`).
    async fn spend_nonce_then_read(
        &self,
        nonce: &str,
        expires: OffsetDateTime,
        account_id: Option<&str>,
        read: &Prefetch,
    ) -> StoreResult<(bool, Option<AccountRecord>, Option<Prefetched>)> {
        let client = self.client_purging_nonces().await?;
        reads::spend_then_read(&client, nonce, expires, account_id, Some(read)).await
    }

    async fn create_account(&self, account: &AccountRecord) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        exec(
            &tx,
            &format!(
                "INSERT INTO accounts ({ACCOUNT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &[
                &account.id,
                &account.jwk,
                &account.thumbprint,
                &account.status.name(),
                &to_json(&account.contact)?,
                &account.terms_agreed,
                &account.eab_kid,
                &stamp(account.created_at),
            ],
        )
        .await
        .map_err(conflict(|constraint| {
            if constraint.contains("thumbprint") {
                "an account with this key already exists".into()
            } else {
                format!("an account with id {:?} already exists", account.id)
            }
        }))?;
        if let Some(kid) = &account.eab_kid {
            // Conditional: of two replicas binding the same key at once,
            // the second finds it bound (the row lock makes it wait).
            let bound = exec(
                &tx,
                "UPDATE eab_keys SET account_id = $1 WHERE kid = $2 AND account_id IS NULL",
                &[&account.id, kid],
            )
            .await
            .map_err(db_error)?;
            if bound == 0 {
                return Err(StoreError::Conflict(format!(
                    "the external account binding key {kid:?} is unknown or already bound \
                     to an account"
                )));
            }
        }
        tx.commit().await.map_err(db_error)
    }

    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        reads::account(&self.client().await?, id).await
    }

    async fn account_by_thumbprint(&self, thumbprint: &str) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE thumbprint = $1");
        self.one(&sql, &[&thumbprint], account).await
    }

    async fn update_account(&self, account: &AccountRecord) -> StoreResult<()> {
        let client = self.client().await?;
        let changed = exec(
            &client,
            "UPDATE accounts SET jwk = $2, thumbprint = $3, status = $4, contact = $5,
                 terms_agreed = $6
             WHERE id = $1",
            &[
                &account.id,
                &account.jwk,
                &account.thumbprint,
                &account.status.name(),
                &to_json(&account.contact)?,
                &account.terms_agreed,
            ],
        )
        .await
        .map_err(conflict(|_| {
            "the new key belongs to another account".into()
        }))?;
        if changed == 0 {
            return Err(missing("account", &account.id));
        }
        Ok(())
    }

    async fn add_eab_key(&self, key: &EabKey) -> StoreResult<()> {
        let client = self.client().await?;
        exec(
            &client,
            &format!("INSERT INTO eab_keys ({EAB_COLS}) VALUES ($1, $2, $3, $4, $5)"),
            &[
                &key.kid,
                &key.name,
                &key.hmac_key,
                &stamp(key.created_at),
                &key.account_id,
            ],
        )
        .await
        .map_err(conflict(|constraint| {
            if constraint.contains("name") {
                format!("an EAB key named {:?} already exists", key.name)
            } else {
                format!("an EAB key with kid {:?} already exists", key.kid)
            }
        }))?;
        Ok(())
    }

    async fn eab_key(&self, kid: &str) -> StoreResult<Option<EabKey>> {
        let sql = format!("SELECT {EAB_COLS} FROM eab_keys WHERE kid = $1");
        self.one(&sql, &[&kid], eab).await
    }

    async fn eab_keys(&self) -> StoreResult<Vec<EabKey>> {
        let sql = format!("SELECT {EAB_COLS} FROM eab_keys ORDER BY created_at, seq");
        self.all(&sql, &[], eab).await
    }

    async fn remove_eab_key(&self, kid_or_name: &str) -> StoreResult<bool> {
        // The kid first: a kid that happens to be another key's name names
        // the key it is the kid of. One statement, so one snapshot.
        let client = self.client().await?;
        let removed = exec(
            &client,
            "DELETE FROM eab_keys WHERE kid = (
                 SELECT kid FROM eab_keys WHERE kid = $1 OR name = $1
                 ORDER BY (kid = $1) DESC LIMIT 1)",
            &[&kid_or_name],
        )
        .await
        .map_err(db_error)?;
        Ok(removed > 0)
    }

    async fn create_order(
        &self,
        order: &OrderRecord,
        authorizations: &[AuthzRecord],
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        insert_order(&tx, order, authorizations).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn order(&self, id: &str) -> StoreResult<Option<OrderRecord>> {
        reads::order(&self.client().await?, id).await
    }

    async fn update_order(&self, order: &OrderRecord) -> StoreResult<()> {
        let client = self.client().await?;
        let serial = order.certificate_serial.as_deref();
        if !save_order(&client, order, order.status, serial, None).await? {
            return Err(missing("order", &order.id));
        }
        Ok(())
    }

    async fn update_order_if(
        &self,
        order: &OrderRecord,
        from: &[OrderStatus],
    ) -> StoreResult<bool> {
        let client = self.client().await?;
        let serial = order.certificate_serial.as_deref();
        // One statement: under a concurrent claim, PostgreSQL makes the
        // second wait for the first's row lock and then re-reads the status.
        if save_order(&client, order, order.status, serial, Some(from)).await? {
            return Ok(true);
        }
        match self.order(&order.id).await? {
            Some(_) => Ok(false),
            None => Err(missing("order", &order.id)),
        }
    }

    async fn orders_of_account(&self, account_id: &str, limit: usize) -> StoreResult<Vec<String>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.all(
            "SELECT id FROM orders WHERE account_id = $1
             ORDER BY created_at DESC, seq DESC LIMIT $2",
            &[&account_id, &limit],
            |r| col(r, 0),
        )
        .await
    }

    async fn processing_orders(&self) -> StoreResult<Vec<OrderRecord>> {
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders WHERE status = 'processing' ORDER BY created_at, seq"
        );
        self.all(&sql, &[], order).await
    }

    async fn authz(&self, id: &str) -> StoreResult<Option<AuthzRecord>> {
        reads::authz(&self.client().await?, id).await
    }

    async fn authz_of_challenge(&self, challenge_id: &str) -> StoreResult<Option<AuthzRecord>> {
        reads::authz_of_challenge(&self.client().await?, challenge_id).await
    }

    async fn reusable_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        wildcard: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AuthzRecord>> {
        // The one that stays valid longest.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            authz_with_challenges_sql(
                "SELECT * FROM authorizations
                 WHERE account_id = $1 AND identifier_type = $2 AND identifier = $3
                   AND wildcard = $4 AND status = 'valid' AND expires > $5
                 ORDER BY expires DESC LIMIT 1",
                "seq",
            )
        });
        let params: Params = &[
            &account_id,
            &identifier.kind.name(),
            &identifier.value,
            &wildcard,
            &stamp(now),
        ];
        authz_with_challenges(&self.client().await?, &SQL, params).await
    }

    async fn update_authz(&self, a: &AuthzRecord) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        let changed = exec(
            &tx,
            "UPDATE authorizations SET status = $2, expires = $3 WHERE id = $1",
            &[&a.id, &a.status.name(), &stamp(a.expires)],
        )
        .await
        .map_err(db_error)?;
        if changed == 0 {
            return Err(missing("authorization", &a.id));
        }
        for ch in &a.challenges {
            let changed = exec(
                &tx,
                "UPDATE challenges SET status = $3, validated = $4, error = $5
                 WHERE id = $1 AND authz_id = $2",
                &[
                    &ch.id,
                    &a.id,
                    &ch.status.name(),
                    &opt_stamp(ch.validated),
                    &opt_json(ch.error.as_ref())?,
                ],
            )
            .await
            .map_err(db_error)?;
            if changed == 0 {
                return Err(missing("challenge of this authorization", &ch.id));
            }
        }
        tx.commit().await.map_err(db_error)
    }

    async fn challenge(&self, id: &str) -> StoreResult<Option<ChallengeRecord>> {
        let sql = format!("SELECT {CHALLENGE_COLS} FROM challenges WHERE id = $1");
        self.one(&sql, &[&id], challenge).await
    }

    async fn processing_challenges(&self) -> StoreResult<Vec<ChallengeRecord>> {
        let sql = format!(
            "SELECT {CHALLENGE_COLS} FROM challenges WHERE status = 'processing' ORDER BY seq"
        );
        self.all(&sql, &[], challenge).await
    }

    async fn record_certificate(
        &self,
        certificate: &CertificateRecord,
        order: &OrderRecord,
    ) -> StoreResult<()> {
        // The record's account wins over the entry's, as a ledger row has
        // one account column.
        let entry = LedgerEntry {
            account: certificate
                .account_id
                .clone()
                .or_else(|| certificate.entry.account.clone()),
            ..certificate.entry.clone()
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        // The order first: its row stays locked until the commit, so of two
        // replicas recording a certificate for it, the second waits, then
        // finds it valid and records nothing.
        let processing = [OrderStatus::Processing];
        let serial = Some(entry.serial.as_str());
        if !save_order(&tx, order, OrderStatus::Valid, serial, Some(&processing)).await? {
            drop(tx);
            return Err(match self.order(&order.id).await? {
                Some(stored) => super::finished_elsewhere(&order.id, stored.status.name()),
                None => missing("order", &order.id),
            });
        }
        insert_entry(&tx, &entry, certificate.order_id.as_deref()).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn certificate(&self, serial: &str) -> StoreResult<Option<CertificateRecord>> {
        reads::certificate(&self.client().await?, serial).await
    }

    async fn revoke_certificate(
        &self,
        serial: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = revocation_stamp(at)
            .map_err(|e| StoreError::Database(format!("cannot write the time: {e}")))?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        // The row lock: of two replicas revoking at once, the second waits
        // and then sees it revoked.
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT serial, status FROM certificates
                 WHERE {NORMAL_SERIAL_SQL} = $1 ORDER BY seq LIMIT 1 FOR UPDATE"
            ))
            .await
            .map_err(db_error)?;
        let found = tx
            .query_opt(&stmt, &[&normal_serial_key(serial)])
            .await
            .map_err(db_error)?;
        let Some(row) = found else {
            return Err(StoreError::Database(format!(
                "there is no certificate with serial {serial} in the ledger"
            )));
        };
        let (stored, status): (String, String) = (col(&row, 0)?, col(&row, 1)?);
        if status == Status::Revoked.name() {
            return Err(StoreError::Conflict(format!(
                "certificate {stored} is already revoked"
            )));
        }
        exec(
            &tx,
            "UPDATE certificates SET status = 'revoked', revoked_at = $2, revocation_reason = $3
             WHERE serial = $1",
            &[&stored, &at, &reason],
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }
}
