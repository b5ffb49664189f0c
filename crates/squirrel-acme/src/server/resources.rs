//! The JSON objects of RFC 8555 §7.1 as clients see them, with their URLs.
//! Each resource has one URL, built here from the base the client used.

use super::Acme;
use crate::model::{
    AccountRecord, AuthzRecord, ChallengeRecord, ChallengeStatus, OrderRecord, OrderStatus,
};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 in UTC, whole seconds (what the RFC's examples show).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn account_url(base: &str, id: &str) -> String {
    format!("{base}/acme/acct/{id}")
}
pub(crate) fn order_url(base: &str, id: &str) -> String {
    format!("{base}/acme/order/{id}")
}
pub(crate) fn finalize_url(base: &str, id: &str) -> String {
    format!("{base}/acme/order/{id}/finalize")
}
pub(crate) fn authz_url(base: &str, id: &str) -> String {
    format!("{base}/acme/authz/{id}")
}
pub(crate) fn challenge_url(base: &str, id: &str) -> String {
    format!("{base}/acme/chall/{id}")
}
pub(crate) fn certificate_url(base: &str, serial: &str) -> String {
    format!("{base}/acme/cert/{serial}")
}
pub(crate) fn endpoint(base: &str, name: &str) -> String {
    format!("{base}/acme/{name}")
}

/// The directory (RFC 8555 §7.1.1), with ARI's `renewalInfo` (RFC 9773).
pub(crate) fn directory(acme: &Acme, base: &str) -> super::Reply {
    let mut meta = Map::new();
    if let Some(tos) = &acme.options.terms_of_service {
        meta.insert("termsOfService".into(), json!(tos));
    }
    meta.insert("website".into(), json!(format!("{base}/")));
    meta.insert(
        "externalAccountRequired".into(),
        json!(acme.options.require_eab),
    );
    super::Reply::json(
        200,
        &json!({
            "newNonce": endpoint(base, "new-nonce"),
            "newAccount": endpoint(base, "new-account"),
            "newOrder": endpoint(base, "new-order"),
            "revokeCert": endpoint(base, "revoke-cert"),
            "keyChange": endpoint(base, "key-change"),
            "renewalInfo": endpoint(base, "renewal-info"),
            "meta": meta,
        }),
    )
}

/// What a person opening the server's root in a browser reads.
pub(crate) fn welcome(base: &str) -> String {
    format!(
        "squirrel's ACME server (RFC 8555).\n\nPoint an ACME client at {base}/acme/directory, e.g.\n  \
         certbot certonly --standalone --server {base}/acme/directory -d my-site.test\n\
         with the CA certificate trusted (REQUESTS_CA_BUNDLE=ca.pem for certbot, \
         LEGO_CA_CERTIFICATES=ca.pem for lego).\n"
    )
}

/// An account object (RFC 8555 §7.1.2).
pub(crate) fn account(base: &str, account: &AccountRecord) -> Value {
    json!({
        "status": account.status,
        "contact": account.contact,
        "termsOfServiceAgreed": account.terms_agreed,
        "orders": format!("{}/orders", account_url(base, &account.id)),
        "createdAt": rfc3339(account.created_at),
    })
}

/// An order object (RFC 8555 §7.1.3).
pub(crate) fn order(base: &str, order: &OrderRecord) -> Value {
    let mut value = json!({
        "status": order.status,
        "expires": rfc3339(order.expires),
        "identifiers": order.identifiers,
        "authorizations": order.authz_ids.iter().map(|id| authz_url(base, id)).collect::<Vec<_>>(),
        "finalize": finalize_url(base, &order.id),
    });
    if let Some(t) = order.not_before {
        value["notBefore"] = json!(rfc3339(t));
    }
    if let Some(t) = order.not_after {
        value["notAfter"] = json!(rfc3339(t));
    }
    if let Some(error) = &order.error {
        value["error"] = error.clone();
    }
    if let (OrderStatus::Valid, Some(serial)) = (order.status, &order.certificate_serial) {
        value["certificate"] = json!(certificate_url(base, serial));
    }
    if let Some(replaces) = &order.replaces {
        value["replaces"] = json!(replaces);
    }
    value
}

/// An authorization object (RFC 8555 §7.1.4). A valid authorization shows
/// only the challenge that validated it (§7.1.4: "the challenges ... that
/// the client can fulfill"; Boulder and Pebble do the same).
pub(crate) fn authorization(base: &str, authz: &AuthzRecord) -> Value {
    let shown: Vec<&ChallengeRecord> = match authz
        .challenges
        .iter()
        .find(|c| c.status == ChallengeStatus::Valid)
    {
        Some(valid) => vec![valid],
        None => authz.challenges.iter().collect(),
    };
    let mut value = json!({
        "identifier": authz.identifier,
        "status": authz.status,
        "expires": rfc3339(authz.expires),
        "challenges": shown.iter().map(|c| challenge(base, c)).collect::<Vec<_>>(),
    });
    if authz.wildcard {
        value["wildcard"] = json!(true);
    }
    value
}

/// A challenge object (RFC 8555 §7.1.5, §8).
pub(crate) fn challenge(base: &str, challenge: &ChallengeRecord) -> Value {
    let mut value = json!({
        "type": challenge.kind,
        "url": challenge_url(base, &challenge.id),
        "status": challenge.status,
        "token": challenge.token,
    });
    if let Some(t) = challenge.validated {
        value["validated"] = json!(rfc3339(t));
    }
    if let Some(error) = &challenge.error {
        value["error"] = error.clone();
    }
    value
}
