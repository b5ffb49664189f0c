//! `SqliteStore` on real files: every `Store` method round-trips, the
//! uniqueness rules give `Conflict`, the steps that must be atomic are, and
//! what ACME records is what the CA's ledger (`squirrel pki list`, `pki
//! crl`) sees.

use serde_json::json;
use squirrel_acme::model::{
    AccountRecord, AccountStatus, AuthzRecord, AuthzStatus, CertificateRecord, ChallengeRecord,
    ChallengeStatus, ChallengeType, EabKey, Identifier, OrderRecord, OrderStatus,
};
use squirrel_acme::store::sqlite::SqliteStore;
use squirrel_acme::store::{Store, StoreError};
use squirrel_pki::ledger::{Ledger, LedgerEntry, Status, LEDGER_FILE};
use std::path::PathBuf;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// 2026-01-01T00:00:00Z plus some nanoseconds, to see that they survive.
fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(1_767_225_600_123_456_789).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: SqliteStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LEDGER_FILE);
    let store = SqliteStore::open(&path).unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
    }
}

fn account(id: &str, thumbprint: &str) -> AccountRecord {
    AccountRecord {
        id: id.into(),
        jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{thumbprint}"}}"#),
        thumbprint: thumbprint.into(),
        status: AccountStatus::Valid,
        contact: vec!["mailto:ops@squirrels.example".into()],
        terms_agreed: true,
        eab_kid: None,
        created_at: t0(),
    }
}

fn eab(kid: &str, name: &str) -> EabKey {
    EabKey {
        kid: kid.into(),
        name: name.into(),
        hmac_key: vec![7; 32],
        created_at: t0(),
        account_id: None,
    }
}

fn challenge(id: &str, authz: &str, kind: ChallengeType) -> ChallengeRecord {
    ChallengeRecord {
        id: id.into(),
        authz_id: authz.into(),
        kind,
        token: format!("token-{id}"),
        status: ChallengeStatus::Pending,
        validated: None,
        error: None,
    }
}

fn authz(id: &str, account: &str, name: &str) -> AuthzRecord {
    AuthzRecord {
        id: id.into(),
        account_id: account.into(),
        identifier: Identifier::dns(name),
        wildcard: false,
        status: AuthzStatus::Pending,
        expires: t0() + Duration::days(7),
        challenges: vec![
            challenge(&format!("{id}-http"), id, ChallengeType::Http01),
            challenge(&format!("{id}-dns"), id, ChallengeType::Dns01),
            challenge(&format!("{id}-alpn"), id, ChallengeType::TlsAlpn01),
        ],
    }
}

fn order(id: &str, account: &str, authz_ids: &[&str]) -> OrderRecord {
    OrderRecord {
        id: id.into(),
        account_id: account.into(),
        status: OrderStatus::Pending,
        expires: t0() + Duration::days(7),
        identifiers: vec![
            Identifier::dns("www.squirrels.example"),
            Identifier::ip("192.0.2.7"),
        ],
        not_before: None,
        not_after: Some(t0() + Duration::days(90)),
        authz_ids: authz_ids.iter().map(|s| s.to_string()).collect(),
        error: None,
        csr_der: None,
        certificate_serial: None,
        replaces: None,
        created_at: t0(),
    }
}

fn certificate(serial: &str, account: &str, order: &str) -> CertificateRecord {
    CertificateRecord {
        entry: LedgerEntry {
            serial: serial.into(),
            subject: "CN=www.squirrels.example".into(),
            alt_names: vec!["www.squirrels.example".into(), "192.0.2.7".into()],
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2026-04-01T00:00:00Z".into(),
            profile: "server".into(),
            sha256_fingerprint: format!("FP-{serial}"),
            status: Status::Valid,
            revoked_at: None,
            revocation_reason: None,
            pem: "-----BEGIN CERTIFICATE-----\n...".into(),
            account: Some(account.into()),
        },
        account_id: Some(account.into()),
        order_id: Some(order.into()),
    }
}

