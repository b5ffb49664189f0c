//! What a server or client certificate (the leaf of a chain) may and must
//! contain, beyond what webpki checks: RFC 5280's profile, and the
//! CA/Browser Forum Baseline Requirements' (BR) for TLS certificates.
//!
//! The BR rules are the ones a tutorial-made chain breaks (its server
//! certificate is named my-site.com but valid for localhost, and has no
//! authority key identifier): with `--legacy-ca` they become warnings.

use super::{
    aki_not_critical, has_aki, key_kind, name_of, ski_not_critical, strong_key,
    well_formed_extensions, KeyKind, Rule, Violation,
};
use crate::verify::Purpose;
use std::net::IpAddr;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_SUBJECT_ALT_NAME};

/// Which rules to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// RFC 5280 only.
    Rfc5280,
    /// RFC 5280 and the Baseline Requirements.
    Baseline,
}

/// The first rule the leaf breaks, if any.
pub fn check(cert: &X509Certificate<'_>, purpose: Purpose, profile: Profile) -> Rule {
    well_formed_extensions(cert)?;
    aki_not_critical(cert)?;
    ski_not_critical(cert)?;
    positive_short_serial(cert)?;
    signs_no_certificates(cert)?;
    key_usage_fits_the_key(cert)?;
    no_name_constraints(cert)?;
    san_criticality(cert)?;
    if profile == Profile::Baseline {
        has_aki(cert, "the certificate")?;
        strong_key(cert, "the certificate")?;
        dns_names_are_hostnames(cert)?;
        if purpose == Purpose::Server {
            server_eku(cert)?;
            common_names_in_alt_names(cert)?;
        }
    }
    Ok(())
}

