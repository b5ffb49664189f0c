//! The CA's ledger: every certificate it issues, recorded in SQLite before
//! the certificate's file is written, so that nothing issued is ever
//! forgotten and revocation has something to revoke.
//!
//! The file also holds the ACME server's tables; its schema is versioned
//! and changed only by the ordered list in [`migrations`], which every
//! opener goes through ([`open_connection`]).

use crate::error::{PkiError, Result};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};

pub mod migrations;
pub mod postgres_schema;

pub use migrations::open_connection;
use serde::Serialize;
use std::path::Path;
use time::OffsetDateTime;

/// The ledger's file name inside a CA directory.
pub const LEDGER_FILE: &str = "ledger.sqlite3";

/// One issued certificate.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Serial number, upper-case hex without separators.
    pub serial: String,
    pub subject: String,
    pub alt_names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub profile: String,
    pub sha256_fingerprint: String,
    /// [`Status::Valid`] or [`Status::Revoked`]: what the ledger records.
    /// Expiry is not recorded; [`LedgerEntry::status_at`] adds it.
    pub status: Status,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<String>,
    #[serde(skip)]
    pub pem: String,
    /// The ACME account that ordered it; `None` for certificates issued by
    /// hand (left out of the JSON then, so `pki list --json` is unchanged
    /// for them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// Where an issued certificate stands. Serialized (and stored) as
/// `valid`, `expired`, `revoked`; the ledger itself only ever records
/// `valid` and `revoked`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Expired,
    Revoked,
}

impl Status {
    /// "valid", "expired" or "revoked".
    pub fn name(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl ToSql for Status {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.name()))
    }
}

impl FromSql for Status {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "valid" => Ok(Status::Valid),
            "revoked" => Ok(Status::Revoked),
            other => Err(FromSqlError::Other(
                format!("unknown certificate status {other:?} in the ledger").into(),
            )),
        }
    }
}

impl LedgerEntry {
    /// The status at `now`: revoked, else expired once `not_after` is
    /// past, else valid. An unreadable `not_after` counts as not expired.
    pub fn status_at(&self, now: OffsetDateTime) -> Status {
        let expired = || {
            OffsetDateTime::parse(
                &self.not_after,
                &time::format_description::well_known::Rfc3339,
            )
            .is_ok_and(|t| t < now)
        };
        match self.status {
            Status::Valid if expired() => Status::Expired,
            status => status,
        }
    }
}

/// The `certificates` columns that make a [`LedgerEntry`], in the order
/// [`entry_from_row`] reads them: `SELECT {ENTRY_COLUMNS}` (with any other
/// columns after them) to read entries.
pub const ENTRY_COLUMNS: &str = "serial, subject, alt_names, not_before, not_after, profile, \
     sha256_fingerprint, status, revoked_at, revocation_reason, pem, account_id";

/// The entry in a row whose first columns are [`ENTRY_COLUMNS`]. An
/// unknown status or `alt_names` that are not a JSON list of strings is a
/// conversion error naming the column, not a silently empty value.
pub fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerEntry> {
    let names: String = row.get(2)?;
    let alt_names = serde_json::from_str(&names).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unreadable alt_names {names:?}: {e}").into(),
        )
    })?;
    Ok(LedgerEntry {
        serial: row.get(0)?,
        subject: row.get(1)?,
        alt_names,
        not_before: row.get(3)?,
        not_after: row.get(4)?,
        profile: row.get(5)?,
        sha256_fingerprint: row.get(6)?,
        status: row.get(7)?,
        revoked_at: row.get(8)?,
        revocation_reason: row.get(9)?,
        pem: row.get(10)?,
        account: row.get(11)?,
    })
}

/// Inserts a newly issued certificate: `entry`'s fields, with status
/// `valid` whatever `entry.status` says and no revocation, its account
/// (`entry.account`) and the ACME order it was issued for, if any. The one
/// way a row enters the ledger, for [`Ledger::record`] and the ACME store
/// alike; a duplicate serial or fingerprint breaks a uniqueness rule.
pub fn insert_entry(
    conn: &Connection,
    entry: &LedgerEntry,
    order_id: Option<&str>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO certificates
           (serial, subject, alt_names, not_before, not_after, profile,
            sha256_fingerprint, status, pem, account_id, order_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        entry.serial,
        entry.subject,
        serde_json::Value::from(entry.alt_names.as_slice()).to_string(),
        entry.not_before,
        entry.not_after,
        entry.profile,
        entry.sha256_fingerprint,
        Status::Valid,
        entry.pem,
        entry.account,
        order_id,
    ])?;
    Ok(())
}

