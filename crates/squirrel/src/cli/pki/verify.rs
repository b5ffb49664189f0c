//! `squirrel pki verify`: a chain judged as squirrel's TLS client judges it
//! (tutorial step 14), with OpenSSL's words for every failure.

use super::read_certificates;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use squirrel_pki::describe;
use squirrel_pki::files;
use squirrel_pki::verify::{Purpose, Verification};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
pub enum PurposeArg {
    Server,
    Client,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The trusted CA certificate(s), PEM.
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,
    /// Intermediate certificates that may complete the chain (not trusted themselves).
    #[arg(long, value_name = "FILE")]
    pub untrusted: Vec<PathBuf>,
    /// The host name or IP address the certificate must be valid for.
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Verify as of this time (RFC 3339, e.g. 2027-01-01T00:00:00Z) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// A CRL (PEM or DER) to check revocation against (repeatable).
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// What the certificate must be good for.
    #[arg(long, value_enum, default_value = "server")]
    pub purpose: PurposeArg,
    /// The most intermediate CAs allowed between the certificate and a trusted CA.
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,
    /// Accept a CA certificate without extensions, like the tutorial's (with a warning).
    #[arg(long)]
    pub legacy_ca: bool,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The certificate to verify; more certificates in the same file are used as intermediates.
    pub leaf: PathBuf,
}

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let anchors = read_certificates(&args.ca)?;
    let mut chain = read_certificates(&args.leaf)?;
    let leaf = chain.remove(0);
    for path in &args.untrusted {
        chain.extend(read_certificates(path)?);
    }
    let mut crls = Vec::new();
    for path in &args.crl {
        let bytes = files::read(path)?;
        crls.extend(squirrel_pki::pem_file::crls(&bytes).map_err(|e| e.in_file(path))?);
    }
    let at = match &args.at {
        Some(text) => {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .with_context(|| {
                    format!(
                        "--at {text:?} is not an RFC 3339 time; write it like 2027-01-01T00:00:00Z"
                    )
                })?
        }
        None => squirrel_pki::ca::now(),
    };
    let report = squirrel_pki::verify::verify(&Verification {
        hostname: args.hostname.as_deref(),
        at,
        crls: &crls,
        purpose: match args.purpose {
            PurposeArg::Server => Purpose::Server,
            PurposeArg::Client => Purpose::Client,
        },
        max_depth: args.max_depth,
        anchor_policy: super::anchor_policy(args.legacy_ca),
        ..Verification::new(&anchors, &chain, &leaf)
    })?;
    let sentence = describe::summarize(&leaf, at)?.sentence;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "file": args.leaf,
                "sentence": sentence,
                "valid": report.failure.is_none(),
                "warnings": report.warnings,
                "failure": report.failure.as_ref().map(|f| json!({
                    "explanation": f.explanation, "openssl": f.openssl_phrase, "webpki": f.webpki_error })),
            }))?
        );
    } else {
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        match &report.failure {
            None => {
                println!("{}: OK", args.leaf.display());
                println!("  {sentence}");
            }
            Some(f) => {
                println!("{}: FAILED", args.leaf.display());
                println!("  {}", f.explanation);
                println!("  OpenSSL, curl and Python say: \"{}\"", f.openssl_phrase);
            }
        }
    }
    Ok(if report.failure.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
