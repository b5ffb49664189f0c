//! The contract across two stores on one database: what two replicas of a
//! CA must see of each other's writes.

use super::*;

/// Two replicas: an order made through one is validated and finished
/// through the other, and the certificate and its revocation are seen
/// by both at once (no cache in a store hides another's write).
pub async fn an_order_made_on_one_store_is_finished_on_another<B: Backend>() {
    let f = B::new().await;
    let (a, b) = (f.store(), f.open_again().await.unwrap());
    a.create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    let mut o = order("o1", "alice", &["az1"]);
    let mut z = authz("az1", "alice", "www.squirrels.example");
    a.create_order(&o, std::slice::from_ref(&z)).await.unwrap();

    assert_eq!(b.order("o1").await.unwrap(), Some(o.clone()));
    z.status = AuthzStatus::Valid;
    z.challenges[0].status = ChallengeStatus::Valid;
    b.update_authz(&z).await.unwrap();
    assert_eq!(a.authz("az1").await.unwrap(), Some(z));
    o.status = OrderStatus::Processing;
    a.update_order(&o).await.unwrap();
    assert_eq!(b.processing_orders().await.unwrap(), [o.clone()]);
    b.record_certificate(&certificate("5EED", "alice", "o1"), &o)
        .await
        .unwrap();
    let done = a.order("o1").await.unwrap().unwrap();
    assert_eq!(done.status, OrderStatus::Valid);
    assert_eq!(done.certificate_serial.as_deref(), Some("5EED"));
    assert!(a.processing_orders().await.unwrap().is_empty());

    a.revoke_certificate("5EED", "superseded", t0())
        .await
        .unwrap();
    let seen = b.certificate("5eed").await.unwrap().unwrap();
    assert_eq!(seen.entry.status, Status::Revoked);
    is_conflict(b.revoke_certificate("5EED", "superseded", t0()).await);
    let revoked = f.revoked().await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial, "5EED");
}

/// Sixteen finalizations racing to record the same serial, through two
/// stores: exactly one wins, the rest get `Conflict`, and the ledger holds
/// one row. (Run it on a multi-threaded runtime.)
pub async fn a_serial_is_recorded_once_whatever_races<B: Backend>() {
    let f = B::new().await;
    let stores: Vec<Arc<dyn Store>> = vec![
        Arc::new(f.open_again().await.unwrap()),
        Arc::new(f.open_again().await.unwrap()),
    ];
    stores[0]
        .create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut o = order(&format!("o{i}"), "alice", &[]);
            o.status = OrderStatus::Processing;
            store.create_order(&o, &[]).await?;
            let mut cert = certificate("0BAD5EED", "alice", &o.id);
            cert.entry.sha256_fingerprint = format!("FP-{i}");
            store.record_certificate(&cert, &o).await
        }));
    }
    let (mut won, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(m)) if m.contains("serial 0BAD5EED") => refused += 1,
            Err(e) => panic!("neither recorded nor refused as a duplicate: {e:?}"),
        }
    }
    assert_eq!((won, refused), (1, 15));
    assert_eq!(f.count("certificates").await, 1);
    let valid = f
        .count("orders WHERE status = 'valid' AND certificate_serial = '0BAD5EED'")
        .await;
    assert_eq!(valid, 1, "only the winner's order is valid");
}

/// `update_order_if` saves only from the statuses given, and says so;
/// finalization claims an order with it (pending or ready to processing).
pub async fn an_order_is_claimed_only_from_the_statuses_given<B: Backend>() {
    let f = B::new().await;
    let (a, b) = (f.store(), f.open_again().await.unwrap());
    a.create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    let mut o = order("o1", "alice", &[]);
    a.create_order(&o, &[]).await.unwrap();
    let claimable = [OrderStatus::Pending, OrderStatus::Ready];
    o.status = OrderStatus::Processing;
    o.csr_der = Some(vec![0x30, 0x03]);
    assert!(a.update_order_if(&o, &claimable).await.unwrap());
    assert_eq!(b.order("o1").await.unwrap(), Some(o.clone()));
    let mut second = o.clone();
    second.csr_der = Some(vec![0x30, 0x04]);
    assert!(!b.update_order_if(&second, &claimable).await.unwrap());
    assert_eq!(
        a.order("o1").await.unwrap(),
        Some(o),
        "the first claim stands"
    );
    let ghost = order("ghost", "alice", &[]);
    assert!(matches!(
        a.update_order_if(&ghost, &claimable).await,
        Err(StoreError::Database(_))
    ));
}

/// Two replicas signing the same order (one took it up as stalled while
/// the other was still at it): the first certificate recorded wins; the
/// second is refused with `Conflict` and not recorded, and an order that
/// is not `processing` (pending, or already valid) takes no certificate.
pub async fn a_certificate_is_recorded_only_for_a_processing_order<B: Backend>() {
    let f = B::new().await;
    let (a, b) = (f.store(), f.open_again().await.unwrap());
    a.create_account(&account("alice", "thumb-a"))
        .await
        .unwrap();
    let mut o = order("o1", "alice", &[]);
    a.create_order(&o, &[]).await.unwrap();
    let early = is_conflict(
        a.record_certificate(&certificate("01", "alice", "o1"), &o)
            .await,
    );
    assert!(
        early.contains("the order o1 is pending, no longer processing"),
        "{early}"
    );
    o.status = OrderStatus::Processing;
    a.update_order(&o).await.unwrap();
    a.record_certificate(&certificate("0F1257", "alice", "o1"), &o)
        .await
        .unwrap();
    let mut second = certificate("05EC0D", "alice", "o1");
    second.entry.sha256_fingerprint = "FP-second".into();
    let late = is_conflict(b.record_certificate(&second, &o).await);
    assert!(
        late.contains("the order o1 is valid, no longer processing"),
        "{late}"
    );
    assert_eq!(f.count("certificates").await, 1);
    assert_eq!(b.certificate("05EC0D").await.unwrap(), None);
    let stored = b.order("o1").await.unwrap().unwrap();
    assert_eq!(stored.certificate_serial.as_deref(), Some("0F1257"));
}
