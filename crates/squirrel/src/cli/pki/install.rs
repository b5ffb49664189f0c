//! `squirrel pki install` and `uninstall`: the CA into (and out of) this
//! machine's trust stores, as mkcert does (tutorial step 15).

use super::CaCertArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use squirrel_pki::truststore::{self, Anchor, Outcome, Store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct TrustArgs {
    #[command(flatten)]
    pub ca: CaCertArgs,
    /// Which stores: system, nss (Chromium and Firefox), comma-separated (default: both).
    #[arg(long, value_name = "STORES", value_delimiter = ',', value_parser = parse_store)]
    pub stores: Vec<Store>,
    /// Say what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_store(s: &str) -> Result<Store, String> {
    s.parse().map_err(|e: squirrel_pki::PkiError| e.to_string())
}

/// Installs (or, with `remove`, uninstalls) the CA.
pub fn run(args: TrustArgs, remove: bool) -> Result<ExitCode> {
    let files = args.ca.files()?;
    let text = squirrel_pki::files::read(&files.cert)?;
    let der = squirrel_pki::pem_file::certificates(&text)
        .map_err(|e| e.in_file(&files.cert))?
        .remove(0);
    let anchor = Anchor::from_der(&der)?;
    let explicit = !args.stores.is_empty();
    let stores = if explicit {
        args.stores.clone()
    } else {
        vec![Store::System, Store::Nss]
    };
    let verb = if remove { "uninstall" } else { "install" };
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut notes = Vec::new();
    for store in stores {
        match store {
            Store::System if !args.dry_run && !explicit && !truststore::is_root() => notes.push(format!(
                "the system store was left alone: it needs root. Run `sudo squirrel pki {verb} --stores system`"
            )),
            Store::System => outcomes.push(truststore::system(&anchor, remove, args.dry_run)?),
            Store::Nss => {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .context("HOME is not set: the browsers' databases live under it")?;
                outcomes.extend(truststore::nss(&anchor, &home, remove, args.dry_run)?);
            }
        }
    }
    let what = if args.dry_run {
        "Would change"
    } else if remove {
        "Removed"
    } else {
        "Installed"
    };
    println!(
        "{what}: {} ({}) from {}",
        anchor.holder,
        anchor.name,
        files.cert.display()
    );
    for o in &outcomes {
        println!(
            "  {:<32} {:<12} {}",
            o.store,
            o.action,
            o.location.display()
        );
    }
    for note in &notes {
        eprintln!("note: {note}");
    }
    if outcomes.iter().all(|o| o.action.is_skipped()) && notes.is_empty() {
        bail!(
            "no trust store was changed: {}",
            outcomes
                .first()
                .map_or("none found".to_string(), |o| o.action.to_string())
        );
    }
    if !remove && !args.dry_run {
        let in_store = |kind: &str| {
            outcomes
                .iter()
                .any(|o| o.store.starts_with(kind) && !o.action.is_skipped())
        };
        println!("{}", who_trusts_it(in_store("system"), in_store("nss")));
    }
    Ok(ExitCode::SUCCESS)
}

/// Who trusts the CA now: curl, Python and `squirrel get` read the system
/// store; Chromium and Firefox their NSS databases (and Chromium on Linux
/// the system store too only through NSS).
fn who_trusts_it(system: bool, nss: bool) -> &'static str {
    match (system, nss) {
        (true, true) => {
            "Browsers started from now on, curl, Python and `squirrel get` trust it without --ca."
        }
        (true, false) => {
            "curl, Python and `squirrel get` trust it without --ca; browsers read their own \
             NSS databases: `squirrel pki install --stores nss` for Chromium and Firefox."
        }
        (false, true) => {
            "Chromium and Firefox started from now on trust it; curl, Python and `squirrel get` \
             read the system store: `sudo squirrel pki install --stores system` for them."
        }
        (false, false) => "No store trusts it yet.",
    }
}
