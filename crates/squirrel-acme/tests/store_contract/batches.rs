//! Many writes at once: what one request writes must not depend on the
//! others that reach the database at the same moment (SQLite's writer
//! commits them together, and runs a batch again with one savepoint per
//! write when one fails; PostgreSQL runs them on a pool of connections).

use super::{account, is_conflict, t0, Backend};
use squirrel_acme::store::Store;
use std::sync::Arc;
use time::Duration;

/// 200 requests at once, each creating an account and spending a nonce;
/// every fifth account names an EAB key that does not exist, so its row is
/// inserted and then the binding fails: that account is undone alone, and
/// every other write is kept and answered as if it had been alone.
pub async fn a_failed_write_leaves_the_writes_beside_it_alone<B: Backend>() {
    let b = B::new().await;
    let store = Arc::new(b.open_again().await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
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
    for i in 0..200 {
        let found = b.store().account(&format!("acct-{i}")).await.unwrap();
        assert_eq!(found.is_some(), i % 5 != 0, "account acct-{i}");
    }
    assert_eq!(b.count("accounts").await, 160);
    assert_eq!(b.count("nonces").await, 200);
}
