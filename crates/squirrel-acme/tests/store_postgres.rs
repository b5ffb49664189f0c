//! `PostgresStore` on a real PostgreSQL, started by the test in a
//! temporary folder (`squirrel_acme::test_util::pg_cluster`): the store
//! contract (`store_contract`), with two stores on one database standing
//! for two replicas, and what only PostgreSQL does (replicas migrating a
//! new database together, the shared CRL counter, a password never shown).

mod store_contract;

use squirrel_acme::store::postgres::{redact, PostgresStore};
use squirrel_acme::store::{StoreError, StoreResult};
use squirrel_acme::test_util::pg_cluster::PgCluster;
use squirrel_pki::ledger::LedgerEntry;
use store_contract::Backend;

/// Fields drop in order: the store's connections before the cluster.
struct Pg {
    store: PostgresStore,
    url: String,
    _cluster: PgCluster,
}

impl Backend for Pg {
    type S = PostgresStore;

    async fn new() -> Self {
        let cluster = PgCluster::start();
        let url = cluster.database().await;
        Pg {
            store: PostgresStore::connect(&url).await.unwrap(),
            url,
            _cluster: cluster,
        }
    }

    fn store(&self) -> &PostgresStore {
        &self.store
    }

    async fn open_again(&self) -> StoreResult<PostgresStore> {
        PostgresStore::connect(&self.url).await
    }

    fn location(&self) -> String {
        redact(&self.url)
    }

    async fn execute(&self, sql: &str) {
        self.store.execute(sql).await.unwrap();
    }

    async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        self.store.query_i64(&sql).await.unwrap()
    }

    async fn set_schema_version(&self, version: i64) {
        let sql = format!("UPDATE schema_version SET version = {version}");
        self.store.execute(&sql).await.unwrap();
    }

    async fn list(&self) -> Vec<LedgerEntry> {
        self.store.list().await.unwrap()
    }

    async fn revoked(&self) -> Vec<LedgerEntry> {
        self.store.revoked().await.unwrap()
    }

    async fn record(&self, entry: &LedgerEntry) {
        self.store.record(entry).await.unwrap();
    }
}

contract_tests!(Pg);

/// Four replicas starting together on a new, empty database: the schema
/// is made once (no "relation already exists"), and all four work.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_migrate_once() {
    let cluster = PgCluster::start();
    let url = cluster.database().await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.unwrap().unwrap());
    }
    let version = stores[0]
        .query_i64("SELECT version FROM schema_version")
        .await
        .unwrap();
    assert_eq!(
        version as usize,
        squirrel_pki::ledger::migrations::MIGRATIONS.len()
    );
    let tables = stores[3]
        .query_i64("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        .await
        .unwrap();
    // certificates, meta, accounts, eab_keys, orders, authorizations,
    // challenges, nonces, acme_secrets, schema_version.
    assert_eq!(tables, 10);
}

/// CRL numbers from two replicas at once: 1 to 40, each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crl_numbers_are_shared_and_never_repeat() {
    let f = Pg::new().await;
    let other = std::sync::Arc::new(f.open_again().await.unwrap());
    let mine = std::sync::Arc::new(f.open_again().await.unwrap());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = if i % 2 == 0 {
                other.clone()
            } else {
                mine.clone()
            };
            tokio::spawn(async move { store.next_crl_number().await.unwrap() })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=40).collect::<Vec<u64>>());
}

/// Wrong password, nothing listening, not a URL: each is a clear error
/// that names the URL without the password.
#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let cluster = PgCluster::start();
    let secret = cluster.password().to_string();
    let wrong = cluster
        .url_of("postgres")
        .replace(&secret, "not-the-password-42");
    let closed = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("postgres://squirrel:{secret}@127.0.0.1:{port}/ca")
    };
    let bad_port = format!("postgres://squirrel:{secret}@127.0.0.1:notaport/ca");
    for (url, expected) in [
        (wrong.as_str(), "password authentication failed"),
        (
            closed.as_str(),
            "cannot connect to postgres://squirrel:***@127.0.0.1:",
        ),
        (bad_port.as_str(), "is not a PostgreSQL URL"),
    ] {
        match PostgresStore::connect(url).await {
            Err(StoreError::Database(message)) => {
                assert!(message.contains(expected), "{message}");
                assert!(!message.contains(&secret), "the password shows: {message}");
                assert!(!message.contains("not-the-password-42"), "{message}");
                assert!(message.contains("***"), "{message}");
            }
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
}

/// Twenty finalize requests claiming one order at once, through two
/// replicas: exactly one claim wins (a conditional UPDATE, not a read and
/// then a write), so exactly one certificate would be signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_of_many_racing_claims_of_an_order_wins() {
    use squirrel_acme::model::OrderStatus;
    use squirrel_acme::store::Store;
    let f = Pg::new().await;
    let stores = [
        std::sync::Arc::new(f.open_again().await.unwrap()),
        std::sync::Arc::new(f.open_again().await.unwrap()),
    ];
    stores[0]
        .create_account(&store_contract::account("alice", "thumb-a"))
        .await
        .unwrap();
    let order = store_contract::order("o1", "alice", &[]);
    stores[0].create_order(&order, &[]).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = stores[i % 2].clone();
            let mut claim = order.clone();
            claim.status = OrderStatus::Processing;
            claim.csr_der = Some(vec![i as u8]);
            tokio::spawn(async move {
                let from = [OrderStatus::Pending, OrderStatus::Ready];
                store.update_order_if(&claim, &from).await.unwrap()
            })
        })
        .collect();
    let mut won = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if task.await.unwrap() {
            won.push(i as u8);
        }
    }
    assert_eq!(won.len(), 1, "claims won: {won:?}");
    let stored = f.store().order("o1").await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Processing);
    assert_eq!(
        stored.csr_der,
        Some(won),
        "the winner's CSR is the one kept"
    );
}

