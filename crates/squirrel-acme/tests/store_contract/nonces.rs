//! Nonces (RFC 8555 §6.5): spent once, forgotten once expired, and the
//! spend that brings the account a `kid` request names.

use super::{account, Backend};
use squirrel_acme::model::AccountStatus;
use squirrel_acme::store::Store;
use time::{Duration, OffsetDateTime};

pub async fn a_nonce_is_spent_once_and_the_key_is_shared<B: Backend>() {
    let f = B::new().await;
    let s = f.store();
    let soon = OffsetDateTime::now_utc() + Duration::minutes(5);
    assert!(s.spend_nonce("n1", soon).await.unwrap());
    assert!(!s.spend_nonce("n1", soon).await.unwrap(), "single use");
    assert!(s.spend_nonce("n2", soon).await.unwrap());
    assert_eq!(f.count("nonces").await, 2);
    let key = s.nonce_key().await.unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(s.nonce_key().await.unwrap(), key, "made once");
    let other = f.open_again().await.unwrap();
    assert_eq!(
        other.nonce_key().await.unwrap(),
        key,
        "shared by every server"
    );
}

pub async fn spent_nonces_are_forgotten_once_they_expire<B: Backend>() {
    let f = B::new().await;
    let past = OffsetDateTime::now_utc() - Duration::minutes(1);
    let future = OffsetDateTime::now_utc() + Duration::hours(1);
    for i in 0..64 {
        f.store()
            .spend_nonce(&format!("old{i}"), past)
            .await
            .unwrap();
    }
    f.store().spend_nonce("fresh", future).await.unwrap();
    assert_eq!(
        f.count("nonces").await,
        1,
        "the 64 expired ones were purged"
    );
    assert!(!f.store().spend_nonce("fresh", future).await.unwrap());
}

/// `spend_nonce_then_find_account`: the account comes with a fresh nonce
/// only, as the store has it after the spend (its status too), and a
/// nonce is spent once whether or not an account was asked for.
pub async fn a_spent_nonce_brings_the_account_only_when_fresh<B: Backend>() {
    let f = B::new().await;
    let s = f.store();
    let soon = OffsetDateTime::now_utc() + Duration::minutes(5);
    s.create_account(&account("acct-1", "thumb-1"))
        .await
        .unwrap();

    let (fresh, found) = s
        .spend_nonce_then_find_account("n1", soon, Some("acct-1"))
        .await
        .unwrap();
    assert!(fresh);
    assert_eq!(found, Some(account("acct-1", "thumb-1")));

    let (fresh, found) = s
        .spend_nonce_then_find_account("n1", soon, Some("acct-1"))
        .await
        .unwrap();
    assert!(!fresh, "single use");
    assert_eq!(found, None, "no account for a spent nonce");

    let (fresh, found) = s
        .spend_nonce_then_find_account("n2", soon, Some("acct-unknown"))
        .await
        .unwrap();
    assert_eq!((fresh, found), (true, None));

    let (fresh, found) = s
        .spend_nonce_then_find_account("n3", soon, None)
        .await
        .unwrap();
    assert_eq!((fresh, found), (true, None));
    assert!(!s.spend_nonce("n3", soon).await.unwrap(), "n3 was spent");

    let mut deactivated = account("acct-1", "thumb-1");
    deactivated.status = AccountStatus::Deactivated;
    s.update_account(&deactivated).await.unwrap();
    let (_, found) = s
        .spend_nonce_then_find_account("n4", soon, Some("acct-1"))
        .await
        .unwrap();
    assert_eq!(found.map(|a| a.status), Some(AccountStatus::Deactivated));
    assert_eq!(f.count("nonces").await, 4);
}
