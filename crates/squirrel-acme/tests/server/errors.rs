//! Bad requests, each with the problem type RFC 8555 gives it, a fresh
//! nonce, and no side effect.

use crate::harness::{Client, Server, BASE};
use bytes::Bytes;
use hyper::Method;
use serde_json::json;
use squirrel_acme::server::policy::AllowedName;
use squirrel_acme::server::{AcmeOptions, Policy};
use squirrel_acme::test_util::sign_jwk;

fn server() -> Server {
    Server::start(AcmeOptions::default())
}

#[tokio::test]
async fn directory_and_nonces() {
    let server = server();
    let reply = server.raw(Method::GET, "/acme/directory", None, None).await;
    assert_eq!(reply.status, 200);
    let directory = reply.json();
    for (field, path) in [
        ("newNonce", "new-nonce"),
        ("newAccount", "new-account"),
        ("newOrder", "new-order"),
        ("revokeCert", "revoke-cert"),
        ("keyChange", "key-change"),
    ] {
        assert_eq!(directory[field], format!("{BASE}/acme/{path}"));
    }
    assert_eq!(directory["meta"]["externalAccountRequired"], false);
    assert!(
        reply.header("replay-nonce").is_some(),
        "every response has a nonce"
    );
    let get = server.raw(Method::GET, "/acme/new-nonce", None, None).await;
    assert_eq!(get.status, 204);
    assert_eq!(get.header("cache-control").as_deref(), Some("no-store"));
    let head = server
        .raw(Method::HEAD, "/acme/new-nonce", None, None)
        .await;
    assert_eq!(head.status, 200);
    assert_ne!(get.header("replay-nonce"), head.header("replay-nonce"));
    assert!(head
        .header("link")
        .unwrap()
        .contains(&format!("<{BASE}/acme/directory>;rel=\"index\"")));
    // A resource read with POST-as-GET is not a GET.
    let reply = server.raw(Method::GET, "/acme/new-order", None, None).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.problem(), "malformed");
    assert_eq!(
        server.raw(Method::GET, "/nope", None, None).await.status,
        404
    );
}

#[tokio::test]
async fn nonces_are_single_use_and_unknown_ones_refused() {
    let server = server();
    let mut client = Client::new(&server);
    let url = Client::url("new-account");
    let nonce = server.nonce().await;
    let body = sign_jwk(&client.key, &nonce, &url, b"{}");
    assert_eq!(server.post_body(&url, body.clone()).await.status, 201);
    // The same request again: its nonce is spent.
    let reply = server.post_body(&url, body).await;
    assert_eq!(reply.problem(), "badNonce");
    assert_eq!(reply.status, 400);
    assert!(
        reply.header("replay-nonce").is_some(),
        "a client retries with this one"
    );
    let body = sign_jwk(&client.key, "bm90LWEtbm9uY2U", &url, b"{}");
    assert_eq!(server.post_body(&url, body).await.problem(), "badNonce");
    // The account exists once.
    assert_eq!(client.register(json!({})).await.status, 200);
}

#[tokio::test]
async fn malformed_requests() {
    let server = server();
    let client = Client::new(&server).account().await;
    let url = Client::url("new-order");
    let kid = client.kid.clone().unwrap();
    let order = json!({"identifiers": [{"type": "dns", "value": "my-site.test"}]}).to_string();

    // Not JSON at all.
    let reply = server.post_body(&url, "{not json".into()).await;
    assert_eq!(reply.problem(), "malformed");
    // Signed for another URL.
    let header = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": Client::url("new-account")});
    let reply = client
        .post_with_header(&url, header, order.as_bytes())
        .await;
    assert_eq!(reply.problem(), "unauthorized");
    // An account nobody registered.
    let header = json!({"alg": "ES256", "kid": format!("{BASE}/acme/acct/nobody"), "nonce": server.nonce().await, "url": url});
    let reply = client
        .post_with_header(&url, header, order.as_bytes())
        .await;
    assert_eq!(reply.problem(), "accountDoesNotExist");
    // Both jwk and kid.
    let header = json!({"alg": "ES256", "kid": kid, "jwk": client.key.jwk_json(), "nonce": server.nonce().await, "url": url});
    let reply = client
        .post_with_header(&url, header, order.as_bytes())
        .await;
    assert_eq!(reply.problem(), "malformed");
    // An algorithm ACME does not allow.
    let header = json!({"alg": "HS256", "kid": kid, "nonce": server.nonce().await, "url": url});
    let reply = client
        .post_with_header(&url, header, order.as_bytes())
        .await;
    assert_eq!(reply.problem(), "badSignatureAlgorithm");
    assert!(reply.json()["algorithms"]
        .as_array()
        .unwrap()
        .contains(&json!("ES256")));
    // A kid where the key must be embedded.
    let header = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": Client::url("new-account")});
    let reply = client
        .post_with_header(&Client::url("new-account"), header, b"{}")
        .await;
    assert_eq!(reply.problem(), "malformed");
    // Wrong content type.
    let reply = server
        .raw(
            Method::POST,
            "/acme/new-order",
            Some("application/json"),
            Some(Bytes::from("{}")),
        )
        .await;
    assert_eq!(reply.status, 415);
    assert_eq!(reply.problem(), "malformed");
    // A body over 64 KiB (the transport hands it over as None).
    let reply = server
        .raw(
            Method::POST,
            "/acme/new-order",
            Some("application/jose+json"),
            None,
        )
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.problem(), "malformed");
    // Orders that make no sense.
    let reply = client.post(&url, Some(json!({"identifiers": []}))).await;
    assert_eq!(reply.problem(), "malformed");
    let reply = client
        .post(
            &url,
            Some(json!({"identifiers": [{"type": "email", "value": "a@b.test"}]})),
        )
        .await;
    assert_eq!(reply.problem(), "unsupportedIdentifier");
    let reply = client
        .post(
            &url,
            Some(json!({"identifiers": [{"type": "dns", "value": "not a name"}]})),
        )
        .await;
    assert_eq!(reply.problem(), "rejectedIdentifier");
}

