//! The reads a request makes by the id in its URL, on a connection: run by
//! [`SqliteStore`](super::SqliteStore)'s read methods between the writer's
//! transactions, and inside the writer's transaction for a [`Prefetch`]
//! beside a nonce's spend (the request then has no read transaction of
//! its own).

use super::columns::ORDER_COLS;
use super::columns::{authz_with_challenges, certificate_row, order_row, with_challenges};
use crate::model::{AuthzRecord, CertificateRecord, OrderRecord};
use crate::store::prefetch::authz_ids_to_read;
use crate::store::{Prefetch, Prefetched, StoreResult};
use rusqlite::{Connection, OptionalExtension};
use squirrel_pki::ledger::migrations::{normal_serial_key, NORMAL_SERIAL_SQL};
use squirrel_pki::ledger::ENTRY_COLUMNS;
use std::sync::LazyLock;

pub(super) fn order(conn: &Connection, id: &str) -> StoreResult<Option<OrderRecord>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"));
    Ok(conn
        .prepare_cached(&SQL)?
        .query_row([id], order_row)
        .optional()?)
}

pub(super) fn authz(conn: &Connection, id: &str) -> StoreResult<Option<AuthzRecord>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| with_challenges("SELECT * FROM authorizations WHERE id = ?1"));
    authz_with_challenges(conn, &SQL, [id])
}

pub(super) fn authz_of_challenge(
    conn: &Connection,
    challenge_id: &str,
) -> StoreResult<Option<AuthzRecord>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        with_challenges(
            "SELECT * FROM authorizations
             WHERE id = (SELECT authz_id FROM challenges WHERE id = ?1)",
        )
    });
    authz_with_challenges(conn, &SQL, [challenge_id])
}

pub(super) fn certificate(
    conn: &Connection,
    serial: &str,
) -> StoreResult<Option<CertificateRecord>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {ENTRY_COLUMNS}, order_id FROM certificates
             WHERE {NORMAL_SERIAL_SQL} = ?1 ORDER BY rowid LIMIT 1"
        )
    });
    Ok(conn
        .prepare_cached(&SQL)?
        .query_row([normal_serial_key(serial)], certificate_row)
        .optional()?)
}

/// What `read` names, as the read methods would return it.
pub(super) fn prefetch(conn: &Connection, read: &Prefetch) -> StoreResult<Prefetched> {
    Ok(match read {
        Prefetch::Order(id) => {
            let found = order(conn, id)?;
            let mut authzs = Vec::new();
            for id in authz_ids_to_read(found.as_ref()) {
                authzs.extend(authz(conn, id)?);
            }
            Prefetched::Order(found, authzs)
        }
        Prefetch::Authz(id) => Prefetched::Authz(authz(conn, id)?),
        Prefetch::AuthzOfChallenge(id) => Prefetched::Authz(authz_of_challenge(conn, id)?),
        Prefetch::Certificate(serial) => Prefetched::Certificate(certificate(conn, serial)?),
    })
}
