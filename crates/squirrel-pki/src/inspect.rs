//! What a PEM file holds, block by block, for `squirrel pki inspect FILE`:
//! certificates (tutorial step 9's sentence first), requests (step 11),
//! keys (step 10), CRLs.

use crate::csr::parse_csr;
use crate::describe::{self, CertificateSummary};
use crate::error::Result;
use crate::key::{KeyInfo, PrivateKey};
use crate::passphrase::Passphrase;
use serde::Serialize;
use time::OffsetDateTime;

/// One PEM block, described.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PemItem {
    Certificate(Box<CertificateSummary>),
    CertificateRequest {
        subject: String,
        alt_names: Vec<String>,
        key: KeyInfo,
        signature_algorithm: String,
        asks_to_be_ca: Option<String>,
        other_extensions: Vec<String>,
    },
    PublicKey {
        key: KeyInfo,
    },
    PrivateKey {
        format: &'static str,
        encrypted: bool,
        /// Known when the key is plain or its passphrase was given.
        key: Option<KeyInfo>,
    },
    RevocationList(Box<CrlSummary>),
    Unknown {
        pem_type: String,
    },
}

/// Describes one PEM block as of `now`. An encrypted private key is
/// opened with `passphrase` when one is given, and otherwise described
/// without its type and fingerprint.
pub fn describe_pem(
    block: &pem::Pem,
    now: OffsetDateTime,
    passphrase: Option<&Passphrase>,
) -> Result<PemItem> {
    Ok(match block.tag() {
        "CERTIFICATE" => {
            PemItem::Certificate(Box::new(describe::summarize(block.contents(), now)?))
        }
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
            let csr = parse_csr(block.contents())?;
            PemItem::CertificateRequest {
                subject: csr.subject_text,
                alt_names: csr.alt_names.iter().map(ToString::to_string).collect(),
                key: csr.key,
                signature_algorithm: csr.signature_algorithm,
                asks_to_be_ca: csr.asks_to_be_ca,
                other_extensions: csr.ignored_extensions,
            }
        }
        "PUBLIC KEY" => PemItem::PublicKey {
            key: describe::public_key_info(block.contents())?,
        },
        "X509 CRL" => PemItem::RevocationList(Box::new(summarize_crl(block.contents())?)),
        tag if tag.ends_with("PRIVATE KEY") => {
            let encrypted = tag == "ENCRYPTED PRIVATE KEY"
                || block
                    .headers()
                    .get("Proc-Type")
                    .is_some_and(|v| v.contains("ENCRYPTED"));
            let format = match tag {
                "RSA PRIVATE KEY" => "PKCS#1 (traditional OpenSSL)",
                "EC PRIVATE KEY" => "SEC1 (traditional OpenSSL)",
                _ => "PKCS#8",
            };
            let key = if encrypted && passphrase.is_none() {
                None
            } else {
                let text = pem::encode(block);
                Some(PrivateKey::from_pem(text.as_bytes(), passphrase)?.info())
            };
            PemItem::PrivateKey {
                format,
                encrypted,
                key,
            }
        }
        other => PemItem::Unknown {
            pem_type: other.to_string(),
        },
    })
}

/// How a file given to `squirrel pki inspect` was encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Encoding {
    #[serde(rename = "PEM")]
    Pem,
    #[serde(rename = "DER")]
    Der,
}

/// The blocks of a file in PEM, or the one object of a DER file (a
/// certificate, CSR, CRL, public or private key: detected) as the PEM
/// block it would be.
pub fn blocks_of_file(bytes: &[u8]) -> Result<(Vec<pem::Pem>, Encoding)> {
    if memchr::memmem::find(bytes, b"-----BEGIN ").is_some() {
        return Ok((crate::pem_file::blocks(bytes)?, Encoding::Pem));
    }
    if bytes.first() != Some(&0x30) {
        return Err(crate::PkiError::invalid(
            "no PEM block found (no \"-----BEGIN ...-----\" line), and the file is not DER \
             either",
            "give a certificate, chain, CSR, CRL or key, in PEM or DER",
        ));
    }
    match der_block(bytes) {
        Some(block) => Ok((vec![block], Encoding::Der)),
        None => Err(crate::PkiError::invalid(
            "the file is binary (DER) but not a certificate, CSR, CRL, public key or private key \
             that squirrel can read",
            "check that you gave the right file",
        )),
    }
}

/// What a DER object is, as the PEM block it would be; `None` when it is
/// none of the things `inspect` describes.
pub fn der_block(der: &[u8]) -> Option<pem::Pem> {
    use aws_lc_rs::signature as sig;
    use x509_parser::certification_request::X509CertificationRequest;
    use x509_parser::prelude::{FromDer, X509Certificate};
    use x509_parser::revocation_list::CertificateRevocationList;
    use x509_parser::x509::SubjectPublicKeyInfo;
    let whole = |rest: &[u8]| rest.is_empty();
    let tag = if X509Certificate::from_der(der).is_ok_and(|(rest, _)| whole(rest)) {
        "CERTIFICATE"
    } else if X509CertificationRequest::from_der(der).is_ok_and(|(rest, _)| whole(rest)) {
        "CERTIFICATE REQUEST"
    } else if CertificateRevocationList::from_der(der).is_ok_and(|(rest, _)| whole(rest)) {
        "X509 CRL"
    } else if SubjectPublicKeyInfo::from_der(der).is_ok_and(|(rest, _)| whole(rest)) {
        "PUBLIC KEY"
    } else if pkcs8::PrivateKeyInfoRef::try_from(der).is_ok() {
        "PRIVATE KEY"
    } else if pkcs8::EncryptedPrivateKeyInfoRef::try_from(der).is_ok() {
        "ENCRYPTED PRIVATE KEY"
    } else if sig::RsaKeyPair::from_der(der).is_ok() {
        "RSA PRIVATE KEY"
    } else if [
        &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
    ]
    .into_iter()
    .any(|alg| sig::EcdsaKeyPair::from_private_key_der(alg, der).is_ok())
    {
        "EC PRIVATE KEY"
    } else {
        return None;
    };
    Some(pem::Pem::new(tag, der.to_vec()))
}

