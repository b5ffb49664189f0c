//! Conversions between PostgreSQL rows and the model's records.
//!
//! The columns are those of the SQLite store (the schema is the same,
//! `squirrel_pki::ledger::postgres_schema`); a value the model cannot hold
//! (an unknown status, unreadable JSON or time) is a `StoreError::Database`
//! naming the column, never a panic.

use crate::model::{
    AccountRecord, AccountStatus, AuthzRecord, AuthzStatus, CertificateRecord, ChallengeRecord,
    ChallengeStatus, ChallengeType, EabKey, Identifier, IdentifierType, OrderRecord, OrderStatus,
};
use crate::store::stamp;
use crate::store::{StoreError, StoreResult};
use serde::de::DeserializeOwned;
use squirrel_pki::ledger::{LedgerEntry, Status};
use time::OffsetDateTime;
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

fn bad(row: &Row, index: usize, problem: impl std::fmt::Display) -> StoreError {
    let column = row.columns().get(index).map_or("?", |c| c.name());
    StoreError::Database(format!("column {column}: {problem}"))
}

/// Column `index`, as `T`.
pub(super) fn col<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> StoreResult<T> {
    row.try_get(index).map_err(|e| bad(row, index, e))
}

fn enum_col<T>(row: &Row, index: usize, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let text: String = col(row, index)?;
    parse(&text).ok_or_else(|| bad(row, index, format!("unknown value {text:?}")))
}

fn time_of(row: &Row, index: usize, text: &str) -> StoreResult<OffsetDateTime> {
    stamp::parse(text).ok_or_else(|| bad(row, index, format!("unreadable time {text:?}")))
}

fn time_col(row: &Row, index: usize) -> StoreResult<OffsetDateTime> {
    time_of(row, index, &col::<String>(row, index)?)
}

fn opt_time_col(row: &Row, index: usize) -> StoreResult<Option<OffsetDateTime>> {
    col::<Option<String>>(row, index)?
        .map(|text| time_of(row, index, &text))
        .transpose()
}

fn json_of<T: DeserializeOwned>(row: &Row, index: usize, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| bad(row, index, format!("unreadable JSON: {e}")))
}

fn json_col<T: DeserializeOwned>(row: &Row, index: usize) -> StoreResult<T> {
    json_of(row, index, &col::<String>(row, index)?)
}

fn opt_json_col<T: DeserializeOwned>(row: &Row, index: usize) -> StoreResult<Option<T>> {
    col::<Option<String>>(row, index)?
        .map(|text| json_of(row, index, &text))
        .transpose()
}

pub(super) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Database(format!("cannot encode: {e}")))
}

pub(super) fn opt_json<T: serde::Serialize>(value: Option<&T>) -> StoreResult<Option<String>> {
    value.map(to_json).transpose()
}

pub(super) fn opt_stamp(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(stamp::stamp)
}

pub(super) const ACCOUNT_COLS: &str =
    "id, jwk, thumbprint, status, contact, terms_agreed, eab_kid, created_at";

pub(super) fn account(row: &Row) -> StoreResult<AccountRecord> {
    Ok(AccountRecord {
        id: col(row, 0)?,
        jwk: col(row, 1)?,
        thumbprint: col(row, 2)?,
        status: enum_col(row, 3, AccountStatus::from_name)?,
        contact: json_col(row, 4)?,
        terms_agreed: col(row, 5)?,
        eab_kid: col(row, 6)?,
        created_at: time_col(row, 7)?,
    })
}

pub(super) const EAB_COLS: &str = "kid, name, hmac_key, created_at, account_id";

pub(super) fn eab(row: &Row) -> StoreResult<EabKey> {
    Ok(EabKey {
        kid: col(row, 0)?,
        name: col(row, 1)?,
        hmac_key: col(row, 2)?,
        created_at: time_col(row, 3)?,
        account_id: col(row, 4)?,
    })
}

pub(super) const ORDER_COLS: &str =
    "id, account_id, status, expires, identifiers, not_before, not_after, \
     authz_ids, error, csr, certificate_serial, replaces, created_at";

pub(super) fn order(row: &Row) -> StoreResult<OrderRecord> {
    Ok(OrderRecord {
        id: col(row, 0)?,
        account_id: col(row, 1)?,
        status: enum_col(row, 2, OrderStatus::from_name)?,
        expires: time_col(row, 3)?,
        identifiers: json_col(row, 4)?,
        not_before: opt_time_col(row, 5)?,
        not_after: opt_time_col(row, 6)?,
        authz_ids: json_col(row, 7)?,
        error: opt_json_col(row, 8)?,
        csr_der: col(row, 9)?,
        certificate_serial: col(row, 10)?,
        replaces: col(row, 11)?,
        created_at: time_col(row, 12)?,
    })
}

pub(super) use crate::store::joined::{AUTHZ_COLS, CHALLENGE_COLS};

/// An authorization without its challenges.
pub(super) fn authz(row: &Row) -> StoreResult<AuthzRecord> {
    Ok(AuthzRecord {
        id: col(row, 0)?,
        account_id: col(row, 1)?,
        identifier: Identifier {
            kind: enum_col(row, 2, IdentifierType::from_name)?,
            value: col(row, 3)?,
        },
        wildcard: col(row, 4)?,
        status: enum_col(row, 5, AuthzStatus::from_name)?,
        expires: time_col(row, 6)?,
        challenges: Vec::new(),
    })
}

pub(super) fn challenge(row: &Row) -> StoreResult<ChallengeRecord> {
    challenge_at(row, 0)
}

/// A challenge from the [`CHALLENGE_COLS`] that start at column `at`.
pub(super) fn challenge_at(row: &Row, at: usize) -> StoreResult<ChallengeRecord> {
    Ok(ChallengeRecord {
        id: col(row, at)?,
        authz_id: col(row, at + 1)?,
        kind: enum_col(row, at + 2, ChallengeType::from_name)?,
        token: col(row, at + 3)?,
        status: enum_col(row, at + 4, ChallengeStatus::from_name)?,
        validated: opt_time_col(row, at + 5)?,
        error: opt_json_col(row, at + 6)?,
    })
}

fn ledger_status(text: &str) -> Option<Status> {
    match text {
        "valid" => Some(Status::Valid),
        "revoked" => Some(Status::Revoked),
        _ => None,
    }
}

/// A ledger entry from a row whose first columns are
/// [`squirrel_pki::ledger::ENTRY_COLUMNS`].
pub(crate) fn entry(row: &Row) -> StoreResult<LedgerEntry> {
    Ok(LedgerEntry {
        serial: col(row, 0)?,
        subject: col(row, 1)?,
        alt_names: json_col(row, 2)?,
        not_before: col(row, 3)?,
        not_after: col(row, 4)?,
        profile: col(row, 5)?,
        sha256_fingerprint: col(row, 6)?,
        status: enum_col(row, 7, ledger_status)?,
        revoked_at: col(row, 8)?,
        revocation_reason: col(row, 9)?,
        pem: col(row, 10)?,
        account: col(row, 11)?,
    })
}

/// A certificate from `SELECT {ENTRY_COLUMNS}, order_id`.
pub(super) fn certificate(row: &Row) -> StoreResult<CertificateRecord> {
    let entry = entry(row)?;
    Ok(CertificateRecord {
        account_id: entry.account.clone(),
        order_id: col(row, 12)?,
        entry,
    })
}
