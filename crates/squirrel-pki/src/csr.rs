//! Certificate signing requests, tutorial step 11: "fill in your visa
//! information". Building one from a key and names, and reading one the way
//! a careful CA does: signature checked, names extracted, anything that asks
//! to be a CA spotted.

use crate::describe::{public_key_info, signature_algorithm_name, typed_general_name};
use crate::error::{PkiError, Result};
use crate::key::{KeyInfo, PrivateKey};
use crate::names::{AltName, Subject};
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// Builds a PEM CSR signed by `key` for `subject` and `alt_names`.
pub fn build_csr(key: &PrivateKey, subject: &Subject, alt_names: &[AltName]) -> Result<String> {
    if subject.common_name.is_none() && alt_names.is_empty() {
        return Err(PkiError::invalid(
            "the request would name nobody",
            "give --cn NAME and/or --san NAME (for example --san localhost --san 127.0.0.1)",
        ));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = subject.to_distinguished_name()?;
    params.subject_alt_names = alt_names
        .iter()
        .map(AltName::to_san)
        .collect::<Result<_>>()?;
    let csr = params.serialize_request(key.key_pair())?;
    Ok(csr.pem()?)
}

/// A CSR as read by the CA, after its signature was checked.
#[derive(Debug)]
pub struct ParsedCsr {
    /// The subject, ready to be copied into the certificate unchanged.
    pub subject: DistinguishedName,
    /// The subject as text (`C=US, ST=..., CN=...`).
    pub subject_text: String,
    /// The subject's common name, when there is one.
    pub common_name: Option<String>,
    /// The requested alternative names squirrel can certify.
    pub alt_names: Vec<AltName>,
    /// DER SubjectPublicKeyInfo of the requester's key.
    pub public_key: Vec<u8>,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    /// Why this request asks to be a CA, if it does.
    pub asks_to_be_ca: Option<String>,
    /// Extensions requested that squirrel does not copy.
    pub ignored_extensions: Vec<String>,
}

/// Reads a DER CSR, verifying its self-signature.
pub fn parse_csr(der: &[u8]) -> Result<ParsedCsr> {
    let (_, csr) = X509CertificationRequest::from_der(der).map_err(|e| {
        PkiError::invalid(
            format!("the certificate signing request cannot be parsed ({e})"),
            "the file is damaged; create the request again",
        )
    })?;
    csr.verify_signature().map_err(|_| {
        PkiError::Refused(
            "the signature of the certificate signing request does not verify: it was altered \
             after signing or signed with another key; create the request again with its own key"
                .into(),
        )
    })?;
    let info = &csr.certification_request_info;
    let mut alt_names = Vec::new();
    let mut asks_to_be_ca = None;
    let mut ignored_extensions = Vec::new();
    for ext in csr.requested_extensions().into_iter().flatten() {
        match ext {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match typed_general_name(name) {
                        Some(n) => alt_names.push(n),
                        None => ignored_extensions.push(format!("subjectAltName entry {name:?}")),
                    }
                }
            }
            ParsedExtension::BasicConstraints(bc) if bc.ca => {
                asks_to_be_ca = Some("it requests basicConstraints CA:TRUE".to_string());
            }
            ParsedExtension::KeyUsage(ku) if ku.key_cert_sign() || ku.crl_sign() => {
                asks_to_be_ca =
                    Some("it requests the keyCertSign or cRLSign key usage".to_string());
            }
            ParsedExtension::BasicConstraints(_) => {}
            ParsedExtension::KeyUsage(_) => {
                ignored_extensions.push("keyUsage (set by the CA from the key type)".into())
            }
            ParsedExtension::ExtendedKeyUsage(_) => {
                ignored_extensions.push("extendedKeyUsage (set by the CA's --profile)".into())
            }
            ParsedExtension::SubjectKeyIdentifier(_) => {
                ignored_extensions.push("subjectKeyIdentifier (computed by the CA)".into())
            }
            other => ignored_extensions.push(extension_label(other)),
        }
    }
    let public_key = info.subject_pki.raw.to_vec();
    let common_name = info
        .subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    Ok(ParsedCsr {
        subject: distinguished_name(&info.subject)?,
        subject_text: info.subject.to_string(),
        common_name,
        alt_names,
        key: public_key_info(&public_key)?,
        public_key,
        signature_algorithm: signature_algorithm_name(
            &csr.signature_algorithm.algorithm.to_id_string(),
        ),
        asks_to_be_ca,
        ignored_extensions,
    })
}

