//! `squirrel pki key`: a new private key (tutorial step 10), written as
//! PKCS#8 PEM and encrypted with a passphrase unless `--no-pass`.

use super::parse_algorithm;
use crate::cli::passphrase::{KdfArgs, PassArgs};
use anyhow::Result;
use clap::Args;
use squirrel_pki::files::{self, PRIVATE_MODE};
use squirrel_pki::{KeyAlgorithm, PrivateKey};
use std::path::PathBuf;
use std::process::ExitCode;

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

pub fn run(args: KeyArgs) -> Result<ExitCode> {
    files::ensure_absent(&args.out, args.force)?;
    let protection = args.pass.protection_for_new_key(args.kdf.kdf, "key")?;
    let making = crate::cli::progress::MakingKey::start(args.algo);
    let key = PrivateKey::generate(args.algo)?;
    drop(making);
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
