//! `squirrel pki crl`: a certificate revocation list signed by the CA.

use super::SigningCaArgs;
use anyhow::Result;
use clap::Args;
use squirrel_pki::files::{self, PUBLIC_MODE};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct CrlArgs {
    /// Days until the CRL's nextUpdate.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Where to write the CRL (PEM).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing file (the usual way to publish a new CRL).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub ca: SigningCaArgs,
}

pub fn run(args: CrlArgs) -> Result<ExitCode> {
    files::ensure_absent(&args.out, args.force)?;
    let ca = args.ca.open()?;
    let pem = ca.crl(args.days)?;
    files::write_atomic(&args.out, pem.as_bytes(), PUBLIC_MODE, args.force)?;
    let revoked = ca.ledger()?.revoked()?.len();
    println!(
        "Wrote a CRL of {} revoked certificate(s), signed by {}, valid {} days, to {}",
        revoked,
        ca.name(),
        args.days,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
