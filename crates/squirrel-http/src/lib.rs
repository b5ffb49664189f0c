//! `squirrel-http`: the Secret Squirrels' server and client.
//!
//! - [`server`]: `squirrel serve` (tutorial steps 1, 7, 13, 16): HTTP, HTTPS,
//!   mutual TLS, Fernet bodies, reload, limits, access log;
//! - [`client`]: `squirrel get` (steps 2 and 14): the client that trusts your
//!   CA and explains every common HTTPS failure.

mod access;
pub mod client;
pub mod diagnose;
pub mod error;
pub mod keylog;
pub mod routes;
pub mod server;
pub mod site;
pub mod timeouts;
pub mod tls;

pub use error::ServeError;
pub use server::{Limits, ReloadHandle, ServeOptions, Server};
pub use site::{MessageSource, SiteSources, DEFAULT_MESSAGE};
pub use tls::TlsFiles;