fn extension_label(ext: &ParsedExtension<'_>) -> String {
    match ext {
        ParsedExtension::UnsupportedExtension { oid } => format!("unknown extension {oid}"),
        other => {
            let debug = format!("{other:?}");
            let name = debug.split(['(', ' ', '{']).next().unwrap_or("extension");
            format!("extension {name}")
        }
    }
}

/// Copies an X.509 name into rcgen's form, keeping each value's string type
/// so that the subject stays byte-for-byte what the requester signed.
pub fn distinguished_name(name: &X509Name<'_>) -> Result<DistinguishedName> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let unsupported = |what: &str| {
        PkiError::invalid(
            format!("the subject name uses {what}, which squirrel cannot copy"),
            "request a subject with single-valued fields (C, ST, L, O, OU, CN)",
        )
    };
    let mut dn = DistinguishedName::new();
    for rdn in name.iter() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else {
            return Err(unsupported("a multi-valued field"));
        };
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .ok_or_else(|| unsupported("an unusual field type"))?
            .collect();
        // rcgen (yasna) panics writing an OID that has no canonical DER.
        let writable = match oid[..] {
            [first, second, ..] => {
                first < 3 && (first == 2 || second < 40) && second < u64::MAX - 80
            }
            _ => false,
        };
        if !writable {
            return Err(unsupported("an invalid field type"));
        }
        let data = attr.attr_value().data;
        let text = || std::str::from_utf8(data).map_err(|_| unsupported("invalid text"));
        let value = match attr.attr_value().header.tag() {
            Tag::PrintableString => DnValue::PrintableString(
                // rcgen accepts '?', which its writer (yasna) panics on.
                Some(text()?)
                    .filter(|t| !t.contains('?'))
                    .ok_or_else(|| unsupported("a bad PrintableString"))?
                    .try_into()
                    .map_err(|_| unsupported("a bad PrintableString"))?,
            ),
            Tag::Ia5String => DnValue::Ia5String(
                text()?
                    .try_into()
                    .map_err(|_| unsupported("a bad IA5String"))?,
            ),
            Tag::Utf8String => DnValue::Utf8String(text()?.to_string()),
            Tag::T61String => DnValue::TeletexString(
                text()?
                    .try_into()
                    .map_err(|_| unsupported("a bad TeletexString"))?,
            ),
            _ => return Err(unsupported("a BMPString or UniversalString")),
        };
        dn.push(DnType::from_oid(&oid), value);
    }
    Ok(dn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyAlgorithm;

    #[test]
    fn built_csr_parses_back_with_its_names() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let subject = Subject {
            common_name: Some("my-site.com".into()),
            country: Some("US".into()),
            ..Subject::default()
        };
        let names = vec![
            AltName::parse("localhost").unwrap(),
            AltName::parse("127.0.0.1").unwrap(),
        ];
        let pem_text = build_csr(&key, &subject, &names).unwrap();
        let der = pem::parse(&pem_text).unwrap().into_contents();
        let parsed = parse_csr(&der).unwrap();
        assert_eq!(parsed.subject_text, "C=US, CN=my-site.com");
        assert_eq!(parsed.alt_names, names);
        assert_eq!(parsed.public_key, key.public_key_der());
        assert!(parsed.asks_to_be_ca.is_none());
    }

    #[test]
    fn tampered_csr_is_refused() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem_text = build_csr(&key, &Subject::common_name("abc.example"), &[]).unwrap();
        let mut der = pem::parse(&pem_text).unwrap().into_contents();
        // Flip a byte of the common name "abc.example".
        let at = der.windows(3).position(|w| w == b"abc").unwrap();
        der[at] = b'x';
        let err = parse_csr(&der).unwrap_err().to_string();
        assert!(err.contains("does not verify"), "{err}");
    }
}
