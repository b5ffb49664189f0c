//! What a certificate says, in words: tutorial step 9's sentence "From time
//! A to time B I am X according to Y", then the details an operator checks
//! (serial, key, signature, fingerprint, extensions, days left).

use crate::error::{PkiError, Result};
use crate::key::{KeyInfo, KeyKind};
use crate::names::AltName;
use serde::Serialize;
use std::net::IpAddr;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

/// Everything squirrel says about one certificate.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateSummary {
    pub sentence: String,
    pub subject: String,
    pub issuer: String,
    pub version: u32,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub status: Validity,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    pub sha256_fingerprint: String,
    pub alt_names: Vec<String>,
    pub is_ca: bool,
    /// `None` when the certificate has no basicConstraints at all (the
    /// tutorial's CA), which OpenSSL 3, curl and Python refuse in a CA.
    pub basic_constraints: Option<String>,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    pub self_signed: bool,
    pub extensions: Vec<ExtensionSummary>,
}

/// Where `now` stands in a certificate's validity period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Validity {
    #[serde(rename = "valid")]
    Valid,
    #[serde(rename = "expired")]
    Expired,
    #[serde(rename = "not yet valid")]
    NotYetValid,
}

impl Validity {
    /// The state at `now` of a period from `not_before` to `not_after`
    /// (both included, as RFC 5280 says).
    pub fn at(now: OffsetDateTime, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        if now < not_before {
            Validity::NotYetValid
        } else if now > not_after {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }

    /// "valid", "expired" or "not yet valid" (also its JSON form).
    pub fn name(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Expired => "expired",
            Validity::NotYetValid => "not yet valid",
        }
    }
}

impl std::fmt::Display for Validity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// One extension, named and rendered.
#[derive(Clone, Debug, Serialize)]
pub struct ExtensionSummary {
    pub name: String,
    pub oid: String,
    pub critical: bool,
    pub value: String,
}

/// Parses a DER certificate, with an error that says so.
pub fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => Ok(cert),
        Err(e) => Err(PkiError::invalid(
            format!("the certificate cannot be parsed ({e})"),
            "the file is damaged; fetch or export the certificate again",
        )),
    }
}

/// The time format of the sentence: `2026-11-29 08:00 UTC`.
pub fn human_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// The first common name of a name, else its organization, else the whole
/// name: how a person would call the holder.
pub fn short_name(name: &X509Name<'_>) -> String {
    name.iter_common_name()
        .chain(name.iter_organization())
        .find_map(|attr| attr.as_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| match name.to_string() {
            full if full.is_empty() => "(no name)".to_string(),
            full => full,
        })
}

/// How a person would call the holder of a DER certificate (its CN, else
/// its O, else its first alternative name).
pub fn holder_name(der: &[u8]) -> Option<String> {
    let cert = parse_certificate(der).ok()?;
    if cert.subject().iter_attributes().next().is_none() {
        return alt_names(&cert).into_iter().next();
    }
    Some(short_name(cert.subject()))
}

/// The alternative names of a certificate, as text.
pub fn alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    match cert.subject_alternative_name() {
        Ok(Some(san)) => san.value.general_names.iter().map(general_name).collect(),
        _ => Vec::new(),
    }
}

/// The DNS names and IP addresses of a certificate, typed.
pub fn typed_alt_names(cert: &X509Certificate<'_>) -> Vec<AltName> {
    match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(typed_general_name)
            .collect(),
        _ => Vec::new(),
    }
}

/// A GeneralName as squirrel's [`AltName`], when it is one of the three.
pub fn typed_general_name(name: &GeneralName<'_>) -> Option<AltName> {
    match name {
        GeneralName::DNSName(d) => Some(AltName::Dns(d.to_string())),
        GeneralName::RFC822Name(e) => Some(AltName::Email(e.to_string())),
        GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(AltName::Ip),
        _ => None,
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => d.to_string(),
        GeneralName::RFC822Name(e) => format!("email:{e}"),
        GeneralName::URI(u) => format!("URI:{u}"),
        GeneralName::IPAddress(bytes) => {
            // Name constraints carry address + mask (8 or 32 bytes).
            let (addr, mask) = bytes.split_at(bytes.len() / 2);
            match (ip_from_bytes(bytes), ip_from_bytes(addr)) {
                (Some(ip), _) => ip.to_string(),
                (None, Some(addr)) => {
                    let prefix: u32 = mask.iter().map(|b| b.count_ones()).sum();
                    format!("{addr}/{prefix}")
                }
                (None, None) => format!("IP:{}", hex::encode(bytes)),
            }
        }
        GeneralName::DirectoryName(n) => format!("DirName:{n}"),
        other => format!("{other:?}"),
    }
}

