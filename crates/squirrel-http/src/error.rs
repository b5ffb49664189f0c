//! Errors of the server and the client.

use std::path::PathBuf;

/// A server that cannot start or reload says why, naming the file or flag
/// and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Pki(#[from] squirrel_pki::PkiError),

    #[error("{}: {problem}", path.display())]
    File { path: PathBuf, problem: String },

    #[error("{what}; {fix}")]
    Invalid { what: String, fix: String },

    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },

    #[error("TLS configuration: {0}")]
    Tls(String),

    #[error("cannot listen for {name}: {reason}; the server could not be stopped cleanly")]
    Signal {
        name: &'static str,
        reason: std::io::Error,
    },

    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl ServeError {
    pub(crate) fn invalid(what: impl Into<String>, fix: impl Into<String>) -> Self {
        ServeError::Invalid {
            what: what.into(),
            fix: fix.into(),
        }
    }
}
