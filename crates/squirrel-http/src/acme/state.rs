//! The state folder of `serve --acme`: `STATE_ROOT/SERVER/account.json`
//! (the ACME account and its key) and `STATE_ROOT/SERVER/NAME/{cert.pem,
//! key.pem}` (the certificate chain and its key), where SERVER is the CA's
//! host and port and NAME the first `--domain`. Keys are written 0600,
//! every file atomically (a new file renamed over the old one): a restart
//! finds either the old certificate or the new one, and serves it instead
//! of ordering again while it is valid.

use super::AcmeError;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use squirrel_pki::describe;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// The files of one CA and one set of names.
#[derive(Clone, Debug)]
pub struct StatePaths {
    pub account: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl StatePaths {
    /// The paths for `directory` (the CA's URL) and `domains`.
    pub fn new(root: &Path, directory: &str, domains: &[String]) -> StatePaths {
        let server = folder_name(
            directory
                .split("://")
                .nth(1)
                .unwrap_or(directory)
                .split('/')
                .next()
                .unwrap_or("ca"),
        );
        let server = root.join(server);
        let names = server.join(folder_name(domains.first().map_or("site", String::as_str)));
        StatePaths {
            account: server.join("account.json"),
            cert: names.join("cert.pem"),
            key: names.join("key.pem"),
        }
    }

    /// Creates the folders, readable by their owner alone (they hold keys).
    pub fn create_folders(&self) -> Result<(), AcmeError> {
        use std::os::unix::fs::DirBuilderExt;
        let folder = self.cert.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)
            .map_err(|e| AcmeError::File {
                path: folder.to_path_buf(),
                problem: format!(
                    "cannot create the ACME state folder ({e}); set SQUIRREL_HOME to a folder you can write"
                ),
            })
    }
}

/// `127.0.0.1:14000` → `127.0.0.1_14000`: a folder name without separators.
fn folder_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A certificate the server holds: what it serves and what renewal needs.
#[derive(Clone, Debug)]
pub struct CertState {
    pub key: Arc<CertifiedKey>,
    /// Upper-case hex, as `squirrel pki list` shows serials.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// When this process got it (issued, or read from the state folder).
    pub received: OffsetDateTime,
}

impl CertState {
    /// Reads a chain (PEM) and its key (PEM, not encrypted).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8], path: &Path) -> Result<CertState, AcmeError> {
        let bad = |problem: String| AcmeError::File {
            path: path.to_path_buf(),
            problem,
        };
        let chain =
            squirrel_pki::pem_file::certificates(chain_pem).map_err(|e| bad(e.to_string()))?;
        let key = squirrel_pki::PrivateKey::from_pem(key_pem, None)
            .map_err(|e| bad(format!("its key: {e}")))?;
        CertState::from_der(chain, key.to_rustls()).map_err(|e| bad(e.to_string()))
    }

    /// A chain (DER, leaf first) and its key.
    pub fn from_der(
        chain: Vec<Vec<u8>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<CertState, AcmeError> {
        let leaf = chain
            .first()
            .ok_or_else(|| AcmeError::Local("the CA sent no certificate".into()))?;
        let parsed =
            describe::parse_certificate(leaf).map_err(|e| AcmeError::Local(e.to_string()))?;
        let serial = hex::encode_upper(parsed.raw_serial());
        let (not_before, not_after) = (
            parsed.validity().not_before.to_datetime(),
            parsed.validity().not_after.to_datetime(),
        );
        let key = certified_key(chain, key)?;
        Ok(CertState {
            key,
            serial,
            not_before,
            not_after,
            received: OffsetDateTime::now_utc(),
        })
    }

    /// The names the certificate certifies (DNS names and IP addresses).
    pub fn names(&self) -> BTreeSet<String> {
        describe::parse_certificate(&self.key.cert[0])
            .map(|c| describe::typed_alt_names(&c))
            .unwrap_or_default()
            .into_iter()
            .map(|name| name.to_string().to_ascii_lowercase())
            .collect()
    }

    /// Its total lifetime.
    pub fn lifetime(&self) -> time::Duration {
        self.not_after - self.not_before
    }

    /// The earliest renewal this process attempts: a tenth of the way
    /// from its receipt to its end. A CA whose window is already past for
    /// a fresh certificate would otherwise be asked again and again.
    pub fn earliest_renewal(&self) -> OffsetDateTime {
        self.received + (self.not_after - self.received) / 10
    }

    /// Two thirds into its lifetime: when to renew if the CA has no
    /// opinion (ARI), as certbot and Caddy do.
    pub fn two_thirds(&self) -> OffsetDateTime {
        self.not_before + self.lifetime() * 2 / 3
    }
}

