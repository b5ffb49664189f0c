//! Request authentication: the flattened JSON JWS that carries every ACME
//! POST (RFC 8555 §6.2 "Request Authentication", on RFC 7515 §7.2.2).
//!
//! What RFC 8555 §6.2 asks of the server, and where it happens here:
//!
//! - flattened serialization, one signature, no unprotected `header`, no
//!   detached payload: [`Jws::parse`] refuses `signatures` and `header`
//!   members and requires `payload`;
//! - no unencoded payload (RFC 7797): `b64: false` is refused, and so is any
//!   `crit`, since this server understands no critical extension (RFC 7515
//!   §4.1.11 says to reject what is not understood);
//! - `alg` is one of [`Algorithm`], never `none` or a MAC; anything else is a
//!   `badSignatureAlgorithm` problem carrying the accepted list;
//! - `nonce` and `url` present ([`ProtectedHeader`]); checking them is the
//!   caller's job ([`crate::nonce`] and [`Jws::check_url`], RFC 8555 §6.4,
//!   §6.5) because only the caller knows the request URL and the nonce store;
//! - exactly one of `jwk` (new accounts, revocation by certificate key) and
//!   `kid` (an account URL): both or neither is `malformed`.
//!
//! The payload is only handed out by the verification functions, so a
//! caller cannot use it before the signature is checked. It is bytes: an
//! empty payload is a POST-as-GET (RFC 8555 §6.3), anything else is JSON
//! that the caller parses.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::b64;
use crate::jwk::{Jwk, JwkError};

/// Why a JWS was refused. [`crate::problem::Problem`] converts each into the
/// ACME error type RFC 8555 prescribes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// The body, or the protected header, is not the JSON expected.
    #[error("malformed JWS: {0}")]
    Malformed(String),
    /// A member is not strict base64url without padding.
    #[error("the JWS member \"{0}\" is not base64url without padding")]
    BadEncoding(&'static str),
    /// The `alg` is not one this server verifies (RFC 8555 §6.2).
    #[error("unsupported JWS algorithm \"{alg}\" (accepted: {})", accepted.join(", "))]
    UnsupportedAlgorithm {
        /// The refused `alg` value.
        alg: String,
        /// The accepted algorithms, for the problem's `algorithms` field.
        accepted: &'static [&'static str],
    },
    /// A required protected header member is absent.
    #[error("the JWS protected header has no \"{0}\"")]
    MissingHeader(&'static str),
    /// The `nonce` is absent (RFC 8555 §6.5: a `badNonce`).
    #[error("the JWS protected header has no \"nonce\"")]
    MissingNonce,
    /// The `nonce` is not base64url (RFC 8555 §6.5.2: `malformed`).
    #[error("the JWS nonce is not base64url")]
    BadNonceEncoding,
    /// Both `jwk` and `kid`, or neither.
    #[error("the JWS protected header must have exactly one of \"jwk\" and \"kid\"")]
    KeyChoice,
    /// A `crit` or `b64` member: extensions this server does not implement.
    #[error("the JWS header member \"{0}\" is not supported")]
    UnsupportedHeader(&'static str),
    /// The `jwk` was refused.
    #[error("bad JWS key: {0}")]
    Key(#[from] JwkError),
    /// `verify` was called but the header names a `kid`: the caller must
    /// look the account up and call `verify_with`.
    #[error("this request must carry its key in \"jwk\", not a \"kid\"")]
    NoEmbeddedKey,
    /// The `alg` does not fit the key (ES256 with a P-384 key, ...).
    #[error("the JWS algorithm {alg} cannot be used with a {key} key (it needs {needs})")]
    AlgorithmKeyMismatch {
        /// The header's algorithm.
        alg: Algorithm,
        /// The key, described.
        key: String,
        /// The algorithm the key supports.
        needs: Algorithm,
    },
    /// The signature does not verify.
    #[error("the JWS signature does not verify")]
    BadSignature,
    /// The `url` header is not the URL the request was sent to (RFC 8555 §6.4).
    #[error("the JWS url \"{header}\" does not match the request URL \"{request}\"")]
    UrlMismatch {
        /// The `url` header.
        header: String,
        /// The URL the server received the request on.
        request: String,
    },
}

/// Who signed: an embedded key or an account URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// The `jwk` header: `newAccount`, or `revokeCert` signed by the
    /// certificate key.
    Jwk(Jwk),
    /// The `kid` header: the URL of an existing account.
    Kid(String),
}

/// The decoded protected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedHeader {
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The anti-replay nonce (RFC 8555 §6.5.2), base64url.
    pub nonce: String,
    /// The URL the client addressed (RFC 8555 §6.4.1).
    pub url: String,
    /// The signer's key or account.
    pub key: KeyRef,
}

