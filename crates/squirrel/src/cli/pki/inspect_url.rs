//! `squirrel pki inspect https://HOST:PORT` (or `HOST:PORT`): the chain a server presents,
//! as `openssl s_client -showcerts` shows it, judged by the engine of
//! `squirrel pki verify`. The handshake is squirrel's client's own
//! (`squirrel_http::client`).

use super::inspect::{print_certificate, InspectArgs};
use super::read_certificates;
use anyhow::Result;
use serde_json::json;
use squirrel_http::client;
use squirrel_http::target::Target;
use squirrel_http::verifiers::system_roots;
use squirrel_pki::describe;
use squirrel_pki::verify::{AnchorPolicy, Verification, VerifyReport};
use std::process::ExitCode;
use std::time::Duration;

/// Inspects the server at `url` (`https://HOST:PORT`).
pub fn run(args: &InspectArgs, url: &str) -> Result<ExitCode> {
    let target = Target::parse(url)?;
    let presented = client::presented_chain(&target, Duration::from_secs(10))?;
    let (anchors, source, anchor_policy) = match &args.ca {
        Some(ca) => (
            read_certificates(ca)?,
            format!("--ca {}", ca.display()),
            AnchorPolicy::Strict,
        ),
        None => (
            system_roots(),
            "the system's trusted CAs".to_string(),
            AnchorPolicy::System,
        ),
    };
    let now = squirrel_pki::ca::now();
    let report = if presented.chain.is_empty() {
        None
    } else {
        Some(squirrel_pki::verify::verify(&Verification {
            hostname: Some(&target.host),
            at: now,
            anchor_policy,
            ..Verification::new(&anchors, &presented.chain[1..], &presented.chain[0])
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
                "url": url,
                "tls_version": presented.version.to_string(),
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
            "{} speaks {} ({}), ALPN {}, and presents {} certificate(s):",
            target.authority(),
            presented.version,
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
