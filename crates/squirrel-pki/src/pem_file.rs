//! Reading PEM files: one or many blocks, with errors that say what was
//! found when it is not what was expected.

use crate::error::{PkiError, Result};

/// Parses every PEM block in `text`. Text outside blocks (openssl's
/// human-readable dumps, comments) is ignored, as openssl does.
pub fn blocks(text: &[u8]) -> Result<Vec<pem::Pem>> {
    let begins = count(text, b"-----BEGIN ");
    if begins == 0 {
        return Err(PkiError::invalid(
            "no PEM block found (no \"-----BEGIN ...-----\" line)",
            "give a PEM file; convert DER with `openssl x509 -inform DER -in FILE -out FILE.pem`",
        ));
    }
    let parsed = pem::parse_many(text).map_err(|e| malformed(&e.to_string()))?;
    if parsed.len() < begins {
        return Err(malformed("a BEGIN line has no matching END line"));
    }
    Ok(parsed)
}

fn malformed(detail: &str) -> PkiError {
    PkiError::invalid(
        format!("malformed or truncated PEM ({detail})"),
        "the file is damaged or was cut short; copy it again in full",
    )
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    memchr::memmem::find_iter(haystack, needle).count()
}

/// The error for a PEM block of the wrong type.
pub fn wrong_type(found: &str, wanted: &str) -> PkiError {
    let hint = match found {
        "CERTIFICATE" => "this is a certificate; the key is usually in the matching *-key.pem file",
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
            "this is a certificate signing request"
        }
        "X509 CRL" => "this is a certificate revocation list",
        t if t.contains("PRIVATE KEY") => "this is a private key",
        "PUBLIC KEY" => "this is a public key only",
        _ => "check that you gave the right file",
    };
    PkiError::invalid(
        format!("expected {wanted} but found a PEM block of type {found:?}"),
        hint.to_string(),
    )
}

/// The single private-key block of a key file.
pub fn single_key_block(text: &[u8]) -> Result<pem::Pem> {
    let all = blocks(text)?;
    let mut keys = all.iter().filter(|b| b.tag().ends_with("PRIVATE KEY"));
    match (keys.next(), keys.next()) {
        (Some(key), None) => Ok(key.clone()),
        (Some(_), Some(_)) => Err(PkiError::invalid(
            "the file holds more than one private key",
            "split it so that each file holds one key",
        )),
        (None, _) => Err(wrong_type(all[0].tag(), "a private key")),
    }
}

/// The DER of every block with one of `tags`; an error naming what was
/// found when there is none.
pub fn ders_of(text: &[u8], tags: &[&str], wanted: &str) -> Result<Vec<Vec<u8>>> {
    let all = blocks(text)?;
    let found: Vec<Vec<u8>> = all
        .iter()
        .filter(|b| tags.contains(&b.tag()))
        .map(|b| b.contents().to_vec())
        .collect();
    if found.is_empty() {
        return Err(wrong_type(all[0].tag(), wanted));
    }
    Ok(found)
}

/// The certificates of a PEM file, in order.
pub fn certificates(text: &[u8]) -> Result<Vec<Vec<u8>>> {
    ders_of(text, &["CERTIFICATE"], "a certificate")
}

/// The CRLs of a file in either encoding, PEM (`X509 CRL` blocks) or DER,
/// as `openssl crl -inform` accepts them. One decision for every reader
/// (`pki verify --crl`, `serve --crl`).
pub fn crls(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    if count(bytes, b"-----BEGIN ") > 0 {
        return ders_of(bytes, &["X509 CRL"], "a CRL");
    }
    // DER: an ASN.1 SEQUENCE.
    if bytes.first() == Some(&0x30) {
        return Ok(vec![bytes.to_vec()]);
    }
    Err(PkiError::invalid(
        "not a CRL: neither PEM (no \"-----BEGIN X509 CRL-----\" line) nor DER",
        "give the file written by `squirrel pki crl` or `openssl ca -gencrl`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crls_are_read_as_pem_or_der() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x01];
        assert_eq!(crls(&der).unwrap(), vec![der.clone()]);
        let pem = pem::encode(&pem::Pem::new("X509 CRL", der.clone()));
        let text = format!("a comment before the block\n{pem}");
        assert_eq!(crls(text.as_bytes()).unwrap(), vec![der]);
        let err = crls(b"garbage").unwrap_err().to_string();
        assert!(err.contains("neither PEM"), "{err}");
        let cert = pem::encode(&pem::Pem::new("CERTIFICATE", vec![0x30, 0x00]));
        let err = crls(cert.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("expected a CRL but found a PEM block of type \"CERTIFICATE\""),
            "{err}"
        );
    }

    #[test]
    fn truncated_pem_is_reported() {
        let text = b"-----BEGIN CERTIFICATE-----\nMIIB\n";
        let err = blocks(text).unwrap_err().to_string();
        assert!(err.contains("malformed or truncated PEM"), "{err}");
    }

    #[test]
    fn wrong_type_names_what_was_found() {
        let text = pem::encode(&pem::Pem::new("CERTIFICATE", vec![1, 2, 3]));
        let err = single_key_block(text.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("expected a private key but found a PEM block of type \"CERTIFICATE\""),
            "{err}"
        );
    }
}
