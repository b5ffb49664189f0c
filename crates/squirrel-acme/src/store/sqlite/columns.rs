//! Conversions between the model's records and the ledger's columns, and
//! the two multi-table reads and writes the store shares between methods.
//!
//! A value the model cannot hold (an unknown status, unreadable JSON or
//! time) is a conversion error, hence `StoreError::Database`, never a
//! panic: the file may have been edited by hand or by a newer squirrel.

use crate::model::{
    AccountRecord, AccountStatus, AuthzRecord, AuthzStatus, CertificateRecord, ChallengeRecord,
    ChallengeStatus, ChallengeType, EabKey, Identifier, IdentifierType, OrderRecord, OrderStatus,
};
use crate::store::{StoreError, StoreResult};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::de::DeserializeOwned;
use squirrel_pki::ledger::entry_from_row;
use time::OffsetDateTime;

pub(super) fn bad_column(index: usize, problem: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, problem.into())
}

pub(super) fn enum_col<T>(
    row: &Row,
    index: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    parse(&text).ok_or_else(|| bad_column(index, format!("unknown value {text:?}")))
}

pub(super) fn parse_time(index: usize, text: &str) -> rusqlite::Result<OffsetDateTime> {
    crate::store::stamp::parse(text)
        .ok_or_else(|| bad_column(index, format!("unreadable time {text:?}: not RFC 3339")))
}

pub(super) fn time_col(row: &Row, index: usize) -> rusqlite::Result<OffsetDateTime> {
    parse_time(index, &row.get::<_, String>(index)?)
}

pub(super) fn opt_time_col(row: &Row, index: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
    row.get::<_, Option<String>>(index)?
        .map(|text| parse_time(index, &text))
        .transpose()
}

pub(super) fn json_col<T: DeserializeOwned>(row: &Row, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| bad_column(index, format!("unreadable JSON: {e}")))
}

pub(super) fn opt_json_col<T: DeserializeOwned>(
    row: &Row,
    index: usize,
) -> rusqlite::Result<Option<T>> {
    row.get::<_, Option<String>>(index)?
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| bad_column(index, format!("unreadable JSON: {e}")))
        })
        .transpose()
}

pub(super) use crate::store::stamp::stamp;

pub(super) fn opt_stamp(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(stamp)
}

pub(super) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Database(format!("cannot encode: {e}")))
}

pub(super) fn opt_json<T: serde::Serialize>(value: Option<&T>) -> StoreResult<Option<String>> {
    value.map(to_json).transpose()
}

pub(super) const ACCOUNT_COLS: &str =
    "id, jwk, thumbprint, status, contact, terms_agreed, eab_kid, created_at";

pub(super) fn account_row(row: &Row) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        id: row.get(0)?,
        jwk: row.get(1)?,
        thumbprint: row.get(2)?,
        status: enum_col(row, 3, AccountStatus::from_name)?,
        contact: json_col(row, 4)?,
        terms_agreed: row.get(5)?,
        eab_kid: row.get(6)?,
        created_at: time_col(row, 7)?,
    })
}

/// The account with this id: the read of `Store::account`, also run
/// inside the writer's transaction beside a nonce's spend.
pub(super) fn find_account(conn: &Connection, id: &str) -> rusqlite::Result<Option<AccountRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLS} FROM accounts WHERE id = ?1"
    ))?
    .query_row([id], account_row)
    .optional()
}

pub(super) const EAB_COLS: &str = "kid, name, hmac_key, created_at, account_id";

pub(super) fn eab_row(row: &Row) -> rusqlite::Result<EabKey> {
    Ok(EabKey {
        kid: row.get(0)?,
        name: row.get(1)?,
        hmac_key: row.get(2)?,
        created_at: time_col(row, 3)?,
        account_id: row.get(4)?,
    })
}

pub(super) const ORDER_COLS: &str =
    "id, account_id, status, expires, identifiers, not_before, not_after, \
                          authz_ids, error, csr, certificate_serial, replaces, created_at";

