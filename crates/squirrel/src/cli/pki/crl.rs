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
    #[command(flatten)]
    pub db: super::db::DbArgs,
}

pub fn run(args: CrlArgs) -> Result<ExitCode> {
    files::ensure_absent(&args.out, args.force)?;
    let ca = args.ca.open()?;
    let (pem, revoked) = match &args.db.db {
        // Every replica's revocations, numbered by the one shared counter.
        Some(url) => super::db::block_on(async {
            let db = super::db::connect(url).await?;
            let revoked = db.revoked().await?;
            let pem = ca.crl_of(&revoked, db.next_crl_number().await?, args.days)?;
            Ok((pem, revoked.len()))
        })?,
        None => (ca.crl(args.days)?, ca.ledger()?.revoked()?.len()),
    };
    files::write_atomic(&args.out, pem.as_bytes(), PUBLIC_MODE, args.force)?;
    println!(
        "Wrote a CRL of {} revoked certificate(s), signed by {}, valid {} days, to {}",
        revoked,
        ca.name(),
        args.days,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
