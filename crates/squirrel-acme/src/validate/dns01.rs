//! dns-01 (RFC 8555 §8.4): a TXT record at `_acme-challenge.NAME` holds
//! base64url(SHA-256(key authorization)), without padding.
//!
//! The question goes to `--dns-resolver` when given, else to the system's
//! name servers from `/etc/resolv.conf`, asked directly rather than
//! through a caching resolver: an ACME client that just changed the
//! record and asks for validation must be judged on the record as it is
//! now (RFC 8555 §8.2 lets the client retry, not the cache expire).
//!
//! Only `dns` identifiers: RFC 8738 §7 forbids dns-01 for `ip` ones, as
//! an address has no zone its holder controls.
//!
//! A record that is several character-strings counts as their
//! concatenation (RFC 7208 §3.3 does so for TXT; Boulder too), so a
//! provider that splits long values does not fail the check.

use super::{dns, key_authorization_digest, Target, ValidationConfig};
use crate::problem::{ErrorType, Problem};
use hickory_proto::rr::{RData, RecordType};
use tokio::time::Instant;

/// At most this many records are quoted in a problem detail.
const LISTED_RECORDS: usize = 5;

pub(crate) async fn validate(
    config: &ValidationConfig,
    deadline: Instant,
    target: &Target,
    key_authorization: &str,
) -> Result<(), Problem> {
    let name = match target {
        Target::Dns(name) => format!("_acme-challenge.{name}"),
        Target::Ip(ip) => {
            return Err(Problem::new(
                ErrorType::Malformed,
                format!("dns-01 cannot validate the ip identifier {ip} (RFC 8738 §7)"),
            ))
        }
    };
    let expected = crate::b64::encode(&key_authorization_digest(key_authorization));
    let (servers, asked) = match config.dns_resolver {
        Some(server) => (vec![server], format!("DNS server {server}")),
        None => {
            let servers = dns::system_nameservers().await;
            let list: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
            let asked = format!("the system's DNS servers ({})", list.join(", "));
            (servers, asked)
        }
    };

    let records = match dns::query_any(&servers, &name, RecordType::TXT, deadline).await {
        Ok(records) => records,
        Err(e) if e.is_nxdomain() => Vec::new(),
        Err(e) => {
            return Err(Problem::new(
                ErrorType::Dns,
                format!("DNS lookup of TXT {name} at {asked} failed: {e}"),
            ))
        }
    };
    let values: Vec<String> = records
        .iter()
        .filter_map(|rdata| match rdata {
            RData::TXT(txt) => Some(
                txt.iter()
                    .map(|part| String::from_utf8_lossy(part))
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect();
    if values.iter().any(|value| value == &expected) {
        return Ok(());
    }
    let found = if values.is_empty() {
        "found no TXT record".to_string()
    } else {
        let mut quoted: Vec<String> = values
            .iter()
            .take(LISTED_RECORDS)
            .map(|value| super::quote(value, 100))
            .collect();
        if values.len() > LISTED_RECORDS {
            quoted.push(format!("and {} more", values.len() - LISTED_RECORDS));
        }
        format!("found {}", quoted.join(", "))
    };
    Err(Problem::new(
        ErrorType::Unauthorized,
        format!("dns-01: expected the TXT record {expected:?} at {name} (asked {asked}), {found}"),
    ))
}
