//! The rules rustls-webpki leaves to others. webpki checks signatures,
//! validity, basicConstraints, pathLen, EKU and name constraints; RFC 5280
//! and the CA/Browser Forum's Baseline Requirements (BR) forbid more, and
//! OpenSSL 3, curl and Python enforce much of it. squirrel enforces it too,
//! so that a chain `squirrel pki verify` accepts is one those tools accept
//! (tutorial step 14: "the client must trust the CA").
//!
//! - [`anchor`]: what makes a certificate fit to be trusted as a CA;
//! - [`leaf`]: what a server or client certificate may and must contain;
//! - [`issuer`]: intermediates, name constraints and the path itself.
//!
//! Each rule returns a [`Violation`]: plain words, the fix, and the phrase
//! OpenSSL prints for the same problem where it has one.

pub mod anchor;
pub mod crl;
pub mod dirname;
pub mod issuer;
pub mod leaf;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{ParsedExtension, X509Extension};
use x509_parser::oid_registry::{
    Oid, OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
};
use x509_parser::public_key::PublicKey;

/// A rule a certificate breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The problem in plain words, with the fix.
    pub explanation: String,
    /// What OpenSSL (and so curl and Python) prints for it, or the nearest.
    pub openssl_phrase: &'static str,
    /// A short stable name for the rule (shown in JSON).
    pub rule: &'static str,
}

impl Violation {
    pub(crate) fn new(
        rule: &'static str,
        openssl_phrase: &'static str,
        explanation: impl Into<String>,
    ) -> Self {
        Violation {
            explanation: explanation.into(),
            openssl_phrase,
            rule,
        }
    }
}

/// The result of one rule.
pub type Rule = Result<(), Violation>;

/// How a person would call this certificate.
pub(crate) fn name_of(cert: &X509Certificate<'_>) -> String {
    crate::describe::holder_name(cert.as_ref()).unwrap_or_else(|| "(no name)".to_string())
}

/// The extension with this OID, if present.
pub(crate) fn extension<'a, 'b>(
    cert: &'b X509Certificate<'a>,
    oid: &Oid<'_>,
) -> Option<&'b X509Extension<'a>> {
    cert.extensions().iter().find(|e| &e.oid == oid)
}

/// No extension may be malformed (a truncated AIA, a SAN that is not a
/// sequence...): x509-parser keeps what it could not parse as an error.
pub(crate) fn well_formed_extensions(cert: &X509Certificate<'_>) -> Rule {
    for ext in cert.extensions() {
        if let ParsedExtension::ParseError { error } = ext.parsed_extension() {
            return Err(Violation::new(
                "malformed-extension",
                "certificate extension is malformed",
                format!(
                    "{} has a malformed extension {} ({error}); reissue the certificate",
                    name_of(cert),
                    extension_name(&ext.oid)
                ),
            ));
        }
    }
    Ok(())
}

/// The authority key identifier may not be critical (RFC 5280 4.2.1.1).
pub(crate) fn aki_not_critical(cert: &X509Certificate<'_>) -> Rule {
    use x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER as AKI;
    match extension(cert, &AKI) {
        Some(ext) if ext.critical => Err(Violation::new(
            "aki-critical",
            "invalid certificate extension",
            format!(
                "{} marks its authority key identifier critical, which RFC 5280 forbids; \
                 reissue it",
                name_of(cert)
            ),
        )),
        _ => Ok(()),
    }
}

/// An authority key identifier with a key identifier must be present
/// (RFC 5280 4.2.1.1: every certificate but a self-signed root).
pub(crate) fn has_aki(cert: &X509Certificate<'_>, what: &str) -> Rule {
    let present = matches!(
        cert.extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => Some(aki.key_identifier.is_some()),
                _ => None,
            }),
        Some(true)
    );
    if present {
        return Ok(());
    }
    Err(Violation::new(
        "aki-missing",
        "missing Authority Key Identifier",
        format!(
            "{what} {} has no authority key identifier (RFC 5280 requires one, so that the \
             issuer can be found); reissue it with `squirrel pki sign`",
            name_of(cert)
        ),
    ))
}

