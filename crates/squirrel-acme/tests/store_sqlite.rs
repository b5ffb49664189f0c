//! `SqliteStore` on real files: the store contract (`store_contract`),
//! with two stores on one file standing for two server processes.

mod store_contract;

use squirrel_acme::store::sqlite::SqliteStore;
use squirrel_acme::store::{StoreError, StoreResult};
use squirrel_pki::ledger::{Ledger, LedgerEntry, LEDGER_FILE};
use std::path::PathBuf;
use store_contract::Backend;

struct Sqlite {
    store: SqliteStore,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sqlite {
    fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).unwrap()
    }

    fn ledger(&self) -> Ledger {
        Ledger::open(&self.path).unwrap()
    }
}

impl Backend for Sqlite {
    type S = SqliteStore;

    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        Sqlite {
            store: SqliteStore::open(&path).unwrap(),
            path,
            _dir: dir,
        }
    }

    fn store(&self) -> &SqliteStore {
        &self.store
    }

    async fn open_again(&self) -> StoreResult<SqliteStore> {
        SqliteStore::open(&self.path)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn execute(&self, sql: &str) {
        self.conn().execute_batch(sql).unwrap();
    }

    async fn count(&self, table: &str) -> i64 {
        self.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    async fn set_schema_version(&self, version: i64) {
        self.conn()
            .pragma_update(None, "user_version", version)
            .unwrap();
    }

    async fn list(&self) -> Vec<LedgerEntry> {
        self.ledger().list().unwrap()
    }

    async fn revoked(&self) -> Vec<LedgerEntry> {
        self.ledger().revoked().unwrap()
    }

    async fn record(&self, entry: &LedgerEntry) {
        self.ledger().record(entry).unwrap();
    }
}

contract_tests!(Sqlite);

/// A store's error names the ledger file it could not use.
#[tokio::test]
async fn an_unusable_ledger_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-folder").join(LEDGER_FILE);
    match SqliteStore::open(&path) {
        Err(StoreError::Database(message)) => {
            assert!(message.contains(&path.display().to_string()), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
