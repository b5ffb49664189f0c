//! `squirrel-acme`: the foundation of `squirrel pki ca serve`, an ACME
//! server (RFC 8555) for a private CA.
//!
//! This crate holds what every ACME request goes through before any
//! resource is touched, one concept per module:
//!
//! - [`jws`]: request authentication, the flattened JWS of RFC 8555 §6.2
//!   (and the `url` check of §6.4);
//! - [`jwk`]: the account keys those requests carry (RFC 7517, RFC 7518 §6,
//!   RFC 8037) and their RFC 7638 thumbprints (RFC 8555 §8.1);
//! - [`alg`]: the accepted signature algorithms (RFC 7518 §3, RFC 8037);
//! - [`nonce`]: replay protection (RFC 8555 §6.5);
//! - [`eab`]: external account binding, for a members-only CA (§7.3.4);
//! - [`problem`]: error responses, RFC 7807 problem documents with the
//!   ACME error types of RFC 8555 §6.7.
//!
//! A request handler will: parse the body with [`jws::Jws::parse`], check
//! the `url` and redeem the `nonce` with [`nonce::NonceStore`], verify with
//! the embedded key or the account's, then parse the payload; and turn any
//! error into a [`problem::Problem`] with `From`.

pub mod alg;
mod b64;
pub mod eab;
pub mod jwk;
pub mod jws;
pub mod nonce;
pub mod problem;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

pub use alg::Algorithm;
pub use eab::{EabError, ExternalBinding};
pub use jwk::{Jwk, JwkError};
pub use jws::{Jws, JwsError, KeyRef, ProtectedHeader};
pub use nonce::{NonceError, NonceStore};
pub use problem::{ErrorType, Problem};
pub mod model;
pub mod server;
pub mod spki;
pub mod store;
pub mod validate;
