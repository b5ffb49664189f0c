//! The errors of the certificate authority.
//!
//! Every message is meant to be read by a person at a terminal: it says what
//! is wrong and, where there is one, the fix. The CLI adds nothing but the
//! `squirrel: error:` prefix.

use std::path::{Path, PathBuf};

/// Anything that can go wrong in `squirrel-pki`.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A problem with the content of a file: the path comes first, so the
    /// user knows which of several inputs is at fault.
    #[error("{}: {problem}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        problem: Box<PkiError>,
    },

    // The I/O error is part of the message, not a `source`, so that it is
    // printed once.
    #[error("cannot read {}: {error}; check the path and its permissions", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("cannot write {}: {error}; choose a directory you can write to", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{} already exists; squirrel never overwrites a file unless you pass --force (or choose another name)", path.display())]
    Exists { path: PathBuf },

    #[error("wrong passphrase: the key could not be decrypted with it; check --pass-file/--pass-env or retype it")]
    WrongPassphrase,

    #[error("the key is encrypted and no passphrase was given; use --pass-file FILE, --pass-env VAR, or run on a terminal to be prompted")]
    PassphraseNeeded,

    #[error("the passphrase is empty; an empty passphrase protects nothing (use --no-pass to write an unencrypted key on purpose)")]
    EmptyPassphrase,

    /// Input that is malformed or not what was expected, with the fix.
    #[error("{what}; {fix}")]
    Invalid { what: String, fix: String },

    /// A policy refusal: the CA will not do what was asked.
    #[error("refused: {0}")]
    Refused(String),

    #[error("the certificate ledger failed: {0}")]
    Ledger(#[from] rusqlite::Error),

    #[error("a cryptographic operation failed: {0}")]
    Crypto(String),
}

/// Results of this crate.
pub type Result<T, E = PkiError> = std::result::Result<T, E>;

impl PkiError {
    /// Builds an [`PkiError::Invalid`] from what is wrong and how to fix it.
    pub fn invalid(what: impl Into<String>, fix: impl Into<String>) -> Self {
        PkiError::Invalid {
            what: what.into(),
            fix: fix.into(),
        }
    }

    /// Attaches a file path to this error, unless it already names one.
    pub fn in_file(self, path: &Path) -> Self {
        match self {
            PkiError::InFile { .. }
            | PkiError::Read { .. }
            | PkiError::Write { .. }
            | PkiError::Exists { .. } => self,
            other => PkiError::InFile {
                path: path.to_path_buf(),
                problem: Box::new(other),
            },
        }
    }

    /// The innermost error, past any file context.
    pub fn root(&self) -> &PkiError {
        match self {
            PkiError::InFile { problem, .. } => problem.root(),
            other => other,
        }
    }
}

impl From<rcgen::Error> for PkiError {
    fn from(err: rcgen::Error) -> Self {
        PkiError::Crypto(err.to_string())
    }
}

/// Adds a path to the errors of a result.
pub(crate) trait WithPath<T> {
    fn with_path(self, path: &Path) -> Result<T>;
}

impl<T> WithPath<T> for Result<T> {
    fn with_path(self, path: &Path) -> Result<T> {
        self.map_err(|e| e.in_file(path))
    }
}
