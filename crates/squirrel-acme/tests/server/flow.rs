//! Orders from new-order to a certificate in the ledger, and what follows:
//! download, revocation, renewal information, key rollover.

use crate::harness::{b64, csr, csr_with, Client, Server};
use crate::responder::Responder;
use serde_json::{json, Value};
use squirrel_acme::server::AcmeOptions;
use squirrel_acme::test_util::{sign_jwk, sign_with_header, TestKey};
use squirrel_acme::validate::ValidationConfig;
use squirrel_acme::Algorithm;
use squirrel_pki::ledger::{Ledger, Status};
use std::collections::HashMap;
use std::time::Duration;

pub(crate) async fn server_and_responder() -> (Server, Responder) {
    let responder = Responder::start().await;
    let options = options_for(&responder);
    (Server::start(options), responder)
}

pub(crate) fn options_for(responder: &Responder) -> AcmeOptions {
    let loopback = vec!["127.0.0.1".parse().unwrap()];
    let resolve: HashMap<_, _> = ["my-site.test", "www.my-site.test", "other.test"]
        .iter()
        .map(|n| (n.to_string(), loopback.clone()))
        .collect();
    AcmeOptions {
        validation: ValidationConfig {
            http01_port: responder.port,
            tlsalpn01_port: 9, // discard: nothing answers TLS there
            resolve,
            timeout: Duration::from_secs(5),
            ..ValidationConfig::default()
        },
        ..AcmeOptions::default()
    }
}

