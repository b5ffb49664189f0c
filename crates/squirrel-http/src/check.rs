//! `squirrel serve --check-config`, as `nginx -t`: everything a start would
//! load is loaded (message, certificate and key, client CA, CRL) and the
//! listening address is resolved, but no port is bound and nothing served.

use crate::error::ServeError;
use crate::server::{resolve, ServeOptions};
use crate::tls::TlsShared;
use std::net::SocketAddr;
use std::path::Path;

/// What a checked configuration would serve.
#[derive(Debug)]
pub struct Checked {
    /// The address the server would listen on.
    pub addr: SocketAddr,
    /// The certificate's sentence ("From A to B, I am X according to Y"),
    /// when serving HTTPS.
    pub certificate: Option<String>,
    /// Mutual TLS: a client certificate is required.
    pub members_only: bool,
    /// Length of the secret, in bytes.
    pub message_bytes: usize,
    /// Bodies would be Fernet tokens.
    pub fernet: bool,
}

/// Loads what `Server::bind` would load, without binding.
pub fn check(options: &ServeOptions) -> Result<Checked, ServeError> {
    let addr = resolve(&options.listen)?;
    if let Some(path) = &options.keylog {
        folder_exists(path, "--keylog")?;
    }
    let site = options.sources.load(&TlsShared::new(None)?)?;
    Ok(Checked {
        addr,
        certificate: site.cert.as_ref().map(|c| c.sentence.clone()),
        members_only: site.members_only,
        message_bytes: site.message.len(),
        fernet: site.fernet.is_some(),
    })
}

/// The folder a file is to be written in exists: a key log, a pid file.
pub fn folder_exists(path: &Path, flag: &str) -> Result<(), ServeError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if folder.is_dir() {
        return Ok(());
    }
    Err(ServeError::File {
        path: path.to_path_buf(),
        problem: format!(
            "the folder {} does not exist; create it or change {flag}",
            folder.display()
        ),
    })
}
