//! The contract of `squirrel_acme::store::Store`, run against every
//! backend: each test here is a generic function over a [`Backend`] (a
//! fresh, empty database with a store on it), and each backend's test file
//! (`store_sqlite.rs`, `store_postgres.rs`) runs all of them through
//! [`contract_tests!`]. Every `Store` method round-trips, the uniqueness
//! rules give `Conflict`, the steps that must be atomic are, what ACME
//! records is what the CA's ledger (`squirrel pki list`, `pki crl`) sees,
//! and two stores on one database (two replicas) see each other's writes.

#![allow(dead_code)] // each test binary uses its own part of this module

mod batches;
mod nonces;
mod replicas;
pub use batches::*;
pub use nonces::*;
pub use replicas::*;

use serde_json::json;
use squirrel_acme::model::{
    AccountRecord, AccountStatus, AuthzRecord, AuthzStatus, CertificateRecord, ChallengeRecord,
    ChallengeStatus, ChallengeType, EabKey, Identifier, OrderRecord, OrderStatus,
};
use squirrel_acme::store::{Prefetch, Prefetched, Store, StoreError, StoreResult};
use squirrel_pki::ledger::{LedgerEntry, Status};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A fresh database with a store on it, and the few things the tests do
/// beside the `Store` trait: plain SQL, and the CA ledger's own reading
/// (what `pki list` and `pki crl` see).
#[allow(async_fn_in_trait)]
pub trait Backend: Sized {
    type S: Store + std::fmt::Debug + 'static;
    /// A new, empty database, and a store on it.
    async fn new() -> Self;
    fn store(&self) -> &Self::S;
    /// Another store on the same database, as another server process
    /// (replica) would open it.
    async fn open_again(&self) -> StoreResult<Self::S>;
    /// Where the database is, as errors name it (no password).
    fn location(&self) -> String;
    async fn execute(&self, sql: &str);
    async fn count(&self, table: &str) -> i64;
    async fn set_schema_version(&self, version: i64);
    /// The ledger's list, its revoked certificates, and a certificate
    /// recorded by hand, as the CLI does them.
    async fn list(&self) -> Vec<LedgerEntry>;
    async fn revoked(&self) -> Vec<LedgerEntry>;
    async fn record(&self, entry: &LedgerEntry);
}

/// Defines one `#[tokio::test]` per contract test, for `$backend`.
#[macro_export]
macro_rules! contract_tests {
    ($backend:ty) => {
        $crate::contract_tests!(@each $backend;
            a_nonce_is_spent_once_and_the_key_is_shared,
            spent_nonces_are_forgotten_once_they_expire,
            a_spent_nonce_brings_the_account_only_when_fresh,
            accounts_round_trip_and_keys_are_unique,
            an_eab_key_binds_one_account_only,
            orders_authorizations_and_challenges_round_trip,
            certificates_are_ledger_rows_that_pki_list_and_crl_see,
            a_corrupt_row_is_a_database_error_not_a_panic,
            a_ledger_from_a_newer_squirrel_is_refused,
            an_order_made_on_one_store_is_finished_on_another,
            an_order_is_claimed_only_from_the_statuses_given,
            a_certificate_is_recorded_only_for_a_processing_order;
            two_stores_on_one_file_write_concurrently,
            a_serial_is_recorded_once_whatever_races,
            a_failed_write_leaves_the_writes_beside_it_alone);
    };
    (@each $backend:ty; $($name:ident),*; $($multi:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                store_contract::$name::<$backend>().await
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $multi() {
                store_contract::$multi::<$backend>().await
            }
        )*
    };
}

/// 2026-01-01T00:00:00Z plus some nanoseconds, to see that they survive.
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(1_767_225_600_123_456_789).unwrap()
}

