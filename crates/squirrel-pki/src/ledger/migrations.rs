//! The ledger's schema, as one ordered list of migrations.
//!
//! The ledger file outlives the binary that made it: a CA made by an older
//! squirrel is opened by a newer one, and the ACME server (`squirrel-acme`)
//! keeps its tables in the same file so that an ACME certificate is a ledger
//! row like any other. So the schema is not "whatever `CREATE TABLE IF NOT
//! EXISTS` makes" but a version, SQLite's `PRAGMA user_version`, and the list
//! below says how to go from each version to the next. This is the only
//! place that changes the schema: add a migration at the end, never edit one
//! that has shipped.
//!
//! Each migration runs in its own `BEGIN IMMEDIATE` transaction together
//! with the `user_version` bump, so a crash (or a failing statement) leaves
//! the file at the previous version, never half-way. The immediate lock also
//! makes two processes opening a new ledger at once safe: the second one
//! waits, sees the version already raised, and skips.
//!
//! A file whose version is above the list was written by a newer squirrel;
//! it is refused rather than used, since this binary would not know what
//! the newer tables mean.

use crate::error::{PkiError, Result};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// One step of the schema: version `n` is `MIGRATIONS[n - 1]` (and
/// [`POSTGRES_MIGRATIONS`](super::postgres_schema::POSTGRES_MIGRATIONS)`[n - 1]`
/// for a PostgreSQL database).
pub struct Migration {
    /// What it adds, for error messages.
    pub description: &'static str,
    pub sql: &'static str,
}

/// How long a connection waits for another one's lock before failing
/// with "database is locked": the CLI and the ACME server may share the
/// file, and their transactions are short.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every migration, oldest first. Append only.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        description: "the certificates and meta tables",
        // Exactly the schema squirrel created before versioned migrations,
        // `IF NOT EXISTS` included: ledgers made by those versions have these
        // tables at user_version 0, and this migration must leave them as
        // they are (it only raises their version to 1).
        sql: "
CREATE TABLE IF NOT EXISTS certificates (
    serial             TEXT PRIMARY KEY,
    subject            TEXT NOT NULL,
    alt_names          TEXT NOT NULL,
    not_before         TEXT NOT NULL,
    not_after          TEXT NOT NULL,
    profile            TEXT NOT NULL,
    sha256_fingerprint TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
    revoked_at         TEXT,
    revocation_reason  TEXT,
    pem                TEXT NOT NULL,
    issued_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
",
    },
    Migration {
        description: "the ACME server's tables",
        // Times are RFC 3339 UTC text, like the certificates' columns; the
        // ACME store writes them with a fixed nine-digit fraction
        // (`2026-01-02T03:04:05.000000000Z`) so that comparing the text
        // compares the instants, which the expiry queries rely on. Lists
        // (contact, identifiers, authorization ids) and problem documents
        // are JSON text; the CSR is the DER bytes.
        sql: "
CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    jwk          TEXT NOT NULL,
    thumbprint   TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
    contact      TEXT NOT NULL DEFAULT '[]',
    terms_agreed INTEGER NOT NULL DEFAULT 0,
    eab_kid      TEXT,
    created_at   TEXT NOT NULL
);

-- No foreign key from accounts.eab_kid: removing a used EAB key must not
-- be blocked by the account it made.
CREATE TABLE eab_keys (
    kid        TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    hmac_key   BLOB NOT NULL,
    created_at TEXT NOT NULL,
    account_id TEXT REFERENCES accounts (id)
);

CREATE TABLE orders (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (id),
    status             TEXT NOT NULL
                       CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
    expires            TEXT NOT NULL,
    identifiers        TEXT NOT NULL,
    not_before         TEXT,
    not_after          TEXT,
    authz_ids          TEXT NOT NULL,
    error              TEXT,
    csr                BLOB,
    certificate_serial TEXT,
    replaces           TEXT,
    created_at         TEXT NOT NULL
);
CREATE INDEX orders_by_account ON orders (account_id, created_at);
CREATE INDEX orders_by_status ON orders (status);

CREATE TABLE authorizations (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    identifier_type TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    wildcard        INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN
                    ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
    expires         TEXT NOT NULL
);
-- Finding a valid authorization to reuse in a new order.
CREATE INDEX authorizations_for_reuse
    ON authorizations (account_id, identifier_type, identifier, wildcard, status, expires);

-- A challenge's place among its authorization's is its rowid order.
CREATE TABLE challenges (
    id        TEXT PRIMARY KEY,
    authz_id  TEXT NOT NULL REFERENCES authorizations (id),
    type      TEXT NOT NULL,
    token     TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
    validated TEXT,
    error     TEXT
);
CREATE INDEX challenges_by_authz ON challenges (authz_id);
CREATE INDEX challenges_by_status ON challenges (status);

