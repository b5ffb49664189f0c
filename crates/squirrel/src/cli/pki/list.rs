//! `squirrel pki list`: what the CA issued, from its ledger.

use super::CaCertArgs;
use anyhow::{bail, Result};
use clap::Args;
use squirrel_pki::ledger::LedgerEntry;
use std::process::ExitCode;

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub ca: CaCertArgs,
    #[command(flatten)]
    pub db: super::db::DbArgs,
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ListArgs) -> Result<ExitCode> {
    let files = args.ca.files()?;
    let entries = match &args.db.db {
        Some(url) => {
            super::db::block_on(async { Ok(super::db::connect(url).await?.list().await?) })?
        }
        None => file_ledger(&files)?,
    };
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
        println!("{}", row(e, now));
    }
    Ok(ExitCode::SUCCESS)
}

/// The certificates in the ledger file beside the CA.
fn file_ledger(files: &squirrel_pki::CaFiles) -> Result<Vec<LedgerEntry>> {
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
    Ok(squirrel_pki::ledger::Ledger::open(&files.ledger)?.list()?)
}

/// One line of the table. A certificate issued through ACME ends with its
/// account (`[acme account ID]`) rather than taking a column of its own,
/// which would be empty for every certificate signed by hand.
fn row(e: &LedgerEntry, now: time::OffsetDateTime) -> String {
    let expires =
        time::OffsetDateTime::parse(&e.not_after, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(squirrel_pki::describe::human_time)
            .unwrap_or_else(|| e.not_after.clone());
    let mut line = format!(
        "{:<34} {:<8} {:<7} {:<21} {} ({})",
        e.serial,
        e.status_at(now),
        e.profile,
        expires,
        e.subject,
        e.alt_names.join(", ")
    );
    if let Some(account) = &e.account {
        line.push_str(&format!("  [acme account {account}]"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use squirrel_pki::ledger::Status;

    fn entry(account: Option<&str>) -> LedgerEntry {
        LedgerEntry {
            serial: "0A1B".into(),
            subject: "CN=member".into(),
            alt_names: vec!["member.example".into()],
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2026-04-01T00:00:00Z".into(),
            profile: "server".into(),
            sha256_fingerprint: "AA".into(),
            status: Status::Valid,
            revoked_at: None,
            revocation_reason: None,
            pem: "PEM".into(),
            account: account.map(Into::into),
        }
    }

    #[test]
    fn acme_certificates_name_their_account_and_others_are_unchanged() {
        let now = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let by_hand = row(&entry(None), now);
        assert!(by_hand.ends_with("CN=member (member.example)"), "{by_hand}");
        let acme = row(&entry(Some("k3yAcct")), now);
        assert_eq!(acme, format!("{by_hand}  [acme account k3yAcct]"));
        let json = serde_json::to_value([entry(None), entry(Some("k3yAcct"))]).unwrap();
        assert!(json[0].get("account").is_none(), "{json}");
        assert_eq!(json[1]["account"], "k3yAcct");
    }
}
