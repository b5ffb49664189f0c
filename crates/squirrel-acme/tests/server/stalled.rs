//! A replica killed in the middle of a validation or a signing leaves its
//! challenge or order `processing`; another server on the same database
//! takes it over (`Acme::watch_stalled`) once it has seen it so in two
//! checks in a row, without a restart, so that the client polling through
//! that other replica gets its certificate.

use crate::flow::{options_for, order_left_validating, server_and_responder, wait_authz};
use crate::harness::{csr, Client};
use squirrel_acme::model::OrderStatus;
use squirrel_pki::ledger::Ledger;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_replica_takes_over_what_a_dead_one_left_processing() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    // The dead replica had started validating the http-01 challenge.
    let (order_url, authz_url) = order_left_validating(&server, &client, &responder).await;
    let (key, kid) = (client.key, client.kid);

    // Another server on the same database, checking every 200 ms.
    let every = Duration::from_millis(200);
    let mut options = options_for(&responder);
    options.stalled_after = every;
    let server = server.restart(options);
    let started = Instant::now();
    let _watch = server.acme.watch_stalled();
    let client = Client {
        server: &server,
        key,
        kid,
    };
    assert_eq!(wait_authz(&client, &authz_url).await["status"], "valid");
    assert!(
        started.elapsed() >= every * 2,
        "taken over after {:?}: before it was seen in two checks",
        started.elapsed()
    );

    // The dead replica had claimed the order (its CSR stored) and died
    // before it signed.
    let order_id = order_url.rsplit('/').next().unwrap();
    let store = server.acme.store();
    let mut order = store.order(order_id).await.unwrap().unwrap();
    order.status = OrderStatus::Processing;
    order.csr_der = Some(csr(&["my-site.test"]));
    store.update_order(&order).await.unwrap();
    let mut order = client.post(&order_url, None).await.json();
    for _ in 0..250 {
        if order["status"] != "processing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        order = client.post(&order_url, None).await.json();
    }
    assert_eq!(order["status"], "valid", "{order}");
    let chain = client
        .post(order["certificate"].as_str().unwrap(), None)
        .await;
    assert_eq!(chain.status, 200);
    assert!(String::from_utf8_lossy(&chain.body).contains("BEGIN CERTIFICATE"));
}

/// A replica that takes over an order while the one that claimed it is
/// still signing (a slow replica, not a dead one): both sign, the first
/// certificate recorded is the order's, and the second is never recorded
/// nor delivered; both servers answer with the same valid order.
#[tokio::test]
async fn two_servers_signing_one_order_deliver_one_certificate() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let (order_url, authz_url) = order_left_validating(&server, &client, &responder).await;
    let (key, kid) = (client.key, client.kid);
    let server = server.restart(options_for(&responder));
    assert_eq!(server.acme.resume().await.unwrap(), 1);
    let client = Client {
        server: &server,
        key,
        kid,
    };
    assert_eq!(wait_authz(&client, &authz_url).await["status"], "valid");
    let order_id = order_url.rsplit('/').next().unwrap();
    let store = server.acme.store();
    let mut order = store.order(order_id).await.unwrap().unwrap();
    order.status = OrderStatus::Processing;
    order.csr_der = Some(csr(&["my-site.test"]));
    store.update_order(&order).await.unwrap();

    // Both servers read the order as processing and sign it while the
    // ledger's write lock is held here, so neither records before the
    // other has signed.
    let replica = server.replica(options_for(&responder));
    let lock = rusqlite::Connection::open(&server.files.ledger).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let both = tokio::spawn({
        let (acme, replica) = (server.acme.clone(), replica.clone());
        async move { tokio::join!(acme.resume(), replica.resume()) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.execute_batch("COMMIT").unwrap();
    let (here, there) = both.await.unwrap();
    assert_eq!((here.unwrap(), there.unwrap()), (1, 1), "both signed it");
    let listed = Ledger::open(&server.files.ledger).unwrap().list().unwrap();
    assert_eq!(listed.len(), 1, "one certificate recorded: {listed:?}");
    for store in [store, replica.store()] {
        let order = store.order(order_id).await.unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::Valid);
        assert_eq!(order.certificate_serial, Some(listed[0].serial.clone()));
    }
    let order = client.post(&order_url, None).await.json();
    assert_eq!(order["status"], "valid", "{order}");
}
