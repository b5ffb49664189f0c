//! `squirrel pki issue`: key, request and signature in one step, with
//! mkcert's file names (`localhost+2.pem`, `localhost+2-key.pem`).

use super::{parse_algorithm, parse_alt_name, parse_profile, SigningCaArgs};
use crate::cli::passphrase::{KdfArgs, PassArgs};
use anyhow::{bail, Result};
use clap::Args;
use squirrel_pki::files;
use squirrel_pki::issue::issue_paths;
use squirrel_pki::sign::DEFAULT_LEAF_DAYS;
use squirrel_pki::{AltName, KeyAlgorithm, KeyProtection, Profile, SignOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// `--key-pass-file`/`--key-pass-env` encrypt the new key here: the CA
/// key's passphrase flags lose those aliases.
#[derive(Args)]
#[command(mut_args(PassArgs::without_key_aliases))]
pub struct IssueArgs {
    /// Names to certify: DNS names, IP addresses, emails. The first names the files.
    #[arg(required = true, value_name = "NAME", value_parser = parse_alt_name)]
    pub names: Vec<AltName>,
    /// A client certificate (for mutual TLS) instead of a server certificate.
    #[arg(long, conflicts_with = "profile")]
    pub client: bool,
    /// What the certificate is for: server, client or both.
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<Profile>,
    /// Lifetime in days (never beyond the CA's own).
    #[arg(long, default_value_t = DEFAULT_LEAF_DAYS)]
    pub days: u32,
    /// Algorithm of the new key.
    #[arg(long, value_name = "ALGO", default_value = "ecdsa-p256", value_parser = parse_algorithm)]
    pub algo: KeyAlgorithm,
    /// Certificate file (default: NAME[+N][-client].pem in the current directory).
    #[arg(long, value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// Key file (default: NAME[+N][-client]-key.pem in the current directory).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Encrypt the new key with the passphrase in environment variable VAR.
    #[arg(long, value_name = "VAR", conflicts_with = "key_pass_file")]
    pub key_pass_env: Option<String>,
    /// Encrypt the new key with the passphrase on the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub key_pass_file: Option<PathBuf>,
    #[command(flatten)]
    pub kdf: KdfArgs,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub ca: SigningCaArgs,
    #[command(flatten)]
    pub db: super::db::DbArgs,
}

pub fn run(args: IssueArgs) -> Result<ExitCode> {
    let profile = match (args.client, args.profile) {
        (true, _) => Profile::Client,
        (false, Some(p)) => p,
        (false, None) => Profile::Server,
    };
    let (default_cert, default_key) = issue_paths(std::path::Path::new("."), &args.names, profile);
    let cert_path = args.cert_file.clone().unwrap_or(default_cert);
    let key_path = args.key_file.clone().unwrap_or(default_key);
    if cert_path == key_path {
        bail!("--cert-file and --key-file name the same file; give two different files");
    }
    files::ensure_absent(&cert_path, args.force)?;
    files::ensure_absent(&key_path, args.force)?;
    let key_protection = if args.key_pass_env.is_some() || args.key_pass_file.is_some() {
        let leaf_pass = PassArgs {
            pass_file: args.key_pass_file.clone(),
            pass_env: args.key_pass_env.clone(),
            no_pass: false,
        };
        leaf_pass.protection_for_new_key(args.kdf.kdf, "key")?
    } else {
        // Servers start unattended: the leaf key is plain, mode 0600, as mkcert writes it.
        KeyProtection::Unencrypted
    };
    let ca = args.ca.open()?;
    let ca = match &args.db.db {
        Some(url) => super::db::record_in(ca, url)?,
        None => ca,
    };
    let making = crate::cli::progress::MakingKey::start(args.algo);
    let pair = ca.issue_to_files(
        &args.names,
        args.algo,
        &key_protection,
        SignOptions {
            days: args.days,
            profile,
        },
        (cert_path, key_path),
        args.force,
    )?;
    drop(making);
    super::sign::report(
        &pair.issued,
        &[("certificate", &pair.cert_path), ("key", &pair.key_path)],
    );
    Ok(ExitCode::SUCCESS)
}
