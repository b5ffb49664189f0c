//! The integration tests of the `squirrel` command line, in one test
//! binary: each module was once a test file of its own. They run the real
//! binary (CARGO_BIN_EXE_squirrel) against the real tools: openssl, curl,
//! python3, tshark, Chromium.
//!
//! Tests that need root (live capture, the system trust store, running as
//! another user) are `#[ignore]`d with the reason; `scripts/test.sh` runs
//! them too when it runs as root.

mod acme_common;
mod cipher_common;
mod common;
mod sniff_common;

mod acme_clients;
mod acme_replicas;
mod acme_serve;
mod acme_webroot_clients;
mod cipher_cli;
mod cipher_interop;
mod demo;
mod pki_cli;
mod pki_errors;
mod pki_interop;
mod pki_keys;
mod pki_members;
mod pki_postgres;
mod pki_prompt;
mod pki_verify;
mod readme;
mod serve_acme;
mod serve_acme_options;
mod serve_config;
mod serve_get;
mod serve_members;
mod serve_ops;
mod shell_surface;
mod sniff_capture;
mod sniff_files;
mod trust;