fn is_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn count(f: &Fixture, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_nonce_is_spent_once_and_the_key_is_shared() {
    let f = fixture();
    let s = &f.store;
    let soon = OffsetDateTime::now_utc() + Duration::minutes(5);
    assert!(s.spend_nonce("n1", soon).await.unwrap());
    assert!(!s.spend_nonce("n1", soon).await.unwrap(), "single use");
    assert!(s.spend_nonce("n2", soon).await.unwrap());
    assert_eq!(count(&f, "nonces"), 2);
    let key = s.nonce_key().await.unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(s.nonce_key().await.unwrap(), key, "made once");
    let other = SqliteStore::open(&f.path).unwrap();
    assert_eq!(
        other.nonce_key().await.unwrap(),
        key,
        "shared by every server"
    );
}

#[tokio::test]
async fn spent_nonces_are_forgotten_once_they_expire() {
    let f = fixture();
    let past = OffsetDateTime::now_utc() - Duration::minutes(1);
    let future = OffsetDateTime::now_utc() + Duration::hours(1);
    for i in 0..64 {
        f.store.spend_nonce(&format!("old{i}"), past).await.unwrap();
    }
    f.store.spend_nonce("fresh", future).await.unwrap();
    assert_eq!(count(&f, "nonces"), 1, "the 64 expired ones were purged");
    assert!(!f.store.spend_nonce("fresh", future).await.unwrap());
}

#[tokio::test]
async fn accounts_round_trip_and_keys_are_unique() {
    let f = fixture();
    let s = &f.store;
    let alice = account("alice", "thumb-a");
    s.create_account(&alice).await.unwrap();
    s.create_account(&account("bob", "thumb-b")).await.unwrap();
    assert_eq!(s.account("alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(
        s.account_by_thumbprint("thumb-a").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(s.account("carol").await.unwrap(), None);
    assert_eq!(s.account_by_thumbprint("thumb-c").await.unwrap(), None);

    let again = is_conflict(s.create_account(&account("alice2", "thumb-a")).await);
    assert!(again.contains("key already exists"), "{again}");
    is_conflict(s.create_account(&account("alice", "thumb-z")).await);

    // Key rollover, new contact, deactivation.
    let mut rolled = AccountRecord {
        jwk: "{\"new\":1}".into(),
        thumbprint: "thumb-a2".into(),
        contact: vec![],
        status: AccountStatus::Deactivated,
        terms_agreed: false,
        ..alice.clone()
    };
    s.update_account(&rolled).await.unwrap();
    assert_eq!(s.account("alice").await.unwrap(), Some(rolled.clone()));
    assert_eq!(s.account_by_thumbprint("thumb-a").await.unwrap(), None);
    rolled.thumbprint = "thumb-b".into();
    let taken = is_conflict(s.update_account(&rolled).await);
    assert!(taken.contains("belongs to another account"), "{taken}");
    assert!(matches!(
        s.update_account(&account("nobody", "thumb-n")).await,
        Err(StoreError::Database(_))
    ));
}

#[tokio::test]
async fn an_eab_key_binds_one_account_only() {
    let f = fixture();
    let s = &f.store;
    s.add_eab_key(&eab("kid-1", "alice's laptop"))
        .await
        .unwrap();
    s.add_eab_key(&eab("kid-2", "bob's server")).await.unwrap();
    let kid = is_conflict(s.add_eab_key(&eab("kid-1", "other")).await);
    assert!(kid.contains("kid \"kid-1\""), "{kid}");
    let name = is_conflict(s.add_eab_key(&eab("kid-3", "bob's server")).await);
    assert!(name.contains("named \"bob's server\""), "{name}");
    assert_eq!(
        s.eab_keys().await.unwrap(),
        [eab("kid-1", "alice's laptop"), eab("kid-2", "bob's server")]
    );

    let alice = AccountRecord {
        eab_kid: Some("kid-1".into()),
        ..account("alice", "thumb-a")
    };
    s.create_account(&alice).await.unwrap();
    let bound = s.eab_key("kid-1").await.unwrap().unwrap();
    assert_eq!(bound.account_id.as_deref(), Some("alice"));
    assert_eq!(s.account("alice").await.unwrap(), Some(alice));

    // The same key again: refused, and the account is not created.
    let mallory = AccountRecord {
        eab_kid: Some("kid-1".into()),
        ..account("mallory", "thumb-m")
    };
    let used = is_conflict(s.create_account(&mallory).await);
    assert!(used.contains("already bound"), "{used}");
    assert_eq!(s.account("mallory").await.unwrap(), None);
    let unknown = AccountRecord {
        eab_kid: Some("kid-9".into()),
        ..mallory
    };
    is_conflict(s.create_account(&unknown).await);
    assert_eq!(s.account_by_thumbprint("thumb-m").await.unwrap(), None);

    // Removal by name or by kid; a bound key may be removed.
    assert!(s.remove_eab_key("bob's server").await.unwrap());
    assert!(s.remove_eab_key("kid-1").await.unwrap());
    assert!(!s.remove_eab_key("kid-1").await.unwrap());
    assert_eq!(s.eab_key("kid-2").await.unwrap(), None);
    assert!(s.eab_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn orders_authorizations_and_challenges_round_trip() {
    let f = fixture();
    let s = &f.store;
    s.create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    let a1 = authz("az1", "alice", "www.squirrels.example");
    let a2 = AuthzRecord {
        identifier: Identifier::ip("192.0.2.7"),
        ..authz("az2", "alice", "")
    };
    let mut o1 = order("o1", "alice", &["az1", "az2"]);
    s.create_order(&o1, &[a1.clone(), a2.clone()])
        .await
        .unwrap();
    assert_eq!(s.order("o1").await.unwrap(), Some(o1.clone()));
    assert_eq!(s.authz("az1").await.unwrap(), Some(a1.clone()));
    assert_eq!(s.authz("az2").await.unwrap(), Some(a2.clone()));
    assert_eq!(
        s.challenge("az1-dns").await.unwrap(),
        Some(a1.challenges[1].clone())
    );
    assert_eq!(s.order("nope").await.unwrap(), None);
    assert_eq!(s.authz("nope").await.unwrap(), None);
    assert_eq!(s.challenge("nope").await.unwrap(), None);

    // A later order reuses az1 and brings a new one.
    let mut o2 = order("o2", "alice", &["az1", "az3"]);
    o2.created_at = t0() + Duration::seconds(1);
    s.create_order(&o2, &[authz("az3", "alice", "b.squirrels.example")])
        .await
        .unwrap();
    assert_eq!(
        s.orders_of_account("alice", 10).await.unwrap(),
        ["o2", "o1"]
    );
    assert_eq!(s.orders_of_account("alice", 1).await.unwrap(), ["o2"]);
    assert!(s.orders_of_account("bob", 10).await.unwrap().is_empty());

    // A duplicate id anywhere: conflict, and nothing of that order is kept.
    let dup = is_conflict(
        s.create_order(
            &order("o3", "alice", &["az4", "az1"]),
            &[authz("az4", "alice", "c.squirrels.example"), a1.clone()],
        )
        .await,
    );
    assert!(dup.contains("\"az1\""), "{dup}");
    assert_eq!(s.order("o3").await.unwrap(), None);
    assert_eq!(s.authz("az4").await.unwrap(), None);
    is_conflict(s.create_order(&o1, &[]).await);

    // Validation: a challenge processing, then the authorization valid.
    let mut a1 = a1;
    a1.challenges[0].status = ChallengeStatus::Processing;
    s.update_authz(&a1).await.unwrap();
    assert_eq!(
        s.processing_challenges().await.unwrap(),
        [a1.challenges[0].clone()]
    );
    a1.status = AuthzStatus::Valid;
    a1.expires = t0() + Duration::days(30);
    a1.challenges[0].status = ChallengeStatus::Valid;
    a1.challenges[0].validated = Some(t0() + Duration::seconds(3));
    a1.challenges[1].status = ChallengeStatus::Invalid;
    a1.challenges[1].error = Some(json!({
        "type": "urn:ietf:params:acme:error:dns",
        "detail": "no TXT record at _acme-challenge.www.squirrels.example",
    }));
    s.update_authz(&a1).await.unwrap();
    assert_eq!(s.authz("az1").await.unwrap(), Some(a1.clone()));
    assert!(s.processing_challenges().await.unwrap().is_empty());
    let mut ghost = a1.clone();
    ghost.challenges[0].id = "elsewhere".into();
    assert!(matches!(
        s.update_authz(&ghost).await,
        Err(StoreError::Database(_))
    ));

    // Reuse: valid, unexpired, same account, identifier and wildcard.
    let www = Identifier::dns("www.squirrels.example");
    assert_eq!(
        s.reusable_authz("alice", &www, false, t0()).await.unwrap(),
        Some(a1.clone())
    );
    let later = t0() + Duration::days(31);
    assert_eq!(
        s.reusable_authz("alice", &www, false, later).await.unwrap(),
        None
    );
    assert_eq!(
        s.reusable_authz("alice", &www, true, t0()).await.unwrap(),
        None
    );
    assert_eq!(
        s.reusable_authz("bob", &www, false, t0()).await.unwrap(),
        None
    );
    let ip = Identifier::ip("192.0.2.7");
    assert_eq!(
        s.reusable_authz("alice", &ip, false, t0()).await.unwrap(),
        None
    );

    // Finalize: the order processing with its CSR, then invalid.
    o1.status = OrderStatus::Processing;
    o1.csr_der = Some(vec![0x30, 0x82, 0x01, 0x00]);
    o1.not_before = Some(t0());
    o1.replaces = Some("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE".into());
    s.update_order(&o1).await.unwrap();
    assert_eq!(s.order("o1").await.unwrap(), Some(o1.clone()));
    assert_eq!(s.processing_orders().await.unwrap(), [o1.clone()]);
    o1.status = OrderStatus::Invalid;
    o1.error = Some(json!({"type": "urn:ietf:params:acme:error:badCSR"}));
    s.update_order(&o1).await.unwrap();
    assert_eq!(s.order("o1").await.unwrap(), Some(o1));
    assert!(s.processing_orders().await.unwrap().is_empty());
    assert!(matches!(
        s.update_order(&order("ghost", "alice", &[])).await,
        Err(StoreError::Database(_))
    ));
}

#[tokio::test]
async fn certificates_are_ledger_rows_that_pki_list_and_crl_see() {
    let f = fixture();
    let s = &f.store;
    s.create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    let mut o = order("o1", "alice", &["az1"]);
    s.create_order(&o, &[authz("az1", "alice", "www.squirrels.example")])
        .await
        .unwrap();
    o.status = OrderStatus::Processing;
    let cert = certificate("0A1B2C", "alice", "o1");
    s.record_certificate(&cert, &o).await.unwrap();

    let stored = s.order("o1").await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Valid);
    assert_eq!(stored.certificate_serial.as_deref(), Some("0A1B2C"));
    for form in ["0A1B2C", "0a:1b:2c", "A1B2C", "000a1b2c"] {
        assert_eq!(
            s.certificate(form).await.unwrap(),
            Some(cert.clone()),
            "{form}"
        );
    }
    assert_eq!(s.certificate("A1B2").await.unwrap(), None, "no prefixes");

    let ledger = Ledger::open(&f.path).unwrap();
    let listed = ledger.list().unwrap();
    assert_eq!(listed, std::slice::from_ref(&cert.entry));
    assert_eq!(listed[0].account.as_deref(), Some("alice"));
    let json = serde_json::to_value(&listed).unwrap();
    assert_eq!(json[0]["account"], "alice");

    // Same serial, or same fingerprint: conflict, and the order untouched.
    let mut o2 = order("o2", "alice", &[]);
    s.create_order(&o2, &[]).await.unwrap();
    let again = is_conflict(s.record_certificate(&cert, &o2).await);
    assert!(again.contains("already in the ledger"), "{again}");
    let mut twin = certificate("FF", "alice", "o2");
    twin.entry.sha256_fingerprint = cert.entry.sha256_fingerprint.clone();
    is_conflict(s.record_certificate(&twin, &o2).await);
    assert_eq!(
        s.order("o2").await.unwrap().unwrap().status,
        OrderStatus::Pending
    );
    o2.id = "missing".into();
    assert!(matches!(
        s.record_certificate(&certificate("EE", "alice", "o2"), &o2)
            .await,
        Err(StoreError::Database(_))
    ));
    assert_eq!(s.certificate("EE").await.unwrap(), None, "rolled back");

    // Revocation as `pki revoke` records it, so `pki crl` lists it.
    let at = t0() + Duration::days(2);
    s.revoke_certificate("0a:1b:2c", "keyCompromise", at)
        .await
        .unwrap();
    let revoked = ledger.revoked().unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial, "0A1B2C");
    assert_eq!(
        revoked[0].revoked_at.as_deref(),
        Some("2026-01-03T00:00:00Z")
    );
    assert_eq!(
        revoked[0].revocation_reason.as_deref(),
        Some("keyCompromise")
    );
    let twice = is_conflict(s.revoke_certificate("0A1B2C", "unspecified", at).await);
    assert!(twice.contains("already revoked"), "{twice}");
    assert!(matches!(
        s.revoke_certificate("BEEF", "unspecified", at).await,
        Err(StoreError::Database(_))
    ));
    let seen = s.certificate("0A1B2C").await.unwrap().unwrap();
    assert_eq!(seen.entry.status, Status::Revoked);

    // A certificate the CLI signed by hand is found too, with no account.
    let mut by_hand = certificate("00C0FFEE", "", "");
    by_hand.entry.account = None;
    ledger.record(&by_hand.entry).unwrap();
    let found = s.certificate("c0ffee").await.unwrap().unwrap();
    assert_eq!(found.account_id, None);
    assert_eq!(found.order_id, None);
    assert_eq!(found.entry, by_hand.entry);
}

#[tokio::test]
async fn a_corrupt_row_is_a_database_error_not_a_panic() {
    let f = fixture();
    f.store
        .create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.execute_batch("UPDATE accounts SET contact = 'not json', created_at = 'yesterday';")
        .unwrap();
    assert!(matches!(
        f.store.account("alice").await,
        Err(StoreError::Database(_))
    ));
}

#[tokio::test]
async fn a_ledger_from_a_newer_squirrel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LEDGER_FILE);
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 1000).unwrap();
    drop(conn);
    match SqliteStore::open(&path) {
        Err(StoreError::Database(message)) => {
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("upgrade squirrel"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Two stores on one file, as two server processes would have, each used
/// by several tasks at once: every write succeeds (no "database is
/// locked"), and each nonce is spent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_write_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LEDGER_FILE);
    let stores: Vec<Arc<dyn Store>> = vec![
        Arc::new(SqliteStore::open(&path).unwrap()),
        Arc::new(SqliteStore::open(&path).unwrap()),
    ];
    let future = OffsetDateTime::now_utc() + Duration::hours(1);
    let mut tasks = Vec::new();
    for task in 0..8 {
        let store = stores[task % 2].clone();
        let other = stores[(task + 1) % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut taken = 0;
            for i in 0..150 {
                let nonce = format!("t{task}-{i}");
                let first = store.spend_nonce(&nonce, future).await?;
                let second = other.spend_nonce(&nonce, future).await?;
                if first && !second {
                    taken += 1;
                }
                if i % 10 == 0 {
                    let id = format!("acct-{task}-{i}");
                    store.create_account(&account(&id, &id)).await?;
                    let o = order(&format!("o-{task}-{i}"), &id, &[&format!("az-{task}-{i}")]);
                    other
                        .create_order(&o, &[authz(&format!("az-{task}-{i}"), &id, "x.example")])
                        .await?;
                }
            }
            Ok::<_, StoreError>(taken)
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 150);
    }
    for store in &stores {
        assert_eq!(
            store.orders_of_account("acct-3-70", 5).await.unwrap(),
            ["o-3-70"]
        );
    }
}

/// Writes that arrive together share one transaction (group commit): one
/// that fails halfway is undone alone (its own savepoint), and every other
/// write of its batch is kept and answered as if it had been alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_write_leaves_the_rest_of_its_batch_alone() {
    let Fixture { _dir, path, store } = fixture();
    let store: Arc<dyn Store> = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Every fifth account names an EAB key that does not exist:
            // its row is inserted, then the binding fails.
            let mut record = account(&format!("acct-{i}"), &format!("key-{i}"));
            if i % 5 == 0 {
                record.eab_kid = Some("no-such-kid".into());
            }
            let created = store.create_account(&record).await;
            let fresh = store
                .spend_nonce(&format!("n-{i}"), t0() + Duration::days(3650))
                .await
                .unwrap();
            (i, created, fresh)
        }));
    }
    for task in tasks {
        let (i, created, fresh) = task.await.unwrap();
        assert!(fresh, "nonce n-{i} is spent once");
        if i % 5 == 0 {
            assert!(is_conflict(created).contains("\"no-such-kid\" is unknown"));
        } else {
            created.unwrap();
        }
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM accounts ORDER BY CAST(substr(id, 6) AS INTEGER)")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<String> = (0..200)
        .filter(|i| i % 5 != 0)
        .map(|i| format!("acct-{i}"))
        .collect();
    assert_eq!(ids, expected);
    let spent: i64 = conn
        .query_row("SELECT count(*) FROM nonces", [], |r| r.get(0))
        .unwrap();
    assert_eq!(spent, 200);
}