pub fn account(id: &str, thumbprint: &str) -> AccountRecord {
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

pub fn authz(id: &str, account: &str, name: &str) -> AuthzRecord {
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

pub fn order(id: &str, account: &str, authz_ids: &[&str]) -> OrderRecord {
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

pub fn certificate(serial: &str, account: &str, order: &str) -> CertificateRecord {
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

pub fn is_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

pub async fn accounts_round_trip_and_keys_are_unique<B: Backend>() {
    let f = B::new().await;
    let s = f.store();
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

pub async fn an_eab_key_binds_one_account_only<B: Backend>() {
    let f = B::new().await;
    let s = f.store();
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

pub async fn orders_authorizations_and_challenges_round_trip<B: Backend>() {
    let f = B::new().await;
    let s = f.store();
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
    for challenge in &a1.challenges {
        assert_eq!(
            s.authz_of_challenge(&challenge.id).await.unwrap(),
            Some(a1.clone())
        );
    }
    assert_eq!(
        s.authz_of_challenge("az2-alpn").await.unwrap(),
        Some(a2.clone())
    );
    assert_eq!(s.authz_of_challenge("nope").await.unwrap(), None);

    // The same records, read with a nonce's spend.
    let soon = OffsetDateTime::now_utc() + Duration::minutes(5);
    let reads = [
        (
            Prefetch::Order("o1".into()),
            Prefetched::Order(Some(o1.clone()), vec![a1.clone(), a2.clone()]),
        ),
        (
            Prefetch::Order("nope".into()),
            Prefetched::Order(None, vec![]),
        ),
        (
            Prefetch::Authz("az2".into()),
            Prefetched::Authz(Some(a2.clone())),
        ),
        (
            Prefetch::AuthzOfChallenge("az1-alpn".into()),
            Prefetched::Authz(Some(a1.clone())),
        ),
        (
            Prefetch::AuthzOfChallenge("nope".into()),
            Prefetched::Authz(None),
        ),
    ];
    for (i, (read, expected)) in reads.into_iter().enumerate() {
        let nonce = format!("read-{i}");
        let (fresh, account, found) = s
            .spend_nonce_then_read(&nonce, soon, Some("alice"), &read)
            .await
            .unwrap();
        assert!(fresh, "{read:?}");
        assert_eq!(account.map(|a| a.id).as_deref(), Some("alice"));
        assert_eq!(found, Some(expected), "{read:?}");
        let again = s
            .spend_nonce_then_read(&nonce, soon, None, &read)
            .await
            .unwrap();
        assert_eq!(again, (false, None, None), "a spent nonce reads nothing");
    }

    // A later order reuses az1 and brings a new one.
    let mut o2 = order("o2", "alice", &["az1", "az3"]);
    o2.created_at = t0() + Duration::seconds(1);
    // az3 has no challenge (yet): read back as such, not as no authorization.
    let a3 = AuthzRecord {
        challenges: Vec::new(),
        ..authz("az3", "alice", "b.squirrels.example")
    };
    s.create_order(&o2, std::slice::from_ref(&a3))
        .await
        .unwrap();
    assert_eq!(s.authz("az3").await.unwrap(), Some(a3));
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
    // Its state no longer follows its authorizations: they are not read.
    let (_, _, found) = s
        .spend_nonce_then_read("read-processing", soon, None, &Prefetch::Order("o1".into()))
        .await
        .unwrap();
    assert_eq!(found, Some(Prefetched::Order(Some(o1.clone()), vec![])));
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

pub async fn certificates_are_ledger_rows_that_pki_list_and_crl_see<B: Backend>() {
    let f = B::new().await;
    let s = f.store();
    s.create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    let mut o = order("o1", "alice", &["az1"]);
    o.status = OrderStatus::Processing;
    s.create_order(&o, &[authz("az1", "alice", "www.squirrels.example")])
        .await
        .unwrap();
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
    let soon = OffsetDateTime::now_utc() + Duration::minutes(5);
    let (_, _, found) = s
        .spend_nonce_then_read(
            "cert-read",
            soon,
            None,
            &Prefetch::Certificate("0a:1b:2c".into()),
        )
        .await
        .unwrap();
    assert_eq!(found, Some(Prefetched::Certificate(Some(cert.clone()))));

    let listed = f.list().await;
    assert_eq!(listed, std::slice::from_ref(&cert.entry));
    assert_eq!(listed[0].account.as_deref(), Some("alice"));
    let json = serde_json::to_value(&listed).unwrap();
    assert_eq!(json[0]["account"], "alice");

    // Same serial, or same fingerprint: conflict, and the order untouched.
    let mut o2 = order("o2", "alice", &[]);
    o2.status = OrderStatus::Processing;
    s.create_order(&o2, &[]).await.unwrap();
    let again = is_conflict(s.record_certificate(&cert, &o2).await);
    assert!(again.contains("already in the ledger"), "{again}");
    let mut twin = certificate("FF", "alice", "o2");
    twin.entry.sha256_fingerprint = cert.entry.sha256_fingerprint.clone();
    is_conflict(s.record_certificate(&twin, &o2).await);
    assert_eq!(
        s.order("o2").await.unwrap().unwrap().status,
        OrderStatus::Processing
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
    let revoked = f.revoked().await;
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
    f.record(&by_hand.entry).await;
    let found = s.certificate("c0ffee").await.unwrap().unwrap();
    assert_eq!(found.account_id, None);
    assert_eq!(found.order_id, None);
    assert_eq!(found.entry, by_hand.entry);
}

pub async fn a_corrupt_row_is_a_database_error_not_a_panic<B: Backend>() {
    let f = B::new().await;
    f.store()
        .create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    f.execute("UPDATE accounts SET contact = 'not json', created_at = 'yesterday'")
        .await;
    assert!(matches!(
        f.store().account("alice").await,
        Err(StoreError::Database(_))
    ));
}

pub async fn a_ledger_from_a_newer_squirrel_is_refused<B: Backend>() {
    let f = B::new().await;
    f.set_schema_version(1000).await;
    match f.open_again().await {
        Err(StoreError::Database(message)) => {
            assert!(message.contains(&f.location()), "{message}");
            assert!(message.contains("upgrade squirrel"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Two stores on one file, as two server processes would have, each used
/// by several tasks at once: every write succeeds (no "database is
/// locked"), and each nonce is spent exactly once.
/// (Run it on a multi-threaded runtime.)
pub async fn two_stores_on_one_file_write_concurrently<B: Backend>() {
    let f = B::new().await;
    let stores: Vec<Arc<dyn Store>> = vec![
        Arc::new(f.open_again().await.unwrap()),
        Arc::new(f.open_again().await.unwrap()),
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
