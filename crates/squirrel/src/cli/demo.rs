//! `squirrel demo`: the story of the tutorial, played for real on this
//! machine. For now it plays the CA chapter (tutorial steps 9 to 12): a CA
//! key encrypted with a passphrase, the CA certificate, a server key, a CSR
//! for localhost and 127.0.0.1, the signature, the sentence, and the
//! verification a client does (and how it fails without the CA).

use anyhow::{ensure, Context, Result};
use clap::Args;
use squirrel_pki::ca::{init_ca, now, CaOptions};
use squirrel_pki::csr::{build_csr, parse_csr};
use squirrel_pki::verify::{Purpose, Verification};
use squirrel_pki::{
    AltName, CaFiles, CertificateAuthority, Kdf, KeyAlgorithm, KeyProtection, Passphrase,
    PrivateKey, SignOptions, Subject,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct DemoArgs {
    /// Keep every file the demo makes in DIR instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let temp;
    let dir = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    println!("Chapter 5: your own certificate authority (tutorial steps 9 to 12)");
    println!();
    let ca_dir = dir.join("ca");
    let files = CaFiles::in_dir(&ca_dir);
    let ca_pass = Passphrase::new("secret_password")?;
    let options = CaOptions {
        subject: Subject {
            common_name: Some("my-ca.com".into()),
            country: Some("US".into()),
            state: Some("Maryland".into()),
            locality: Some("Baltimore".into()),
            organization: Some("My CA Company".into()),
        },
        algorithm: KeyAlgorithm::Rsa2048,
        ..CaOptions::default()
    };
    init_ca(
        &files,
        &options,
        &KeyProtection::Encrypted {
            passphrase: ca_pass.clone(),
            kdf: Kdf::Scrypt,
        },
    )?;
    println!("  The leader becomes a CA: an RSA 2048 key encrypted with the passphrase");
    println!(
        "  \"secret_password\" ({}) and a self-signed CA certificate ({}).",
        files.key.display(),
        files.cert.display()
    );
    let ca = CertificateAuthority::open(&files, Some(&ca_pass))?;

    let server_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let names = [AltName::parse("localhost")?, AltName::parse("127.0.0.1")?];
    let subject = Subject {
        common_name: Some("my-site.com".into()),
        country: Some("US".into()),
        state: Some("Maryland".into()),
        locality: Some("Baltimore".into()),
        organization: Some("My Company".into()),
    };
    let csr_pem = build_csr(&server_key, &subject, &names)?;
    std::fs::write(dir.join("server-csr.pem"), &csr_pem)?;
    println!(
        "  The server makes a key and a signing request for my-site.com, localhost, 127.0.0.1."
    );
    let csr = parse_csr(pem::parse(&csr_pem)?.contents())?;
    let issued = ca.sign(&csr, SignOptions::default())?;
    std::fs::write(dir.join("server-cert.pem"), &issued.pem)?;
    let summary = squirrel_pki::describe::summarize(&issued.der, now())?;
    println!("  The CA checks the request's signature and signs it. The certificate says:");
    println!();
    println!("    \"{}\"", summary.sentence);
    println!();

    let check = |anchor: &[u8], host: &str| {
        squirrel_pki::verify::verify(&Verification {
            anchors: &[anchor.to_vec()],
            intermediates: &[],
            leaf: &issued.der,
            hostname: Some(host),
            at: now(),
            crls: &[],
            purpose: Purpose::Server,
        })
    };
    for host in ["localhost", "127.0.0.1"] {
        let report = check(&ca.cert_der, host)?;
        ensure!(
            report.failure.is_none(),
            "chapter 5 failed: the certificate does not verify for {host}: {:?}",
            report.failure
        );
        println!("  A client that trusts the CA accepts it for {host}.");
    }
    let stranger_files = CaFiles::in_dir(&dir.join("stranger-ca"));
    let stranger_pem = init_ca(
        &stranger_files,
        &CaOptions::default(),
        &KeyProtection::Unencrypted,
    )?;
    let stranger = squirrel_pki::pem_file::certificates(stranger_pem.as_bytes())?.remove(0);
    let report = check(&stranger, "localhost")?;
    let failure = report
        .failure
        .context("chapter 5 failed: a client trusting another CA accepted the certificate")?;
    ensure!(
        failure.openssl_phrase == "unable to get local issuer certificate",
        "chapter 5 failed: unexpected error {:?}",
        failure
    );
    println!(
        "  A client that trusts only other CAs refuses it: \"{}\".",
        failure.openssl_phrase
    );
    println!("    {}", failure.explanation);
    println!();
    println!("Chapter 5: OK");
    if let Some(dir) = &args.keep {
        println!("The files are kept in {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
