//! Challenge validation (RFC 8555 §8): the CA checks, from its side of the
//! network, that whoever asked for a name controls it.
//!
//! - http-01 (§8.3): a GET of `http://NAME:PORT/.well-known/acme-challenge/TOKEN`
//!   must answer the key authorization;
//! - tls-alpn-01 (RFC 8737): a TLS handshake offering ALPN `acme-tls/1`
//!   must present a self-signed certificate for exactly NAME with a
//!   critical acmeIdentifier extension holding SHA-256(key authorization);
//! - dns-01 (§8.4): a TXT record at `_acme-challenge.NAME` must hold
//!   base64url(SHA-256(key authorization)).
//!
//! Where names point is [`ValidationConfig`]'s business: `--resolve
//! NAME=IP` (as curl), else `--dns-resolver ADDR`, else the system's
//! resolver. Ports are 80 and 443 unless `--http01-port` and
//! `--tlsalpn01-port` say otherwise (as Pebble's httpPort and tlsPort).

use crate::model::{ChallengeType, Identifier};
use crate::problem::Problem;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Where and how to validate.
#[derive(Clone, Debug)]
pub struct ValidationConfig {
    /// The port http-01 connects to (80).
    pub http01_port: u16,
    /// The port tls-alpn-01 connects to (443).
    pub tlsalpn01_port: u16,
    /// Fixed addresses for names, as curl's `--resolve` (lower-case names).
    pub resolve: HashMap<String, Vec<IpAddr>>,
    /// The DNS server to ask (A, AAAA, TXT) instead of the system's.
    pub dns_resolver: Option<SocketAddr>,
    /// How long one validation may take in all.
    pub timeout: Duration,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            http01_port: 80,
            tlsalpn01_port: 443,
            resolve: HashMap::new(),
            dns_resolver: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Validates one challenge: `Ok` when the response is there and right;
/// otherwise the problem to store on the challenge (`connection`, `dns`,
/// `tls`, `incorrectResponse`, `unauthorized`...), whose detail says what
/// was tried and what came back.
///
/// `identifier` is the authorization's (no `*.`); `key_authorization` is
/// `token || '.' || thumbprint(account key)` (RFC 8555 §8.1).
pub async fn validate(
    config: &ValidationConfig,
    kind: ChallengeType,
    identifier: &Identifier,
    token: &str,
    key_authorization: &str,
) -> Result<(), Problem> {
    let _ = (config, kind, identifier, token, key_authorization);
    todo!("validate: filled in by the validation work")
}
