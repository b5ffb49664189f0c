//! `squirrel pki revoke`: mark a certificate revoked in the ledger; the
//! next CRL lists it.

use super::SigningCaArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct RevokeArgs {
    /// Serial number, as `squirrel pki list` shows it (colons and case do not matter).
    pub serial: String,
    /// Reason: unspecified, keyCompromise, CACompromise, affiliationChanged, superseded,
    /// cessationOfOperation, certificateHold, privilegeWithdrawn.
    #[arg(long, default_value = "unspecified")]
    pub reason: String,
    #[command(flatten)]
    pub ca: SigningCaArgs,
}

pub fn run(args: RevokeArgs) -> Result<ExitCode> {
    let reason: squirrel_pki::revoke::Reason = args.reason.parse().context("--reason")?;
    let ca = args.ca.open()?;
    let entry = ca.revoke(&args.serial, reason)?;
    println!(
        "Revoked {} ({}), reason {}. Publish a new CRL with `squirrel pki crl --out crl.pem` and \
         reload the servers that use it.",
        entry.serial,
        entry.subject,
        reason.name()
    );
    Ok(ExitCode::SUCCESS)
}
