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
//!
//! One module per concern: `resolve` (names to addresses, and connecting
//! to them), `dns` (the stub DNS client behind `--dns-resolver` and
//! dns-01), `tls` (the validator's TLS client, which checks handshake
//! signatures but no certificate chain), and one per challenge type:
//! `http01`, `tls_alpn01`, `dns01`.
//!
//! Problem types follow Boulder's (Let's Encrypt's CA), which ACME
//! clients already explain to their users: `dns` when a name does not
//! resolve, `connection` when nothing answers or the exchange breaks,
//! `tls` when the handshake fails or does not negotiate `acme-tls/1`,
//! and `unauthorized` when something answers but with the wrong thing.

mod dns;
mod dns01;
mod http01;
mod resolve;
pub(crate) mod tls;
mod tls_alpn01;

use crate::model::{ChallengeType, Identifier, IdentifierType};
use crate::problem::{ErrorType, Problem};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::Instant;

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
///
/// The whole validation ends by `config.timeout`: every step (a DNS query,
/// a connect, a handshake, a response) runs against the same deadline and
/// reports which step ran out of time; the outer bound is the backstop for
/// anything between the steps. A validation never panics on what the
/// network sends: a CA's validator talks to servers chosen by whoever
/// asks for a certificate.
pub async fn validate(
    config: &ValidationConfig,
    kind: ChallengeType,
    identifier: &Identifier,
    token: &str,
    key_authorization: &str,
) -> Result<(), Problem> {
    let deadline = Instant::now() + config.timeout;
    let target = Target::new(identifier)?;
    let work = async {
        match kind {
            ChallengeType::Http01 => {
                http01::validate(config, deadline, &target, token, key_authorization).await
            }
            ChallengeType::TlsAlpn01 => {
                tls_alpn01::validate(config, deadline, &target, key_authorization).await
            }
            ChallengeType::Dns01 => {
                dns01::validate(config, deadline, &target, key_authorization).await
            }
        }
    };
    match tokio::time::timeout_at(deadline, work).await {
        Ok(result) => result,
        // Boulder's types for a timeout: `dns` when only DNS was asked.
        Err(_) => Err(Problem::new(
            match kind {
                ChallengeType::Dns01 => ErrorType::Dns,
                _ => ErrorType::Connection,
            },
            format!(
                "{kind} validation of {identifier} timed out after {:?}",
                config.timeout
            ),
        )),
    }
}

/// The identifier as the validators use it: a normalised DNS name (lower
/// case, no trailing dot, as `ValidationConfig::resolve` is keyed), or a
/// parsed IP address (RFC 8738 §3: the textual form of an `ip`
/// identifier is checked here once, so that no validator sees a bad one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Dns(String),
    Ip(IpAddr),
}

impl Target {
    fn new(identifier: &Identifier) -> Result<Target, Problem> {
        match identifier.kind {
            IdentifierType::Dns => {
                let name = identifier.value.trim_end_matches('.').to_ascii_lowercase();
                let valid = !name.is_empty()
                    && name.len() <= 253
                    && name.split('.').all(|label| {
                        !label.is_empty()
                            && label.len() <= 63
                            && label
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    });
                if valid {
                    Ok(Target::Dns(name))
                } else {
                    Err(Problem::new(
                        ErrorType::RejectedIdentifier,
                        format!("{identifier} is not a valid DNS name"),
                    ))
                }
            }
            IdentifierType::Ip => {
                identifier
                    .value
                    .parse::<IpAddr>()
                    .map(Target::Ip)
                    .map_err(|_| {
                        Problem::new(
                            ErrorType::RejectedIdentifier,
                            format!("{identifier} is not an IP address"),
                        )
                    })
            }
        }
    }

    /// The host as it goes into a URL's authority and a `Host:` header
    /// (RFC 3986 §3.2.2: an IPv6 literal is bracketed).
    pub(crate) fn url_host(&self) -> String {
        match self {
            Target::Dns(name) => name.clone(),
            Target::Ip(IpAddr::V4(ip)) => ip.to_string(),
            Target::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Dns(name) => f.write_str(name),
            Target::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// SHA-256 of the key authorization: what tls-alpn-01's acmeIdentifier
/// (RFC 8737 §3) and, base64url-encoded, dns-01's TXT record (RFC 8555
/// §8.4) carry.
pub(crate) fn key_authorization_digest(key_authorization: &str) -> [u8; 32] {
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// What came back, quoted for a problem detail: at most `max` characters,
/// control characters escaped, so that a hostile server cannot fill the
/// challenge's error with megabytes or terminal escapes.
pub(crate) fn quote(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    for c in chars.by_ref().take(max) {
        out.extend(c.escape_debug());
    }
    if chars.next().is_some() {
        out.push_str("...");
    }
    format!("\"{out}\"")
}

/// The time left before `deadline`, for a step that needs a `Duration`.
pub(crate) fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_normalised_and_checked() {
        let target = Target::new(&Identifier::dns("WWW.Example.ORG.")).unwrap();
        assert_eq!(target, Target::Dns("www.example.org".into()));
        assert!(Target::new(&Identifier::dns("a..b")).is_err());
        assert!(Target::new(&Identifier::dns("a/b")).is_err());
        let ip = Target::new(&Identifier::ip("::1")).unwrap();
        assert_eq!(ip.url_host(), "[::1]");
        assert!(Target::new(&Identifier::ip("example.org")).is_err());
    }

    #[test]
    fn quotes_are_bounded_and_escaped() {
        assert_eq!(quote("abc", 10), "\"abc\"");
        assert_eq!(quote("abcdef", 3), "\"abc...\"");
        assert_eq!(quote("a\nb\x1b", 10), "\"a\\nb\\u{1b}\"");
    }
}
