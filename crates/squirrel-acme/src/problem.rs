//! ACME error responses: RFC 7807 problem documents with the error types of
//! RFC 8555 §6.7 ("Errors") and its subproblems (§6.7.1).
//!
//! Every refusal of the server reaches the client as one of these, with
//! `Content-Type: application/problem+json`. The `type` is what clients act
//! on (a `badNonce` makes them retry with the nonce of the response), so the
//! mapping from this crate's errors to types below follows RFC 8555 to the
//! letter; the `detail` is for humans.
//!
//! HTTP statuses: where RFC 8555 names one it is used (400 for
//! `badNonce`, `badSignatureAlgorithm` and `badPublicKey` in §6.2 and §6.5,
//! 403 for `unauthorized` in §6.4 and `orderNotReady` in §7.4, 403 for
//! `userActionRequired` in §7.3.3's example); otherwise Boulder's and
//! Pebble's choices: 429 `rateLimited`, 500 `serverInternal`, 403 `caa`
//! and `externalAccountRequired`, and 400 for the other client errors.

use serde::{Deserialize, Serialize, Serializer};

use crate::jwk::JwkError;
use crate::jws::JwsError;

/// The media type of a problem document (RFC 7807 §6.1).
pub const CONTENT_TYPE: &str = "application/problem+json";

/// The URN prefix of the ACME error types (RFC 8555 §9.7).
pub const ERROR_URN_PREFIX: &str = "urn:ietf:params:acme:error:";

macro_rules! error_types {
    ($($(#[$doc:meta])* $variant:ident = $token:literal, $status:literal;)*) => {
        /// An ACME error type (RFC 8555 §6.7); serialized as its full URN.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorType {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorType {
            /// Every type, in the order of the RFC's table.
            pub const ALL: &'static [ErrorType] = &[$(ErrorType::$variant,)*];

            /// The token after `urn:ietf:params:acme:error:`.
            pub fn token(self) -> &'static str {
                match self { $(ErrorType::$variant => $token,)* }
            }

            /// The HTTP status of a response carrying this type.
            pub fn status(self) -> u16 {
                match self { $(ErrorType::$variant => $status,)* }
            }
        }
    };
}

error_types! {
    /// The request specified an account that does not exist.
    AccountDoesNotExist = "accountDoesNotExist", 400;
    /// The certificate to revoke is already revoked.
    AlreadyRevoked = "alreadyRevoked", 400;
    /// The CSR is unacceptable.
    BadCsr = "badCSR", 400;
    /// The anti-replay nonce is unacceptable.
    BadNonce = "badNonce", 400;
    /// The JWS key is not supported.
    BadPublicKey = "badPublicKey", 400;
    /// The revocation reason is not allowed.
    BadRevocationReason = "badRevocationReason", 400;
    /// The JWS algorithm is not supported (carries `algorithms`).
    BadSignatureAlgorithm = "badSignatureAlgorithm", 400;
    /// CAA records forbid issuance.
    Caa = "caa", 403;
    /// See the `subproblems`.
    Compound = "compound", 400;
    /// The server could not connect to the validation target.
    Connection = "connection", 400;
    /// A DNS query failed during validation.
    Dns = "dns", 400;
    /// The request needs an `externalAccountBinding`.
    ExternalAccountRequired = "externalAccountRequired", 403;
    /// The challenge response was wrong.
    IncorrectResponse = "incorrectResponse", 400;
    /// A contact URL is invalid.
    InvalidContact = "invalidContact", 400;
    /// The request message is malformed.
    Malformed = "malformed", 400;
    /// The order is not ready to be finalized.
    OrderNotReady = "orderNotReady", 403;
    /// A rate limit is exceeded.
    RateLimited = "rateLimited", 429;
    /// The server will not issue for the identifier.
    RejectedIdentifier = "rejectedIdentifier", 400;
    /// The server failed internally.
    ServerInternal = "serverInternal", 500;
    /// A TLS error occurred during validation.
    Tls = "tls", 400;
    /// The client lacks authorization.
    Unauthorized = "unauthorized", 403;
    /// A contact URL uses an unsupported scheme.
    UnsupportedContact = "unsupportedContact", 400;
    /// The identifier type is not supported.
    UnsupportedIdentifier = "unsupportedIdentifier", 400;
    /// The user must visit the `instance` URL.
    UserActionRequired = "userActionRequired", 403;
}