/// Answers the http-01 challenge of every authorization of `order` and
/// waits until none is pending; returns the final authorizations.
async fn authorize(
    client: &Client<'_>,
    responder: &Responder,
    order: &Value,
    right: bool,
) -> Vec<Value> {
    let thumbprint = client.key.jwk().thumbprint();
    let mut done = Vec::new();
    for authz_url in order["authorizations"].as_array().unwrap() {
        let authz = client.post(authz_url.as_str().unwrap(), None).await.json();
        let challenge = authz["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "http-01")
            .expect("an http-01 challenge")
            .clone();
        let token = challenge["token"].as_str().unwrap();
        let answer = if right {
            format!("{token}.{thumbprint}")
        } else {
            format!("{token}.wrong")
        };
        responder.answer(token, &answer);
        let reply = client
            .post(challenge["url"].as_str().unwrap(), Some(json!({})))
            .await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(reply
            .header("link")
            .unwrap_or_default()
            .contains("rel=\"up\""));
        // A validation on loopback takes milliseconds: the reply waits for
        // it and shows the challenge as validated.
        let outcome = if right { "valid" } else { "invalid" };
        assert_eq!(reply.json()["status"], outcome, "{}", reply.json());
        done.push(wait_authz(client, authz_url.as_str().unwrap()).await);
    }
    done
}

pub(crate) async fn wait_authz(client: &Client<'_>, url: &str) -> Value {
    for _ in 0..500 {
        let authz = client.post(url, None).await.json();
        if authz["status"] != "pending" {
            return authz;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the authorization {url} stayed pending");
}

/// An order for `names`, authorized, finalized with a fresh key: returns
/// the final order.
async fn issue(client: &Client<'_>, responder: &Responder, names: &[&str]) -> Value {
    let reply = client.new_order(names).await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let order_url = reply.header("location").unwrap();
    let order = reply.json();
    authorize(client, responder, &order, true).await;
    let order = client.post(&order_url, None).await.json();
    assert_eq!(order["status"], "ready");
    let reply = client
        .post(
            order["finalize"].as_str().unwrap(),
            Some(json!({"csr": b64(&csr(names))})),
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let order = reply.json();
    assert_eq!(order["status"], "valid");
    order
}

#[tokio::test]
async fn an_order_becomes_a_certificate_in_the_ledger() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let order = issue(&client, &responder, &["my-site.test", "www.my-site.test"]).await;

    let cert_url = order["certificate"].as_str().unwrap();
    let reply = client.post(cert_url, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/pem-certificate-chain")
    );
    let chain = pem::parse_many(&reply.body).unwrap();
    assert_eq!(chain.len(), 2, "leaf then CA");
    let ca_pem = std::fs::read(&server.files.cert).unwrap();
    assert_eq!(chain[1].contents(), pem::parse(ca_pem).unwrap().contents());

    // The ledger has it, with the account that ordered it.
    let ledger = Ledger::open(&server.files.ledger).unwrap();
    let entries = ledger.list().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].alt_names, ["my-site.test", "www.my-site.test"]);
    let account_id = client.kid.as_deref().unwrap().rsplit('/').next().unwrap();
    assert_eq!(entries[0].account.as_deref(), Some(account_id));

    // Someone else's account cannot download it.
    let other = Client::new(&server).account().await;
    assert_eq!(other.post(cert_url, None).await.problem(), "unauthorized");

    // The account's order list has it.
    let orders = client
        .post(&format!("{}/orders", client.kid.as_deref().unwrap()), None)
        .await
        .json();
    assert_eq!(orders["orders"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_valid_authorization_is_reused_by_the_next_order() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    issue(&client, &responder, &["my-site.test"]).await;
    let reply = client.new_order(&["my-site.test"]).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json()["status"], "ready", "no new challenge needed");
}

#[tokio::test]
async fn a_wrong_answer_invalidates_the_authorization_and_the_order() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let reply = client.new_order(&["my-site.test"]).await;
    let order_url = reply.header("location").unwrap();
    let authzs = authorize(&client, &responder, &reply.json(), false).await;
    assert_eq!(authzs[0]["status"], "invalid");
    let challenge = &authzs[0]["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "http-01")
        .unwrap()
        .clone();
    assert_eq!(challenge["status"], "invalid");
    assert_eq!(
        challenge["error"]["type"],
        "urn:ietf:params:acme:error:unauthorized"
    );
    let order = client.post(&order_url, None).await.json();
    assert_eq!(order["status"], "invalid");
    assert!(order["error"]["detail"]
        .as_str()
        .unwrap()
        .contains("my-site.test"));
    // Finalizing it is refused, and no certificate is issued.
    let reply = client
        .post(
            order["finalize"].as_str().unwrap(),
            Some(json!({"csr": b64(&csr(&["my-site.test"]))})),
        )
        .await;
    assert_eq!(reply.problem(), "orderNotReady");
    assert!(Ledger::open(&server.files.ledger)
        .unwrap()
        .list()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_validation_target_that_does_not_answer_is_a_connection_error() {
    let (server, _responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let reply = client.new_order(&["my-site.test"]).await;
    let authz_url = reply.json()["authorizations"][0]
        .as_str()
        .unwrap()
        .to_string();
    let authz = client.post(&authz_url, None).await.json();
    let tls = authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "tls-alpn-01")
        .unwrap()
        .clone();
    client
        .post(tls["url"].as_str().unwrap(), Some(json!({})))
        .await;
    let authz = wait_authz(&client, &authz_url).await;
    let tls = authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "tls-alpn-01")
        .unwrap()
        .clone();
    assert_eq!(
        tls["error"]["type"], "urn:ietf:params:acme:error:connection",
        "{tls}"
    );
}

#[tokio::test]
async fn csrs_outside_the_order_are_refused_without_a_certificate() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let reply = client.new_order(&["my-site.test"]).await;
    let order_url = reply.header("location").unwrap();
    authorize(&client, &responder, &reply.json(), true).await;
    let finalize = format!("{order_url}/finalize");
    let refuse = |csr: Vec<u8>| {
        let finalize = finalize.clone();
        let client = &client;
        async move {
            client
                .post(&finalize, Some(json!({"csr": b64(&csr)})))
                .await
        }
    };
    // An extra name.
    assert_eq!(
        refuse(csr(&["my-site.test", "other.test"])).await.problem(),
        "badCSR"
    );
    // A missing name.
    assert_eq!(refuse(csr(&["www.my-site.test"])).await.problem(), "badCSR");
    // CA:TRUE.
    let key = rcgen::KeyPair::generate().unwrap();
    let ca = csr_with(&["my-site.test"], &key, |p| {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained)
    });
    assert_eq!(refuse(ca).await.problem(), "badCSR");
    // Not base64url DER.
    let reply = client
        .post(&finalize, Some(json!({"csr": "not a csr!"})))
        .await;
    assert_eq!(reply.problem(), "badCSR");
    // Nothing was issued, and the order is still ready for a good CSR.
    assert!(Ledger::open(&server.files.ledger)
        .unwrap()
        .list()
        .unwrap()
        .is_empty());
    assert_eq!(
        client.post(&order_url, None).await.json()["status"],
        "ready"
    );
    let reply = refuse(csr(&["my-site.test"])).await;
    assert_eq!(reply.json()["status"], "valid");
}

#[tokio::test]
async fn revocation_by_the_account_and_by_the_certificate_key() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let order = issue(&client, &responder, &["my-site.test"]).await;
    let chain = client
        .post(order["certificate"].as_str().unwrap(), None)
        .await
        .body;
    let leaf = pem::parse_many(&chain).unwrap()[0].contents().to_vec();
    let revoke = Client::url("revoke-cert");

    // Another account may not.
    let other = Client::new(&server).account().await;
    let reply = other
        .post(
            &revoke,
            Some(json!({"certificate": b64(&leaf), "reason": 1})),
        )
        .await;
    assert_eq!(reply.problem(), "unauthorized");
    // A reason outside RFC 5280's list.
    let reply = client
        .post(
            &revoke,
            Some(json!({"certificate": b64(&leaf), "reason": 7})),
        )
        .await;
    assert_eq!(reply.problem(), "badRevocationReason");
    // The owner may, once.
    let reply = client
        .post(
            &revoke,
            Some(json!({"certificate": b64(&leaf), "reason": 1})),
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let reply = client
        .post(&revoke, Some(json!({"certificate": b64(&leaf)})))
        .await;
    assert_eq!(reply.problem(), "alreadyRevoked");
    let ledger = Ledger::open(&server.files.ledger).unwrap();
    let revoked = ledger.revoked().unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].status, Status::Revoked);
    assert_eq!(
        revoked[0].revocation_reason.as_deref(),
        Some("keyCompromise")
    );
}

