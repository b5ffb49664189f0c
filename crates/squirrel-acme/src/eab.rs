//! External account binding (RFC 8555 §7.3.4): how a members-only CA
//! (`--require-eab`) knows that a new ACME account belongs to someone the
//! leader gave a key to (`squirrel pki ca eab add NAME`).
//!
//! The client puts, in its newAccount payload, a second JWS: protected
//! header `{"alg": "HS256", "kid": KEY_ID, "url": NEW_ACCOUNT_URL}` (no
//! nonce), payload the account's own JWK, signed with HMAC under the key the
//! leader handed out. The server checks that the MAC algorithm is one it
//! knows, that the key id is one it issued, that the `url` is the
//! newAccount URL, that the JWK is the very key of the outer JWS, and the
//! MAC, in constant time.

use serde_json::Value;

use crate::b64;
use crate::jwk::Jwk;
use crate::problem::{ErrorType, Problem};

/// The MAC algorithms an EAB may use (RFC 7518 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlgorithm {
    Hs256,
    Hs384,
    Hs512,
}

impl MacAlgorithm {
    fn from_name(name: &str) -> Option<MacAlgorithm> {
        match name {
            "HS256" => Some(MacAlgorithm::Hs256),
            "HS384" => Some(MacAlgorithm::Hs384),
            "HS512" => Some(MacAlgorithm::Hs512),
            _ => None,
        }
    }

    fn hmac(self) -> aws_lc_rs::hmac::Algorithm {
        match self {
            MacAlgorithm::Hs256 => aws_lc_rs::hmac::HMAC_SHA256,
            MacAlgorithm::Hs384 => aws_lc_rs::hmac::HMAC_SHA384,
            MacAlgorithm::Hs512 => aws_lc_rs::hmac::HMAC_SHA512,
        }
    }
}

/// Why an external account binding was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EabError {
    #[error("malformed externalAccountBinding: {0}")]
    Malformed(String),
    #[error("externalAccountBinding uses \"{0}\"; use HS256, HS384 or HS512")]
    Algorithm(String),
    #[error("externalAccountBinding is for {found}, not for this newAccount URL ({expected})")]
    Url { found: String, expected: String },
    #[error("externalAccountBinding binds another key than the one signing this request")]
    OtherKey,
    #[error("externalAccountBinding key id {0:?} is unknown")]
    UnknownKeyId(String),
    #[error("externalAccountBinding MAC does not verify with the key of {0:?}")]
    BadMac(String),
}

impl From<EabError> for Problem {
    fn from(error: EabError) -> Problem {
        let kind = match error {
            EabError::Malformed(_) | EabError::Algorithm(_) => ErrorType::Malformed,
            EabError::Url { .. } | EabError::OtherKey | EabError::BadMac(_) => {
                ErrorType::Unauthorized
            }
            EabError::UnknownKeyId(_) => ErrorType::Unauthorized,
        };
        Problem::new(kind, error.to_string())
    }
}

/// A parsed, not yet verified, external account binding.
#[derive(Debug, Clone)]
pub struct ExternalBinding {
    /// The key id the leader gave out (the `kid` of the binding).
    pub key_id: String,
    algorithm: MacAlgorithm,
    url: String,
    protected: String,
    payload: String,
    signature: Vec<u8>,
}

fn member<'a>(object: &'a Value, name: &str) -> Result<&'a str, EabError> {
    object
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| EabError::Malformed(format!("no \"{name}\" string")))
}

impl ExternalBinding {
    /// Parses the `externalAccountBinding` member of a newAccount payload.
    pub fn parse(binding: &Value) -> Result<ExternalBinding, EabError> {
        let protected = member(binding, "protected")?;
        let payload = member(binding, "payload")?;
        let signature = member(binding, "signature")?;
        let header_json = b64::decode(protected)
            .ok_or_else(|| EabError::Malformed("protected is not base64url".into()))?;
        let header: Value = serde_json::from_slice(&header_json)
            .map_err(|e| EabError::Malformed(format!("protected is not JSON: {e}")))?;
        let alg = member(&header, "alg")?;
        let algorithm =
            MacAlgorithm::from_name(alg).ok_or_else(|| EabError::Algorithm(alg.to_string()))?;
        if header.get("nonce").is_some() {
            return Err(EabError::Malformed(
                "an externalAccountBinding carries no nonce (RFC 8555 §7.3.4)".into(),
            ));
        }
        Ok(ExternalBinding {
            key_id: member(&header, "kid")?.to_string(),
            algorithm,
            url: member(&header, "url")?.to_string(),
            protected: protected.to_string(),
            payload: payload.to_string(),
            signature: b64::decode(signature)
                .ok_or_else(|| EabError::Malformed("signature is not base64url".into()))?,
        })
    }

