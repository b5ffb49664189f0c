//! `squirrel pki inspect` and `squirrel pki verify`: reading certificates
//! the way a learner needs, tutorial step 9's sentence first.

use crate::cli::passphrase::PassArgs;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::json;
use squirrel_pki::describe::{self, CertificateSummary};
use squirrel_pki::files;
use squirrel_pki::key::KeyInfo;
use squirrel_pki::verify::{Purpose, Verification, VerifyReport};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct InspectArgs {
    /// A PEM file (certificates, chain, CSR, key, CRL) or https://HOST:PORT.
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

pub fn inspect(args: InspectArgs) -> Result<ExitCode> {
    if args.target.contains("://") {
        return inspect_url(&args);
    }
    let path = PathBuf::from(&args.target);
    let text = files::read(&path)?;
    let blocks = squirrel_pki::pem_file::blocks(&text).map_err(|e| e.in_file(&path))?;
    let now = squirrel_pki::ca::now();
    let mut items = Vec::new();
    for block in &blocks {
        items.push(describe_block(block, &path, &args.pass, now)?);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "file": args.target, "items": items }))?
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

/// One PEM block, described.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Item {
    Certificate(Box<CertificateSummary>),
    CertificateRequest {
        subject: String,
        alt_names: Vec<String>,
        key: KeyInfo,
        signature_algorithm: String,
        asks_to_be_ca: Option<String>,
        other_extensions: Vec<String>,
    },
    PublicKey {
        key: KeyInfo,
    },
    PrivateKey {
        format: &'static str,
        encrypted: bool,
        key: Option<KeyInfo>,
    },
    RevocationList {
        der_bytes: usize,
    },
    Unknown {
        pem_type: String,
    },
}

fn describe_block(
    block: &pem::Pem,
    path: &Path,
    pass: &PassArgs,
    now: time::OffsetDateTime,
) -> Result<Item> {
    Ok(match block.tag() {
        "CERTIFICATE" => Item::Certificate(Box::new(
            describe::summarize(block.contents(), now).map_err(|e| e.in_file(path))?,
        )),
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
            let csr =
                squirrel_pki::csr::parse_csr(block.contents()).map_err(|e| e.in_file(path))?;
            Item::CertificateRequest {
                subject: csr.subject_text,
                alt_names: csr.alt_names.iter().map(ToString::to_string).collect(),
                key: csr.key,
                signature_algorithm: csr.signature_algorithm,
                asks_to_be_ca: csr.asks_to_be_ca,
                other_extensions: csr.ignored_extensions,
            }
        }
        "PUBLIC KEY" => Item::PublicKey {
            key: describe::public_key_info(block.contents()).map_err(|e| e.in_file(path))?,
        },
        "X509 CRL" => Item::RevocationList {
            der_bytes: block.contents().len(),
        },
        tag if tag.ends_with("PRIVATE KEY") => {
            let encrypted = tag == "ENCRYPTED PRIVATE KEY"
                || block
                    .headers()
                    .get("Proc-Type")
                    .is_some_and(|v| v.contains("ENCRYPTED"));
            let format = match tag {
                "RSA PRIVATE KEY" => "PKCS#1 (traditional OpenSSL)",
                "EC PRIVATE KEY" => "SEC1 (traditional OpenSSL)",
                _ => "PKCS#8",
            };
            let unlockable = !encrypted || pass.pass_file.is_some() || pass.pass_env.is_some();
            let key = if unlockable {
                Some(pass.read_key(path, "key")?.info())
            } else {
                None
            };
            Item::PrivateKey {
                format,
                encrypted,
                key,
            }
        }
        other => Item::Unknown {
            pem_type: other.to_string(),
        },
    })
}

