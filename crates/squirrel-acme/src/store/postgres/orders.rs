//! The multi-statement reads and writes of [`PostgresStore`](super::PostgresStore)
//! that several of its methods share, or that are long: an order with its
//! authorizations, an order saved (conditionally), an authorization with its
//! challenges, a ledger row.

use super::errors::{conflict, db_error};
use super::rows::*;
use super::{exec, Params};
use crate::model::{AuthzRecord, OrderRecord, OrderStatus};
use crate::store::joined::challenges_at;
use crate::store::stamp::stamp;
use crate::store::StoreResult;
use deadpool_postgres::GenericClient;
use squirrel_pki::ledger::{LedgerEntry, Status};

/// The authorization, with its challenges, that `sql` (made by
/// [`crate::store::joined::authz_with_challenges_sql`]) selects with
/// `params`: one statement, one round trip, one snapshot.
pub(super) async fn authz_with_challenges(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Option<AuthzRecord>> {
    let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
    let rows = client.query(&stmt, params).await.map_err(db_error)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut found = authz(first)?;
    let at = challenges_at();
    for row in &rows {
        // No challenge: the LEFT JOIN's one row has NULL for them.
        if col::<Option<String>>(row, at)?.is_some() {
            found.challenges.push(challenge_at(row, at)?);
        }
    }
    Ok(Some(found))
}

/// Writes every field of `order` but its id, account and identifiers,
/// with `status` and `serial` as given, and only while the stored status
/// is one of `from` when that is given; false when no row was changed.
pub(super) async fn save_order(
    client: &impl GenericClient,
    order: &OrderRecord,
    status: OrderStatus,
    serial: Option<&str>,
    from: Option<&[OrderStatus]>,
) -> StoreResult<bool> {
    let from: Option<Vec<&str>> = from.map(|f| f.iter().map(|s| s.name()).collect());
    let changed = exec(
        client,
        "UPDATE orders SET status = $2, expires = $3, not_before = $4, not_after = $5,
             authz_ids = $6, error = $7, csr = $8, certificate_serial = $9,
             replaces = $10, created_at = $11
         WHERE id = $1 AND ($12::text[] IS NULL OR status = ANY($12))",
        &[
            &order.id,
            &status.name(),
            &stamp(order.expires),
            &opt_stamp(order.not_before),
            &opt_stamp(order.not_after),
            &to_json(&order.authz_ids)?,
            &opt_json(order.error.as_ref())?,
            &order.csr_der,
            &serial,
            &order.replaces,
            &stamp(order.created_at),
            &from,
        ],
    )
    .await
    .map_err(db_error)?;
    Ok(changed == 1)
}

/// Inserts a newly issued certificate, as
/// [`squirrel_pki::ledger::insert_entry`] does in SQLite: status `valid`
/// whatever `entry` says, no revocation.
pub(crate) async fn insert_entry(
    client: &impl GenericClient,
    entry: &LedgerEntry,
    order_id: Option<&str>,
) -> StoreResult<()> {
    exec(
        client,
        "INSERT INTO certificates
           (serial, subject, alt_names, not_before, not_after, profile,
            sha256_fingerprint, status, pem, account_id, order_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &entry.serial,
            &entry.subject,
            &serde_json::Value::from(entry.alt_names.as_slice()).to_string(),
            &entry.not_before,
            &entry.not_after,
            &entry.profile,
            &entry.sha256_fingerprint,
            &Status::Valid.name(),
            &entry.pem,
            &entry.account,
            &order_id,
        ],
    )
    .await
    .map_err(conflict(|constraint| {
        if constraint.contains("sha256_fingerprint") {
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
    Ok(())
}

/// Inserts an order with its new authorizations and their challenges, in
/// the caller's transaction.
pub(super) async fn insert_order(
    tx: &deadpool_postgres::Transaction<'_>,
    order: &OrderRecord,
    authorizations: &[AuthzRecord],
) -> StoreResult<()> {
    exec(
        tx,
        &format!(
            "INSERT INTO orders ({ORDER_COLS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ),
        &[
            &order.id,
            &order.account_id,
            &order.status.name(),
            &stamp(order.expires),
            &to_json(&order.identifiers)?,
            &opt_stamp(order.not_before),
            &opt_stamp(order.not_after),
            &to_json(&order.authz_ids)?,
            &opt_json(order.error.as_ref())?,
            &order.csr_der,
            &order.certificate_serial,
            &order.replaces,
            &stamp(order.created_at),
        ],
    )
    .await
    .map_err(conflict(|_| {
        format!("an order with id {:?} already exists", order.id)
    }))?;
    for authz in authorizations {
        exec(
            tx,
            &format!(
                "INSERT INTO authorizations ({AUTHZ_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &[
                &authz.id,
                &authz.account_id,
                &authz.identifier.kind.name(),
                &authz.identifier.value,
                &authz.wildcard,
                &authz.status.name(),
                &stamp(authz.expires),
            ],
        )
        .await
        .map_err(conflict(|_| {
            format!("an authorization with id {:?} already exists", authz.id)
        }))?;
        for ch in &authz.challenges {
            exec(
                tx,
                &format!(
                    "INSERT INTO challenges ({CHALLENGE_COLS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ),
                &[
                    &ch.id,
                    &ch.authz_id,
                    &ch.kind.name(),
                    &ch.token,
                    &ch.status.name(),
                    &opt_stamp(ch.validated),
                    &opt_json(ch.error.as_ref())?,
                ],
            )
            .await
            .map_err(conflict(|_| {
                format!("a challenge with id {:?} already exists", ch.id)
            }))?;
        }
    }
    Ok(())
}