/// A chain and a key, checked to belong together, as rustls serves them.
pub fn certified_key(
    chain: Vec<Vec<u8>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, AcmeError> {
    let chain = chain.into_iter().map(CertificateDer::from).collect();
    CertifiedKey::from_der(chain, key, &rustls::crypto::aws_lc_rs::default_provider())
        .map(Arc::new)
        .map_err(|e| AcmeError::Local(format!("the certificate and its key do not fit: {e}")))
}

/// The certificate saved for `domains`, if it is there, fits its key,
/// certifies exactly these names and has not expired; None otherwise (the
/// reason is logged: a new one is ordered).
pub fn load_saved(paths: &StatePaths, domains: &[String]) -> Option<CertState> {
    let chain = std::fs::read(&paths.cert).ok()?;
    let key = match std::fs::read(&paths.key) {
        Ok(key) => key,
        Err(e) => {
            tracing::warn!(
                "{}: cannot read it ({e}); ordering a new certificate",
                paths.key.display()
            );
            return None;
        }
    };
    let saved = match CertState::from_pem(&chain, &key, &paths.cert) {
        Ok(saved) => saved,
        Err(e) => {
            tracing::warn!("{e}; ordering a new certificate");
            return None;
        }
    };
    let wanted: BTreeSet<String> = domains.iter().map(|d| d.to_ascii_lowercase()).collect();
    if saved.names() != wanted {
        tracing::info!(
            "{} certifies {:?}, not {:?}: ordering a new certificate",
            paths.cert.display(),
            saved.names(),
            wanted
        );
        return None;
    }
    if saved.not_after <= OffsetDateTime::now_utc() {
        tracing::info!(
            "{} has expired: ordering a new certificate",
            paths.cert.display()
        );
        return None;
    }
    Some(saved)
}

/// Saves a new certificate: the key first (0600), then the chain, each
/// atomically.
pub fn save(paths: &StatePaths, chain_pem: &str, key_pem: &str) -> Result<(), AcmeError> {
    paths.create_folders()?;
    write(&paths.key, key_pem.as_bytes(), 0o600)?;
    write(&paths.cert, chain_pem.as_bytes(), 0o644)
}

/// Writes one file of the state folder atomically.
pub fn write(path: &Path, contents: &[u8], mode: u32) -> Result<(), AcmeError> {
    squirrel_pki::files::write_atomic(path, contents, mode, true).map_err(|e| AcmeError::File {
        path: path.to_path_buf(),
        problem: e.root().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::StatePaths;
    use std::path::Path;

    #[test]
    fn the_state_folder_is_named_after_the_ca_and_the_first_name() {
        let paths = StatePaths::new(
            Path::new("/home/leader/acme"),
            "https://127.0.0.1:14000/dir",
            &["My-Site.test".into(), "127.0.0.1".into()],
        );
        let ca = Path::new("/home/leader/acme/127.0.0.1_14000");
        assert_eq!(paths.account, ca.join("account.json"));
        assert_eq!(paths.cert, ca.join("my-site.test/cert.pem"));
        assert_eq!(paths.key, ca.join("my-site.test/key.pem"));
    }
}
