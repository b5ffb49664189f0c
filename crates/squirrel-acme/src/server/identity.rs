//! The ACME server's own HTTPS certificate: the CA issues it to itself for
//! the names it serves (`--name`, default localhost, 127.0.0.1, ::1), as
//! step-ca does, so that clients need to trust only the CA.
//!
//! The pair is kept in the CA directory (`acme-server.pem`,
//! `acme-server-key.pem`) and reused while it covers the same names and has
//! more than a third of its life left; otherwise a new one is issued, and
//! recorded like any certificate (with the CA's recorder: in the shared
//! database under `--db`). `pki ca serve` looks again on SIGHUP and every
//! hour, so a server left running renews it long before it expires.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use squirrel_pki::ca::now;
use squirrel_pki::{
    AltName, CertificateAuthority, KeyAlgorithm, KeyProtection, PkiError, PrivateKey, Profile,
    SignOptions,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use x509_parser::prelude::{FromDer, X509Certificate};

/// How long the server's own certificate lasts.
pub const SERVER_CERT_DAYS: u32 = 30;

/// The server's certificate chain (leaf, CA) and key, ready for rustls.
pub struct ServerIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub cert_path: PathBuf,
    /// True when a new certificate was issued (false: reused).
    pub issued: bool,
}

/// The certificate files of the ACME server in `dir`.
pub fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("acme-server.pem"), dir.join("acme-server-key.pem"))
}

/// Reuses or issues the server's certificate for `names`.
pub fn server_identity(
    ca: &CertificateAuthority,
    names: &[AltName],
    dir: &Path,
) -> Result<ServerIdentity, PkiError> {
    let (cert_path, key_path) = paths(dir);
    let reused = reusable(ca, names, &cert_path, &key_path);
    let issued = reused.is_none();
    let (leaf, key) = match reused {
        Some(pair) => pair,
        None => {
            let options = SignOptions {
                days: SERVER_CERT_DAYS,
                profile: Profile::Server,
            };
            let pair = ca.issue_to_files(
                names,
                KeyAlgorithm::EcdsaP256,
                &KeyProtection::Unencrypted,
                options,
                (cert_path.clone(), key_path.clone()),
                true,
            )?;
            let key = PrivateKey::from_pem(&squirrel_pki::files::read(&key_path)?, None)?;
            (pair.issued.der, key)
        }
    };
    Ok(ServerIdentity {
        chain: vec![
            CertificateDer::from(leaf),
            CertificateDer::from(ca.cert_der.clone()),
        ],
        key: key.to_rustls(),
        cert_path,
        issued,
    })
}

/// The existing pair, when it is the CA's, for exactly `names`, matches
/// its key and has more than a third of its life ahead.
fn reusable(
    ca: &CertificateAuthority,
    names: &[AltName],
    cert_path: &Path,
    key_path: &Path,
) -> Option<(Vec<u8>, PrivateKey)> {
    let cert_der = squirrel_pki::pem_file::certificates(&std::fs::read(cert_path).ok()?)
        .ok()?
        .into_iter()
        .next()?;
    let key = PrivateKey::from_pem(&std::fs::read(key_path).ok()?, None).ok()?;
    let (_, cert) = X509Certificate::from_der(&cert_der).ok()?;
    let ca_cert = ca.certificate().ok()?;
    if cert.issuer() != ca_cert.subject()
        || cert.verify_signature(Some(ca_cert.public_key())).is_err()
    {
        return None;
    }
    if cert.public_key().raw != key.public_key_der().as_slice() {
        return None;
    }
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    if now() > not_after - (not_after - not_before) / 3 {
        return None;
    }
    let wanted: BTreeSet<String> = names.iter().map(ToString::to_string).collect();
    let present: BTreeSet<String> = cert
        .subject_alternative_name()
        .ok()??
        .value
        .general_names
        .iter()
        .filter_map(squirrel_pki::describe::typed_general_name)
        .map(|name| name.to_string())
        .collect();
    (present == wanted).then_some((cert_der, key))
}

/// The authorityKeyIdentifier's keyIdentifier of a certificate: the first
/// half of its ARI id (RFC 9773 §4.1).
pub fn authority_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
}