pub(super) fn order_row(row: &Row) -> rusqlite::Result<OrderRecord> {
    Ok(OrderRecord {
        id: row.get(0)?,
        account_id: row.get(1)?,
        status: enum_col(row, 2, OrderStatus::from_name)?,
        expires: time_col(row, 3)?,
        identifiers: json_col(row, 4)?,
        not_before: opt_time_col(row, 5)?,
        not_after: opt_time_col(row, 6)?,
        authz_ids: json_col(row, 7)?,
        error: opt_json_col(row, 8)?,
        csr_der: row.get(9)?,
        certificate_serial: row.get(10)?,
        replaces: row.get(11)?,
        created_at: time_col(row, 12)?,
    })
}

pub(super) use crate::store::joined::{AUTHZ_COLS, CHALLENGE_COLS};

/// An authorization without its challenges (see [`authz_with_challenges`]).
pub(super) fn authz_row(row: &Row) -> rusqlite::Result<AuthzRecord> {
    Ok(AuthzRecord {
        id: row.get(0)?,
        account_id: row.get(1)?,
        identifier: Identifier {
            kind: enum_col(row, 2, IdentifierType::from_name)?,
            value: row.get(3)?,
        },
        wildcard: row.get(4)?,
        status: enum_col(row, 5, AuthzStatus::from_name)?,
        expires: time_col(row, 6)?,
        challenges: Vec::new(),
    })
}

pub(super) fn challenge_row(row: &Row) -> rusqlite::Result<ChallengeRecord> {
    challenge_row_at(row, 0)
}

/// A challenge from the [`CHALLENGE_COLS`] that start at column `at`.
fn challenge_row_at(row: &Row, at: usize) -> rusqlite::Result<ChallengeRecord> {
    Ok(ChallengeRecord {
        id: row.get(at)?,
        authz_id: row.get(at + 1)?,
        kind: enum_col(row, at + 2, ChallengeType::from_name)?,
        token: row.get(at + 3)?,
        status: enum_col(row, at + 4, ChallengeStatus::from_name)?,
        validated: opt_time_col(row, at + 5)?,
        error: opt_json_col(row, at + 6)?,
    })
}

/// A certificate from a row of `SELECT {ENTRY_COLUMNS}, order_id`: the
/// ledger's own reading of its columns, plus the order.
pub(super) fn certificate_row(row: &Row) -> rusqlite::Result<CertificateRecord> {
    let entry = entry_from_row(row)?;
    Ok(CertificateRecord {
        account_id: entry.account.clone(),
        entry,
        order_id: row.get("order_id")?,
    })
}

/// [`crate::store::joined::authz_with_challenges_sql`], with the
/// challenges in the order SQLite stored them. Read with
/// [`authz_with_challenges`].
pub(super) fn with_challenges(authorizations: &str) -> String {
    crate::store::joined::authz_with_challenges_sql(authorizations, "rowid")
}

/// The authorization and challenges that `sql` (made by
/// [`with_challenges`]) selects with `params`.
pub(super) fn authz_with_challenges(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Option<AuthzRecord>> {
    let challenges_at = crate::store::joined::challenges_at();
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut authz: Option<AuthzRecord> = None;
    while let Some(row) = rows.next()? {
        if authz.is_none() {
            authz = Some(authz_row(row)?);
        }
        // No challenge: the LEFT JOIN's one row has NULL for them.
        let has_challenge = row.get_ref(challenges_at)? != rusqlite::types::ValueRef::Null;
        if let (Some(authz), true) = (authz.as_mut(), has_challenge) {
            authz.challenges.push(challenge_row_at(row, challenges_at)?);
        }
    }
    Ok(authz)
}

/// Writes every field of `order` but its id, account and identifiers,
/// with `status` and `serial` as given; false when there is no such order.
pub(super) fn save_order(
    conn: &Connection,
    order: &OrderRecord,
    status: OrderStatus,
    serial: Option<&str>,
) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE orders SET status = ?2, expires = ?3, not_before = ?4, not_after = ?5,
                 authz_ids = ?6, error = ?7, csr = ?8, certificate_serial = ?9,
                 replaces = ?10, created_at = ?11
             WHERE id = ?1",
        )?
        .execute(params![
            order.id,
            status.name(),
            stamp(order.expires),
            opt_stamp(order.not_before),
            opt_stamp(order.not_after),
            to_json(&order.authz_ids)?,
            opt_json(order.error.as_ref())?,
            order.csr_der,
            serial,
            order.replaces,
            stamp(order.created_at),
        ])?;
    Ok(changed == 1)
}
