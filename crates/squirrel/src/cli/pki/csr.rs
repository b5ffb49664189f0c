//! `squirrel pki csr`: a certificate signing request with subject fields
//! and alternative names (tutorial step 11).

use super::{parse_alt_name, SubjectArgs};
use crate::cli::passphrase::PassArgs;
use anyhow::Result;
use clap::Args;
use squirrel_pki::files::{self, PUBLIC_MODE};
use squirrel_pki::AltName;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct CsrArgs {
    /// The private key the request is for (and signed with).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// Alternative name: DNS name, IP address or email (repeatable).
    #[arg(long, value_name = "NAME", value_parser = parse_alt_name)]
    pub san: Vec<AltName>,
    /// Where to write the CSR (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

pub fn run(args: CsrArgs) -> Result<ExitCode> {
    if let Some(out) = &args.out {
        files::ensure_absent(out, args.force)?;
    }
    let key = args.pass.read_key(&args.key, "key")?;
    let pem = squirrel_pki::csr::build_csr(&key, &args.subject.subject(), &args.san)?;
    match &args.out {
        Some(out) => {
            files::write_atomic(out, pem.as_bytes(), PUBLIC_MODE, args.force)?;
            eprintln!("Wrote a certificate signing request to {}", out.display());
        }
        None => print!("{pem}"),
    }
    Ok(ExitCode::SUCCESS)
}