/// `pki ca migrate`: a ledger file with every kind of row (an account with
/// its EAB key, an order with a CSR, authorizations with challenges, a
/// certificate by ACME and one by hand, a revocation, a nonce, the nonce
/// key, a CRL number) is copied whole: each table's count and fingerprint
/// agree, and PostgreSQL gives back exactly the records SQLite gave.
#[tokio::test]
async fn a_ledger_file_moves_into_postgres_with_nothing_lost() {
    use squirrel_acme::model::{AuthzStatus, EabKey, OrderStatus};
    use squirrel_acme::store::sqlite::SqliteStore;
    use squirrel_acme::store::Store;
    use squirrel_pki::ledger::{Ledger, LEDGER_FILE};
    use store_contract::{account, authz, certificate, order, t0};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LEDGER_FILE);
    let file = SqliteStore::open(&path).unwrap();
    let eab = EabKey {
        kid: "kid-1".into(),
        name: "alice's laptop".into(),
        hmac_key: vec![0, 1, 2, 255],
        created_at: t0(),
        account_id: None,
    };
    file.add_eab_key(&eab).await.unwrap();
    let alice = squirrel_acme::model::AccountRecord {
        eab_kid: Some("kid-1".into()),
        terms_agreed: false,
        ..account("alice", "thumb-a")
    };
    file.create_account(&alice).await.unwrap();
    let mut z = authz("az1", "alice", "squirrels.example");
    z.wildcard = true;
    z.status = AuthzStatus::Valid;
    let mut o = order("o1", "alice", &["az1", "az2"]);
    o.csr_der = Some(vec![0x30, 0x82, 0x00]);
    o.status = OrderStatus::Processing;
    file.create_order(&o, &[z.clone(), authz("az2", "alice", "b.example")])
        .await
        .unwrap();
    file.record_certificate(&certificate("0A1B", "alice", "o1"), &o)
        .await
        .unwrap();
    file.revoke_certificate("0A1B", "keyCompromise", t0())
        .await
        .unwrap();
    let mut by_hand = certificate("00C0FFEE", "", "").entry;
    by_hand.account = None;
    let ledger = Ledger::open(&path).unwrap();
    ledger.record(&by_hand).unwrap();
    assert_eq!(ledger.next_crl_number().unwrap(), 1);
    let soon = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    file.spend_nonce("spent-1", soon).await.unwrap();
    let key = file.nonce_key().await.unwrap();

    let f = Pg::new().await;
    let checks = f.store.import_sqlite(&path).await.unwrap();
    let counts: Vec<(&str, u64)> = checks.iter().map(|c| (c.table, c.postgres_rows)).collect();
    assert_eq!(
        counts,
        [
            ("accounts", 1),
            ("eab_keys", 1),
            ("orders", 1),
            ("authorizations", 2),
            ("challenges", 6),
            ("certificates", 2),
            ("meta", 1),
            ("acme_secrets", 1),
            ("nonces", 1),
        ]
    );
    assert!(checks.iter().all(|c| c.equal()), "{checks:#?}");

    let pg = &f.store;
    assert_eq!(
        pg.account("alice").await.unwrap(),
        file.account("alice").await.unwrap()
    );
    assert_eq!(pg.eab_keys().await.unwrap(), file.eab_keys().await.unwrap());
    assert_eq!(
        pg.order("o1").await.unwrap(),
        file.order("o1").await.unwrap()
    );
    assert_eq!(pg.authz("az1").await.unwrap(), Some(z));
    assert_eq!(
        pg.authz("az2").await.unwrap(),
        file.authz("az2").await.unwrap()
    );
    for serial in ["0A1B", "C0FFEE"] {
        assert_eq!(
            pg.certificate(serial).await.unwrap(),
            file.certificate(serial).await.unwrap()
        );
    }
    assert_eq!(pg.list().await.unwrap(), ledger.list().unwrap());
    assert_eq!(pg.nonce_key().await.unwrap(), key, "the nonce key moved");
    assert!(
        !pg.spend_nonce("spent-1", soon).await.unwrap(),
        "spent stays spent"
    );
    assert_eq!(pg.next_crl_number().await.unwrap(), 2, "CRL numbers go on");

    // Into a database that holds a ledger already: refused.
    match f.store.import_sqlite(&path).await {
        Err(StoreError::Conflict(why)) => assert!(why.contains("already holds"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
