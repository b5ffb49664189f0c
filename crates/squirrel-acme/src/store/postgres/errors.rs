//! How the PostgreSQL store's errors become [`StoreError`]s.

use crate::store::StoreError;
use tokio_postgres::error::SqlState;

/// What a PostgreSQL error says, with its cause (tokio-postgres' own
/// message is only the kind, "db error").
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = db.message().to_string();
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Any error is a database failure, except a broken uniqueness rule,
/// which is `Conflict`.
pub(crate) fn db_error(e: tokio_postgres::Error) -> StoreError {
    conflict(|constraint| format!("already exists ({constraint})"))(e)
}

/// Maps a uniqueness violation to `Conflict` with the message `explain`
/// makes from the constraint's name (`accounts_thumbprint_key`), and
/// anything else to `Database`.
pub(super) fn conflict(
    explain: impl FnOnce(&str) -> String,
) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| match e.as_db_error() {
        Some(db) if db.code() == &SqlState::UNIQUE_VIOLATION => {
            StoreError::Conflict(explain(db.constraint().unwrap_or("")))
        }
        _ => StoreError::Database(describe(&e)),
    }
}

pub(super) fn missing(what: &str, id: &str) -> StoreError {
    StoreError::Database(format!("there is no {what} {id:?} to update"))
}
