//! `squirrel pki renew CERT`: a certificate issued offline, made again for
//! the same names and profile, with a new key, in place (see
//! `squirrel_pki::renew`).

use super::SigningCaArgs;
use anyhow::{bail, Result};
use clap::Args;
use squirrel_pki::renew::key_path_for;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct RenewArgs {
    /// The certificate to renew (issued by this CA); replaced atomically.
    #[arg(value_name = "CERT")]
    pub cert: PathBuf,
    /// Its key, replaced by a new one (0600) [default: CERT's NAME-key.pem, as `pki issue`
    /// names it].
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Lifetime in days [default: the old certificate's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub days: Option<u32>,
    #[command(flatten)]
    pub ca: SigningCaArgs,
}

pub fn run(args: RenewArgs) -> Result<ExitCode> {
    let key_path = args
        .key_file
        .clone()
        .unwrap_or_else(|| key_path_for(&args.cert));
    if key_path == args.cert {
        bail!("--key-file names the certificate itself; give the key's file");
    }
    if !args.cert.is_file() {
        bail!(
            "{}: no such certificate; give the file `squirrel pki issue` wrote (NAME.pem)",
            args.cert.display()
        );
    }
    let ca = args.ca.open()?;
    let renewed = ca.renew_files(&args.cert, &key_path, args.days)?;
    println!(
        "Renewed {} (serial {}, valid until {}):",
        renewed.old.alt_names.join(", "),
        renewed.old.serial,
        renewed.old.not_after
    );
    super::sign::report(
        &renewed.pair.issued,
        &[
            ("certificate", &renewed.pair.cert_path),
            ("key", &renewed.pair.key_path),
        ],
    );
    Ok(ExitCode::SUCCESS)
}
