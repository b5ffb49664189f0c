//! The reads a request makes by the ids it names (its account, and the
//! order, authorization or certificate of its URL), as functions of one
//! connection. [`PostgresStore`](super::PostgresStore)'s read methods run
//! them, and [`spend_then_read`] runs them beside a nonce's spend: awaited
//! together on one connection, tokio-postgres sends their statements one
//! after the other without waiting for each answer (pipelining), so the
//! spend, the account and the record cost one round trip instead of three.

use super::errors::db_error;
use super::orders::authz_with_challenges;
use super::rows::*;
use crate::model::{AccountRecord, AuthzRecord, CertificateRecord, OrderRecord};
use crate::store::joined::authz_with_challenges_sql;
use crate::store::prefetch::authz_ids_to_read;
use crate::store::stamp::stamp;
use crate::store::{Prefetch, Prefetched, StoreResult};
use deadpool_postgres::GenericClient;
use squirrel_pki::ledger::migrations::{normal_serial_key, NORMAL_SERIAL_SQL};
use squirrel_pki::ledger::ENTRY_COLUMNS;
use std::sync::LazyLock;
use time::OffsetDateTime;
use tokio_postgres::Row;

/// The row `sql` selects with `id`, read by `read`, if there is one.
async fn one<T>(
    client: &impl GenericClient,
    sql: &str,
    id: &str,
    read: fn(&Row) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
    let row = client.query_opt(&stmt, &[&id]).await.map_err(db_error)?;
    row.as_ref().map(read).transpose()
}

pub(super) async fn account(
    client: &impl GenericClient,
    id: &str,
) -> StoreResult<Option<AccountRecord>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"));
    one(client, &SQL, id, super::rows::account).await
}

pub(super) async fn order(
    client: &impl GenericClient,
    id: &str,
) -> StoreResult<Option<OrderRecord>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1"));
    one(client, &SQL, id, super::rows::order).await
}

pub(super) async fn authz(
    client: &impl GenericClient,
    id: &str,
) -> StoreResult<Option<AuthzRecord>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        authz_with_challenges_sql("SELECT * FROM authorizations WHERE id = $1", "seq")
    });
    authz_with_challenges(client, &SQL, &[&id]).await
}

pub(super) async fn authz_of_challenge(
    client: &impl GenericClient,
    challenge_id: &str,
) -> StoreResult<Option<AuthzRecord>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        authz_with_challenges_sql(
            "SELECT * FROM authorizations
             WHERE id = (SELECT authz_id FROM challenges WHERE id = $1)",
            "seq",
        )
    });
    authz_with_challenges(client, &SQL, &[&challenge_id]).await
}

pub(super) async fn certificate(
    client: &impl GenericClient,
    serial: &str,
) -> StoreResult<Option<CertificateRecord>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {ENTRY_COLUMNS}, order_id FROM certificates
             WHERE {NORMAL_SERIAL_SQL} = $1 ORDER BY seq LIMIT 1"
        )
    });
    one(
        client,
        &SQL,
        &normal_serial_key(serial),
        super::rows::certificate,
    )
    .await
}

/// What `read` names, as the read methods would return it.
async fn prefetch(client: &impl GenericClient, read: &Prefetch) -> StoreResult<Prefetched> {
    Ok(match read {
        Prefetch::Order(id) => {
            let found = order(client, id).await?;
            let mut authzs = Vec::new();
            for id in authz_ids_to_read(found.as_ref()) {
                authzs.extend(authz(client, id).await?);
            }
            Prefetched::Order(found, authzs)
        }
        Prefetch::Authz(id) => Prefetched::Authz(authz(client, id).await?),
        Prefetch::AuthzOfChallenge(id) => Prefetched::Authz(authz_of_challenge(client, id).await?),
        Prefetch::Certificate(serial) => {
            Prefetched::Certificate(certificate(client, serial).await?)
        }
    })
}

/// Spends `nonce` and reads the account and `read`, pipelined on `client`;
/// the reads are dropped when the nonce was already spent (they are made
/// before that is known: a refused nonce is rare, a round trip is not).
pub(super) async fn spend_then_read(
    client: &impl GenericClient,
    nonce: &str,
    expires: OffsetDateTime,
    account_id: Option<&str>,
    read: Option<&Prefetch>,
) -> StoreResult<(bool, Option<AccountRecord>, Option<Prefetched>)> {
    let expires = stamp(expires);
    let spend = async {
        let stmt = client
            .prepare_cached(
                "INSERT INTO nonces (nonce, expires) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
            )
            .await
            .map_err(db_error)?;
        let inserted = client
            .execute(&stmt, &[&nonce, &expires])
            .await
            .map_err(db_error)?;
        Ok(inserted == 1)
    };
    let find_account = async {
        match account_id {
            Some(id) => account(client, id).await,
            None => Ok(None),
        }
    };
    let read = async {
        match read {
            Some(read) => prefetch(client, read).await.map(Some),
            None => Ok(None),
        }
    };
    let (fresh, account, found) = tokio::try_join!(spend, find_account, read)?;
    Ok(match fresh {
        true => (true, account, found),
        false => (false, None, None),
    })
}
