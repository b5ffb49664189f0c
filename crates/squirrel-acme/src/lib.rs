//! `squirrel-acme`: `squirrel pki ca serve`, an ACME server (RFC 8555) for
//! a private CA, so that certbot, lego and every ACME client get and renew
//! certificates from it by themselves.
//!
//! One concept per module:
//!
//! - [`jws`]: request authentication, the flattened JWS of RFC 8555 §6.2
//!   (and the `url` check of §6.4);
//! - [`jwk`]: the account keys those requests carry (RFC 7517, RFC 7518 §6,
//!   RFC 8037) and their RFC 7638 thumbprints (RFC 8555 §8.1);
//! - [`alg`]: the accepted signature algorithms (RFC 7518 §3, RFC 8037);
//! - [`nonce`]: replay protection (RFC 8555 §6.5);
//! - [`eab`]: external account binding, for a members-only CA (§7.3.4);
//! - [`problem`]: error responses, RFC 7807 problem documents with the
//!   ACME error types of RFC 8555 §6.7;
//! - [`model`]: accounts, orders, authorizations, challenges and their
//!   state machines (§7.1.6);
//! - [`store`]: where they are kept (the CA's ledger database);
//! - [`validate`]: http-01, tls-alpn-01 and dns-01 (§8, RFC 8737);
//! - [`spki`]: public keys compared across JWK and X.509;
//! - [`server`]: the resources over HTTPS, from JWS to ledger.

pub mod alg;
mod b64;
pub mod eab;
pub mod jwk;
pub mod jws;
pub mod model;
pub mod nonce;
pub mod problem;
pub mod server;
pub mod spki;
pub mod store;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
pub mod validate;

pub use alg::Algorithm;
pub use eab::{EabError, ExternalBinding};
pub use jwk::{Jwk, JwkError};
pub use jws::{Jws, JwsError, KeyRef, ProtectedHeader};
pub use problem::{ErrorType, Problem};