/// A parsed, not yet verified, flattened JSON JWS.
#[derive(Debug, Clone)]
pub struct Jws {
    header: ProtectedHeader,
    /// `ASCII(protected) || '.' || ASCII(payload)` (RFC 7515 §5.2 step 8).
    signing_input: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// The flattened serialization's members (RFC 7515 §7.2.2). `header` and
/// `signatures` are read only to be refused.
#[derive(Deserialize)]
struct Flattened {
    protected: Option<String>,
    payload: Option<String>,
    signature: Option<String>,
    header: Option<Value>,
    signatures: Option<Value>,
}

impl Jws {
    /// Parses a request body: JSON, base64url members, protected header.
    /// Nothing is verified yet.
    pub fn parse(body: &[u8]) -> Result<Jws, JwsError> {
        Jws::parse_with(body, NonceRule::Required)
    }

    /// Parses the inner JWS of a key change (RFC 8555 §7.3.5): signed by
    /// the new key, which it embeds as `jwk`, and without a `nonce` (the
    /// outer JWS carries it). `nonce` in the header is then empty.
    pub fn parse_key_change(body: &[u8]) -> Result<Jws, JwsError> {
        let jws = Jws::parse_with(body, NonceRule::Absent)?;
        match jws.header.key {
            KeyRef::Jwk(_) => Ok(jws),
            KeyRef::Kid(_) => Err(JwsError::Malformed(
                "the inner JWS of a key change must embed the new key as \"jwk\"".into(),
            )),
        }
    }

