//! `squirrel pki inspect FILE`: what a certificate, chain, CSR, key or CRL
//! says, the way a learner needs it: tutorial step 9's sentence first.
//! `https://` targets, and `HOST:PORT` when no such file exists, go to
//! [`super::inspect_url`]. DER files are read too: what they hold is
//! detected.

use crate::cli::passphrase::PassArgs;
use anyhow::Result;
use clap::Args;
use serde_json::json;
use squirrel_pki::describe::CertificateSummary;
use squirrel_pki::files;
use squirrel_pki::inspect::{blocks_of_file, describe_pem, CrlSummary, PemItem};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct InspectArgs {
    /// A file (certificates, chain, CSR, key, CRL; PEM or DER), or a server: https://HOST:PORT
    /// or HOST:PORT.
    pub target: String,
    /// For a URL: verify the chain against this CA instead of the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Passphrase options, to describe an encrypted key.
    #[command(flatten)]
    pub pass: PassArgs,
}

pub fn run(args: InspectArgs) -> Result<ExitCode> {
    if args.target.contains("://") {
        return super::inspect_url::run(&args, &args.target);
    }
    let path = PathBuf::from(&args.target);
    if is_host_port(&args.target) && !path.exists() {
        return super::inspect_url::run(&args, &format!("https://{}", args.target));
    }
    let text = files::read(&path)?;
    let (blocks, encoding) = blocks_of_file(&text).map_err(|e| e.in_file(&path))?;
    let now = squirrel_pki::ca::now();
    let has_key = blocks.iter().any(|b| b.tag().ends_with("PRIVATE KEY"));
    let passphrase = if has_key { args.pass.given()? } else { None };
    let mut items = Vec::new();
    for block in &blocks {
        items.push(describe_pem(block, now, passphrase.as_ref()).map_err(|e| e.in_file(&path))?);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "file": args.target, "encoding": encoding, "items": items })
            )?
        );
    } else {
        let many = items.len() > 1;
        for (i, item) in items.iter().enumerate() {
            if many {
                println!("[{} of {}]", i + 1, items.len());
            }
            print_item(item);
            if i + 1 < items.len() {
                println!();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `HOST:PORT` (or `[IPv6]:PORT`): a server to inspect, as openssl
/// s_client's `-connect` takes it.
fn is_host_port(target: &str) -> bool {
    match target.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && !target.contains('/') && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => false,
    }
}

fn print_item(item: &PemItem) {
    match item {
        PemItem::Certificate(summary) => print_certificate(summary),
        PemItem::CertificateRequest {
            subject,
            alt_names,
            key,
            signature_algorithm,
            asks_to_be_ca,
            other_extensions,
        } => {
            if subject.is_empty() {
                println!("Certificate signing request with an empty subject");
            } else {
                println!("Certificate signing request for {subject}");
            }
            let names = if alt_names.is_empty() {
                "(none)".to_string()
            } else {
                alt_names.join(", ")
            };
            println!("  Alternative names:   {names}");
            println!("  Key:                 {}", key.description);
            println!("  Key SHA-256:         {}", key.spki_sha256);
            println!("  Signature algorithm: {signature_algorithm} (signature valid)");
            if let Some(why) = asks_to_be_ca {
                println!("  Asks to be a CA:     yes, {why} (squirrel will refuse to sign it)");
            }
            for other in other_extensions {
                println!("  Also requests:       {other} (ignored when signing)");
            }
        }
        PemItem::PrivateKey {
            format,
            encrypted,
            key,
        } => {
            println!(
                "Private key, {format}, {}",
                if *encrypted {
                    "encrypted"
                } else {
                    "NOT encrypted"
                }
            );
            match key {
                Some(info) => {
                    println!("  Key:                 {}", info.description);
                    println!("  Public key SHA-256:  {}", info.spki_sha256);
                }
                None => {
                    println!("  (give --pass-file or --pass-env to see its type and fingerprint)")
                }
            }
        }
        PemItem::PublicKey { key } => {
            println!("Public key, {}", key.description);
            println!("  SHA-256:             {}", key.spki_sha256);
        }
        PemItem::RevocationList(crl) => print_crl(crl),
        PemItem::Unknown { pem_type } => println!("PEM block of type {pem_type} (not described)"),
    }
}

/// Prints a certificate: the sentence, then the details.
pub fn print_certificate(s: &CertificateSummary) {
    println!("{}", s.sentence);
    println!("  Subject:             {}", s.subject);
    println!(
        "  Issuer:              {}{}",
        s.issuer,
        if s.self_signed { " (self-signed)" } else { "" }
    );
    println!("  Serial:              {}", s.serial);
    let left = match s.status {
        squirrel_pki::describe::Validity::Valid => format!("{} days left", s.days_left),
        other => other.to_string(),
    };
    println!(
        "  Validity:            {} to {} ({left})",
        s.not_before, s.not_after
    );
    println!("  Key:                 {}", s.key.description);
    println!("  Signature algorithm: {}", s.signature_algorithm);
    println!("  SHA-256 fingerprint: {}", s.sha256_fingerprint);
    let ca = match (&s.basic_constraints, s.is_ca) {
        (Some(bc), true) => format!("yes ({bc})"),
        (Some(_), false) => "no".to_string(),
        (None, _) => {
            "no basicConstraints (OpenSSL 3, curl and Python refuse such a certificate as a CA)"
                .to_string()
        }
    };
    println!("  CA:                  {ca}");
    if s.extensions.is_empty() {
        println!("  Extensions:          none (X.509 v{})", s.version);
    } else {
        println!("  Extensions:");
        for ext in &s.extensions {
            println!(
                "    {}{}: {}",
                ext.name,
                if ext.critical { " (critical)" } else { "" },
                ext.value
            );
        }
    }
}

/// Prints a CRL as `openssl crl -text` would, in squirrel's layout.
fn print_crl(crl: &CrlSummary) {
    println!("Certificate revocation list of {}", crl.issuer);
    println!("  This update:         {}", crl.this_update);
    println!(
        "  Next update:         {}",
        crl.next_update.as_deref().unwrap_or("none given")
    );
    println!(
        "  CRL number:          {}",
        crl.number
            .as_deref()
            .unwrap_or("none (RFC 5280 requires one)")
    );
    println!("  Signature algorithm: {}", crl.signature_algorithm);
    if crl.revoked.is_empty() {
        println!("  Revoked:             none");
        return;
    }
    println!(
        "  Revoked:             {} certificate(s)",
        crl.revoked.len()
    );
    for entry in &crl.revoked {
        println!(
            "    {}  since {}{}",
            entry.serial,
            entry.revoked_at,
            entry
                .reason
                .as_deref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default()
        );
    }
}
