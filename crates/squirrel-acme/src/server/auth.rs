//! Request authentication (RFC 8555 §6.2-§6.5): every POST is a flattened
//! JWS whose protected header names the URL it was sent to, a fresh nonce,
//! and either the key that signed it (`jwk`) or the account it belongs to
//! (`kid`).

use super::{Acme, AcmeRequest, MAX_BODY};
use crate::jwk::Jwk;
use crate::jws::{Jws, KeyRef, ProtectedHeader};
use crate::model::{AccountRecord, AccountStatus};
use crate::problem::{ErrorType, Problem};
use crate::store::{Prefetch, Prefetched};
use time::OffsetDateTime;

/// Which key a resource accepts (RFC 8555 §6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signer {
    /// `jwk` only: newAccount.
    EmbeddedKey,
    /// `kid` only: everything done as an account.
    Account,
    /// Either: revokeCert (the account, or the certificate's key).
    Either,
}

/// A request whose signature verified.
pub(crate) struct Signed {
    pub header: ProtectedHeader,
    /// The payload; empty for POST-as-GET.
    pub payload: Vec<u8>,
    /// The key that signed.
    pub key: Jwk,
    /// The account, when signed with `kid`.
    pub account: Option<AccountRecord>,
}

impl Signed {
    /// True for POST-as-GET (RFC 8555 §6.3): an empty payload.
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as a JSON object (`{}` for POST-as-GET).
    pub fn json(&self) -> Result<serde_json::Map<String, serde_json::Value>, Problem> {
        if self.payload.is_empty() {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_slice(&self.payload) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Err(malformed("the payload is not a JSON object")),
            Err(e) => Err(malformed(format!("the payload is not JSON: {e}"))),
        }
    }

    /// The account (for a `kid` request; checked by [`authenticate`]).
    pub fn account(&self) -> &AccountRecord {
        self.account
            .as_ref()
            .expect("Signer::Account requests always carry their account")
    }
}

/// Authenticates `req` as a request to `url`, signed as `signer` allows.
pub(crate) async fn authenticate(
    acme: &Acme,
    req: &AcmeRequest,
    url: &str,
    signer: Signer,
) -> Result<Signed, Problem> {
    let (signed, _) = authenticate_then_read(acme, req, url, signer, None).await?;
    Ok(signed)
}

/// [`authenticate`] for a request an account makes on an existing
/// resource, with the record `read` names read in the same step as the
/// nonce's spend (`Store::spend_nonce_then_read`). The record is `None`
/// only from a store that did not read it: the handler then reads it
/// itself.
pub(crate) async fn authenticate_reading(
    acme: &Acme,
    req: &AcmeRequest,
    url: &str,
    read: Prefetch,
) -> Result<(Signed, Option<Prefetched>), Problem> {
    authenticate_then_read(acme, req, url, Signer::Account, Some(&read)).await
}

async fn authenticate_then_read(
    acme: &Acme,
    req: &AcmeRequest,
    url: &str,
    signer: Signer,
    read: Option<&Prefetch>,
) -> Result<(Signed, Option<Prefetched>), Problem> {
    let content_type = req.content_type.as_deref().unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/jose+json") {
        return Err(Problem::new(
            ErrorType::Malformed,
            format!(
                "the Content-Type is {:?}; ACME requests are \"application/jose+json\" \
                 (RFC 8555 §6.2)",
                content_type
            ),
        )
        .with_status(415));
    }
    let Some(body) = &req.body else {
        return Err(Problem::new(
            ErrorType::Malformed,
            format!("the request body is over {} KiB", MAX_BODY / 1024),
        )
        .with_status(413));
    };
    let jws = Jws::parse(body)?;
    jws.check_url(url)?;
    let header = jws.header().clone();
    let now = OffsetDateTime::now_utc();
    let bad_nonce = |why: &str| {
        Problem::new(
            ErrorType::BadNonce,
            format!(
                "{why}; take the fresh one from this response's Replay-Nonce header and \
                 sign again"
            ),
        )
    };
    let expires = acme
        .mint()
        .await?
        .check(&header.nonce, now)
        .map_err(|e| bad_nonce(&e.to_string()))?;
    // The account a `kid` names is read in the same step as the nonce is
    // spent (one trip to the database), and judged below, in turn.
    let account_id = match (&header.key, signer) {
        (KeyRef::Kid(kid), Signer::Account | Signer::Either) => account_id_of(kid),
        _ => None,
    };
    let (fresh, found, read) = match read {
        Some(read) => {
            acme.store
                .spend_nonce_then_read(&header.nonce, expires, account_id, read)
                .await?
        }
        None => {
            let (fresh, found) = acme
                .store
                .spend_nonce_then_find_account(&header.nonce, expires, account_id)
                .await?;
            (fresh, found, None)
        }
    };
    if !fresh {
        return Err(bad_nonce("the nonce was already used"));
    }
    if acme.rejects_nonce_for_test() {
        return Err(bad_nonce("the nonce was refused as a test of retries"));
    }
    let (key, account) = match (&header.key, signer) {
        (KeyRef::Jwk(_), Signer::Account) => {
            return Err(malformed(
                "this resource is requested by an account: sign with \"kid\", not \"jwk\"",
            ))
        }
        (KeyRef::Kid(_), Signer::EmbeddedKey) => {
            return Err(malformed(
                "a new account is requested with its key: sign with \"jwk\", not \"kid\"",
            ))
        }
        (KeyRef::Jwk(jwk), _) => (jwk.clone(), None),
        (KeyRef::Kid(kid), _) => {
            let account = valid_account(kid, found)?;
            let key = acme.account_key(&account.jwk)?;
            (key, Some(account))
        }
    };
    let payload = jws.verify_with(&key)?.to_vec();
    let signed = Signed {
        header,
        payload,
        key,
        account,
    };
    Ok((signed, read))
}

/// The account id in a `kid`: its URL ends in `/acme/acct/{id}`.
fn account_id_of(kid: &str) -> Option<&str> {
    kid.rsplit_once("/acme/acct/")
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// The account a `kid` names (`found`: what the store has at its id), if
/// it is valid.
fn valid_account(kid: &str, found: Option<AccountRecord>) -> Result<AccountRecord, Problem> {
    let account = found.ok_or_else(|| {
        Problem::new(
            ErrorType::AccountDoesNotExist,
            format!("no account at {kid}; register with newAccount first"),
        )
    })?;
    match account.status {
        AccountStatus::Valid => Ok(account),
        status => Err(Problem::new(
            ErrorType::Unauthorized,
            format!("the account {kid} is {status}: it can no longer make requests"),
        )),
    }
}

/// A `malformed` problem.
pub(crate) fn malformed(detail: impl Into<String>) -> Problem {
    Problem::new(ErrorType::Malformed, detail)
}

/// Refuses a request for a resource of another account (RFC 8555 §7.4:
/// only the account that owns an order may see it).
pub(crate) fn check_owner(signed: &Signed, owner: &str, what: &str) -> Result<(), Problem> {
    if signed.account().id == owner {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorType::Unauthorized,
            format!("this {what} belongs to another account"),
        ))
    }
}
