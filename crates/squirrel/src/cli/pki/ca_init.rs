//! `squirrel pki ca init`: become a certificate authority (tutorial step
//! 10): a key, a self-signed CA certificate that every common client
//! accepts, and an empty ledger. `--key FILE` makes the CA of a key made
//! before (`squirrel pki key --algo rsa2048 --out ca-private-key.pem`, the
//! tutorial's first step): the key is copied into the CA directory as
//! `ca-key.pem`, encrypted with the passphrase that unlocked it.

use super::{parse_algorithm, parse_network, SubjectArgs};
use crate::cli::passphrase::{KdfArgs, PassArgs};
use anyhow::Result;
use clap::Args;
use squirrel_pki::ca::{default_ca_dir, ensure_no_ca, init_ca, init_ca_with_key, CaOptions};
use squirrel_pki::names::IpNetwork;
use squirrel_pki::{CaFiles, KeyAlgorithm, KeyProtection, Subject};
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Make the CA of this existing private key instead of a new one (it is copied into the
    /// CA directory as ca-key.pem, under the same passphrase; FILE is left as it was).
    #[arg(long, value_name = "FILE", conflicts_with = "algo")]
    pub key: Option<PathBuf>,
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

pub fn run(args: CaInitArgs) -> Result<ExitCode> {
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
    let (pem, protection) = match &args.key {
        Some(path) => {
            // The same passphrase protects the copy; a plain key gets one
            // as `ca init` gives its own keys (or stays plain with --no-pass).
            let (key, passphrase) = args.pass.read_key_and_passphrase(path, "key")?;
            let protection = match passphrase {
                Some(passphrase) => KeyProtection::Encrypted {
                    passphrase,
                    kdf: args.kdf.kdf,
                },
                None => args.pass.protection_for_new_key(args.kdf.kdf, "CA key")?,
            };
            let pem = init_ca_with_key(&files, &options, &key, &protection)?;
            (pem, protection)
        }
        None => {
            let protection = args.pass.protection_for_new_key(args.kdf.kdf, "CA key")?;
            let _making = crate::cli::progress::MakingKey::start(options.algorithm);
            (init_ca(&files, &options, &protection)?, protection)
        }
    };
    let der = squirrel_pki::pem_file::certificates(pem.as_bytes())?.remove(0);
    let summary = squirrel_pki::describe::summarize(&der, squirrel_pki::ca::now())?;
    match &args.key {
        Some(key) => println!(
            "Created a new certificate authority in {} from the key {}",
            dir.display(),
            key.display()
        ),
        None => println!("Created a new certificate authority in {}", dir.display()),
    }
    println!("  {}", summary.sentence);
    println!(
        "  certificate: {}  (give it to members: squirrel get --ca ca.pem)",
        files.cert.display()
    );
    println!(
        "  key:         {}  ({}; keep it secret)",
        files.key.display(),
        if matches!(protection, KeyProtection::Unencrypted) {
            "unencrypted"
        } else {
            "encrypted"
        }
    );
    if let Some(key) = &args.key {
        println!(
            "  (a copy of {}, which is left as it was: keep it as secret, or delete it)",
            key.display()
        );
    }
    println!("  ledger:      {}", files.ledger.display());
    println!("  fingerprint: SHA-256 {}", summary.sha256_fingerprint);
    Ok(ExitCode::SUCCESS)
}
