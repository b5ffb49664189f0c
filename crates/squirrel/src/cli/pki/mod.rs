//! `squirrel pki`: the private certificate authority of tutorial steps 9-12.
//! Arguments here, logic in `squirrel-pki`.

mod inspect;
mod issue;
mod trust;

use super::passphrase::{KdfArgs, PassArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use squirrel_pki::ca::{default_ca_dir, ensure_no_ca, init_ca, CaOptions};
use squirrel_pki::files::{self, PRIVATE_MODE, PUBLIC_MODE};
use squirrel_pki::names::IpNetwork;
use squirrel_pki::{AltName, CaFiles, CertificateAuthority, KeyAlgorithm, PrivateKey, Subject};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use inspect::{InspectArgs, VerifyArgs};
pub use issue::{IssueArgs, SignArgs};

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Generate a private key (PKCS#8 PEM, encrypted with a passphrase).
    Key(KeyArgs),
    /// Manage the certificate authority itself.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Create a certificate signing request (CSR) for a key.
    Csr(CsrArgs),
    /// Sign a CSR with the CA: the request becomes a certificate.
    Sign(SignArgs),
    /// Key, CSR and signature in one step, mkcert style: `squirrel pki issue localhost 127.0.0.1`.
    Issue(IssueArgs),
    /// Show what a certificate, chain, CSR or key says, or what a server presents.
    Inspect(InspectArgs),
    /// Verify a certificate chain, as squirrel's TLS client would.
    Verify(VerifyArgs),
    /// List the certificates the CA issued (from its ledger).
    List(ListArgs),
    /// Revoke a certificate by serial number.
    Revoke(RevokeArgs),
    /// Write a certificate revocation list (CRL) signed by the CA.
    Crl(CrlArgs),
    /// Trust the CA on this machine: the system store and Chromium/Firefox (NSS), as mkcert does.
    Install(trust::TrustArgs),
    /// Remove exactly what `install` added.
    Uninstall(trust::TrustArgs),
}

#[derive(Subcommand)]
pub enum CaCommand {
    /// Create a new CA: key, self-signed certificate and ledger.
    Init(CaInitArgs),
}

pub fn run(command: PkiCommand) -> Result<ExitCode> {
    match command {
        PkiCommand::Key(args) => key(args),
        PkiCommand::Ca(CaCommand::Init(args)) => ca_init(args),
        PkiCommand::Csr(args) => csr(args),
        PkiCommand::Sign(args) => issue::sign(args),
        PkiCommand::Issue(args) => issue::issue(args),
        PkiCommand::Inspect(args) => inspect::inspect(args),
        PkiCommand::Verify(args) => inspect::verify(args),
        PkiCommand::List(args) => list(args),
        PkiCommand::Revoke(args) => revoke(args),
        PkiCommand::Crl(args) => crl(args),
        PkiCommand::Install(args) => trust::run(args, false),
        PkiCommand::Uninstall(args) => trust::run(args, true),
    }
}

pub(crate) fn parse_algorithm(s: &str) -> Result<KeyAlgorithm, String> {
    s.parse().map_err(|e: squirrel_pki::PkiError| e.to_string())
}

fn parse_alt_name(s: &str) -> Result<AltName, String> {
    AltName::parse(s).map_err(|e| e.to_string())
}

fn parse_network(s: &str) -> Result<IpNetwork, String> {
    s.parse().map_err(|e: squirrel_pki::PkiError| e.to_string())
}

/// Subject fields, as the tutorial's keyword arguments.
#[derive(Args, Debug, Clone, Default)]
pub struct SubjectArgs {
    /// Common name (CN), e.g. my-site.com.
    #[arg(long, value_name = "NAME")]
    pub cn: Option<String>,
    /// Country (C), two letters, e.g. US.
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// State or province (ST).
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// Locality (L), e.g. a city.
    #[arg(long, value_name = "CITY")]
    pub locality: Option<String>,
    /// Organization (O).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
}

impl SubjectArgs {
    fn subject(&self) -> Subject {
        Subject {
            common_name: self.cn.clone(),
            country: self.country.clone(),
            state: self.state.clone(),
            locality: self.locality.clone(),
            organization: self.org.clone(),
        }
    }
}

/// Which CA to use: a squirrel CA directory, or any CA's two files.
#[derive(Args, Debug, Clone, Default)]
pub struct CaArgs {
    /// The CA directory (default: $SQUIRREL_HOME, else the XDG data dir).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["ca_cert", "ca_key"])]
    pub ca_dir: Option<PathBuf>,
    /// Any CA's certificate (e.g. the tutorial's ca-public-key.pem); needs --ca-key.
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// That CA's private key (e.g. ca-private-key.pem); needs --ca-cert.
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
}

impl CaArgs {
    pub fn files(&self) -> Result<CaFiles> {
        let files = match (&self.ca_cert, &self.ca_key, &self.ca_dir) {
            (Some(cert), Some(key), _) => CaFiles::explicit(cert, key),
            (_, _, Some(dir)) => CaFiles::in_dir(dir),
            _ => CaFiles::in_dir(&default_ca_dir()?),
        };
        let missing = matches!(std::fs::metadata(&files.cert), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        if missing {
            let dir = files.cert.parent().unwrap_or(Path::new("."));
            bail!(
                "no CA certificate at {}: create a CA first with `squirrel pki ca init --dir {}`, \
                 or point to one with --ca-dir DIR or --ca-cert FILE --ca-key FILE",
                files.cert.display(),
                dir.display()
            );
        }
        Ok(files)
    }

    /// Opens the CA, unlocking its key with `pass`.
    pub fn open(&self, pass: &PassArgs) -> Result<CertificateAuthority> {
        let files = self.files()?;
        let key = pass.read_key(&files.key, "CA key")?;
        let ca = CertificateAuthority::open_with_key(&files, key)?;
        for warning in &ca.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(ca)
    }
}

#[derive(Args)]
pub struct KeyArgs {
    /// Key algorithm: rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384, ed25519.
    #[arg(long, value_name = "ALGO", default_value = "ecdsa-p256", value_parser = parse_algorithm)]
    pub algo: KeyAlgorithm,
    /// Where to write the key.
    #[arg(long, short, value_name = "FILE", default_value = "key.pem")]
    pub out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub pass: PassArgs,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

fn key(args: KeyArgs) -> Result<ExitCode> {
    files::ensure_absent(&args.out, args.force)?;
    let protection = args.pass.protection_for_new_key(args.kdf.kdf, "key")?;
    let key = PrivateKey::generate(args.algo)?;
    let pem = key.to_pem(&protection)?;
    files::write_atomic(&args.out, pem.as_bytes(), PRIVATE_MODE, args.force)?;
    let info = key.info();
    let how = match protection {
        squirrel_pki::KeyProtection::Unencrypted => "unencrypted (--no-pass)".to_string(),
        squirrel_pki::KeyProtection::Encrypted { kdf, .. } => {
            format!("encrypted (PKCS#8, {kdf:?}, AES-256-CBC)")
                .replace("Scrypt", "scrypt")
                .replace("Pbkdf2", "PBKDF2-SHA256")
        }
    };
    println!(
        "Wrote a new {} key to {}, {how}, mode 0600.",
        info.description,
        args.out.display()
    );
    println!("Public key SHA-256: {}", info.spki_sha256);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CaInitArgs {
    /// Directory of the new CA (default: $SQUIRREL_HOME, else $XDG_DATA_HOME/squirrel).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// Lifetime of the CA certificate in days.
    #[arg(long, default_value_t = 3650)]
    pub days: u32,
    /// Key algorithm of the CA.
    #[arg(long, value_name = "ALGO", default_value = "ecdsa-p256", value_parser = parse_algorithm)]
    pub algo: KeyAlgorithm,
    /// basicConstraints pathLenConstraint (0: the CA signs leaf certificates only).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub path_len: u8,
    /// Name constraint: the CA may only certify names under SUFFIX (repeatable).
    #[arg(long, value_name = "SUFFIX")]
    pub permit_dns: Vec<String>,
    /// Name constraint: the CA may only certify addresses in CIDR (repeatable).
    #[arg(long, value_name = "CIDR", value_parser = parse_network)]
    pub permit_ip: Vec<IpNetwork>,
    #[command(flatten)]
    pub pass: PassArgs,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

fn ca_init(args: CaInitArgs) -> Result<ExitCode> {
    let dir = match args.dir {
        Some(d) => d,
        None => default_ca_dir()?,
    };
    let files = CaFiles::in_dir(&dir);
    let mut options = CaOptions {
        days: args.days,
        algorithm: args.algo,
        path_len: args.path_len,
        permit_dns: args.permit_dns,
        permit_ip: args.permit_ip,
        ..CaOptions::default()
    };
    let subject = args.subject.subject();
    if !subject.is_empty() {
        options.subject = Subject {
            common_name: subject.common_name.or(options.subject.common_name),
            ..subject
        };
    }
    // Refuse before asking for a passphrase.
    ensure_no_ca(&files)?;
    let protection = args.pass.protection_for_new_key(args.kdf.kdf, "CA key")?;
    let pem = init_ca(&files, &options, &protection)?;
    let der = squirrel_pki::pem_file::certificates(pem.as_bytes())?.remove(0);
    let summary = squirrel_pki::describe::summarize(&der, squirrel_pki::ca::now())?;
    println!("Created a new certificate authority in {}", dir.display());
    println!("  {}", summary.sentence);
    println!(
        "  certificate: {}  (give it to members: squirrel get --ca ca.pem)",
        files.cert.display()
    );
    println!(
        "  key:         {}  ({}; keep it secret)",
        files.key.display(),
        if matches!(protection, squirrel_pki::KeyProtection::Unencrypted) {
            "unencrypted"
        } else {
            "encrypted"
        }
    );
    println!("  ledger:      {}", files.ledger.display());
    println!("  fingerprint: SHA-256 {}", summary.sha256_fingerprint);
    Ok(ExitCode::SUCCESS)
}

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

fn csr(args: CsrArgs) -> Result<ExitCode> {
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

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub ca: CaArgs,
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn list(args: ListArgs) -> Result<ExitCode> {
    let files = args.ca.files()?;
    if !files.ledger.exists() {
        bail!(
            "no ledger at {}: this CA has not issued anything with squirrel yet",
            files.ledger.display()
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

#[derive(Args)]
pub struct RevokeArgs {
    /// Serial number, as `squirrel pki list` shows it (colons and case do not matter).
    pub serial: String,
    /// Reason: unspecified, keyCompromise, CACompromise, affiliationChanged, superseded,
    /// cessationOfOperation, certificateHold, privilegeWithdrawn.
    #[arg(long, default_value = "unspecified")]
    pub reason: String,
    #[command(flatten)]
    pub ca: CaArgs,
    #[command(flatten)]
    pub pass: PassArgs,
}

fn revoke(args: RevokeArgs) -> Result<ExitCode> {
    let reason: squirrel_pki::revoke::Reason = args.reason.parse().context("--reason")?;
    let ca = args.ca.open(&args.pass)?;
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

#[derive(Args)]
pub struct CrlArgs {
    /// Days until the CRL's nextUpdate.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Where to write the CRL (PEM).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing file (the usual way to publish a new CRL).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub ca: CaArgs,
    #[command(flatten)]
    pub pass: PassArgs,
}

fn crl(args: CrlArgs) -> Result<ExitCode> {
    files::ensure_absent(&args.out, args.force)?;
    let ca = args.ca.open(&args.pass)?;
    let pem = ca.crl(args.days)?;
    files::write_atomic(&args.out, pem.as_bytes(), PUBLIC_MODE, args.force)?;
    let revoked = ca.ledger()?.revoked()?.len();
    println!(
        "Wrote a CRL of {} revoked certificate(s), signed by {}, valid {} days, to {}",
        revoked,
        ca.name(),
        args.days,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