    /// Verifies the binding for a newAccount request at `url`, signed by
    /// `account_key`, with the HMAC key the leader issued under
    /// `self.key_id`.
    pub fn verify(&self, hmac_key: &[u8], account_key: &Jwk, url: &str) -> Result<(), EabError> {
        if self.url != url {
            return Err(EabError::Url {
                found: self.url.clone(),
                expected: url.to_string(),
            });
        }
        let bound = b64::decode(&self.payload)
            .ok_or_else(|| EabError::Malformed("payload is not base64url".into()))?;
        let bound = Jwk::from_json(&bound)
            .map_err(|e| EabError::Malformed(format!("payload is not a JWK: {e}")))?;
        if &bound != account_key {
            return Err(EabError::OtherKey);
        }
        let key = aws_lc_rs::hmac::Key::new(self.algorithm.hmac(), hmac_key);
        let input = format!("{}.{}", self.protected, self.payload);
        aws_lc_rs::hmac::verify(&key, input.as_bytes(), &self.signature)
            .map_err(|_| EabError::BadMac(self.key_id.clone()))
    }
}

/// A new key for `name` (who the leader gives it to): a random key id and
/// a 256-bit HMAC key, as `squirrel pki ca eab add` hands them out.
///
/// Neither begins with `-`: the member types them after `--eab-kid` and
/// `--eab-hmac-key` (certbot), `--kid` and `--hmac` (lego), whose parsers
/// take a value that begins with `-` for another flag. One draw in 64 is
/// drawn again, which costs each a fraction of a bit of its 128 and 256.
pub fn new_key(name: &str) -> crate::model::EabKey {
    let kid = drawn_until(crate::nonce::token, |kid| !kid.starts_with('-'));
    let hmac_key = drawn_until(
        || {
            let mut key = vec![0u8; 32];
            aws_lc_rs::rand::fill(&mut key).expect("the system random generator failed");
            key
        },
        |key| !encode_hmac_key(key).starts_with('-'),
    );
    crate::model::EabKey {
        kid,
        name: name.to_string(),
        hmac_key,
        created_at: time::OffsetDateTime::now_utc(),
        account_id: None,
    }
}

/// The first value of `draw` that is `fit`.
fn drawn_until<T>(draw: impl Fn() -> T, fit: impl Fn(&T) -> bool) -> T {
    loop {
        let value = draw();
        if fit(&value) {
            return value;
        }
    }
}

/// An HMAC key as ACME clients take it (certbot `--eab-hmac-key`, lego
/// `--hmac`): base64url without padding.
pub fn encode_hmac_key(key: &[u8]) -> String {
    b64::encode(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{eab_binding_with as binding, TestKey};
    use crate::Algorithm;

    const URL: &str = "https://ca.test/acme/new-account";

    /// One random key id or HMAC key in 64 would begin with `-` (and be
    /// taken for a flag by certbot, lego or `squirrel serve`): in 2000
    /// keys, 4000 chances, one such would be all but certain.
    #[test]
    fn new_keys_never_begin_with_a_hyphen() {
        for _ in 0..2000 {
            let key = new_key("alice");
            assert!(!key.kid.starts_with('-'), "{}", key.kid);
            assert_eq!(key.kid.len(), 22);
            let hmac = encode_hmac_key(&key.hmac_key);
            assert!(!hmac.starts_with('-'), "{hmac}");
            assert_eq!(key.hmac_key.len(), 32);
        }
    }

    #[test]
    fn a_binding_verifies_for_its_key_url_and_account_only() {
        let hmac_key = b"the leader's secret for alice, 32b";
        let account = TestKey::generate(Algorithm::Es256);
        let other = TestKey::generate(Algorithm::Es256);
        for alg in ["HS256", "HS384", "HS512"] {
            let eab = binding(alg, "alice", URL, &account.jwk_json(), hmac_key);
            let parsed = ExternalBinding::parse(&eab).unwrap();
            assert_eq!(parsed.key_id, "alice");
            assert_eq!(parsed.verify(hmac_key, &account.jwk(), URL), Ok(()));
            assert_eq!(
                parsed.verify(b"another key", &account.jwk(), URL),
                Err(EabError::BadMac("alice".into()))
            );
            assert_eq!(
                parsed.verify(hmac_key, &other.jwk(), URL),
                Err(EabError::OtherKey)
            );
            assert!(matches!(
                parsed.verify(hmac_key, &account.jwk(), "https://ca.test/other"),
                Err(EabError::Url { .. })
            ));
        }
        let eab = binding("RS256", "alice", URL, &account.jwk_json(), hmac_key);
        assert_eq!(
            ExternalBinding::parse(&eab).unwrap_err(),
            EabError::Algorithm("RS256".into())
        );
        let problem = Problem::from(EabError::BadMac("alice".into()));
        assert_eq!(problem.kind, ErrorType::Unauthorized);
    }
}