#[tokio::test]
async fn names_outside_policy_are_rejected_identifiers() {
    let options = AcmeOptions {
        policy: Policy {
            allowed: vec!["my-club.test".parse::<AllowedName>().unwrap()],
            ..Policy::default()
        },
        ..AcmeOptions::default()
    };
    let server = Server::start(options);
    let client = Client::new(&server).account().await;
    assert_eq!(client.new_order(&["www.my-club.test"]).await.status, 201);
    let reply = client
        .new_order(&["www.my-club.test", "evil.test", "10.0.0.1"])
        .await;
    assert_eq!(reply.problem(), "rejectedIdentifier");
    let problem = reply.json();
    let refused: Vec<&str> = problem["subproblems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["identifier"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["evil.test", "10.0.0.1"]);
    // A wildcard is offered dns-01 only.
    let reply = client.new_order(&["*.my-club.test"]).await;
    let authz_url = reply.json()["authorizations"][0]
        .as_str()
        .unwrap()
        .to_string();
    let authz = client.post(&authz_url, None).await.json();
    assert_eq!(authz["wildcard"], true);
    assert_eq!(authz["identifier"]["value"], "my-club.test");
    let kinds: Vec<&str> = authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["dns-01"]);
}

#[tokio::test]
async fn external_account_binding_makes_a_members_only_ca() {
    let server = Server::start(AcmeOptions {
        require_eab: true,
        ..AcmeOptions::default()
    });
    let directory = server
        .raw(Method::GET, "/acme/directory", None, None)
        .await
        .json();
    assert_eq!(directory["meta"]["externalAccountRequired"], true);
    let mut stranger = Client::new(&server);
    let reply = stranger
        .register(json!({"termsOfServiceAgreed": true}))
        .await;
    assert_eq!(reply.problem(), "externalAccountRequired");
    assert_eq!(reply.status, 403);

    let key = squirrel_acme::eab::new_key("alice");
    server.acme.store().add_eab_key(&key).await.unwrap();
    let mut alice = Client::new(&server);
    let binding = squirrel_acme::test_util::eab_binding(
        &key.kid,
        &key.hmac_key,
        &alice.key,
        &Client::url("new-account"),
    );
    let reply = alice
        .register(json!({"termsOfServiceAgreed": true, "externalAccountBinding": binding}))
        .await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    // The key binds one account only.
    let mut bob = Client::new(&server);
    let binding = squirrel_acme::test_util::eab_binding(
        &key.kid,
        &key.hmac_key,
        &bob.key,
        &Client::url("new-account"),
    );
    let reply = bob
        .register(json!({"termsOfServiceAgreed": true, "externalAccountBinding": binding}))
        .await;
    assert_eq!(reply.problem(), "unauthorized");
    // A wrong HMAC key.
    let other = squirrel_acme::eab::new_key("carol");
    server.acme.store().add_eab_key(&other).await.unwrap();
    let binding = squirrel_acme::test_util::eab_binding(
        &other.kid,
        b"not the key",
        &bob.key,
        &Client::url("new-account"),
    );
    let reply = bob
        .register(json!({"termsOfServiceAgreed": true, "externalAccountBinding": binding}))
        .await;
    assert_eq!(reply.problem(), "unauthorized");
}

#[tokio::test]
async fn a_deactivated_account_can_do_nothing_more() {
    let server = server();
    let client = Client::new(&server).account().await;
    let kid = client.kid.clone().unwrap();
    let reply = client
        .post(&kid, Some(json!({"status": "deactivated"})))
        .await;
    assert_eq!(reply.json()["status"], "deactivated");
    assert_eq!(
        client.new_order(&["my-site.test"]).await.problem(),
        "unauthorized"
    );
}

#[tokio::test]
async fn contacts_must_be_mail_addresses() {
    let server = server();
    let mut client = Client::new(&server);
    let reply = client
        .register(json!({"contact": ["tel:+33123456789"]}))
        .await;
    assert_eq!(reply.problem(), "unsupportedContact");
    let reply = client
        .register(json!({"contact": ["mailto:not-an-address"]}))
        .await;
    assert_eq!(reply.problem(), "invalidContact");
    let reply = client
        .register(json!({"contact": ["mailto:leader@my-club.test"]}))
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json()["contact"][0], "mailto:leader@my-club.test");
}

#[tokio::test]
async fn every_nth_nonce_is_refused_when_asked_and_the_retry_succeeds() {
    let server = Server::start(AcmeOptions {
        reject_every_nth_nonce: Some(2),
        ..AcmeOptions::default()
    });
    let mut client = Client::new(&server);
    assert_eq!(client.register(json!({})).await.status, 201);
    let kid = client.kid.clone().unwrap();
    // The second good nonce is refused; the third (the retry) is taken.
    assert_eq!(client.post(&kid, None).await.problem(), "badNonce");
    assert_eq!(client.post(&kid, None).await.status, 200);
}