/// Tutorial step 9's sentence for a certificate.
pub fn sentence(cert: &X509Certificate<'_>) -> String {
    let names = alt_names(cert);
    let who = if cert.subject().iter_common_name().next().is_some() || names.is_empty() {
        short_name(cert.subject())
    } else {
        names[0].clone()
    };
    let also = if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    };
    format!(
        "From {} to {}, I am {who}{also} according to {}",
        human_time(cert.validity().not_before.to_datetime()),
        human_time(cert.validity().not_after.to_datetime()),
        short_name(cert.issuer()),
    )
}

/// SHA-256 of some bytes, upper-case hex with colons (openssl's style).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    colon_hex(digest.as_ref())
}

/// Bytes as `AB:CD:...`.
pub fn colon_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    // Written digit by digit: the ACME server fingerprints every
    // certificate it issues, and a `format!` per byte showed in profiles.
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        text.push(DIGITS[usize::from(b >> 4)].into());
        text.push(DIGITS[usize::from(b & 0xF)].into());
    }
    text
}

/// Type, size and fingerprint of a DER SubjectPublicKeyInfo.
pub fn public_key_info(spki_der: &[u8]) -> Result<KeyInfo> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der).map_err(|e| {
        PkiError::invalid(
            format!("unreadable public key ({e})"),
            "the file is damaged",
        )
    })?;
    Ok(spki_info(&spki, spki_der))
}

fn spki_info(spki: &SubjectPublicKeyInfo<'_>, spki_der: &[u8]) -> KeyInfo {
    let oid = spki.algorithm.algorithm.to_id_string();
    let (kind, bits, description) = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size() as u32;
            (KeyKind::Rsa, bits, format!("RSA {bits} bits"))
        }
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => (KeyKind::Ecdsa, 256, "ECDSA P-256".to_string()),
                Some("1.3.132.0.34") => (KeyKind::Ecdsa, 384, "ECDSA P-384".to_string()),
                Some("1.3.132.0.35") => (KeyKind::Ecdsa, 521, "ECDSA P-521".to_string()),
                other => {
                    let bits = point.key_size() as u32;
                    let name = format!("EC curve {}", other.unwrap_or("?"));
                    (KeyKind::Ecdsa, bits, name)
                }
            }
        }
        _ if oid == "1.3.101.112" => (KeyKind::Ed25519, 256, "Ed25519".to_string()),
        _ => (KeyKind::Unknown, 0, format!("key of algorithm {oid}")),
    };
    KeyInfo {
        kind,
        bits,
        description,
        spki_sha256: fingerprint(spki_der),
    }
}

/// A readable name for a signature algorithm OID.
pub fn signature_algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ED25519",
        other => return other.to_string(),
    }
    .to_string()
}

/// Describes a parsed certificate as of `now`.
pub fn summarize(der: &[u8], now: OffsetDateTime) -> Result<CertificateSummary> {
    let cert = parse_certificate(der)?;
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    let status = Validity::at(now, not_before, not_after);
    let basic = cert.basic_constraints().ok().flatten().map(|bc| {
        match (bc.value.ca, bc.value.path_len_constraint) {
            (true, Some(n)) => format!("CA:TRUE, pathlen:{n}"),
            (true, None) => "CA:TRUE".to_string(),
            (false, _) => "CA:FALSE".to_string(),
        }
    });
    let key_usage = cert
        .key_usage()
        .ok()
        .flatten()
        .map(|ku| key_usage_names(ku.value))
        .unwrap_or_default();
    let extended_key_usage = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .map(|eku| eku_names(eku.value))
        .unwrap_or_default();
    let extensions = cert
        .extensions()
        .iter()
        .map(|ext| ExtensionSummary {
            name: extension_name(&ext.oid.to_id_string()).to_string(),
            oid: ext.oid.to_id_string(),
            critical: ext.critical,
            value: extension_value(ext.parsed_extension()),
        })
        .collect();
    Ok(CertificateSummary {
        sentence: sentence(&cert),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        version: cert.version().0 + 1,
        serial: cert.raw_serial_as_string().to_uppercase(),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_left: (not_after - now).whole_days(),
        status,
        key: spki_info(cert.public_key(), cert.public_key().raw),
        signature_algorithm: signature_algorithm_name(
            &cert.signature_algorithm.algorithm.to_id_string(),
        ),
        sha256_fingerprint: fingerprint(der),
        alt_names: alt_names(&cert),
        is_ca: cert.is_ca(),
        basic_constraints: basic,
        key_usage,
        extended_key_usage,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        extensions,
    })
}

