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

/// The store's reads and its writer share one connection; while another
/// process holds the ledger's write lock (here a second connection inside
/// `BEGIN IMMEDIATE`), the writer waits for it without keeping that
/// connection from the reads, and its write lands once the lock is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_on_while_another_process_holds_the_write_lock() {
    reads_go_on_while_the_write_lock_is_held().await
}

/// The same on a current-thread runtime, whose batches run on the
/// runtime's own thread: a batch that finds the lock taken is handed to
/// the writer thread to wait, so that the runtime goes on serving reads.
#[tokio::test]
async fn reads_go_on_while_another_process_holds_the_write_lock_on_one_thread() {
    reads_go_on_while_the_write_lock_is_held().await
}

async fn reads_go_on_while_the_write_lock_is_held() {
    use squirrel_acme::store::Store;
    use std::sync::Arc;
    use std::time::Duration;

    let sqlite = Sqlite::new().await;
    let store = Arc::new(SqliteStore::open(&sqlite.path).unwrap());
    store
        .create_account(&store_contract::account("acct-a", "thumb-a"))
        .await
        .unwrap();

    let other = sqlite.conn();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writing = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .create_account(&store_contract::account("acct-b", "thumb-b"))
                .await
        })
    };
    // Long enough for the writer to be waiting on the lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!writing.is_finished(), "the write must wait for the lock");
    let read = tokio::time::timeout(Duration::from_secs(1), store.account("acct-a"))
        .await
        .expect("a read must not wait for another process's write lock")
        .unwrap();
    assert_eq!(read.map(|a| a.thumbprint).as_deref(), Some("thumb-a"));
    assert_eq!(
        store.account("acct-b").await.unwrap(),
        None,
        "not written yet"
    );

    other.execute_batch("COMMIT").unwrap();
    tokio::time::timeout(Duration::from_secs(5), writing)
        .await
        .expect("the write lands once the lock is let go")
        .unwrap()
        .unwrap();
    let written = store.account("acct-b").await.unwrap();
    assert_eq!(written.map(|a| a.thumbprint).as_deref(), Some("thumb-b"));
}

/// The writer runs a batch without savepoints, and only when a write
/// fails runs it again with one per write: many refused nonce spends mixed
/// with accounts and good spends, all at once, and each write is answered
/// (and kept, or not) as if it had been alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_writes_leave_the_writes_of_their_batch_alone() {
    refused_writes_are_undone_alone().await
}

/// The same with the batches run on a current-thread runtime's thread.
#[tokio::test]
async fn refused_writes_leave_the_writes_of_their_batch_alone_on_one_thread() {
    refused_writes_are_undone_alone().await
}

async fn refused_writes_are_undone_alone() {
    use squirrel_acme::store::Store;
    use std::sync::Arc;
    use time::{Duration, OffsetDateTime};

    let sqlite = Sqlite::new().await;
    sqlite
        .execute(
            "CREATE TRIGGER refuse_bad_nonces BEFORE INSERT ON nonces
             WHEN NEW.nonce LIKE 'bad-%'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .await;
    let store = Arc::new(SqliteStore::open(&sqlite.path).unwrap());
    let expires = OffsetDateTime::now_utc() + Duration::hours(1);
    let mut tasks = Vec::new();
    for i in 0..120 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                let account = store_contract::account(&format!("acct-{i}"), &format!("key-{i}"));
                (i, store.create_account(&account).await.map(|()| true))
            } else if i % 3 == 1 {
                (i, store.spend_nonce(&format!("bad-{i}"), expires).await)
            } else {
                (i, store.spend_nonce(&format!("good-{i}"), expires).await)
            }
        }));
    }
    for task in tasks {
        let (i, outcome) = task.await.unwrap();
        match i % 3 {
            1 => {
                let error = outcome
                    .expect_err("a refused nonce is an error")
                    .to_string();
                assert!(
                    error.contains("refused by the test"),
                    "nonce bad-{i}: {error}"
                );
            }
            _ => assert!(outcome.unwrap(), "write {i} is kept"),
        }
    }
    assert_eq!(sqlite.count("accounts").await, 40);
    assert_eq!(sqlite.count("nonces").await, 40);
    assert_eq!(
        sqlite
            .conn()
            .query_row(
                "SELECT count(*) FROM nonces WHERE nonce LIKE 'good-%'",
                [],
                |r| r.get::<_, i64>(0)
            )
            .unwrap(),
        40
    );
    // A nonce is still spent once.
    assert!(!store.spend_nonce("good-2", expires).await.unwrap());
}

/// A write queued on a current-thread runtime that stops before its batch
/// task runs is still written (by the writer thread), and the store's next
/// writes, from another runtime, are not left waiting for that task.
#[test]
fn a_write_queued_on_a_runtime_that_stops_is_still_written() {
    use squirrel_acme::store::Store;
    use std::future::Future;
    use std::time::Duration;

    let one_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let (sqlite, store) = one_thread().block_on(async {
        let sqlite = Sqlite::new().await;
        let store = SqliteStore::open(&sqlite.path).unwrap();
        (sqlite, store)
    });
    let stopping = one_thread();
    stopping.block_on(async {
        // One poll queues the write and spawns its batch task; block_on
        // returns before that task runs.
        let account = store_contract::account("acct-a", "thumb-a");
        let mut first = std::pin::pin!(store.create_account(&account));
        std::future::poll_fn(|cx| {
            assert!(first.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
    });
    drop(stopping);
    one_thread().block_on(async {
        tokio::time::timeout(
            Duration::from_secs(5),
            store.create_account(&store_contract::account("acct-b", "thumb-b")),
        )
        .await
        .expect("a write after the stopped runtime's must not wait for its task")
        .unwrap();
        for _ in 0..100 {
            if store.account("acct-a").await.unwrap().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the write queued before the runtime stopped was never written");
    });
    drop(sqlite);
}