    fn parse_with(body: &[u8], nonce: NonceRule) -> Result<Jws, JwsError> {
        let flat: Flattened =
            serde_json::from_slice(body).map_err(|e| JwsError::Malformed(e.to_string()))?;
        if flat.signatures.is_some() {
            return Err(JwsError::Malformed(
                "multiple signatures (general serialization) are not allowed".into(),
            ));
        }
        if flat.header.is_some() {
            return Err(JwsError::Malformed(
                "an unprotected header is not allowed".into(),
            ));
        }
        let protected = flat
            .protected
            .ok_or(JwsError::Malformed("no \"protected\" member".into()))?;
        let payload_b64 = flat.payload.ok_or(JwsError::Malformed(
            "no \"payload\" member (a detached payload is not allowed)".into(),
        ))?;
        let signature = flat
            .signature
            .ok_or(JwsError::Malformed("no \"signature\" member".into()))?;

        let header_json = b64::decode(&protected).ok_or(JwsError::BadEncoding("protected"))?;
        let payload = b64::decode(&payload_b64).ok_or(JwsError::BadEncoding("payload"))?;
        let signature = b64::decode(&signature).ok_or(JwsError::BadEncoding("signature"))?;
        let header = parse_header(&header_json, nonce)?;

        let mut signing_input = Vec::with_capacity(protected.len() + 1 + payload_b64.len());
        signing_input.extend_from_slice(protected.as_bytes());
        signing_input.push(b'.');
        signing_input.extend_from_slice(payload_b64.as_bytes());
        Ok(Jws {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// The protected header: look at `key` to decide how to verify, and at
    /// `nonce` and `url` to check them.
    pub fn header(&self) -> &ProtectedHeader {
        &self.header
    }

    /// Verifies with the `jwk` in the header and returns the payload.
    /// Refuses a `kid` header ([`JwsError::NoEmbeddedKey`]).
    pub fn verify(&self) -> Result<&[u8], JwsError> {
        match &self.header.key {
            KeyRef::Jwk(key) => self.verify_with(key),
            KeyRef::Kid(_) => Err(JwsError::NoEmbeddedKey),
        }
    }

    /// Verifies with `key` (the account key found from the `kid`, or any
    /// key the caller chose) and returns the payload (empty for POST-as-GET).
    pub fn verify_with(&self, key: &Jwk) -> Result<&[u8], JwsError> {
        if key.algorithm() != self.header.alg {
            return Err(JwsError::AlgorithmKeyMismatch {
                alg: self.header.alg,
                key: key.describe(),
                needs: key.algorithm(),
            });
        }
        if key.verify(&self.signing_input, &self.signature) {
            Ok(&self.payload)
        } else {
            Err(JwsError::BadSignature)
        }
    }

    /// Compares the `url` header with the URL the request arrived on, by
    /// exact string equality as RFC 8555 §6.4 recommends (no normalization:
    /// the client must echo the server's URL verbatim).
    pub fn check_url(&self, request_url: &str) -> Result<(), JwsError> {
        if self.header.url == request_url {
            Ok(())
        } else {
            Err(JwsError::UrlMismatch {
                header: self.header.url.clone(),
                request: request_url.into(),
            })
        }
    }
}

/// Whether a protected header must carry a nonce (every request) or must
/// not (the inner JWS of a key change).
#[derive(Clone, Copy, PartialEq, Eq)]
enum NonceRule {
    Required,
    Absent,
}

fn parse_header(json: &[u8], rule: NonceRule) -> Result<ProtectedHeader, JwsError> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| JwsError::Malformed(format!("protected header: {e}")))?;
    // A header with a duplicate member keeps its last value (serde_json's
    // map), which RFC 7515 §5.2 allows as an alternative to refusing it.
    let Value::Object(object) = value else {
        return Err(JwsError::Malformed(
            "the protected header is not a JSON object".into(),
        ));
    };
    // The algorithm first: RFC 8555 §6.2 gives an unsupported `alg` its own
    // error type, which a client uses to pick another algorithm.
    let alg_name = header_string(&object, "alg")?.ok_or(JwsError::MissingHeader("alg"))?;
    let alg = Algorithm::from_name(alg_name).ok_or_else(|| JwsError::UnsupportedAlgorithm {
        alg: alg_name.into(),
        accepted: &Algorithm::NAMES,
    })?;
    if object.contains_key("crit") {
        return Err(JwsError::UnsupportedHeader("crit"));
    }
    if object.contains_key("b64") {
        return Err(JwsError::UnsupportedHeader("b64"));
    }
    let nonce = match (rule, header_string(&object, "nonce")?) {
        (NonceRule::Required, None) => return Err(JwsError::MissingNonce),
        (NonceRule::Required, Some(nonce)) if !b64::is_base64url_token(nonce) => {
            return Err(JwsError::BadNonceEncoding)
        }
        (NonceRule::Required, Some(nonce)) => nonce,
        (NonceRule::Absent, None) => "",
        (NonceRule::Absent, Some(_)) => {
            return Err(JwsError::Malformed(
                "the inner JWS of a key change must not carry a nonce (RFC 8555 §7.3.5)".into(),
            ))
        }
    };
    let url = header_string(&object, "url")?.ok_or(JwsError::MissingHeader("url"))?;
    let key = match (object.get("jwk"), object.get("kid")) {
        (Some(jwk), None) => KeyRef::Jwk(Jwk::from_value(jwk)?),
        (None, Some(Value::String(kid))) => KeyRef::Kid(kid.clone()),
        (None, Some(_)) => return Err(JwsError::Malformed("\"kid\" is not a string".into())),
        _ => return Err(JwsError::KeyChoice),
    };
    Ok(ProtectedHeader {
        alg,
        nonce: nonce.into(),
        url: url.into(),
        key,
    })
}

fn header_string<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, JwsError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwsError::Malformed(format!("\"{name}\" is not a string"))),
    }
}

#[cfg(test)]
mod tests;
