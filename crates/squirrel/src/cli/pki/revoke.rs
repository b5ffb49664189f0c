//! `squirrel pki revoke`: mark a certificate revoked in the ledger; the
//! next CRL lists it.

use super::SigningCaArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::process::ExitCode;

/// The CRL file the advice names (in the current directory).
const CRL_FILE: &str = "crl.pem";

#[derive(Args)]
pub struct RevokeArgs {
    /// Serial number as `squirrel pki list` shows it, or a unique prefix of it (colons and case
    /// do not matter), or the certificate's common name or alternative name (e.g. alice).
    #[arg(value_name = "SERIAL|NAME")]
    pub serial: String,
    /// Reason: unspecified, keyCompromise, CACompromise, affiliationChanged, superseded,
    /// cessationOfOperation, certificateHold, privilegeWithdrawn.
    #[arg(long, default_value = "unspecified")]
    pub reason: String,
    #[command(flatten)]
    pub ca: SigningCaArgs,
    #[command(flatten)]
    pub db: super::db::DbArgs,
}

pub fn run(args: RevokeArgs) -> Result<ExitCode> {
    let reason: squirrel_pki::revoke::Reason = args.reason.parse().context("--reason")?;
    let ca = args.ca.open()?;
    let entry = match &args.db.db {
        Some(url) => super::db::block_on(async {
            let db = super::db::connect(url).await?;
            Ok(db
                .revoke(&args.serial, reason.name(), squirrel_pki::ca::now())
                .await?)
        })?,
        None => ca.revoke(&args.serial, reason)?,
    };
    // The advice must work as printed: the same CA, and --force when the
    // CRL file is already there (`pki crl` never overwrites without it).
    let force = if std::path::Path::new(CRL_FILE).exists() {
        " --force"
    } else {
        ""
    };
    println!(
        "Revoked {} ({}), reason {}. Publish a new CRL with `squirrel pki crl --out {CRL_FILE}{force}{}` \
         and reload the servers that use it.",
        entry.serial,
        entry.subject,
        reason.name(),
        args.ca.flags() + &args.db.flags()
    );
    Ok(ExitCode::SUCCESS)
}
