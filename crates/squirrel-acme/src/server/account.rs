//! Accounts (RFC 8555 §7.3): creation (with external account binding for
//! a members-only CA), lookup by key, update, deactivation, key rollover.

use super::auth::{authenticate, malformed, Signed, Signer};
use super::reply::Reply;
use super::resources::{self, account_url, endpoint};
use super::{random_id, Acme, AcmeRequest};
use crate::eab::{EabError, ExternalBinding};
use crate::jws::{Jws, KeyRef};
use crate::model::{AccountRecord, AccountStatus};
use crate::problem::{ErrorType, Problem};
use crate::store::StoreError;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;

/// POST /acme/new-account (§7.3, §7.3.1, §7.3.4).
pub(crate) async fn new_account(acme: &Arc<Acme>, req: &AcmeRequest) -> Result<Reply, Problem> {
    let url = endpoint(&req.base, "new-account");
    let signed = authenticate(acme, req, &url, Signer::EmbeddedKey).await?;
    let payload = signed.json()?;
    let thumbprint = signed.key.thumbprint();
    if let Some(existing) = acme.store.account_by_thumbprint(&thumbprint).await? {
        // §7.3.1: the same key again finds its account, 200 and Location.
        return Ok(Reply::json(200, &resources::account(&req.base, &existing))
            .location(account_url(&req.base, &existing.id)));
    }
    if payload.get("onlyReturnExisting").and_then(Value::as_bool) == Some(true) {
        return Err(Problem::new(
            ErrorType::AccountDoesNotExist,
            "no account has this key (onlyReturnExisting was set)",
        ));
    }
    let terms_agreed = payload
        .get("termsOfServiceAgreed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if acme.options.terms_of_service.is_some() && !terms_agreed {
        return Err(Problem::new(
            ErrorType::UserActionRequired,
            "this CA has terms of service: agree to them (termsOfServiceAgreed: true)",
        ));
    }
    let contact = contacts(&payload)?;
    let eab_kid = external_binding(acme, &payload, &signed, &url).await?;
    let account = AccountRecord {
        id: random_id(),
        jwk: signed.key.canonical_json(),
        thumbprint,
        status: AccountStatus::Valid,
        contact,
        terms_agreed,
        eab_kid: eab_kid.clone(),
        created_at: OffsetDateTime::now_utc(),
    };
    match acme.store.create_account(&account).await {
        Ok(()) => {}
        Err(StoreError::Conflict(detail)) if eab_kid.is_some() => {
            return Err(Problem::new(
                ErrorType::Unauthorized,
                format!("the external account binding key cannot be used: {detail}"),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(account = %account.id, eab = ?eab_kid, "new ACME account");
    Ok(Reply::json(201, &resources::account(&req.base, &account))
        .location(account_url(&req.base, &account.id)))
}

/// The `contact` member: `mailto:` URLs with one address each (§7.3).
fn contacts(payload: &Map<String, Value>) -> Result<Vec<String>, Problem> {
    let Some(value) = payload.get("contact") else {
        return Ok(Vec::new());
    };
    let Some(list) = value.as_array() else {
        return Err(malformed("\"contact\" must be an array of URLs"));
    };
    let mut contact = Vec::new();
    for item in list {
        let Some(url) = item.as_str() else {
            return Err(Problem::new(
                ErrorType::InvalidContact,
                "a contact is not a string",
            ));
        };
        let Some(address) = url.strip_prefix("mailto:") else {
            return Err(Problem::new(
                ErrorType::UnsupportedContact,
                format!("{url:?}: only mailto: contacts are supported"),
            ));
        };
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && squirrel_pki::names::is_dns_name(domain)
                && !address.contains([',', '?', ' ', '<', '>'])
        });
        if !valid {
            return Err(Problem::new(
                ErrorType::InvalidContact,
                format!("{url:?} is not one email address (mailto:name@example.com)"),
            ));
        }
        contact.push(url.to_string());
    }
    Ok(contact)
}

/// Checks the external account binding and returns its key id; refuses a
/// registration without one when `--require-eab` is set.
async fn external_binding(
    acme: &Acme,
    payload: &Map<String, Value>,
    signed: &Signed,
    url: &str,
) -> Result<Option<String>, Problem> {
    let Some(binding) = payload.get("externalAccountBinding") else {
        if acme.options.require_eab {
            return Err(Problem::new(
                ErrorType::ExternalAccountRequired,
                "this CA registers only holders of an external account binding key: ask the \
                 CA's operator for one (squirrel pki ca eab add NAME) and pass its key id and \
                 HMAC key to your client (certbot --eab-kid --eab-hmac-key; lego --eab --kid \
                 --hmac)",
            ));
        }
        return Ok(None);
    };
    let binding = ExternalBinding::parse(binding)?;
    let Some(key) = acme.store.eab_key(&binding.key_id).await? else {
        return Err(EabError::UnknownKeyId(binding.key_id.clone()).into());
    };
    if key.account_id.is_some() {
        return Err(Problem::new(
            ErrorType::Unauthorized,
            format!(
                "the external account binding key {} was already used by another account",
                key.kid
            ),
        ));
    }
    binding.verify(&key.hmac_key, &signed.key, url)?;
    Ok(Some(key.kid))
}

/// POST /acme/acct/{id}: POST-as-GET, contact update, deactivation (§7.3.2,
/// §7.3.3, §7.3.6).
pub(crate) async fn account(
    acme: &Arc<Acme>,
    req: &AcmeRequest,
    id: &str,
) -> Result<Reply, Problem> {
    let url = account_url(&req.base, id);
    let signed = authenticate(acme, req, &url, Signer::Account).await?;
    let mut account = signed.account().clone();
    if account.id != id {
        return Err(Problem::new(
            ErrorType::Unauthorized,
            "an account may only read or change itself",
        ));
    }
    let payload = signed.json()?;
    let mut changed = false;
    if payload.contains_key("contact") {
        account.contact = contacts(&payload)?;
        changed = true;
    }
    if payload.get("termsOfServiceAgreed").and_then(Value::as_bool) == Some(true) {
        account.terms_agreed = true;
        changed = true;
    }
    match payload.get("status").map(|s| s.as_str()) {
        None => {}
        Some(Some("deactivated")) => {
            account.status = AccountStatus::Deactivated;
            changed = true;
        }
        Some(Some("valid")) => {}
        Some(other) => {
            return Err(malformed(format!(
                "an account's status may only be set to \"deactivated\", not {other:?}"
            )))
        }
    }
    if changed {
        acme.store.update_account(&account).await?;
    }
    Ok(Reply::json(200, &resources::account(&req.base, &account)).location(url))
}

/// POST /acme/acct/{id}/orders (§7.1.2.1).
pub(crate) async fn orders(
    acme: &Arc<Acme>,
    req: &AcmeRequest,
    id: &str,
) -> Result<Reply, Problem> {
    let url = format!("{}/orders", account_url(&req.base, id));
    let signed = authenticate(acme, req, &url, Signer::Account).await?;
    super::auth::check_owner(&signed, id, "order list")?;
    let ids = acme.store.orders_of_account(id, 1000).await?;
    let urls: Vec<String> = ids
        .iter()
        .map(|o| resources::order_url(&req.base, o))
        .collect();
    Ok(Reply::json(200, &json!({ "orders": urls })))
}

/// POST /acme/key-change (§7.3.5): the outer JWS is signed by the account's
/// current key, the inner one by the new key and names the account and the
/// old key.
pub(crate) async fn key_change(acme: &Arc<Acme>, req: &AcmeRequest) -> Result<Reply, Problem> {
    let url = endpoint(&req.base, "key-change");
    let signed = authenticate(acme, req, &url, Signer::Account).await?;
    let inner = Jws::parse_key_change(&signed.payload)?;
    if inner.header().url != url {
        return Err(malformed(
            "the inner JWS of a key change must carry the same url as the outer one",
        ));
    }
    let KeyRef::Jwk(new_key) = inner.header().key.clone() else {
        return Err(malformed("the inner JWS must embed the new key as \"jwk\""));
    };
    let inner_payload = inner.verify_with(&new_key)?;
    let change: Value = serde_json::from_slice(inner_payload)
        .map_err(|e| malformed(format!("the inner payload is not JSON: {e}")))?;
    let mut account = signed.account().clone();
    if change.get("account").and_then(Value::as_str)
        != Some(account_url(&req.base, &account.id).as_str())
    {
        return Err(malformed(
            "the inner payload's \"account\" is not the URL of the account signing the request",
        ));
    }
    let old_key = change
        .get("oldKey")
        .map(crate::jwk::Jwk::from_value)
        .transpose()?
        .ok_or_else(|| malformed("the inner payload has no \"oldKey\""))?;
    if old_key.thumbprint() != account.thumbprint {
        return Err(malformed("\"oldKey\" is not the account's current key"));
    }
    let thumbprint = new_key.thumbprint();
    if let Some(other) = acme.store.account_by_thumbprint(&thumbprint).await? {
        return Err(Problem::new(
            ErrorType::Malformed,
            "the new key already belongs to an account",
        )
        .with_status(409))
        .or_else(|p: Problem| {
            Ok::<Reply, Problem>(Reply::problem(&p).location(account_url(&req.base, &other.id)))
        });
    }
    account.jwk = new_key.canonical_json();
    account.thumbprint = thumbprint;
    acme.store.update_account(&account).await?;
    tracing::info!(account = %account.id, "ACME account key changed");
    Ok(Reply::json(200, &resources::account(&req.base, &account)))
}