-- Nonces already spent, until they would have expired anyway: a nonce is
-- made and checked with a key every server of this CA shares (below), and
-- is good once (RFC 8555 §6.5).
CREATE TABLE nonces (
    nonce   TEXT PRIMARY KEY,
    expires TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces (expires);

-- Secrets of the ACME server that its replicas share: the nonce key.
CREATE TABLE acme_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- Certificates issued through ACME name their account and order; those
-- issued by hand (`squirrel pki sign`) leave both NULL.
ALTER TABLE certificates ADD COLUMN account_id TEXT REFERENCES accounts (id);
ALTER TABLE certificates ADD COLUMN order_id TEXT REFERENCES orders (id);
CREATE INDEX certificates_by_account ON certificates (account_id);
-- A serial as `normalize_serial` compares it (no colons, upper case, no
-- leading zeros; zero itself is the empty text), so that a lookup by
-- serial uses an index whatever form the serial was written in.
CREATE INDEX certificates_by_normal_serial
    ON certificates (ltrim(upper(replace(serial, ':', '')), '0'));
",
    },
    Migration {
        description: "fewer index writes per ACME request",
        // Every index a row is in is one more page written at each commit
        // (a WAL frame each), so the ACME tables keep only the entries
        // their lookups need:
        // - spent nonces now begin with the time they were made, in hex
        //   (`squirrel_acme::nonce`), so the table's own order is time
        //   order: the store purges the oldest by that order, and expiry
        //   needs no index. Nonces of the earlier form are refused as
        //   unknown now, so the ones spent so far can go.
        // - orders and challenges are looked up by status only when
        //   `processing` (resumed at start), and authorizations only when
        //   `valid` (reused): partial indexes leave the other rows out,
        //   and a row enters them only when it reaches that status.
        sql: "
DELETE FROM nonces;
DROP INDEX nonces_by_expiry;

DROP INDEX orders_by_status;
CREATE INDEX orders_processing ON orders (created_at) WHERE status = 'processing';

DROP INDEX challenges_by_status;
CREATE INDEX challenges_processing ON challenges (status) WHERE status = 'processing';

DROP INDEX authorizations_for_reuse;
CREATE INDEX authorizations_for_reuse
    ON authorizations (account_id, identifier_type, identifier, wildcard, expires)
    WHERE status = 'valid';
",
    },
];

/// The schema version this squirrel writes: the number of migrations.
pub fn schema_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// The SQL expression `certificates_by_normal_serial` indexes: compare it
/// with [`normal_serial_key`] of a serial to find a certificate by serial.
pub const NORMAL_SERIAL_SQL: &str = "ltrim(upper(replace(serial, ':', '')), '0')";

/// The value of [`NORMAL_SERIAL_SQL`] for `serial`: its
/// [`normalize_serial`](super::normalize_serial) form, with zero as "".
pub fn normal_serial_key(serial: &str) -> String {
    let normal = super::normalize_serial(serial);
    normal.trim_start_matches('0').to_owned()
}

/// Opens the ledger database at `path`, creating it (mode 0600) when
/// missing, and brings its schema up to date: the one way in, for the CLI's
/// [`Ledger`](super::Ledger) and for the ACME server's store alike.
///
/// The connection is in WAL mode with `synchronous = NORMAL`: the ACME
/// server writes on every request (nonces), and WAL lets readers proceed
/// during a write and makes a commit one append instead of two syncs. A
/// crash may lose the last commits but never corrupts the file. Foreign keys
/// are enforced, so an order cannot name a missing account.
pub fn open_connection(path: &Path) -> Result<Connection> {
    let cannot_open = |e: &dyn std::fmt::Display| {
        PkiError::invalid(
            format!("cannot open the ledger database ({e})"),
            "check that the CA directory is writable",
        )
        .in_file(path)
    };
    if !path.exists() {
        create_private(path).map_err(|e| cannot_open(&e))?;
    }
    let mut conn = Connection::open(path).map_err(|e| cannot_open(&e))?;
    let setup = |conn: &Connection| -> rusqlite::Result<()> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Returns the mode in force; a file system without shared memory
        // keeps the old one, which is slower but still correct.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        Ok(())
    };
    retry_busy(|| setup(&conn)).map_err(|e| PkiError::Ledger(e).in_file(path))?;
    migrate(&mut conn).map_err(|e| e.in_file(path))?;
    Ok(conn)
}

/// Runs `step` again while SQLite says another connection holds the file,
/// up to [`BUSY_TIMEOUT`]. Switching a new file to WAL, and the first read
/// of it, can report "database is locked" at once, without going through
/// the busy timeout, when another process is doing the same (two squirrels
/// starting together on a new CA).
fn retry_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

