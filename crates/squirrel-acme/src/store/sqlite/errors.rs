//! How the store's SQLite errors become [`StoreError`]s.

use crate::store::StoreError;

/// Any SQLite error is a database failure, except a broken uniqueness rule,
/// which is the store's `Conflict`; call sites that know which rule replace
/// SQLite's wording with theirs (see [`conflict`]).
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("already exists ({e})"))
        } else {
            StoreError::Database(e.to_string())
        }
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// Maps a uniqueness violation to `Conflict` with the message `explain`
/// makes from SQLite's (which names the `table.column`), and anything else
/// to `Database`.
pub(super) fn conflict(
    explain: impl FnOnce(&str) -> String,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(explain(&e.to_string()))
        } else {
            StoreError::Database(e.to_string())
        }
    }
}

pub(super) fn missing(what: &str, id: &str) -> StoreError {
    StoreError::Database(format!("there is no {what} {id:?} to update"))
}