/// What a CRL says, as `openssl crl -text` shows it.
#[derive(Debug, Serialize)]
pub struct CrlSummary {
    pub issuer: String,
    pub this_update: String,
    pub next_update: Option<String>,
    /// The CRL number, decimal.
    pub number: Option<String>,
    pub signature_algorithm: String,
    pub revoked: Vec<RevokedSerial>,
}

/// One entry of a CRL.
#[derive(Debug, Serialize)]
pub struct RevokedSerial {
    /// Hex, as `squirrel pki list` and `openssl crl -text` show serials.
    pub serial: String,
    pub revoked_at: String,
    /// The reason as openssl's `-crl_reason` spells it, when given.
    pub reason: Option<String>,
}

/// Parses and describes a DER CRL; anything else is refused with the fix.
pub fn summarize_crl(der: &[u8]) -> Result<CrlSummary> {
    use x509_parser::extensions::ParsedExtension;
    use x509_parser::prelude::FromDer;
    use x509_parser::revocation_list::CertificateRevocationList;
    let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| {
        crate::PkiError::invalid(
            format!("the CRL cannot be parsed ({e})"),
            "the file is damaged or is not a CRL; write a new one with `squirrel pki crl`",
        )
    })?;
    let number = crl
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::CRLNumber(n) => Some(n.to_string()),
            _ => None,
        });
    let revoked = crl
        .iter_revoked_certificates()
        .map(|entry| RevokedSerial {
            serial: entry.raw_serial_as_string().replace(':', "").to_uppercase(),
            revoked_at: describe::human_time(entry.revocation_date.to_datetime()),
            reason: entry.reason_code().map(|(_, code)| reason_name(code.0)),
        })
        .collect();
    Ok(CrlSummary {
        issuer: describe::short_name(crl.issuer()),
        this_update: describe::human_time(crl.last_update().to_datetime()),
        next_update: crl
            .next_update()
            .map(|t| describe::human_time(t.to_datetime())),
        number,
        signature_algorithm: describe::signature_algorithm_name(
            &crl.signature_algorithm.algorithm.to_id_string(),
        ),
        revoked,
    })
}

/// RFC 5280 5.3.1's reason codes, spelled as openssl's `-crl_reason`.
fn reason_name(code: u8) -> String {
    crate::revoke::REASONS
        .iter()
        .find(|(_, reason)| *reason as u8 == code)
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| match code {
            8 => "removeFromCRL".into(),
            10 => "AACompromise".into(),
            other => format!("reason code {other}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Kdf, KeyAlgorithm, KeyProtection};

    fn block_of(text: &str) -> pem::Pem {
        crate::pem_file::blocks(text.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn keys_are_described_when_they_can_be_opened() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let info = key.info();
        let now = crate::ca::now();
        let plain = key.to_pem(&KeyProtection::Unencrypted).unwrap();
        match describe_pem(&block_of(&plain), now, None).unwrap() {
            PemItem::PrivateKey {
                format: "PKCS#8",
                encrypted: false,
                key: Some(k),
            } => assert_eq!(k.spki_sha256, info.spki_sha256),
            other => panic!("{other:?}"),
        }
        let passphrase = Passphrase::new("fluffy tail").unwrap();
        let locked = key
            .to_pem(&KeyProtection::Encrypted {
                passphrase: passphrase.clone(),
                kdf: Kdf::Pbkdf2,
            })
            .unwrap();
        assert!(matches!(
            describe_pem(&block_of(&locked), now, None).unwrap(),
            PemItem::PrivateKey {
                encrypted: true,
                key: None,
                ..
            }
        ));
        match describe_pem(&block_of(&locked), now, Some(&passphrase)).unwrap() {
            PemItem::PrivateKey { key: Some(k), .. } => {
                assert_eq!(k.spki_sha256, info.spki_sha256)
            }
            other => panic!("{other:?}"),
        }
        let garbage = pem::encode(&pem::Pem::new("X509 CRL", vec![0x30, 0x00]));
        let err = describe_pem(&block_of(&garbage), now, None).unwrap_err();
        assert!(
            err.to_string().contains("the CRL cannot be parsed"),
            "{err}"
        );
        let unknown = pem::encode(&pem::Pem::new("DH PARAMETERS", vec![0x30, 0x00]));
        assert!(matches!(
            describe_pem(&block_of(&unknown), now, None).unwrap(),
            PemItem::Unknown { pem_type } if pem_type == "DH PARAMETERS"
        ));
    }
}
