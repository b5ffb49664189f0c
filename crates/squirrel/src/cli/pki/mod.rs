//! `squirrel pki`: the private certificate authority of tutorial steps 9-12.
//! Arguments here, logic in `squirrel-pki`.

//!
//! One module per command, each with the same shape (as mini-redis's
//! `cmd/`): a clap `Args` struct, parsed, then `run(args)`, which calls the
//! library and prints.

mod ca_args;
mod ca_eab;
mod ca_init;
mod ca_migrate;
mod ca_serve;
mod crl;
mod csr;
mod db;
mod inspect;
mod inspect_url;
mod install;
mod issue;
mod key;
mod list;
mod renew;
mod revoke;
mod sign;
mod verify;

pub(crate) use ca_args::shell_word;
pub use ca_args::{CaCertArgs, SigningCaArgs};

use anyhow::Result;
use clap::{Args, Subcommand};
use squirrel_pki::names::IpNetwork;
use squirrel_pki::{AltName, KeyAlgorithm, Profile, Subject};
use std::path::Path;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Generate a private key (PKCS#8 PEM, encrypted with a passphrase).
    Key(key::KeyArgs),
    /// Manage the certificate authority itself.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Create a certificate signing request (CSR) for a key.
    Csr(csr::CsrArgs),
    /// Sign a CSR with the CA: the request becomes a certificate.
    Sign(sign::SignArgs),
    /// Key, CSR and signature in one step, mkcert style: `squirrel pki issue localhost 127.0.0.1`.
    Issue(issue::IssueArgs),
    /// Show what a certificate, chain, CSR or key says, or what a server presents.
    Inspect(inspect::InspectArgs),
    /// Verify a certificate chain, as squirrel's TLS client would.
    Verify(verify::VerifyArgs),
    /// List the certificates the CA issued (from its ledger).
    List(list::ListArgs),
    /// Renew a certificate issued offline: new key, same names and profile, written in place.
    Renew(renew::RenewArgs),
    /// Revoke a certificate by serial number (or a unique prefix of it) or by name.
    Revoke(revoke::RevokeArgs),
    /// Write a certificate revocation list (CRL) signed by the CA.
    Crl(crl::CrlArgs),
    /// Trust the CA on this machine: the system store and Chromium/Firefox (NSS), as mkcert does.
    Install(install::TrustArgs),
    /// Remove exactly what `install` added.
    Uninstall(install::TrustArgs),
}

#[derive(Subcommand)]
pub enum CaCommand {
    /// Create a new CA: key, self-signed certificate and ledger.
    Init(Box<ca_init::CaInitArgs>),
    /// Put the CA online: an ACME server (RFC 8555) for certbot, lego and other clients.
    Serve(Box<ca_serve::CaServeArgs>),
    /// External account binding keys: who may register with `serve --require-eab`.
    #[command(subcommand)]
    Eab(ca_eab::EabCommand),
    /// Move the CA's ledger into a PostgreSQL database that several `serve` replicas share.
    Migrate(ca_migrate::CaMigrateArgs),
}

pub fn run(command: PkiCommand) -> Result<ExitCode> {
    match command {
        PkiCommand::Key(args) => key::run(args),
        PkiCommand::Ca(CaCommand::Init(args)) => ca_init::run(*args),
        PkiCommand::Ca(CaCommand::Serve(args)) => ca_serve::run(*args),
        PkiCommand::Ca(CaCommand::Eab(command)) => ca_eab::run(command),
        PkiCommand::Ca(CaCommand::Migrate(args)) => ca_migrate::run(args),
        PkiCommand::Csr(args) => csr::run(args),
        PkiCommand::Sign(args) => sign::run(args),
        PkiCommand::Issue(args) => issue::run(args),
        PkiCommand::Inspect(args) => inspect::run(args),
        PkiCommand::Verify(args) => verify::run(args),
        PkiCommand::List(args) => list::run(args),
        PkiCommand::Renew(args) => renew::run(args),
        PkiCommand::Revoke(args) => revoke::run(args),
        PkiCommand::Crl(args) => crl::run(args),
        PkiCommand::Install(args) => install::run(args, false),
        PkiCommand::Uninstall(args) => install::run(args, true),
    }
}

/// `--legacy-ca`: accept a CA certificate without extensions, with a warning.
pub(crate) fn anchor_policy(legacy_ca: bool) -> squirrel_pki::verify::AnchorPolicy {
    match legacy_ca {
        true => squirrel_pki::verify::AnchorPolicy::AcceptLegacy,
        false => squirrel_pki::verify::AnchorPolicy::Strict,
    }
}

pub(crate) fn parse_algorithm(s: &str) -> Result<KeyAlgorithm, String> {
    s.parse().map_err(|e: squirrel_pki::PkiError| e.to_string())
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse().map_err(|e: squirrel_pki::PkiError| e.to_string())
}

fn parse_alt_name(s: &str) -> Result<AltName, String> {
    AltName::parse(s).map_err(|e| e.to_string())
}

fn parse_network(s: &str) -> Result<IpNetwork, String> {
    s.parse().map_err(|e: squirrel_pki::PkiError| e.to_string())
}

/// Subject fields, as the tutorial's keyword arguments.
#[derive(Args, Debug, Clone, Default)]
pub struct SubjectArgs {
    /// Common name (CN), e.g. my-site.com.
    #[arg(long, value_name = "NAME")]
    pub cn: Option<String>,
    /// Country (C), two letters, e.g. US.
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// State or province (ST).
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// Locality (L), e.g. a city.
    #[arg(long, value_name = "CITY")]
    pub locality: Option<String>,
    /// Organization (O).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
}

impl SubjectArgs {
    fn subject(&self) -> Subject {
        Subject {
            common_name: self.cn.clone(),
            country: self.country.clone(),
            state: self.state.clone(),
            locality: self.locality.clone(),
            organization: self.org.clone(),
        }
    }
}

/// The certificates of a PEM file, in order.
fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>> {
    let text = squirrel_pki::files::read(path)?;
    Ok(squirrel_pki::pem_file::certificates(&text).map_err(|e| e.in_file(path))?)
}
