//! Which names this CA issues for, and for how long: `--allow-name`, the
//! CA certificate's own name constraints, `--cert-days`. Anything else is
//! `rejectedIdentifier` (RFC 8555 §6.7), before any challenge is offered.

use crate::model::Identifier;
use crate::problem::{ErrorType, Identifier as ProblemIdentifier, Subproblem};
use squirrel_pki::names::{is_dns_name, IpNetwork};
use squirrel_pki::{AltName, CertificateAuthority};
use std::net::IpAddr;
use time::Duration;

/// The leader's issuance policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// DNS suffixes (`my-club.test` allows it and its subdomains) and IP
    /// networks the CA issues for; empty: any name the CA's constraints
    /// allow.
    pub allowed: Vec<AllowedName>,
    /// The lifetime of issued certificates.
    pub cert_lifetime: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allowed: Vec::new(),
            cert_lifetime: Duration::days(squirrel_pki::sign::DEFAULT_LEAF_DAYS.into()),
        }
    }
}

/// One `--allow-name`: a DNS suffix or an IP network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedName {
    Suffix(String),
    Network(IpNetwork),
}

impl std::str::FromStr for AllowedName {
    type Err = String;

    /// `my-club.test`, `.my-club.test`, `*.my-club.test`, `10.0.0.0/8`,
    /// `127.0.0.1`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            let prefix = if ip.is_ipv4() { 32 } else { 128 };
            return Ok(AllowedName::Network(IpNetwork { addr: ip, prefix }));
        }
        if text.contains('/') {
            return text
                .parse::<IpNetwork>()
                .map(AllowedName::Network)
                .map_err(|e| e.to_string());
        }
        let suffix = text
            .trim_start_matches("*.")
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if is_dns_name(&suffix) {
            Ok(AllowedName::Suffix(suffix))
        } else {
            Err(format!(
                "{text:?} is neither a DNS suffix (e.g. my-club.test) nor an IP network \
                 (e.g. 10.0.0.0/8)"
            ))
        }
    }
}

impl std::fmt::Display for AllowedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllowedName::Suffix(s) => f.write_str(s),
            AllowedName::Network(n) => write!(f, "{}/{}", n.addr, n.prefix),
        }
    }
}

/// An identifier of a new order, checked and in canonical form.
pub(crate) struct Accepted {
    /// Without `*.`: what the authorization is for.
    pub identifier: Identifier,
    pub wildcard: bool,
    /// As the order lists it (with `*.` for a wildcard).
    pub as_ordered: Identifier,
}

impl Policy {
    /// Checks one identifier of a new order; a refusal is a subproblem
    /// naming it (RFC 8555 §6.7.1), `rejectedIdentifier` or
    /// `unsupportedIdentifier`/`malformed`.
    pub(crate) fn check(
        &self,
        ca: &CertificateAuthority,
        raw: &serde_json::Value,
    ) -> Result<Accepted, Subproblem> {
        let kind = raw.get("type").and_then(|v| v.as_str()).unwrap_or("");
        let value = raw.get("value").and_then(|v| v.as_str()).unwrap_or("");
        let refuse = |kind: ErrorType, detail: String| Subproblem {
            kind,
            detail,
            identifier: Some(ProblemIdentifier {
                kind: raw_kind(raw),
                value: value.to_string(),
            }),
        };
        let (identifier, wildcard, as_ordered, alt_name) = match kind {
            "dns" => {
                let name = value.trim_end_matches('.').to_ascii_lowercase();
                let (base, wildcard) = match name.strip_prefix("*.") {
                    Some(base) => (base.to_string(), true),
                    None => (name.clone(), false),
                };
                if base.parse::<IpAddr>().is_ok() {
                    return Err(refuse(
                        ErrorType::Malformed,
                        format!("{value:?} is an IP address: order it as {{\"type\": \"ip\"}}"),
                    ));
                }
                if !is_dns_name(&base) {
                    return Err(refuse(
                        ErrorType::RejectedIdentifier,
                        format!("{value:?} is not a valid DNS name"),
                    ));
                }
                if wildcard && !base.contains('.') {
                    return Err(refuse(
                        ErrorType::RejectedIdentifier,
                        format!(
                            "{value:?}: a wildcard directly over a top-level domain is refused"
                        ),
                    ));
                }
                let alt = AltName::Dns(name.clone());
                (Identifier::dns(base), wildcard, Identifier::dns(name), alt)
            }
            "ip" => {
                let Ok(ip) = value.parse::<IpAddr>() else {
                    return Err(refuse(
                        ErrorType::Malformed,
                        format!("{value:?} is not an IP address (RFC 8738)"),
                    ));
                };
                let text = ip.to_string();
                (
                    Identifier::ip(&text),
                    false,
                    Identifier::ip(&text),
                    AltName::Ip(ip),
                )
            }
            other => {
                return Err(refuse(
                    ErrorType::UnsupportedIdentifier,
                    format!("identifier type {other:?} is not supported: use \"dns\" or \"ip\""),
                ))
            }
        };
        if !self.allows(&alt_name) {
            let allowed: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
            return Err(refuse(
                ErrorType::RejectedIdentifier,
                format!(
                    "this CA does not issue for {value} (it issues for: {})",
                    allowed.join(", ")
                ),
            ));
        }
        if let Err(e) = ca.check_name_constraints(std::slice::from_ref(&alt_name)) {
            return Err(refuse(ErrorType::RejectedIdentifier, e.to_string()));
        }
        Ok(Accepted {
            identifier,
            wildcard,
            as_ordered,
        })
    }

    fn allows(&self, name: &AltName) -> bool {
        if self.allowed.is_empty() {
            return true;
        }
        self.allowed.iter().any(|allowed| match (allowed, name) {
            (AllowedName::Suffix(suffix), AltName::Dns(dns)) => {
                let dns = dns.strip_prefix("*.").unwrap_or(dns);
                dns == suffix || dns.ends_with(&format!(".{suffix}"))
            }
            (AllowedName::Network(net), AltName::Ip(ip)) => net.contains(ip),
            _ => false,
        })
    }
}

fn raw_kind(raw: &serde_json::Value) -> String {
    raw.get("type")
        .and_then(|v| v.as_str())
        .unwrap_or("dns")
        .to_string()
}