#[tokio::test]
async fn revocation_signed_by_the_certificate_key() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    // The certificate's key is a TestKey, so that it can sign a JWS.
    let cert_key = TestKey::generate(Algorithm::Es256);
    let reply = client.new_order(&["my-site.test"]).await;
    let order_url = reply.header("location").unwrap();
    authorize(&client, &responder, &reply.json(), true).await;
    let key_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", cert_key.pkcs8_der()));
    let key = rcgen::KeyPair::from_pem(&key_pem).unwrap();
    let csr = csr_with(&["my-site.test"], &key, |_| {});
    let order = client
        .post(
            &format!("{order_url}/finalize"),
            Some(json!({"csr": b64(&csr)})),
        )
        .await
        .json();
    let chain = client
        .post(order["certificate"].as_str().unwrap(), None)
        .await
        .body;
    let leaf = pem::parse_many(&chain).unwrap()[0].contents().to_vec();

    let url = Client::url("revoke-cert");
    let payload = json!({"certificate": b64(&leaf), "reason": 4}).to_string();
    // Signed by an unrelated key: refused.
    let stranger = TestKey::generate(Algorithm::Es256);
    let body = sign_jwk(&stranger, &server.nonce().await, &url, payload.as_bytes());
    assert_eq!(server.post_body(&url, body).await.problem(), "unauthorized");
    // Signed by the certificate's key: accepted.
    let body = sign_jwk(&cert_key, &server.nonce().await, &url, payload.as_bytes());
    let reply = server.post_body(&url, body).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