/// An open ledger database.
pub struct Ledger {
    conn: Connection,
}

impl Ledger {
    /// Opens the ledger at `path`, creating it (mode 0600) when missing,
    /// and brings its schema up to date (see [`migrations`]).
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Ledger {
            conn: open_connection(path)?,
        })
    }

    /// Records a newly issued certificate (see [`insert_entry`]).
    pub fn record(&self, entry: &LedgerEntry) -> Result<()> {
        Ok(insert_entry(&self.conn, entry, None)?)
    }

    /// Every certificate, oldest first.
    pub fn list(&self) -> Result<Vec<LedgerEntry>> {
        self.select("")
    }

    /// The revoked certificates, oldest first (what a CRL lists).
    pub fn revoked(&self) -> Result<Vec<LedgerEntry>> {
        self.select("WHERE status = 'revoked'")
    }

    /// The certificates that pass `filter` (a WHERE clause), oldest first.
    fn select(&self, filter: &str) -> Result<Vec<LedgerEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM certificates {filter} ORDER BY issued_at, rowid"
        ))?;
        let rows = stmt.query_map([], entry_from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The one certificate `query` names (see [`find_in`]).
    pub fn find(&self, query: &str, now: OffsetDateTime) -> Result<LedgerEntry> {
        find_in(&self.list()?, query, now)
    }

    /// Marks a certificate revoked. `query` is a serial (with or without
    /// colons, in any case, with or without leading zeros), a unique
    /// prefix of one, or a name: see [`Ledger::find`].
    pub fn revoke(&self, query: &str, reason: &str, at: &str) -> Result<LedgerEntry> {
        let now = OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| crate::ca::now());
        let entry = self.find(query, now)?;
        if entry.status == Status::Revoked {
            return Err(PkiError::Refused(format!(
                "certificate {} ({}) is already revoked",
                entry.serial, entry.subject
            )));
        }
        self.conn.execute(
            "UPDATE certificates SET status = ?4, revoked_at = ?2, revocation_reason = ?3
             WHERE serial = ?1",
            params![entry.serial, at, reason, Status::Revoked],
        )?;
        Ok(LedgerEntry {
            status: Status::Revoked,
            revoked_at: Some(at.into()),
            revocation_reason: Some(reason.into()),
            ..entry
        })
    }

    /// The next CRL number (1, 2, ...), remembered across runs.
    pub fn next_crl_number(&self) -> Result<u64> {
        let tx = self.conn.unchecked_transaction()?;
        let current: Option<i64> = tx
            .query_row("SELECT value FROM meta WHERE key = 'crl_number'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let next = current.unwrap_or(0) + 1;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('crl_number', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [next],
        )?;
        tx.commit()?;
        Ok(next as u64)
    }
}

/// The one certificate `query` names: its serial or a unique prefix
/// of it (hex in any case, colons allowed), or its common name or one
/// of its alternative names (any case). Certificates already revoked
/// are passed over when another one matches; more than one left is
/// refused with the candidates listed. Every
/// backend's revocation goes through this, so `pki revoke` finds the same
/// certificate in SQLite and in PostgreSQL.
pub fn find_in(all: &[LedgerEntry], query: &str, now: OffsetDateTime) -> Result<LedgerEntry> {
    let mut found: Vec<&LedgerEntry> = all.iter().filter(|e| matches(e, query)).collect();
    if found.iter().any(|e| e.status != Status::Revoked) {
        found.retain(|e| e.status != Status::Revoked);
    }
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(PkiError::invalid(
            format!(
                "no certificate in the ledger matches {query:?} (by serial, serial prefix, \
                 common name or alternative name)"
            ),
            "run `squirrel pki list` to see the certificates this CA issued",
        )),
        many => {
            let lines: Vec<String> = many
                .iter()
                .map(|e| {
                    format!(
                        "  {}  {}  {} ({})",
                        e.serial,
                        e.status_at(now),
                        e.subject,
                        e.alt_names.join(", ")
                    )
                })
                .collect();
            Err(PkiError::invalid(
                format!("{query:?} matches {} certificates", many.len()),
                format!(
                    "give enough of the serial to pick one, e.g. `squirrel pki revoke {}`:\n{}",
                    many[0].serial,
                    lines.join("\n")
                ),
            ))
        }
    }
}