/// Creates an empty file readable by its owner only, before SQLite opens
/// it: SQLite gives its `-wal` and `-shm` files the database's mode, so
/// they are private from the start too. Losing a race with another process
/// creating it is fine.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn too_new(found: i64) -> PkiError {
    PkiError::invalid(
        format!(
            "the ledger database is at schema version {found}, but this squirrel knows only up \
             to version {}: a newer squirrel has used this CA",
            MIGRATIONS.len()
        ),
        "upgrade squirrel to use this CA (the file is left untouched)",
    )
}

/// Applies the migrations the database lacks, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_with(conn, MIGRATIONS)
}

fn migrate_with(conn: &mut Connection, migrations: &[Migration]) -> Result<()> {
    let known = migrations.len() as i64;
    let current = retry_busy(|| user_version(conn))?;
    if current > known {
        return Err(too_new(current));
    }
    for (index, migration) in migrations.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let failed = |e: rusqlite::Error| {
            PkiError::invalid(
                format!(
                    "cannot upgrade the ledger database to schema version {version} ({}): {e}",
                    migration.description
                ),
                "check the disk and that the CA directory is writable; the file was left at the \
                 version before",
            )
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        // Another process may have migrated while this one waited for the
        // lock: read the version again under it.
        let now_at = user_version(&tx).map_err(failed)?;
        if now_at > known {
            return Err(too_new(now_at));
        }
        if now_at >= version {
            continue;
        }
        tx.execute_batch(migration.sql).map_err(failed)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Ledger, Status, LEDGER_FILE};

    /// The schema and a row exactly as squirrel wrote them before
    /// versioned migrations (user_version 0).
    const OLD_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS certificates (
    serial             TEXT PRIMARY KEY,
    subject            TEXT NOT NULL,
    alt_names          TEXT NOT NULL,
    not_before         TEXT NOT NULL,
    not_after          TEXT NOT NULL,
    profile            TEXT NOT NULL,
    sha256_fingerprint TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
    revoked_at         TEXT,
    revocation_reason  TEXT,
    pem                TEXT NOT NULL,
    issued_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO certificates
    (serial, subject, alt_names, not_before, not_after, profile, sha256_fingerprint, pem)
    VALUES ('0A1B', 'CN=old', '[\"old.example\"]', '2026-01-01T00:00:00Z',
            '2026-04-01T00:00:00Z', 'server', 'AA:BB', 'PEM');
INSERT INTO certificates
    (serial, subject, alt_names, not_before, not_after, profile, sha256_fingerprint, pem,
     status, revoked_at, revocation_reason)
    VALUES ('0C', 'CN=gone', '[]', '2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z',
            'client', 'CC:DD', 'PEM2', 'revoked', '2026-02-01T00:00:00Z', 'superseded');
INSERT INTO meta (key, value) VALUES ('crl_number', 7);
";

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names = stmt.query_map([], |r| r.get(0)).unwrap();
        names.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn an_old_ledger_is_upgraded_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        {
            let old = Connection::open(&path).unwrap();
            old.execute_batch(OLD_SCHEMA).unwrap();
            assert_eq!(user_version(&old).unwrap(), 0);
        }
        let ledger = Ledger::open(&path).unwrap();
        let all = ledger.list().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].serial, "0A1B");
        assert_eq!(all[0].alt_names, ["old.example"]);
        assert_eq!(all[0].account, None);
        assert_eq!(all[1].status, Status::Revoked);
        assert_eq!(all[1].revocation_reason.as_deref(), Some("superseded"));
        assert_eq!(ledger.revoked().unwrap().len(), 1);
        assert_eq!(ledger.next_crl_number().unwrap(), 8, "meta is kept");
        drop(ledger);

        let conn = open_connection(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len() as i64);
        let tables = tables(&conn);
        for table in [
            "accounts",
            "authorizations",
            "certificates",
            "challenges",
            "eab_keys",
            "meta",
            "nonces",
            "orders",
        ] {
            assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
        }
        let account: Option<String> = conn
            .query_row(
                "SELECT account_id FROM certificates WHERE serial = '0A1B'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(account, None);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// Migration 3 on a ledger the ACME server has used: the spent nonces
    /// of the earlier form go, the rows stay, and the status indexes
    /// become partial.
    #[test]
    fn migration_3_forgets_old_nonces_and_keeps_the_acme_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        let mut conn = Connection::open(&path).unwrap();
        migrate_with(&mut conn, &MIGRATIONS[..2]).unwrap();
        conn.execute_batch(
            "INSERT INTO nonces VALUES ('GPriwaZO0AAAnonce', '2026-01-01T00:00:00.000000000Z');
             INSERT INTO accounts (id, jwk, thumbprint, status, created_at)
                 VALUES ('acct', '{}', 'thumb', 'valid', '2026');
             INSERT INTO authorizations VALUES
                 ('authz', 'acct', 'dns', 'a.test', 0, 'valid', '2027');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 3);
        let count = |table: &str| -> i64 {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count("nonces"), 0);
        assert_eq!((count("accounts"), count("authorizations")), (1, 1));
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                   AND tbl_name IN ('nonces', 'orders', 'authorizations', 'challenges')
                 ORDER BY name",
            )
            .unwrap();
        let indexes: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            indexes,
            [
                "authorizations_for_reuse",
                "challenges_by_authz",
                "challenges_processing",
                "orders_by_account",
                "orders_processing"
            ]
        );
    }

    #[test]
    fn a_new_ledger_is_private_and_at_the_latest_version() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        let conn = open_connection(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap() as u32, schema_version());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(conn);
        // Opening again changes nothing.
        let again = open_connection(&path).unwrap();
        assert_eq!(user_version(&again).unwrap() as u32, schema_version());
    }

    /// Several processes starting at once on a CA with no ledger yet (a
    /// server and a CLI command): one creates and migrates it, the others
    /// wait for its lock and find it done.
    #[test]
    fn a_new_ledger_opened_by_several_at_once_is_migrated_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        let barrier = std::sync::Barrier::new(6);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    barrier.wait();
                    let conn = open_connection(&path).unwrap();
                    assert_eq!(user_version(&conn).unwrap() as u32, schema_version());
                });
            }
        });
    }

    #[test]
    fn a_ledger_from_a_newer_squirrel_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        {
            let conn = open_connection(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Ledger::open(&path).err().expect("refused").to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("schema version 99"), "{err}");
        assert!(err.contains("upgrade squirrel"), "{err}");
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 99);
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        let steps = [
            Migration {
                description: "one",
                sql: "CREATE TABLE one (x);",
            },
            Migration {
                description: "two",
                sql: "CREATE TABLE two (x); CREATE TABLE one (y);",
            },
        ];
        let err = migrate_with(&mut conn, &steps).unwrap_err().to_string();
        assert!(err.contains("schema version 2 (two)"), "{err}");
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert_eq!(tables(&conn), ["one"], "table two was rolled back");
    }

    /// The store's lookups use the indexes migrations 2 and 3 made for
    /// them, not a scan of the table.
    #[test]
    fn the_acme_lookups_use_their_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join(LEDGER_FILE)).unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .unwrap()
                .join("; ")
        };
        for (sql, index) in [
            (
                format!("SELECT serial FROM certificates WHERE {NORMAL_SERIAL_SQL} = 'A1B'"),
                "certificates_by_normal_serial",
            ),
            (
                // The SQLite store's purge: the oldest nonces, in key order.
                "DELETE FROM nonces WHERE expires <= '2026'
                   AND nonce IN (SELECT nonce FROM nonces ORDER BY nonce LIMIT 256)"
                    .into(),
                "SEARCH nonces USING PRIMARY KEY",
            ),
            (
                "SELECT id FROM orders WHERE account_id = 'a' ORDER BY created_at DESC LIMIT 5"
                    .into(),
                "orders_by_account",
            ),
            (
                "SELECT id FROM orders WHERE status = 'processing' ORDER BY created_at, rowid"
                    .into(),
                "orders_processing",
            ),
            (
                "SELECT id FROM challenges WHERE status = 'processing' ORDER BY rowid".into(),
                "challenges_processing",
            ),
            (
                "SELECT id FROM challenges WHERE authz_id = 'z'".into(),
                "challenges_by_authz",
            ),
            (
                "SELECT id FROM authorizations WHERE account_id = 'a' AND identifier_type = 'dns'
                   AND identifier = 'x' AND wildcard = 0 AND status = 'valid'
                   AND expires > '2026' ORDER BY expires DESC LIMIT 1"
                    .into(),
                "authorizations_for_reuse",
            ),
        ] {
            let plan = plan(&sql);
            assert!(plan.contains(index), "{sql}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql} sorts: {plan}");
        }
    }

    #[test]
    fn normal_serial_keys_match_the_sql_expression() {
        let conn = Connection::open_in_memory().unwrap();
        for serial in ["0A1B", "0a:1b", "A1B", "00", "0", "7F"] {
            let sql: String = conn
                .query_row(
                    &format!("SELECT {NORMAL_SERIAL_SQL} FROM (SELECT ?1 AS serial)"),
                    [serial],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(sql, normal_serial_key(serial), "{serial}");
        }
        assert_eq!(normal_serial_key("0a:1b"), normal_serial_key("A1B"));
    }
}