impl ErrorType {
    /// The full URN, the problem document's `type`.
    pub fn urn(self) -> String {
        format!("{ERROR_URN_PREFIX}{}", self.token())
    }

    /// Looks a URN up (the reverse of [`urn`](Self::urn)).
    pub fn from_urn(urn: &str) -> Option<ErrorType> {
        let token = urn.strip_prefix(ERROR_URN_PREFIX)?;
        ErrorType::ALL.iter().copied().find(|t| t.token() == token)
    }
}

impl Serialize for ErrorType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.urn())
    }
}

impl<'de> Deserialize<'de> for ErrorType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let urn = String::deserialize(deserializer)?;
        ErrorType::from_urn(&urn)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown ACME error type {urn}")))
    }
}

/// An ACME identifier (RFC 8555 §9.7.7), as named by a subproblem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    /// The identifier type: `dns` or `ip`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The name or address.
    pub value: String,
}

/// A problem document (RFC 7807 §3) as ACME uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The error type.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// A human-readable explanation.
    pub detail: String,
    /// The HTTP status (RFC 7807 §3.1: advisory, repeats the response's).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    /// Errors per identifier (RFC 8555 §6.7.1).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub subproblems: Vec<Subproblem>,
    /// For `badSignatureAlgorithm`: the accepted `alg` values (RFC 8555 §6.2).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub algorithms: Option<Vec<String>>,
}

/// One entry of `subproblems`: a problem that may name its identifier
/// (which RFC 8555 §6.7.1 allows only here, never at the top level).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subproblem {
    /// The error type.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// A human-readable explanation.
    pub detail: String,
    /// The identifier the problem is about.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub identifier: Option<Identifier>,
}

impl Problem {
    /// A problem of `kind` with its status.
    pub fn new(kind: ErrorType, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            detail: detail.into(),
            status: Some(kind.status()),
            subproblems: Vec::new(),
            algorithms: None,
        }
    }

    /// Overrides the status (a `compound` problem may take its subproblems').
    pub fn with_status(mut self, status: u16) -> Problem {
        self.status = Some(status);
        self
    }

    /// Adds a subproblem.
    pub fn with_subproblem(mut self, subproblem: Subproblem) -> Problem {
        self.subproblems.push(subproblem);
        self
    }

    /// The HTTP status of the response.
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or(self.kind.status())
    }

    /// The response body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a problem document always serializes")
    }
}

impl From<JwkError> for Problem {
    fn from(error: JwkError) -> Problem {
        let kind = match error {
            JwkError::Malformed(_) | JwkError::MissingMember(_) | JwkError::BadEncoding(_) => {
                ErrorType::Malformed
            }
            _ => ErrorType::BadPublicKey,
        };
        Problem::new(kind, error.to_string())
    }
}

