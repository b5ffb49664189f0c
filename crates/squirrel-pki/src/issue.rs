//! `squirrel pki issue`: key, request and signature in one step, the way
//! mkcert does it (`mkcert localhost 127.0.0.1 ::1` writes
//! `localhost+2.pem` and `localhost+2-key.pem`).

use crate::ca::CertificateAuthority;
use crate::csr::{build_csr, parse_csr};
use crate::error::{PkiError, Result};
use crate::files::{self, PRIVATE_MODE, PUBLIC_MODE};
use crate::key::{KeyAlgorithm, KeyProtection, PrivateKey};
use crate::names::{AltName, Subject};
use crate::sign::{Issued, Profile, SignOptions};
use std::path::{Path, PathBuf};

/// mkcert's file stem: the first name (with `*` as `_wildcard`), `+N` for
/// the N other names, `-client` for client certificates.
pub fn file_stem(names: &[AltName], profile: Profile) -> String {
    let first = names
        .first()
        .map(|n| n.to_string())
        .unwrap_or_else(|| "cert".into())
        .replace('*', "_wildcard")
        .replace([':', '/'], "_");
    let mut stem = first;
    if names.len() > 1 {
        stem.push_str(&format!("+{}", names.len() - 1));
    }
    if profile == Profile::Client {
        stem.push_str("-client");
    }
    stem
}

/// The files `issue` writes in `dir`: `(certificate, key)`.
pub fn issue_paths(dir: &Path, names: &[AltName], profile: Profile) -> (PathBuf, PathBuf) {
    let stem = file_stem(names, profile);
    (
        dir.join(format!("{stem}.pem")),
        dir.join(format!("{stem}-key.pem")),
    )
}

/// The result of [`CertificateAuthority::issue_to_files`].
pub struct IssuedPair {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    pub issued: Issued,
}

impl CertificateAuthority {
    /// Generates a key for `names`, signs a certificate for it and writes
    /// both files. Nothing is written when either file exists (without
    /// `force`) or when the CA refuses.
    pub fn issue_to_files(
        &self,
        names: &[AltName],
        algorithm: KeyAlgorithm,
        key_protection: &KeyProtection,
        options: SignOptions,
        paths: (PathBuf, PathBuf),
        force: bool,
    ) -> Result<IssuedPair> {
        let (cert_path, key_path) = paths;
        files::ensure_absent(&cert_path, force)?;
        files::ensure_absent(&key_path, force)?;
        let key = PrivateKey::generate(algorithm)?;
        let key_pem = key.to_pem(key_protection)?;
        let subject = match names.first() {
            Some(first) => Subject::common_name(first.to_string()),
            None => Subject::default(),
        };
        let csr_pem = build_csr(&key, &subject, names)?;
        let csr_der = pem::parse(&csr_pem)
            .map_err(|e| PkiError::Crypto(format!("the request squirrel made is not PEM ({e})")))?;
        let csr = parse_csr(csr_der.contents())?;
        let issued = self.sign(&csr, options)?;
        files::write_atomic(&key_path, key_pem.as_bytes(), PRIVATE_MODE, force)?;
        files::write_atomic(&cert_path, issued.pem.as_bytes(), PUBLIC_MODE, force)?;
        Ok(IssuedPair {
            cert_path,
            key_path,
            issued,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_follow_mkcert() {
        let names: Vec<AltName> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|n| AltName::parse(n).unwrap())
            .collect();
        assert_eq!(file_stem(&names, Profile::Server), "localhost+2");
        assert_eq!(file_stem(&names[..1], Profile::Client), "localhost-client");
        let wild = [AltName::parse("*.example.com").unwrap()];
        assert_eq!(file_stem(&wild, Profile::Server), "_wildcard.example.com");
    }
}