fn key_usage_names(ku: &x509_parser::extensions::KeyUsage) -> Vec<String> {
    let all = [
        (ku.digital_signature(), "Digital Signature"),
        (ku.non_repudiation(), "Non Repudiation"),
        (ku.key_encipherment(), "Key Encipherment"),
        (ku.data_encipherment(), "Data Encipherment"),
        (ku.key_agreement(), "Key Agreement"),
        (ku.key_cert_sign(), "Certificate Sign"),
        (ku.crl_sign(), "CRL Sign"),
        (ku.encipher_only(), "Encipher Only"),
        (ku.decipher_only(), "Decipher Only"),
    ];
    all.iter()
        .filter(|(set, _)| *set)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn eku_names(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<String> {
    let mut names = Vec::new();
    let flags = [
        (eku.any, "Any Extended Key Usage"),
        (eku.server_auth, "TLS Web Server Authentication"),
        (eku.client_auth, "TLS Web Client Authentication"),
        (eku.code_signing, "Code Signing"),
        (eku.email_protection, "E-mail Protection"),
        (eku.time_stamping, "Time Stamping"),
        (eku.ocsp_signing, "OCSP Signing"),
    ];
    names.extend(flags.iter().filter(|(s, _)| *s).map(|(_, n)| n.to_string()));
    names.extend(eku.other.iter().map(|o| o.to_id_string()));
    names
}

fn extension_name(oid: &str) -> &'static str {
    match oid {
        "2.5.29.14" => "Subject Key Identifier",
        "2.5.29.15" => "Key Usage",
        "2.5.29.17" => "Subject Alternative Name",
        "2.5.29.19" => "Basic Constraints",
        "2.5.29.30" => "Name Constraints",
        "2.5.29.31" => "CRL Distribution Points",
        "2.5.29.32" => "Certificate Policies",
        "2.5.29.35" => "Authority Key Identifier",
        "2.5.29.37" => "Extended Key Usage",
        "1.3.6.1.5.5.7.1.1" => "Authority Information Access",
        _ => "Unknown extension",
    }
}

/// Renders a parsed extension's value as openssl's text output would.
pub fn extension_value(ext: &ParsedExtension<'_>) -> String {
    match ext {
        ParsedExtension::SubjectKeyIdentifier(id) => colon_hex(id.0),
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki
            .key_identifier
            .as_ref()
            .map(|k| colon_hex(k.0))
            .unwrap_or_default(),
        ParsedExtension::KeyUsage(ku) => key_usage_names(ku).join(", "),
        ParsedExtension::ExtendedKeyUsage(eku) => eku_names(eku).join(", "),
        ParsedExtension::SubjectAlternativeName(san) => san
            .general_names
            .iter()
            .map(general_name)
            .collect::<Vec<_>>()
            .join(", "),
        ParsedExtension::BasicConstraints(bc) => match (bc.ca, bc.path_len_constraint) {
            (true, Some(n)) => format!("CA:TRUE, pathlen:{n}"),
            (true, None) => "CA:TRUE".to_string(),
            (false, _) => "CA:FALSE".to_string(),
        },
        ParsedExtension::NameConstraints(nc) => {
            let list = |subtrees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
                subtrees
                    .iter()
                    .flatten()
                    .map(|s| general_name(&s.base))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut parts = Vec::new();
            if nc.permitted_subtrees.is_some() {
                parts.push(format!("permitted: {}", list(&nc.permitted_subtrees)));
            }
            if nc.excluded_subtrees.is_some() {
                parts.push(format!("excluded: {}", list(&nc.excluded_subtrees)));
            }
            parts.join("; ")
        }
        ParsedExtension::UnsupportedExtension { .. } => "(not decoded)".to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colon_hex_is_upper_case_pairs_between_colons() {
        assert_eq!(colon_hex(&[0x0a, 0xff, 0x00, 0x9c]), "0A:FF:00:9C");
        assert_eq!(colon_hex(&[0x01]), "01");
        assert_eq!(colon_hex(&[]), "");
    }

    #[test]
    fn validity_states_and_their_json() {
        let t = |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap();
        assert_eq!(Validity::at(t(5), t(10), t(20)), Validity::NotYetValid);
        assert_eq!(Validity::at(t(10), t(10), t(20)), Validity::Valid);
        assert_eq!(Validity::at(t(20), t(10), t(20)), Validity::Valid);
        assert_eq!(Validity::at(t(21), t(10), t(20)), Validity::Expired);
        for (v, text) in [
            (Validity::Valid, "valid"),
            (Validity::Expired, "expired"),
            (Validity::NotYetValid, "not yet valid"),
        ] {
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{text}\""));
            assert_eq!(format!("{v:<14}|"), format!("{text:<14}|"));
        }
    }

    #[test]
    fn name_constraint_addresses_keep_their_mask() {
        let name = |b: &'static [u8]| general_name(&GeneralName::IPAddress(b));
        assert_eq!(name(&[10, 0, 0, 0, 255, 0, 0, 0]), "10.0.0.0/8");
        assert_eq!(name(&[127, 0, 0, 1]), "127.0.0.1");
        assert_eq!(name(&[1, 2, 3]), "IP:010203");
        assert_eq!(name(&[]), "IP:");
    }
}