/// True when `query` names `entry`: by serial (whole or a prefix) or by
/// name (the subject's CN, an alternative name, or the whole subject).
fn matches(entry: &LedgerEntry, query: &str) -> bool {
    let query = query.trim();
    let hex: String = query.chars().filter(|&c| c != ':').collect();
    let is_hex = !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    if is_hex {
        let serial = entry.serial.replace(':', "").to_ascii_uppercase();
        if serial.starts_with(&hex.to_ascii_uppercase())
            || normalize_serial(&serial) == normalize_serial(&hex)
        {
            return true;
        }
    }
    let common_name = entry
        .subject
        .split(',')
        .find_map(|part| part.trim().strip_prefix("CN="));
    !query.is_empty()
        && (entry.subject.eq_ignore_ascii_case(query)
            || common_name.is_some_and(|cn| cn.eq_ignore_ascii_case(query))
            || entry
                .alt_names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(query)))
}

/// A serial as upper-case hex without colons or leading zeros.
pub fn normalize_serial(serial: &str) -> String {
    let hex: String = serial
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_uppercase();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(serial: &str, fp: &str) -> LedgerEntry {
        LedgerEntry {
            serial: serial.into(),
            subject: "CN=member".into(),
            alt_names: vec!["localhost".into()],
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2026-04-01T00:00:00Z".into(),
            profile: "server".into(),
            sha256_fingerprint: fp.into(),
            status: Status::Valid,
            revoked_at: None,
            revocation_reason: None,
            pem: "PEM".into(),
            account: None,
        }
    }

    #[test]
    fn records_lists_revokes_and_keeps_serials_unique() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join(LEDGER_FILE)).unwrap();
        ledger.record(&entry("0A1B", "AA")).unwrap();
        assert!(ledger.list().unwrap().iter().any(|e| e.serial == "0A1B"));
        assert!(
            ledger.record(&entry("0A1B", "BB")).is_err(),
            "serials are unique"
        );
        let revoked = ledger
            .revoke("0a:1b", "keyCompromise", "2026-02-01T00:00:00Z")
            .unwrap();
        assert_eq!(revoked.status, Status::Revoked);
        let all = ledger.list().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].status, Status::Revoked);
        assert_eq!(ledger.revoked().unwrap(), all);
        assert_eq!(all[0].revocation_reason.as_deref(), Some("keyCompromise"));
        assert!(ledger.revoke("0A1B", "unspecified", "x").is_err());
        assert_eq!(ledger.next_crl_number().unwrap(), 1);
        assert_eq!(ledger.next_crl_number().unwrap(), 2);
    }

    #[test]
    fn unreadable_alt_names_are_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join(LEDGER_FILE)).unwrap();
        ledger.record(&entry("01", "AA")).unwrap();
        ledger
            .conn
            .execute("UPDATE certificates SET alt_names = 'localhost'", [])
            .unwrap();
        let err = ledger.list().unwrap_err().to_string();
        assert!(err.contains("unreadable alt_names \"localhost\""), "{err}");
    }

    #[test]
    fn status_at_adds_expiry_and_serializes_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join(LEDGER_FILE)).unwrap();
        ledger.record(&entry("01", "AA")).unwrap();
        ledger.record(&entry("02", "BB")).unwrap();
        ledger
            .revoke("02", "superseded", "2026-02-01T00:00:00Z")
            .unwrap();
        let all = ledger.list().unwrap();
        assert_eq!(all[0].status, Status::Valid);
        let before = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01
        let after = OffsetDateTime::from_unix_timestamp(1_798_761_600).unwrap(); // 2027-01-01
        assert_eq!(all[0].status_at(before), Status::Valid);
        assert_eq!(all[0].status_at(after), Status::Expired);
        assert_eq!(all[1].status_at(after), Status::Revoked);
        let revoked = ledger.revoked().unwrap();
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].serial, "02");
        let json = serde_json::to_value(&all).unwrap();
        assert_eq!(json[0]["status"], "valid");
        assert_eq!(json[1]["status"], "revoked");
        assert_eq!(format!("{:<8}|", Status::Expired), "expired |");
    }
}
