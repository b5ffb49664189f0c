//! Passphrases: the secret that keeps a private key file useless to a thief
//! (tutorial step 10 encrypts the CA key with `secret_password`).
//!
//! Where a passphrase comes from is the CLI's business (file, environment,
//! prompt); this module only holds it, wipes it from memory when dropped and
//! refuses the empty one.

use crate::error::{PkiError, Result};
use std::path::Path;
use zeroize::Zeroizing;

/// A non-empty passphrase, zeroed when dropped, never printed by `Debug`.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

impl Passphrase {
    /// Wraps a passphrase; the empty string is refused.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = Zeroizing::new(text.into());
        if text.is_empty() {
            return Err(PkiError::EmptyPassphrase);
        }
        Ok(Passphrase(text))
    }

    /// Reads the first line of a file, as `openssl -passin file:` does.
    pub fn from_file(path: &Path) -> Result<Self> {
        // A passphrase is a line; 64 KiB is far more than any.
        let bytes = Zeroizing::new(crate::files::read_at_most(path, 64 << 10)?);
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            PkiError::invalid(
                "the passphrase file is not UTF-8 text",
                "write the passphrase as text on the first line",
            )
            .in_file(path)
        })?;
        let first = text.lines().next().unwrap_or("");
        Self::new(first).map_err(|e| e.in_file(path))
    }

    /// Reads an environment variable, as `openssl -passin env:` does.
    pub fn from_env(var: &str) -> Result<Self> {
        match std::env::var(var) {
            Ok(value) => Self::new(value).map_err(|_| {
                PkiError::invalid(
                    format!("environment variable {var} is empty"),
                    format!("set {var} to the passphrase"),
                )
            }),
            Err(_) => Err(PkiError::invalid(
                format!("environment variable {var} is not set (or not UTF-8)"),
                format!("export {var}=... before running, or use --pass-file"),
            )),
        }
    }

    /// The passphrase's bytes, for key derivation.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}