/// A subject key identifier must be present on a CA (RFC 5280 4.2.1.2).
pub(crate) fn has_ski(cert: &X509Certificate<'_>, what: &str) -> Rule {
    let present = cert.extensions().iter().any(|e| {
        matches!(
            e.parsed_extension(),
            ParsedExtension::SubjectKeyIdentifier(_)
        )
    });
    if present {
        return Ok(());
    }
    Err(Violation::new(
        "ski-missing",
        "missing Subject Key Identifier",
        format!(
            "{what} {} has no subject key identifier (RFC 5280 requires one on every CA); \
             reissue it with `squirrel pki ca init`",
            name_of(cert)
        ),
    ))
}

/// BR 6.1.5: RSA of 2048 bits or more, a whole number of octets; ECDSA on
/// P-256, P-384 or P-521; never DSA.
pub(crate) fn strong_key(cert: &X509Certificate<'_>, what: &str) -> Rule {
    let spki = cert.public_key();
    let weak = |why: String| {
        Err(Violation::new(
            "weak-key",
            "EE certificate key too weak",
            format!(
                "the key of {what} {} {why}; make a new key (squirrel makes ECDSA P-256 or RSA \
                 2048+)",
                name_of(cert)
            ),
        ))
    };
    if spki.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if [OID_EC_P256, OID_NIST_EC_P384, OID_NIST_EC_P521].contains(&c) => Ok(()),
            Some(c) => weak(format!("is on the curve {c}, not P-256, P-384 or P-521")),
            None => weak("has explicit or missing curve parameters".to_string()),
        };
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = bit_length(rsa.modulus);
            if bits < 2048 {
                weak(format!("is RSA of {bits} bits, fewer than 2048"))
            } else if bits % 8 != 0 {
                weak(format!("is RSA of {bits} bits, not a multiple of 8"))
            } else {
                Ok(())
            }
        }
        Ok(PublicKey::DSA(_)) => weak("is DSA, which no TLS client accepts any more".to_string()),
        _ => Ok(()),
    }
}

/// The number of bits of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    match bytes.get(start) {
        Some(first) => (bytes.len() - start - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// The family of a certificate's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    Ec,
    EdDsa,
    MlDsa,
    Other,
}

pub(crate) fn key_kind(cert: &X509Certificate<'_>) -> KeyKind {
    let oid = cert.public_key().algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.2.840.113549.1.1.1" => KeyKind::Rsa,
        "1.2.840.10045.2.1" => KeyKind::Ec,
        "1.3.101.112" | "1.3.101.113" => KeyKind::EdDsa,
        "2.16.840.1.101.3.4.3.17" | "2.16.840.1.101.3.4.3.18" | "2.16.840.1.101.3.4.3.19" => {
            KeyKind::MlDsa
        }
        _ => KeyKind::Other,
    }
}

/// The subject key identifier may not be critical (RFC 5280 4.2.1.2).
pub(crate) fn ski_not_critical(cert: &X509Certificate<'_>) -> Rule {
    use x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER as SKI;
    match extension(cert, &SKI) {
        Some(ext) if ext.critical => Err(Violation::new(
            "ski-critical",
            "invalid certificate extension",
            format!(
                "{} marks its subject key identifier critical, which RFC 5280 forbids; reissue \
                 it",
                name_of(cert)
            ),
        )),
        _ => Ok(()),
    }
}

/// A CA's keyUsage, when present, allows signing certificates.
pub(crate) fn may_sign_certificates(
    cert: &X509Certificate<'_>,
    what: &str,
    rule: &'static str,
) -> Rule {
    match cert.key_usage() {
        Ok(Some(ku)) if !ku.value.key_cert_sign() => Err(Violation::new(
            rule,
            "key usage does not include certificate signing",
            format!(
                "{what} {} has a keyUsage without keyCertSign: it may not sign certificates",
                name_of(cert)
            ),
        )),
        _ => Ok(()),
    }
}

/// The common name of an extension, for messages.
pub(crate) fn extension_name(oid: &Oid<'_>) -> String {
    x509_parser::oid_registry::OidRegistry::default()
        .with_x509()
        .get(oid)
        .map(|entry| entry.sn().to_string())
        .unwrap_or_else(|| oid.to_id_string())
}
