//! `squirrel-acme`: the foundation of `squirrel pki ca serve`, an ACME
//! server (RFC 8555) for a private CA.
//!
//! - [`alg`]: the accepted signature algorithms (RFC 7518 §3, RFC 8037).

pub mod alg;
#[allow(dead_code)] // used by the JWK and JWS modules that follow
mod b64;

pub use alg::Algorithm;
