//! `squirrel pki ca migrate --to postgres://...`: the CA's ledger file
//! moved into a PostgreSQL database, so that several `pki ca serve`
//! replicas can share it. Every table is copied in one transaction, and
//! committed only when the row counts and content fingerprints read back
//! equal (`squirrel_acme::store::postgres::import`); both are printed.

use super::CaCertArgs;
use anyhow::{bail, Result};
use clap::Args;
use squirrel_acme::store::postgres::redact;
use std::process::ExitCode;

#[derive(Args)]
pub struct CaMigrateArgs {
    #[command(flatten)]
    pub ca: CaCertArgs,
    /// The new, empty PostgreSQL database, e.g. postgres://squirrel:PASSWORD@db:5432/ca.
    #[arg(long, value_name = "URL")]
    pub to: String,
}

pub fn run(args: CaMigrateArgs) -> Result<ExitCode> {
    let files = args.ca.files()?;
    if !files.ledger.exists() {
        bail!(
            "no ledger at {}: there is nothing to migrate; give the CA's directory with \
             --ca-dir DIR",
            files.ledger.display()
        );
    }
    let shown = redact(&args.to);
    let checks = super::db::block_on(async {
        let db = super::db::connect(&args.to).await?;
        Ok(db.import_sqlite(&files.ledger).await?)
    })?;
    println!("Copied {} into {shown}:", files.ledger.display());
    println!(
        "  {:<15} {:>8} {:>9}  SHA-256 OF THE ROWS (both sides)",
        "TABLE", "SQLITE", "POSTGRES"
    );
    for check in &checks {
        println!(
            "  {:<15} {:>8} {:>9}  {} {}",
            check.table,
            check.sqlite_rows,
            check.postgres_rows,
            &check.sqlite_fingerprint[..16],
            if check.equal() { "equal" } else { "DIFFERENT" }
        );
    }
    let certificates = checks
        .iter()
        .find(|c| c.table == "certificates")
        .map_or(0, |c| c.postgres_rows);
    println!(
        "Nothing lost: every table has the same rows on both sides ({certificates} \
         certificates). Start each replica with `squirrel pki ca serve --db URL` (or \
         SQUIRREL_DB=URL), and give `pki list`, `revoke`, `crl`, `sign`, `issue` and `pki ca eab` \
         the same --db. The ledger file is left as it was; only each replica's own HTTPS certificate is \
         still recorded there."
    );
    Ok(ExitCode::SUCCESS)
}
