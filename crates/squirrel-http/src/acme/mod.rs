//! `serve --acme`: the server gets its own certificate from an ACME CA
//! (RFC 8555) and renews it by itself, as Caddy does, so nobody copies a
//! certificate again.
//!
//! The protocol is `instant-acme`'s; this module decides what to order,
//! how to answer the challenge, where to keep the result and when to renew:
//!
//! - [`state`]: the state folder (`$SQUIRREL_HOME/acme/SERVER/`): the
//!   account, and per first name the certificate and its key;
//! - [`order`]: one order, from the new-order request to the certificate,
//!   answered by tls-alpn-01 on the server's own listener or by http-01;
//! - [`renew`]: when to renew (the CA's ARI window, else two thirds of the
//!   lifetime) and retrying with backoff while the CA is away.

mod http01;
pub mod order;
pub mod renew;
pub mod state;
pub mod trust;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use order::AcmeClient;
pub use state::CertState;

/// How the client proves that it controls its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// tls-alpn-01 (RFC 8737), answered by the server's own TLS listener:
    /// nothing else to open.
    TlsAlpn01,
    /// http-01, answered on this address (`--http01-listen`), which the CA
    /// reaches on port 80 (or its configured port).
    Http01(SocketAddr),
}

/// An external account binding (RFC 8555 §7.3.4): what a members-only CA
/// hands out. The HMAC key never appears in a log.
#[derive(Clone)]
pub struct Eab {
    pub kid: String,
    pub hmac_key: Vec<u8>,
}

impl Eab {
    /// The binding as a CA hands it out: a key id and a base64url HMAC key.
    pub fn from_base64url(kid: &str, hmac_key: &str) -> Result<Eab, String> {
        use base64::Engine;
        let trimmed = hmac_key.trim().trim_end_matches('=');
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(trimmed)
            .map_err(|e| format!("the HMAC key is not base64url ({e})"))?;
        if key.is_empty() {
            return Err("the HMAC key is empty".into());
        }
        Ok(Eab {
            kid: kid.to_string(),
            hmac_key: key,
        })
    }
}

impl std::fmt::Debug for Eab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Eab {{ kid: {:?}, hmac_key: <hidden> }}", self.kid)
    }
}

/// What `serve --acme` was asked for.
#[derive(Clone, Debug)]
pub struct AcmeConfig {
    /// The CA's directory URL.
    pub directory: String,
    /// The CA certificate that the ACME server's own HTTPS chains to
    /// (`--acme-ca`).
    pub ca_bundle: PathBuf,
    /// The names to certify, DNS names or IP addresses (`--domain`).
    pub domains: Vec<String>,
    pub email: Option<String>,
    pub eab: Option<Eab>,
    /// Where the account and certificates are kept
    /// (`$SQUIRREL_HOME/acme`); one folder per CA inside.
    pub state_root: PathBuf,
    pub proof: Proof,
}

/// Why an ACME operation failed, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA refused, or could not be reached.
    #[error("the ACME CA {directory} {what}: {reason}")]
    Ca {
        directory: String,
        what: String,
        reason: String,
    },
    /// A file of the state folder.
    #[error("{}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
    /// Something this side could not do (a key, a certificate request).
    #[error("{0}")]
    Local(String),
}
