//! tls-alpn-01 (RFC 8737): the ACME client answers a TLS handshake that
//! offers only the ALPN protocol `acme-tls/1` with a self-signed
//! certificate for the identifier carrying SHA-256(key authorization).
//!
//! Why this proves control: only whoever runs the TLS server at the
//! name's address on port 443 can pick the certificate for that handshake,
//! and the special ALPN protocol keeps an ordinary HTTPS server (which
//! never negotiates `acme-tls/1`) from being tricked into passing
//! (RFC 8737 §5, "Security Considerations").
//!
//! The checks of RFC 8737 §3, in order, each with its problem type:
//! - a TCP connection to one of the name's addresses (`connection`);
//! - a TLS 1.2+ handshake with SNI = the name (RFC 8738 §6: for an IP,
//!   its reverse-DNS name) that negotiates `acme-tls/1` (`tls`);
//! - one certificate, whose subjectAltName holds the identifier and
//!   nothing else, and which has the acmeIdentifier extension
//!   (id-pe-acmeIdentifier, 1.3.6.1.5.5.7.1.31), critical, whose value
//!   is the DER OCTET STRING of the 32-byte digest (`unauthorized`,
//!   as Boulder and Pebble report a wrong answer).

use super::{key_authorization_digest, resolve, tls, Target, ValidationConfig};
use crate::problem::{ErrorType, Problem};
use rustls::pki_types::{DnsName, ServerName};
use std::net::IpAddr;
use tokio::time::Instant;
use x509_parser::extensions::GeneralName;

/// The ALPN protocol id of RFC 8737 §6.2.
pub(crate) const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// id-pe-acmeIdentifier (RFC 8737 §6.1).
const ACME_IDENTIFIER_OID: &str = "1.3.6.1.5.5.7.1.31";

pub(crate) async fn validate(
    config: &ValidationConfig,
    deadline: Instant,
    target: &Target,
    key_authorization: &str,
) -> Result<(), Problem> {
    let (ips, sni) = match target {
        Target::Dns(name) => (
            resolve::resolve(config, name, deadline).await?,
            name.clone(),
        ),
        Target::Ip(ip) => (vec![*ip], reverse_dns_name(*ip)),
    };
    let server_name = DnsName::try_from(sni.clone())
        .map(|name| ServerName::DnsName(name.to_owned()))
        .map_err(|e| {
            Problem::new(
                ErrorType::Malformed,
                format!("{sni} cannot be sent as a TLS server name: {e}"),
            )
        })?;
    let what = format!("tls-alpn-01 validation of {target}");
    let (tcp, addr) = resolve::connect(&ips, config.tlsalpn01_port, deadline, &what).await?;
    let client = tls::client_config(&[ACME_TLS_ALPN])?;
    let stream = tls::handshake(tcp, addr, server_name, client, deadline, &what).await?;
    let (_, connection) = stream.get_ref();

    match connection.alpn_protocol() {
        Some(ACME_TLS_ALPN) => {}
        other => {
            let got = match other {
                None => "no protocol".to_string(),
                Some(p) => super::quote(&String::from_utf8_lossy(p), 40),
            };
            return Err(Problem::new(
                ErrorType::Tls,
                format!(
                    "{addr} (SNI {sni}) did not negotiate the ALPN protocol acme-tls/1 \
                     for {what}: it chose {got}"
                ),
            ));
        }
    }

    let certificates = connection.peer_certificates().unwrap_or(&[]);
    let reason = match certificates {
        [certificate] => check_certificate(
            certificate.as_ref(),
            target,
            &key_authorization_digest(key_authorization),
        ),
        _ => Err(format!(
            "presented {} certificates, not exactly one",
            certificates.len()
        )),
    };
    reason.map_err(|reason| {
        Problem::new(
            ErrorType::Unauthorized,
            format!("the acme-tls/1 certificate from {addr} (SNI {sni}) for {target} {reason}"),
        )
    })
}

/// The reverse-DNS name of an address (RFC 8738 §6, after RFC 1035
/// §3.5 and RFC 3596 §2.5): what tls-alpn-01 sends as SNI for an `ip`
/// identifier, since SNI cannot carry an address (RFC 6066 §3).
pub(crate) fn reverse_dns_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            name.push_str("ip6.arpa");
            name
        }
    }
}

/// Checks the certificate against RFC 8737 §3; the error completes the
/// sentence "the certificate ... ".
fn check_certificate(der: &[u8], target: &Target, digest: &[u8; 32]) -> Result<(), String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("is not a valid X.509 certificate: {e}"))?;

    let san = certificate
        .subject_alternative_name()
        .map_err(|e| format!("has an unreadable subjectAltName: {e}"))?
        .ok_or("has no subjectAltName")?;
    let names = &san.value.general_names;
    let matches = match (names.as_slice(), target) {
        ([GeneralName::DNSName(dns)], Target::Dns(name)) => {
            dns.trim_end_matches('.').eq_ignore_ascii_case(name)
        }
        ([GeneralName::IPAddress(bytes)], Target::Ip(ip)) => match ip {
            IpAddr::V4(v4) => *bytes == v4.octets().as_slice(),
            IpAddr::V6(v6) => *bytes == v6.octets().as_slice(),
        },
        _ => false,
    };
    if !matches {
        let listed: Vec<String> = names.iter().map(describe_name).collect();
        return Err(format!(
            "must name exactly {target} in its subjectAltName, but names [{}]",
            listed.join(", ")
        ));
    }

    let mut found = certificate
        .extensions()
        .iter()
        .filter(|extension| extension.oid.to_id_string() == ACME_IDENTIFIER_OID);
    let extension = found
        .next()
        .ok_or("has no acmeIdentifier extension (1.3.6.1.5.5.7.1.31)")?;
    if found.next().is_some() {
        return Err("has more than one acmeIdentifier extension".into());
    }
    if !extension.critical {
        return Err("has an acmeIdentifier extension that is not critical".into());
    }
    let mut expected = vec![0x04, 0x20];
    expected.extend_from_slice(digest);
    if extension.value != expected.as_slice() {
        return Err(format!(
            "has the acmeIdentifier {}, expected {} (DER OCTET STRING of SHA-256 \
             of the key authorization)",
            super::quote(&hex::encode(extension.value), 80),
            hex::encode(&expected),
        ));
    }
    Ok(())
}

/// A subjectAltName entry as a problem detail shows it.
fn describe_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(dns) => format!("DNS:{}", super::quote(dns, 100)),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => format!(
                "IP:{}",
                std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
            ),
            16 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(bytes);
                format!("IP:{}", std::net::Ipv6Addr::from(octets))
            }
            _ => format!("IP:{}", hex::encode(bytes)),
        },
        other => super::quote(&other.to_string(), 100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names_as_in_rfc_8738() {
        assert_eq!(
            reverse_dns_name("1.2.3.4".parse().unwrap()),
            "4.3.2.1.in-addr.arpa"
        );
        assert_eq!(
            reverse_dns_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let reason = check_certificate(b"\x30\x03junk", &Target::Dns("a.test".into()), &[0; 32]);
        assert!(reason.unwrap_err().contains("not a valid X.509"));
    }
}
