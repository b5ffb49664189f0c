//! `squirrel-http`: the Secret Squirrels' server and client.
//!
//! - [`server`]: `squirrel serve` (tutorial steps 1, 7, 13, 16): HTTP, HTTPS,
//!   mutual TLS, Fernet bodies, reload, limits, access log;
//! - [`acme`]: `serve --acme`, the server's own certificate from an ACME
//!   CA, renewed in place ([`live_cert`]);
//! - [`client`]: `squirrel get` (steps 2 and 14): the client that trusts your
//!   CA and explains every common HTTPS failure, and the look-only handshake
//!   of `squirrel pki inspect https://...`; [`target`] is their one URL type,
//!   [`handshake`] their one TLS handshake and [`handshake::TlsInfo`] what it
//!   settled.

mod access;
pub mod acme;
pub mod check;
pub mod client;
pub mod diagnose;
pub mod error;
mod h2_frames;
pub mod handshake;
mod head_scan;
mod idle;
pub mod keylog;
mod listener;
pub mod live_cert;
mod membership;
pub mod pid_file;
mod reload;
pub mod routes;
pub mod server;
pub mod site;
mod status;
pub mod target;
pub mod timeouts;
pub mod tls;
pub mod verifiers;

pub use error::ServeError;
pub use server::{Limits, ReloadHandle, ServeOptions, Server};
pub use site::{MessageSource, RefreshSources, SiteSources, DEFAULT_MESSAGE};
pub use tls::TlsFiles;