/// RFC 5280 4.1.2.2: a positive integer of at most 20 octets.
fn positive_short_serial(cert: &X509Certificate<'_>) -> Rule {
    let raw = cert.raw_serial();
    let negative = raw.first().is_some_and(|b| b & 0x80 != 0);
    let zero = raw.iter().all(|&b| b == 0);
    // A leading zero octet only keeps a high bit from reading as a sign.
    let content = match raw {
        [0, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => rest,
        _ => raw,
    };
    let problem = if negative {
        "is negative"
    } else if zero {
        "is zero"
    } else if content.len() > 20 {
        "is longer than 20 octets"
    } else {
        return Ok(());
    };
    Err(Violation::new(
        "serial",
        "invalid serial number",
        format!(
            "the serial number of {} {problem}; RFC 5280 requires a positive number of at most \
             20 octets; reissue the certificate",
            name_of(cert)
        ),
    ))
}

/// A leaf may not sign certificates (keyUsage keyCertSign).
fn signs_no_certificates(cert: &X509Certificate<'_>) -> Rule {
    match cert.key_usage() {
        Ok(Some(ku)) if ku.value.key_cert_sign() => Err(Violation::new(
            "leaf-keycertsign",
            "invalid certificate purpose",
            format!(
                "{} is not a CA but its keyUsage allows signing certificates (keyCertSign), \
                 which RFC 5280 forbids; reissue it",
                name_of(cert)
            ),
        )),
        _ => Ok(()),
    }
}

/// RFC 5280 4.2.1.3: a keyUsage names at least one use, and the uses fit
/// the key: a signature key (ECDSA, EdDSA, ML-DSA) signs; it cannot
/// encipher keys, and only ECDH keys agree on them.
fn key_usage_fits_the_key(cert: &X509Certificate<'_>) -> Rule {
    let Ok(Some(ku)) = cert.key_usage() else {
        return Ok(());
    };
    let ku = ku.value;
    let kind = key_kind(cert);
    let problem = if ku.flags == 0 {
        "has a keyUsage that allows nothing"
    } else if kind != KeyKind::Rsa && !ku.digital_signature() {
        "has a signature key but its keyUsage lacks digitalSignature"
    } else if matches!(kind, KeyKind::EdDsa | KeyKind::MlDsa)
        && (ku.key_encipherment() || ku.data_encipherment() || ku.key_agreement())
    {
        "has a signature-only key but its keyUsage allows enciphering or agreeing on keys"
    } else {
        return Ok(());
    };
    Err(Violation::new(
        "key-usage",
        "unsupported certificate purpose",
        format!("{} {problem}; reissue it", name_of(cert)),
    ))
}

/// Name constraints belong to CAs only (RFC 5280 4.2.1.10).
fn no_name_constraints(cert: &X509Certificate<'_>) -> Rule {
    match cert.name_constraints() {
        Ok(None) => Ok(()),
        _ => Err(Violation::new(
            "leaf-name-constraints",
            "invalid certificate extension",
            format!(
                "{} is not a CA but has name constraints, which only CAs may carry",
                name_of(cert)
            ),
        )),
    }
}

/// RFC 5280 4.2.1.6: with an empty subject, the alternative names are the
/// only names and must be critical; with a subject, they should not be.
fn san_criticality(cert: &X509Certificate<'_>) -> Rule {
    let empty_subject = cert.subject().iter_attributes().next().is_none();
    let san = super::extension(cert, &OID_X509_EXT_SUBJECT_ALT_NAME);
    let problem = match (empty_subject, san.map(|e| e.critical)) {
        (true, None) => "has neither a subject name nor alternative names",
        (true, Some(false)) => {
            "has an empty subject, so its subjectAltName must be critical, and it is not"
        }
        (false, Some(true)) => {
            "has a subject name, so its subjectAltName must not be critical, and it is"
        }
        _ => return Ok(()),
    };
    Err(Violation::new(
        "san-criticality",
        "invalid certificate extension",
        format!("{} {problem} (RFC 5280 4.2.1.6)", name_of(cert)),
    ))
}

/// BR 7.1.2.7.10: a server certificate's EKU is not critical and names
/// serverAuth, not anyExtendedKeyUsage alone.
fn server_eku(cert: &X509Certificate<'_>) -> Rule {
    let Some(ext) = super::extension(cert, &OID_X509_EXT_EXTENDED_KEY_USAGE) else {
        return Ok(());
    };
    let ParsedExtension::ExtendedKeyUsage(eku) = ext.parsed_extension() else {
        return Ok(()); // malformed: refused by well_formed_extensions
    };
    let problem = if ext.critical {
        "marks its extendedKeyUsage critical"
    } else if eku.any {
        "allows anyExtendedKeyUsage, any use at all"
    } else {
        return Ok(());
    };
    Err(Violation::new(
        "server-eku",
        "unsupported certificate purpose",
        format!(
            "{} {problem}, which the Baseline Requirements forbid for a TLS server; issue it with \
             --profile server",
            name_of(cert)
        ),
    ))
}

/// DNS names are host names: letters, digits and hyphens (no underscore,
/// BR 7.1.4.2), with at most a leading `*.`, never over a public suffix
/// (`*.co.uk` would cover every company in the UK).
fn dns_names_are_hostnames(cert: &X509Certificate<'_>) -> Rule {
    for name in dns_names(cert) {
        if name.contains('_') {
            return Err(Violation::new(
                "dns-underscore",
                "hostname mismatch",
                format!(
                    "{} names {name:?}, with an underscore, which is not a host name (BR \
                     7.1.4.2)",
                    name_of(cert)
                ),
            ));
        }
        if let Some(rest) = name.strip_prefix("*.") {
            let rest = rest.trim_end_matches('.').to_ascii_lowercase();
            if let Some(suffix) = psl::suffix(rest.as_bytes()) {
                if suffix.is_known() && suffix.as_bytes() == rest.as_bytes() {
                    return Err(Violation::new(
                        "wildcard-public-suffix",
                        "hostname mismatch",
                        format!(
                            "{} names {name:?}, a wildcard over the public suffix {rest:?}, \
                             which would cover every domain under it (BR 3.2.2.6)",
                            name_of(cert)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// BR 7.1.4.3: a common name is a character-for-character copy of one of
/// the alternative names. squirrel refuses a common name that spells a
/// listed name differently (another case, an IP address written in hex,
/// with leading zeros or not in RFC 5952 form, a domain in Unicode rather
/// than its xn-- form): a client reading the name would see two names for
/// one host. A common name unrelated to every alternative name is left to
/// the clients, which ignore it when alternative names are present.
fn common_names_in_alt_names(cert: &X509Certificate<'_>) -> Rule {
    let dns: Vec<&str> = dns_names(cert).collect();
    let ips: Vec<IpAddr> = ip_addresses(cert).collect();
    for cn in cert.subject().iter_common_name() {
        let Ok(cn) = cn.as_str() else {
            continue;
        };
        if dns.contains(&cn) || ips.iter().any(|ip| ip.to_string() == cn) {
            continue;
        }
        let problem = if !cn.is_ascii() {
            "is written in Unicode; a domain name is written in its xn-- (Punycode) form"
        } else if dns.iter().any(|d| d.eq_ignore_ascii_case(cn)) {
            "differs from its alternative name in letter case"
        } else if looks_like_ip_address(cn) {
            "is an IP address not written as in its alternative names (dotted decimal without \
             leading zeros, or RFC 5952 for IPv6)"
        } else {
            continue;
        };
        let mut names: Vec<String> = dns.iter().map(|d| d.to_string()).collect();
        names.extend(ips.iter().map(IpAddr::to_string));
        return Err(Violation::new(
            "cn-not-in-san",
            "hostname mismatch",
            format!(
                "the common name {cn:?} {problem}: the Baseline Requirements want an exact copy \
                 of an alternative name ({}); reissue the certificate",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        ));
    }
    Ok(())
}

/// Text that a person or a lenient parser would read as an IP address:
/// `192.168.001.001`, `0xC0A80101`, `2001:DB8::1`.
fn looks_like_ip_address(text: &str) -> bool {
    let hex_or_punct = text
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | 'x' | 'X'));
    let dotted_digits = text.split('.').count() == 4
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let hex_number = text.len() > 2 && (text.starts_with("0x") || text.starts_with("0X"));
    hex_or_punct && (text.contains(':') || dotted_digits || hex_number)
}

fn general_names<'a>(cert: &'a X509Certificate<'_>) -> impl Iterator<Item = &'a GeneralName<'a>> {
    cert.extensions()
        .iter()
        .filter_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => Some(san.general_names.iter()),
            _ => None,
        })
        .flatten()
}

fn dns_names<'a>(cert: &'a X509Certificate<'_>) -> impl Iterator<Item = &'a str> {
    general_names(cert).filter_map(|n| match n {
        GeneralName::DNSName(d) => Some(*d),
        _ => None,
    })
}

fn ip_addresses<'a>(cert: &'a X509Certificate<'_>) -> impl Iterator<Item = IpAddr> + 'a {
    general_names(cert).filter_map(|n| match n {
        GeneralName::IPAddress(b) => match b.len() {
            4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
            16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
            _ => None,
        },
        _ => None,
    })
}
