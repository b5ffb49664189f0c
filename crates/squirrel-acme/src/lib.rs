//! `squirrel-acme`: the foundation of `squirrel pki ca serve`, an ACME
//! server (RFC 8555) for a private CA.
//!
//! - [`jwk`]: account keys (RFC 7517, RFC 7518 §6, RFC 8037) and their
//!   RFC 7638 thumbprints (RFC 8555 §8.1);
//! - [`nonce`]: replay protection (RFC 8555 §6.5);
//! - [`alg`]: the accepted signature algorithms (RFC 7518 §3, RFC 8037).

pub mod alg;
#[allow(dead_code)] // used by the JWS module that follows
mod b64;
#[allow(dead_code)] // Jwk::verify is used by the JWS module that follows
pub mod jwk;
pub mod nonce;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

pub use alg::Algorithm;
pub use jwk::{Jwk, JwkError};
pub use nonce::{NonceError, NonceStore};