#[tokio::test]
async fn renewal_information_suggests_two_thirds_of_the_lifetime() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let order = issue(&client, &responder, &["my-site.test"]).await;
    let chain = client
        .post(order["certificate"].as_str().unwrap(), None)
        .await
        .body;
    let leaf = pem::parse_many(&chain).unwrap()[0].contents().to_vec();
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&leaf).unwrap();
    let aki = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .unwrap();
    let cert_id = format!("{}.{}", b64(&aki), b64(cert.raw_serial()));
    let directory = server
        .raw(hyper::Method::GET, "/acme/directory", None, None)
        .await
        .json();
    assert_eq!(
        directory["renewalInfo"],
        format!("{}/acme/renewal-info", crate::harness::BASE)
    );
    let reply = server
        .raw(
            hyper::Method::GET,
            &format!("/acme/renewal-info/{cert_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.header("retry-after").is_some());
    let window = reply.json()["suggestedWindow"].clone();
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(
            v.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let (start, end) = (parse(&window["start"]), parse(&window["end"]));
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    // From the signing, not from the backdated notBefore.
    let signed = not_before + squirrel_pki::sign::BACKDATE;
    let two_thirds = signed + (not_after - signed) * 2 / 3;
    let off: time::Duration = start - two_thirds;
    assert!(
        off.abs() < time::Duration::seconds(2),
        "{start} vs {two_thirds}"
    );
    assert!(end > start && end < not_after);
    // A new order may say which certificate it replaces.
    let reply = client
        .post(
            &Client::url("new-order"),
            Some(json!({"identifiers": [{"type": "dns", "value": "my-site.test"}], "replaces": cert_id})),
        )
        .await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["replaces"], cert_id);
    // An unknown id is a 404.
    let reply = server
        .raw(
            hyper::Method::GET,
            "/acme/renewal-info/AAAA.AAAA",
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn key_rollover_moves_the_account_to_the_new_key() {
    let (server, _responder) = server_and_responder().await;
    let mut client = Client::new(&server).account().await;
    let kid = client.kid.clone().unwrap();
    let url = Client::url("key-change");
    let new_key = TestKey::generate(Algorithm::Es384);
    let inner_header = json!({"alg": "ES384", "jwk": new_key.jwk_json(), "url": url});
    let inner_payload = json!({"account": kid, "oldKey": client.key.jwk_json()});
    let inner = sign_with_header(
        &new_key,
        &inner_header,
        inner_payload.to_string().as_bytes(),
    );
    let reply = client
        .post(&url, Some(serde_json::from_str(&inner).unwrap()))
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    // The old key (ES256) no longer works: the account's key is ES384 now.
    assert_eq!(client.post(&kid, None).await.problem(), "badPublicKey");
    client.key = new_key;
    assert_eq!(client.post(&kid, None).await.status, 200);
    // newAccount with the new key finds the same account.
    let reply = client.register(json!({"onlyReturnExisting": true})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("location").as_deref(), Some(kid.as_str()));
}

/// An order for my-site.test whose http-01 challenge is left `processing`
/// (a server stopped in the middle of its validation), with the responder
/// ready to answer it: the order's and authorization's URLs.
pub(crate) async fn order_left_validating(
    server: &Server,
    client: &Client<'_>,
    responder: &Responder,
) -> (String, String) {
    let reply = client.new_order(&["my-site.test"]).await;
    let order_url = reply.header("location").unwrap();
    let authz_url = reply.json()["authorizations"][0]
        .as_str()
        .unwrap()
        .to_string();
    let authz_id = authz_url.rsplit('/').next().unwrap();
    let store = server.acme.store();
    let mut authz = store.authz(authz_id).await.unwrap().unwrap();
    let challenge = authz
        .challenges
        .iter_mut()
        .find(|c| c.kind == squirrel_acme::model::ChallengeType::Http01)
        .unwrap();
    challenge.status = squirrel_acme::model::ChallengeStatus::Processing;
    let token = challenge.token.clone();
    store.update_authz(&authz).await.unwrap();
    responder.answer(
        &token,
        &format!("{token}.{}", client.key.jwk().thumbprint()),
    );
    (order_url, authz_url)
}

#[tokio::test]
async fn a_restart_loses_no_order_and_resumes_validations() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let (order_url, authz_url) = order_left_validating(&server, &client, &responder).await;
    let (key, kid) = (client.key, client.kid);

    let server = server.restart(options_for(&responder));
    assert_eq!(
        server.acme.resume().await.unwrap(),
        1,
        "one validation to resume"
    );
    let client = Client {
        server: &server,
        key,
        kid,
    };
    assert_eq!(wait_authz(&client, &authz_url).await["status"], "valid");
    let order = client.post(&order_url, None).await.json();
    assert_eq!(
        order["status"], "ready",
        "the order survived the restart: {order}"
    );
}

#[tokio::test]
async fn an_ip_address_is_validated_over_http_01_and_certified() {
    let (server, responder) = server_and_responder().await;
    let client = Client::new(&server).account().await;
    let reply = client.new_order(&["127.0.0.1"]).await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let authz_url = reply.json()["authorizations"][0]
        .as_str()
        .unwrap()
        .to_string();
    let authz = client.post(&authz_url, None).await.json();
    assert_eq!(
        authz["identifier"],
        json!({"type": "ip", "value": "127.0.0.1"})
    );
    let kinds: Vec<&str> = authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["http-01", "tls-alpn-01"],
        "no dns-01 for an address (RFC 8738)"
    );
    let order = issue(&client, &responder, &["127.0.0.1"]).await;
    let chain = client
        .post(order["certificate"].as_str().unwrap(), None)
        .await
        .body;
    let ledger = Ledger::open(&server.files.ledger).unwrap();
    assert_eq!(ledger.list().unwrap()[0].alt_names, ["127.0.0.1"]);
    assert!(!chain.is_empty());
}

#[tokio::test]
async fn certificates_last_the_lifetime_the_policy_says() {
    let responder = Responder::start().await;
    let mut options = options_for(&responder);
    options.policy.cert_lifetime = time::Duration::minutes(10);
    let server = Server::start(options);
    let client = Client::new(&server).account().await;
    let order = issue(&client, &responder, &["my-site.test"]).await;
    let chain = client
        .post(order["certificate"].as_str().unwrap(), None)
        .await
        .body;
    let leaf = pem::parse_many(&chain).unwrap()[0].contents().to_vec();
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&leaf).unwrap();
    let left = cert.validity().not_after.to_datetime() - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(9) && left <= time::Duration::minutes(10),
        "{left}"
    );
}
