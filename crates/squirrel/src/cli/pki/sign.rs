//! `squirrel pki sign`: the CA signs a request (tutorial step 12): subject
//! from the CSR, issuer from the CA, under the CA's policy.

use super::{parse_profile, SigningCaArgs};
use anyhow::Result;
use clap::Args;
use squirrel_pki::files::{self, PUBLIC_MODE};
use squirrel_pki::sign::{Issued, DEFAULT_LEAF_DAYS};
use squirrel_pki::{Profile, SignOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub ca: SigningCaArgs,
    #[command(flatten)]
    pub db: super::db::DbArgs,
    /// The certificate signing request to sign.
    #[arg(long, value_name = "FILE")]
    pub csr: PathBuf,
    /// Where to write the certificate.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Lifetime in days (never beyond the CA's own).
    #[arg(long, default_value_t = DEFAULT_LEAF_DAYS)]
    pub days: u32,
    /// What the certificate is for: server, client or both.
    #[arg(long, default_value = "server", value_parser = parse_profile)]
    pub profile: Profile,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: SignArgs) -> Result<ExitCode> {
    files::ensure_absent(&args.out, args.force)?;
    let text = files::read(&args.csr)?;
    let der = squirrel_pki::pem_file::ders_of(
        &text,
        &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
        "a certificate signing request",
    )
    .map_err(|e| e.in_file(&args.csr))?
    .remove(0);
    let request = squirrel_pki::csr::parse_csr(&der).map_err(|e| e.in_file(&args.csr))?;
    let ca = args.ca.open()?;
    let ca = match &args.db.db {
        Some(url) => super::db::record_in(ca, url)?,
        None => ca,
    };
    let issued = ca.sign(
        &request,
        SignOptions {
            days: args.days,
            profile: args.profile,
        },
    )?;
    files::write_atomic(&args.out, issued.pem.as_bytes(), PUBLIC_MODE, args.force)?;
    report(&issued, &[("certificate", &args.out)]);
    Ok(ExitCode::SUCCESS)
}

/// Prints what was issued: the sentence, the serial, the files.
pub(super) fn report(issued: &Issued, paths: &[(&str, &PathBuf)]) {
    for note in &issued.notes {
        eprintln!("note: {note}");
    }
    let sentence = squirrel_pki::describe::summarize(&issued.der, squirrel_pki::ca::now())
        .map(|s| s.sentence)
        .unwrap_or_default();
    println!("{sentence}");
    println!("  serial: {}", issued.serial);
    for (what, path) in paths {
        println!("  {what:<11}: {}", path.display());
    }
}
