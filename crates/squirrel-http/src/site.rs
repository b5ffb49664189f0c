//! What the server serves, swapped as a whole: the secret (tutorial step 1,
//! "the secret message changes at every meeting"), the TLS configuration and
//! the Fernet key. Connections read it through an `ArcSwap`, so a reload
//! never takes a lock on the request path.

use crate::error::ServeError;
use crate::tls::{self, CertFacts, Members, TlsFiles, TlsShared};
use bytes::Bytes;
use rustls::ServerConfig;
use squirrel_cipher::Fernet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Where the secret comes from.
#[derive(Clone, Debug)]
pub enum MessageSource {
    /// Fixed text (`--message`, `SECRET_MESSAGE`, or the default).
    Text(String),
    /// A file the leader edits before each meeting; re-read when it changes.
    File(PathBuf),
}

/// The largest secret served: a message is held whole in memory and sent
/// in one answer; 1 MiB is far more than any meeting's secret.
pub const MAX_MESSAGE: u64 = 1 << 20;

/// The tutorial's secret.
pub const DEFAULT_MESSAGE: &str = "fluffy tail";

/// One complete configuration of the server.
pub struct Site {
    /// The secret, as served.
    pub message: Bytes,
    pub tls: Option<Arc<ServerConfig>>,
    pub cert: Option<CertFacts>,
    pub members_only: bool,
    /// Members only: how to check a member's certificate again after a
    /// reload.
    pub members: Option<Members>,
    /// Bodies are fresh Fernet tokens of the secret (tutorial step 7).
    pub fernet: Option<Arc<Fernet>>,
}

/// The parts of the configuration that come from files.
pub struct SiteSources {
    pub message: MessageSource,
    pub tls: Option<TlsFiles>,
    pub fernet: Option<Arc<Fernet>>,
}

/// Makes the sources again, as the configuration now says (the
/// configuration file re-read); an error says what is wrong in it.
pub type RefreshSources = Arc<dyn Fn() -> Result<SiteSources, String> + Send + Sync>;

/// A file's identity for change detection: modification time and length.
pub type FileStamp = Option<(SystemTime, u64)>;

/// Stamps a file (None when it cannot be read).
pub fn stamp(path: &Path) -> FileStamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl SiteSources {
    /// Loads everything from scratch: at start and on SIGHUP.
    pub fn load(&self, shared: &TlsShared) -> Result<Site, ServeError> {
        let message = self.load_message()?;
        let (tls, cert, members) = match &self.tls {
            Some(files) => {
                let loaded = tls::load(files, shared)?;
                (Some(loaded.config), loaded.facts, loaded.members)
            }
            None => (None, None, None),
        };
        Ok(Site {
            message,
            tls,
            cert,
            members_only: members.is_some(),
            members,
            fernet: self.fernet.clone(),
        })
    }

    /// Reads the secret.
    pub fn load_message(&self) -> Result<Bytes, ServeError> {
        match &self.message {
            MessageSource::Text(text) => Ok(Bytes::from(text.clone())),
            MessageSource::File(path) => {
                let raw = squirrel_pki::files::read_at_most(path, MAX_MESSAGE).map_err(|e| {
                    let problem = match e.root() {
                        squirrel_pki::PkiError::Read { error, .. } => {
                            format!("cannot read the message file ({error}); check --message-file")
                        }
                        too_large => format!("{too_large}; check --message-file"),
                    };
                    ServeError::File {
                        path: path.clone(),
                        problem,
                    }
                })?;
                let text = String::from_utf8(raw).map_err(|_| ServeError::File {
                    path: path.clone(),
                    problem: "the message file is not UTF-8 text".into(),
                })?;
                // A file written by an editor ends with a newline that is not
                // part of the secret.
                let trimmed = text.strip_suffix('\n').unwrap_or(&text);
                let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
                Ok(Bytes::from(trimmed.to_string()))
            }
        }
    }

    /// The message file, if the secret comes from one.
    pub fn message_file(&self) -> Option<&Path> {
        match &self.message {
            MessageSource::File(p) => Some(p),
            MessageSource::Text(_) => None,
        }
    }
}

impl Site {
    /// The same site with another secret.
    pub fn with_message(&self, message: Bytes) -> Site {
        Site {
            message,
            tls: self.tls.clone(),
            cert: self.cert.clone(),
            members_only: self.members_only,
            members: self.members.clone(),
            fernet: self.fernet.clone(),
        }
    }
}
