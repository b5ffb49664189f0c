//! `squirrel pki list`: what the CA issued, from its ledger.

use super::CaCertArgs;
use anyhow::{bail, Result};
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub ca: CaCertArgs,
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ListArgs) -> Result<ExitCode> {
    let files = args.ca.files()?;
    if !files.ledger.exists() {
        bail!(
            "no ledger at {}, beside the CA certificate {}: this CA has issued nothing with \
             squirrel here. The ledger is kept only where the CA signs (its directory, beside \
             ca.pem and ca-key.pem); run `squirrel pki list` there, or give that directory with \
             --ca-dir DIR",
            files.ledger.display(),
            files.cert.display()
        );
    }
    let entries = squirrel_pki::ledger::Ledger::open(&files.ledger)?.list()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        println!("The ledger is empty: no certificate issued yet.");
        return Ok(ExitCode::SUCCESS);
    }
    let now = squirrel_pki::ca::now();
    println!(
        "{:<34} {:<8} {:<7} {:<21} SUBJECT (NAMES)",
        "SERIAL", "STATUS", "PROFILE", "EXPIRES"
    );
    for e in &entries {
        let expires = time::OffsetDateTime::parse(
            &e.not_after,
            &time::format_description::well_known::Rfc3339,
        )
        .ok();
        let status = e.status_at(now);
        let expires = expires
            .map(squirrel_pki::describe::human_time)
            .unwrap_or_else(|| e.not_after.clone());
        println!(
            "{:<34} {:<8} {:<7} {:<21} {} ({})",
            e.serial,
            status,
            e.profile,
            expires,
            e.subject,
            e.alt_names.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