fn print_item(item: &Item) {
    match item {
        Item::Certificate(summary) => print_certificate(summary),
        Item::CertificateRequest {
            subject,
            alt_names,
            key,
            signature_algorithm,
            asks_to_be_ca,
            other_extensions,
        } => {
            println!("Certificate signing request for {subject}");
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
        Item::PrivateKey {
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
        Item::PublicKey { key } => {
            println!("Public key, {}", key.description);
            println!("  SHA-256:             {}", key.spki_sha256);
        }
        Item::RevocationList { der_bytes } => {
            println!("Certificate revocation list ({der_bytes} bytes DER)")
        }
        Item::Unknown { pem_type } => println!("PEM block of type {pem_type} (not described)"),
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

fn inspect_url(args: &InspectArgs) -> Result<ExitCode> {
    let (host, port) = squirrel_pki::remote::parse_https_url(&args.target)?;
    let presented = squirrel_pki::remote::fetch_chain(&host, port, Duration::from_secs(10))?;
    let (anchors, source) = match &args.ca {
        Some(ca) => (read_certificates(ca)?, format!("--ca {}", ca.display())),
        None => (
            squirrel_pki::remote::system_roots(),
            "the system's trusted CAs".to_string(),
        ),
    };
    let now = squirrel_pki::ca::now();
    let report = if presented.chain.is_empty() {
        None
    } else {
        Some(squirrel_pki::verify::verify(&Verification {
            anchors: &anchors,
            intermediates: &presented.chain[1..],
            leaf: &presented.chain[0],
            hostname: Some(&host),
            at: now,
            crls: &[],
            purpose: Purpose::Server,
        })?)
    };
    let summaries = presented
        .chain
        .iter()
        .map(|der| describe::summarize(der, now))
        .collect::<Result<Vec<_>, _>>()?;
    let verified = report.as_ref().is_some_and(|r| r.failure.is_none());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "url": args.target,
                "tls_version": presented.tls_version,
                "cipher_suite": presented.cipher_suite,
                "alpn": presented.alpn,
                "chain": summaries,
                "verified": verified,
                "verified_against": source,
                "failure": report.as_ref().and_then(|r| r.failure.as_ref()).map(|f| json!({
                    "explanation": f.explanation, "openssl": f.openssl_phrase })),
            }))?
        );
    } else {
        println!(
            "{host}:{port} speaks {} ({}), ALPN {}, and presents {} certificate(s):",
            presented.tls_version,
            presented.cipher_suite,
            presented.alpn.as_deref().unwrap_or("none"),
            summaries.len()
        );
        for (i, s) in summaries.iter().enumerate() {
            println!();
            println!("[{} of {}]", i + 1, summaries.len());
            print_certificate(s);
        }
        println!();
        if let Some(report) = &report {
            print_report(report, &source);
        }
    }
    Ok(if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>> {
    let text = files::read(path)?;
    Ok(squirrel_pki::pem_file::certificates(&text).map_err(|e| e.in_file(path))?)
}

fn print_report(report: &VerifyReport, source: &str) {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match &report.failure {
        None => println!("Verified: the chain is trusted by {source}."),
        Some(f) => {
            println!("NOT verified against {source}: {}", f.explanation);
            println!("  OpenSSL, curl and Python say: \"{}\"", f.openssl_phrase);
        }
    }
}

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
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The certificate to verify; more certificates in the same file are used as intermediates.
    pub leaf: PathBuf,
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let anchors = read_certificates(&args.ca)?;
    let mut chain = read_certificates(&args.leaf)?;
    let leaf = chain.remove(0);
    for path in &args.untrusted {
        chain.extend(read_certificates(path)?);
    }
    let mut crls = Vec::new();
    for path in &args.crl {
        let bytes = files::read(path)?;
        if bytes.starts_with(b"-----") || bytes.windows(5).any(|w| w == b"BEGIN") {
            crls.extend(
                squirrel_pki::pem_file::ders_of(&bytes, &["X509 CRL"], "a CRL")
                    .map_err(|e| e.in_file(path))?,
            );
        } else {
            crls.push(bytes);
        }
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
        anchors: &anchors,
        intermediates: &chain,
        leaf: &leaf,
        hostname: args.hostname.as_deref(),
        at,
        crls: &crls,
        purpose: match args.purpose {
            PurposeArg::Server => Purpose::Server,
            PurposeArg::Client => Purpose::Client,
        },
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
