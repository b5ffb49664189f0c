//! The writes of orders and their authorizations, each run inside the
//! store's writer transaction (`super::background::Writer`).

use super::columns::*;
use super::errors::{conflict, missing};
use crate::model::{AuthzRecord, OrderRecord, OrderStatus};
use crate::store::StoreResult;
use rusqlite::{params, Connection, OptionalExtension};

/// Inserts an order with its new authorizations and their challenges.
pub(super) fn create_order(
    tx: &Connection,
    order: &OrderRecord,
    authorizations: &[AuthzRecord],
) -> StoreResult<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO orders ({ORDER_COLS})
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?
    .execute(params![
        order.id,
        order.account_id,
        order.status.name(),
        stamp(order.expires),
        to_json(&order.identifiers)?,
        opt_stamp(order.not_before),
        opt_stamp(order.not_after),
        to_json(&order.authz_ids)?,
        opt_json(order.error.as_ref())?,
        order.csr_der,
        order.certificate_serial,
        order.replaces,
        stamp(order.created_at),
    ])
    .map_err(conflict(|_| {
        format!("an order with id {:?} already exists", order.id)
    }))?;
    for authz in authorizations {
        tx.prepare_cached(&format!(
            "INSERT INTO authorizations ({AUTHZ_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ))?
        .execute(params![
            authz.id,
            authz.account_id,
            authz.identifier.kind.name(),
            authz.identifier.value,
            authz.wildcard,
            authz.status.name(),
            stamp(authz.expires),
        ])
        .map_err(conflict(|_| {
            format!("an authorization with id {:?} already exists", authz.id)
        }))?;
        for challenge in &authz.challenges {
            tx.prepare_cached(&format!(
                "INSERT INTO challenges ({CHALLENGE_COLS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?
            .execute(params![
                challenge.id,
                challenge.authz_id,
                challenge.kind.name(),
                challenge.token,
                challenge.status.name(),
                opt_stamp(challenge.validated),
                opt_json(challenge.error.as_ref())?,
            ])
            .map_err(conflict(|_| {
                format!("a challenge with id {:?} already exists", challenge.id)
            }))?;
        }
    }
    Ok(())
}

/// The stored status of order `id` (its name); a database error when there
/// is no such order.
fn stored_status(conn: &Connection, id: &str) -> StoreResult<String> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM orders WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    status.ok_or_else(|| missing("order", id))
}

/// `Conflict` unless order `id` is stored as `processing`: its certificate
/// is recorded only once (see `Store::record_certificate`).
pub(super) fn check_processing(conn: &Connection, id: &str) -> StoreResult<()> {
    let status = stored_status(conn, id)?;
    if status == OrderStatus::Processing.name() {
        Ok(())
    } else {
        Err(crate::store::finished_elsewhere(id, &status))
    }
}

/// Saves `order` if its stored status is one of `from`; inside the
/// writer's transaction, which holds the write lock, no other process
/// changes the order in between.
pub(super) fn update_order_if(
    conn: &Connection,
    order: &OrderRecord,
    from: &[OrderStatus],
) -> StoreResult<bool> {
    let status = stored_status(conn, &order.id)?;
    if !from.iter().any(|s| s.name() == status) {
        return Ok(false);
    }
    save_order(
        conn,
        order,
        order.status,
        order.certificate_serial.as_deref(),
    )?;
    Ok(true)
}
