//! Where the ACME server keeps its state: one interface, [`Store`], so that
//! the server does not know which database is behind it.
//!
//! [`sqlite::SqliteStore`] keeps everything in the CA's ledger file (the
//! tables come from the ledger's versioned migrations, in `squirrel-pki`),
//! so that an ACME certificate is a ledger row like any other: `pki list`,
//! `pki revoke` and `pki crl` see it. [`postgres::PostgresStore`] keeps
//! the same tables in a PostgreSQL database that several replicas of one
//! CA share.
//!
//! Every method is one atomic step: what must change together (an order and
//! its authorizations; a certificate and its order) is one call.

pub mod backend;
mod joined;
pub mod postgres;
mod prefetch;
pub mod sqlite;
mod stamp;

pub use prefetch::{Prefetch, Prefetched};

use crate::model::{
    AccountRecord, AuthzRecord, CertificateRecord, ChallengeRecord, EabKey, Identifier,
    OrderRecord, OrderStatus,
};
use async_trait::async_trait;
use time::OffsetDateTime;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule would break: an account key already registered, an
    /// EAB key already bound, a serial already issued.
    #[error("{0}")]
    Conflict(String),
    /// The database failed (I/O, corruption, a lost connection).
    #[error("the CA database failed: {0}")]
    Database(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// The ACME server's state. Implementations are shared by every request
/// (`Arc<dyn Store>`), so they do their own locking or pooling.
#[async_trait]
pub trait Store: Send + Sync {
    // Nonces (RFC 8555 §6.5): made and checked with a shared key
    // (`crate::nonce`), spent once.

    /// The key nonces are made with: random, made on first use, the same
    /// for every server sharing this store.
    async fn nonce_key(&self) -> StoreResult<Vec<u8>>;
    /// Records `nonce` as spent until `expires` and says whether it was
    /// not spent before: true exactly once per nonce.
    async fn spend_nonce(&self, nonce: &str, expires: OffsetDateTime) -> StoreResult<bool> {
        let (fresh, _) = self
            .spend_nonce_then_find_account(nonce, expires, None)
            .await?;
        Ok(fresh)
    }
    /// What every request signed with `kid` does first: spends `nonce` as
    /// [`spend_nonce`](Self::spend_nonce) does and, when it was fresh and
    /// `account_id` is given, reads that account after the spend, as
    /// [`account`](Self::account) would. One step, so that a backend does
    /// both in one trip to its database (SQLite: the read rides in the
    /// writer's transaction instead of a read transaction of its own).
    async fn spend_nonce_then_find_account(
        &self,
        nonce: &str,
        expires: OffsetDateTime,
        account_id: Option<&str>,
    ) -> StoreResult<(bool, Option<AccountRecord>)>;
    /// What a request on an existing resource does first:
    /// [`spend_nonce_then_find_account`](Self::spend_nonce_then_find_account),
    /// then, when the nonce was fresh, the record `read` names (`None` for a
    /// nonce already spent), as the matching read method would return it.
    /// One step (SQLite: inside the writer's transaction; PostgreSQL:
    /// pipelined on one connection).
    async fn spend_nonce_then_read(
        &self,
        nonce: &str,
        expires: OffsetDateTime,
        account_id: Option<&str>,
        read: &Prefetch,
    ) -> StoreResult<(bool, Option<AccountRecord>, Option<Prefetched>)>;

    // Accounts (§7.3).

    /// Stores a new account; `Conflict` if its key's thumbprint is taken.
    /// When `eab_kid` is set, binds that EAB key to it in the same step
    /// (`Conflict` if the key is gone or already bound).
    async fn create_account(&self, account: &AccountRecord) -> StoreResult<()>;
    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>>;
    async fn account_by_thumbprint(&self, thumbprint: &str) -> StoreResult<Option<AccountRecord>>;
    /// Saves contact, status, terms, and the key (rollover: `Conflict` if
    /// the new key's thumbprint belongs to another account).
    async fn update_account(&self, account: &AccountRecord) -> StoreResult<()>;

    // External account binding keys (§7.3.4).

    /// `Conflict` when the kid or the name is taken.
    async fn add_eab_key(&self, key: &EabKey) -> StoreResult<()>;
    async fn eab_key(&self, kid: &str) -> StoreResult<Option<EabKey>>;
    /// Every key, oldest first.
    async fn eab_keys(&self) -> StoreResult<Vec<EabKey>>;
    /// Removes the key with this kid or name; false when there is none.
    async fn remove_eab_key(&self, kid_or_name: &str) -> StoreResult<bool>;

    // Orders, authorizations, challenges (§7.4, §7.5).

    /// Stores an order with its new authorizations (and their challenges).
    /// `authorizations` holds only the new ones: an order may also point at
    /// existing ones (reused valid authorizations) through `authz_ids`.
    async fn create_order(
        &self,
        order: &OrderRecord,
        authorizations: &[AuthzRecord],
    ) -> StoreResult<()>;
    async fn order(&self, id: &str) -> StoreResult<Option<OrderRecord>>;
    /// Saves every field of the order but its id, account and identifiers.
    async fn update_order(&self, order: &OrderRecord) -> StoreResult<()>;
    /// Saves `order` as [`Store::update_order`] does, but only while its
    /// stored status is one of `from`; false (nothing saved) when another
    /// request, or another replica, moved it on first. Finalization claims
    /// an order this way, so that of two finalize requests racing on two
    /// replicas exactly one signs.
    ///
    /// Both backends make it one atomic step: a conditional `UPDATE`
    /// (PostgreSQL), a read and a write in one write transaction (SQLite).
    async fn update_order_if(&self, order: &OrderRecord, from: &[OrderStatus])
        -> StoreResult<bool>;
    /// The ids of an account's orders, newest first, at most `limit`.
    async fn orders_of_account(&self, account_id: &str, limit: usize) -> StoreResult<Vec<String>>;
    /// Orders left `processing` (finalized, not yet signed): the server
    /// finishes them when it starts.
    async fn processing_orders(&self) -> StoreResult<Vec<OrderRecord>>;

    /// An authorization with its challenges.
    async fn authz(&self, id: &str) -> StoreResult<Option<AuthzRecord>>;
    /// A valid, unexpired authorization of this account for this
    /// identifier (and wildcard flag), to reuse in a new order.
    async fn reusable_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        wildcard: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AuthzRecord>>;
    /// Saves the authorization's status and expiry, and each of its
    /// challenges' status, validated time and error.
    async fn update_authz(&self, authz: &AuthzRecord) -> StoreResult<()>;
    /// A challenge by id.
    async fn challenge(&self, id: &str) -> StoreResult<Option<ChallengeRecord>>;
    /// The authorization that challenge `challenge_id` belongs to, with its
    /// challenges (that one among them); what a challenge request needs, in
    /// one statement.
    async fn authz_of_challenge(&self, challenge_id: &str) -> StoreResult<Option<AuthzRecord>>;
    /// Challenges left `processing`: the server validates them again when
    /// it starts.
    async fn processing_challenges(&self) -> StoreResult<Vec<ChallengeRecord>>;

    // Certificates: rows of the CA's ledger.

    /// Records an issued certificate and marks its order valid with its
    /// serial, in one step, only while the stored order is `processing`:
    /// `Conflict` (and nothing recorded) when another server, or another
    /// task of this one, finished the order first. Two replicas that both
    /// took up an order left processing cannot both deliver a certificate.
    async fn record_certificate(
        &self,
        certificate: &CertificateRecord,
        order: &OrderRecord,
    ) -> StoreResult<()>;
    /// A certificate by serial (upper-case hex, no leading-zero games).
    async fn certificate(&self, serial: &str) -> StoreResult<Option<CertificateRecord>>;
    /// Marks it revoked; `Conflict` if it already is.
    async fn revoke_certificate(
        &self,
        serial: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
}

/// The `Conflict` of [`Store::record_certificate`] for an order whose
/// stored status is `status`, not `processing`.
pub(crate) fn finished_elsewhere(order_id: &str, status: &str) -> StoreError {
    StoreError::Conflict(format!(
        "the order {order_id} is {status}, no longer processing: another server finished it"
    ))
}

impl From<StoreError> for crate::problem::Problem {
    /// A conflict the handler did not expect is a `malformed` 409; a
    /// database failure is the server's fault (`serverInternal`, 500),
    /// logged in full and summarised to the client.
    fn from(error: StoreError) -> Self {
        use crate::problem::{ErrorType, Problem};
        match error {
            StoreError::Conflict(detail) => {
                Problem::new(ErrorType::Malformed, detail).with_status(409)
            }
            StoreError::Database(detail) => {
                tracing::error!("the CA database failed: {detail}");
                Problem::new(
                    ErrorType::ServerInternal,
                    "the CA database failed; the operator's log says why. Retry later",
                )
            }
        }
    }
}
