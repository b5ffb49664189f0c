//! `squirrel pki renew CERT`: a certificate issued offline (`pki issue`,
//! `pki sign`) made again before it expires: a new key, and a certificate
//! for the same names, profile and lifetime as the ledger recorded.
//!
//! The new files replace the old ones in place, as `step ca renew` does:
//! each is written whole beside the old one and renamed over it, the key
//! first, so a server reloading at any moment reads either pair's
//! certificate, never half a file. The old certificate stays in the
//! ledger, valid until it expires or is revoked by its serial.

use crate::ca::CertificateAuthority;
use crate::describe;
use crate::error::{PkiError, Result};
use crate::issue::IssuedPair;
use crate::key::{KeyAlgorithm, KeyKind, KeyProtection};
use crate::ledger::{normalize_serial, Ledger, LedgerEntry};
use crate::names::AltName;
use crate::sign::{Profile, SignOptions, BACKDATE};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A renewal: what was replaced, and the new pair.
pub struct Renewed {
    pub old: LedgerEntry,
    pub pair: IssuedPair,
}

impl CertificateAuthority {
    /// Renews the certificate in `cert_path` (whose key is `key_path`):
    /// the ledger must hold it (same serial and fingerprint). `days`
    /// overrides the old lifetime.
    pub fn renew_files(
        &self,
        cert_path: &Path,
        key_path: &Path,
        days: Option<u32>,
    ) -> Result<Renewed> {
        let text = crate::files::read(cert_path)?;
        let chain = crate::pem_file::certificates(&text).map_err(|e| e.in_file(cert_path))?;
        let der = &chain[0];
        let cert = describe::parse_certificate(der).map_err(|e| e.in_file(cert_path))?;
        let serial = normalize_serial(&hex::encode_upper(cert.raw_serial()));
        let fingerprint = describe::fingerprint(der);
        let ledger = Ledger::open(&self.files.ledger)?;
        let old = ledger
            .list()?
            .into_iter()
            .find(|e| normalize_serial(&e.serial) == serial && e.sha256_fingerprint == fingerprint)
            .ok_or_else(|| {
                PkiError::invalid(
                    format!(
                        "{} (serial {serial}) is not in the ledger of the CA {}",
                        cert_path.display(),
                        self.files.cert.display()
                    ),
                    "renew it with the CA that issued it (--ca-dir DIR); `squirrel pki list` shows what this CA issued",
                )
            })?;
        let names = old
            .alt_names
            .iter()
            .map(|n| AltName::parse(n))
            .collect::<Result<Vec<_>>>()?;
        let profile: Profile = old.profile.parse()?;
        let days = match days {
            Some(days) => days,
            None => lifetime_days(&old)?,
        };
        let info = describe::public_key_info(cert.public_key().raw)?;
        let algorithm = same_algorithm(info.kind, info.bits);
        let pair = self.issue_to_files(
            &names,
            algorithm,
            &KeyProtection::Unencrypted,
            SignOptions { days, profile },
            (cert_path.to_path_buf(), key_path.to_path_buf()),
            true,
        )?;
        Ok(Renewed { old, pair })
    }
}

/// The key file of `cert` as `pki issue` names it: `NAME.pem` →
/// `NAME-key.pem`.
pub fn key_path_for(cert: &Path) -> PathBuf {
    let stem = cert
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cert".into());
    cert.with_file_name(format!("{stem}-key.pem"))
}

/// The old certificate's lifetime in whole days (at least one), counted
/// from its signing.
fn lifetime_days(entry: &LedgerEntry) -> Result<u32> {
    let parse = |t: &str| {
        OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
            PkiError::invalid(
                format!("the ledger holds an unreadable date {t:?}"),
                "pass --days N",
            )
        })
    };
    let lifetime = parse(&entry.not_after)? - (parse(&entry.not_before)? + BACKDATE);
    let days = (lifetime.whole_seconds() + 86_399) / 86_400;
    Ok(days.clamp(1, i64::from(u32::MAX)) as u32)
}

/// A key like the old one: same kind and size.
fn same_algorithm(kind: KeyKind, bits: u32) -> KeyAlgorithm {
    match (kind, bits) {
        (KeyKind::Rsa, b) if b >= 4096 => KeyAlgorithm::Rsa4096,
        (KeyKind::Rsa, b) if b >= 3072 => KeyAlgorithm::Rsa3072,
        (KeyKind::Rsa, _) => KeyAlgorithm::Rsa2048,
        (KeyKind::Ecdsa, b) if b >= 384 => KeyAlgorithm::EcdsaP384,
        (KeyKind::Ed25519, _) => KeyAlgorithm::Ed25519,
        _ => KeyAlgorithm::EcdsaP256,
    }
}

#[cfg(test)]
mod tests {
    use super::key_path_for;
    use std::path::Path;

    #[test]
    fn the_key_is_named_after_the_certificate() {
        assert_eq!(
            key_path_for(Path::new("dir/localhost+2.pem")),
            Path::new("dir/localhost+2-key.pem")
        );
    }
}