impl From<JwsError> for Problem {
    fn from(error: JwsError) -> Problem {
        let detail = error.to_string();
        match error {
            JwsError::Key(jwk) => Problem::from(jwk),
            JwsError::UnsupportedAlgorithm { accepted, .. } => Problem {
                algorithms: Some(accepted.iter().map(|a| a.to_string()).collect()),
                ..Problem::new(ErrorType::BadSignatureAlgorithm, detail)
            },
            JwsError::MissingNonce => Problem::new(ErrorType::BadNonce, detail),
            // RFC 8555 §6.2's example: "alg is ES256 but jwk does not
            // contain a valid P-256 public key" is a badPublicKey.
            JwsError::AlgorithmKeyMismatch { .. } => Problem::new(ErrorType::BadPublicKey, detail),
            // RFC 8555 §6.4: a url mismatch is refused "as unauthorized".
            JwsError::UrlMismatch { .. } => Problem::new(ErrorType::Unauthorized, detail),
            // Boulder and Pebble answer a failed signature with malformed.
            JwsError::Malformed(_)
            | JwsError::BadEncoding(_)
            | JwsError::MissingHeader(_)
            | JwsError::BadNonceEncoding
            | JwsError::KeyChoice
            | JwsError::UnsupportedHeader(_)
            | JwsError::NoEmbeddedKey
            | JwsError::BadSignature => Problem::new(ErrorType::Malformed, detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_json_for_bad_signature_algorithm() {
        let problem = Problem::from(JwsError::UnsupportedAlgorithm {
            alg: "HS256".into(),
            accepted: &crate::alg::Algorithm::NAMES,
        });
        assert_eq!(problem.http_status(), 400);
        assert_eq!(
            problem.to_json(),
            r#"{"type":"urn:ietf:params:acme:error:badSignatureAlgorithm","detail":"unsupported JWS algorithm \"HS256\" (accepted: ES256, ES384, ES512, RS256, EdDSA)","status":400,"algorithms":["ES256","ES384","ES512","RS256","EdDSA"]}"#
        );
    }

    #[test]
    fn subproblems_as_in_rfc_8555_section_6_7_1() {
        let problem = Problem::new(
            ErrorType::Malformed,
            "Some of the identifiers requested were rejected",
        )
        .with_status(403)
        .with_subproblem(Subproblem {
            kind: ErrorType::RejectedIdentifier,
            detail: "This CA will not issue for \"example.net\"".into(),
            identifier: Some(Identifier {
                kind: "dns".into(),
                value: "example.net".into(),
            }),
        });
        let json: serde_json::Value = serde_json::from_str(&problem.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:ietf:params:acme:error:malformed",
                "detail": "Some of the identifiers requested were rejected",
                "status": 403,
                "subproblems": [{
                    "type": "urn:ietf:params:acme:error:rejectedIdentifier",
                    "detail": "This CA will not issue for \"example.net\"",
                    "identifier": {"type": "dns", "value": "example.net"}
                }]
            })
        );
        let back: Problem = serde_json::from_value(json).unwrap();
        assert_eq!(back, problem);
    }

    #[test]
    fn every_type_has_its_urn_and_status() {
        assert_eq!(ErrorType::ALL.len(), 24);
        for kind in ErrorType::ALL {
            assert_eq!(ErrorType::from_urn(&kind.urn()), Some(*kind));
        }
        let status = |k: ErrorType| k.status();
        assert_eq!(status(ErrorType::BadNonce), 400);
        assert_eq!(status(ErrorType::Unauthorized), 403);
        assert_eq!(status(ErrorType::AccountDoesNotExist), 400);
        assert_eq!(status(ErrorType::RateLimited), 429);
        assert_eq!(status(ErrorType::OrderNotReady), 403);
        assert_eq!(status(ErrorType::ServerInternal), 500);
        assert_eq!(ErrorType::BadCsr.urn(), "urn:ietf:params:acme:error:badCSR");
    }

    #[test]
    fn error_conversions() {
        let kind = |p: Problem| p.kind;
        assert_eq!(kind(JwsError::MissingNonce.into()), ErrorType::BadNonce);
        assert_eq!(kind(JwsError::KeyChoice.into()), ErrorType::Malformed);
        assert_eq!(kind(JwsError::BadSignature.into()), ErrorType::Malformed);
        assert_eq!(
            kind(JwsError::Key(JwkError::RsaSize { bits: 1024 }).into()),
            ErrorType::BadPublicKey
        );
        assert_eq!(
            kind(JwsError::Key(JwkError::BadEncoding("x")).into()),
            ErrorType::Malformed
        );
        let mismatch = JwsError::UrlMismatch {
            header: "a".into(),
            request: "b".into(),
        };
        assert_eq!(kind(mismatch.into()), ErrorType::Unauthorized);
        let no_algorithms = Problem::from(JwsError::BadSignature);
        assert!(!no_algorithms.to_json().contains("algorithms"));
    }
}
