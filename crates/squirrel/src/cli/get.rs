//! `squirrel get`: the members' client (tutorial steps 2 and 14).

use super::passphrase::PassArgs;
use anyhow::Result;
use clap::Args;
use squirrel_http::client::{self, GetOptions};
use squirrel_http::diagnose::{Failure, FailureKind};
use squirrel_http::target::Target;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct GetArgs {
    /// The secret's URL, e.g. https://localhost:5683 (default: $SECRET_URL).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// Print the body alone.
    #[arg(long)]
    pub raw: bool,
    /// Trust exactly the CA(s) in FILE (the tutorial's verify="ca-public-key.pem"; curl's --cacert).
    #[arg(long, value_name = "FILE", visible_alias = "cacert")]
    pub ca: Option<PathBuf>,
    /// Write the body to FILE (mode 0600, replaced if it exists), as curl -o does.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Accept a --ca without CA extensions, like the tutorial's ca-public-key.pem (with a warning).
    #[arg(long, requires = "ca")]
    pub legacy_ca: bool,
    /// Client certificate, for servers that admit members only.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's key.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub pass: PassArgs,
    /// Do not verify the server's certificate (dangerous: anyone could pretend to be it).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Decrypt a Fernet body, key from env VAR: --fernet-key-env [VAR] (default SECRET_KEY).
    #[arg(long, value_name = "VAR", num_args = 0..=1, default_missing_value = "SECRET_KEY")]
    pub fernet_key_env: Option<String>,
    /// Seconds to wait for the connection and each read.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// Largest body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body: usize,
    /// Show the TLS version, cipher suite, ALPN and the server certificate's sentence.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print one JSON object: status, headers, TLS, member and body (errors too are JSON).
    #[arg(long, conflicts_with_all = ["raw", "output"])]
    pub json: bool,
}

pub fn run(mut args: GetArgs) -> Result<ExitCode> {
    if let Err(usage) = settle_url(&mut args) {
        eprintln!("error: {usage}\n\nUsage: squirrel get [OPTIONS] <URL>\n\nFor more information, try '--help'.");
        return Ok(ExitCode::from(2));
    }
    match fetch(&args) {
        Ok(code) => Ok(code),
        Err(failure) if args.json => {
            let code = failure.kind.exit_code();
            let error = serde_json::json!({ "error": {
                "kind": format!("{:?}", failure.kind).to_lowercase(),
                "message": failure.message,
                "openssl": failure.phrase,
                "exit_code": code,
            }});
            println!("{error:#}");
            Ok(ExitCode::from(code))
        }
        Err(failure) => {
            let prefix = super::style::bad(super::style::Stream::Stderr, "squirrel: error:");
            eprintln!("{prefix} {failure}");
            Ok(ExitCode::from(failure.kind.exit_code()))
        }
    }
}

/// `get --json`: what the fetch learnt, in one object.
fn json_report(target: &Target, fetched: &client::Fetched, body: &[u8], decrypted: bool) -> String {
    let tls = fetched.tls.as_ref().map(|tls| {
        let summary = tls
            .chain
            .first()
            .and_then(|leaf| squirrel_pki::describe::summarize(leaf, squirrel_pki::ca::now()).ok());
        serde_json::json!({
            "version": tls.version.to_string(),
            "cipher_suite": tls.cipher_suite,
            "alpn": tls.alpn,
            "certificate": summary.as_ref().map(|s| s.sentence.clone()),
            "serial": summary.map(|s| s.serial.replace(':', "")),
        })
    });
    let headers: Vec<_> = fetched
        .headers
        .iter()
        .map(|(name, value)| serde_json::json!([name, value]))
        .collect();
    let report = serde_json::json!({
        "url": format!("{}://{}:{}{}", if target.https { "https" } else { "http" }, target.host, target.port, target.path),
        "status": fetched.status,
        "reason": fetched.reason,
        "headers": headers,
        "tls": tls,
        "member": fetched.header(squirrel_http::routes::MEMBER_HEADER),
        "decrypted": decrypted,
        "body": String::from_utf8_lossy(body),
    });
    format!("{report:#}")
}

/// `--fernet-key-env` takes an optional VAR: in `--fernet-key-env https://...`
/// the flag stands alone (SECRET_KEY) and the URL follows. The URL comes
/// from the command line, else from $SECRET_URL.
fn settle_url(args: &mut GetArgs) -> Result<(), String> {
    if let Some(var) = args.fernet_key_env.clone() {
        if !super::fernet::is_env_var_name(&var) {
            if args.url.is_some() {
                return Err(format!(
                    "--fernet-key-env {var:?} is not the name of an environment variable; give \
                     a name such as SECRET_KEY, or --fernet-key-env alone for SECRET_KEY"
                ));
            }
            args.url = Some(var);
            args.fernet_key_env = Some("SECRET_KEY".to_string());
        }
    }
    if args.url.is_none() {
        args.url = std::env::var("SECRET_URL")
            .ok()
            .filter(|url| !url.is_empty());
    }
    match args.url {
        Some(_) => Ok(()),
        None => Err(
            "the following required arguments were not provided:\n  <URL> (or set SECRET_URL)"
                .to_string(),
        ),
    }
}

fn input(err: impl std::fmt::Display) -> Failure {
    Failure::new(FailureKind::Input, err.to_string())
}

fn fetch(args: &GetArgs) -> Result<ExitCode, Failure> {
    let target = Target::parse(args.url.as_deref().unwrap_or_default())?;
    let fernet = match &args.fernet_key_env {
        Some(var) => Some(
            super::fernet::keys_from_env_flag(var, "--fernet-key-env")
                .map_err(|e| input(format!("{e:#}")))?,
        ),
        None => None,
    };
    let anchors = match &args.ca {
        Some(path) => {
            let text = squirrel_pki::files::read(path).map_err(input)?;
            Some(squirrel_pki::pem_file::certificates(&text).map_err(|e| input(e.in_file(path)))?)
        }
        None => None,
    };
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let text = squirrel_pki::files::read(cert).map_err(input)?;
            let chain =
                squirrel_pki::pem_file::certificates(&text).map_err(|e| input(e.in_file(cert)))?;
            let key = args
                .pass
                .read_key(key, "client key")
                .map_err(|e| input(format!("{e:#}")))?;
            Some((chain, key.to_rustls()))
        }
        _ => None,
    };
    if args.legacy_ca {
        for der in anchors.iter().flatten() {
            if let Some(warning) = squirrel_pki::strict::anchor::legacy_warning(der) {
                let prefix = super::style::warning(super::style::Stream::Stderr, "warning:");
                eprintln!("{prefix} {warning}");
            }
        }
    }
    if args.insecure {
        eprintln!(
            "warning: --insecure: the server's certificate is NOT verified; anyone on the path could pretend to be it and read the secret"
        );
    }
    if !target.https && identity.is_some() {
        eprintln!("warning: --cert is ignored over plain http://");
    }
    let fetched = client::get(&GetOptions {
        target: target.clone(),
        anchors,
        anchor_policy: super::pki::anchor_policy(args.legacy_ca),
        identity,
        insecure: args.insecure,
        timeout: Duration::from_secs(args.timeout.max(1)),
        max_body: args.max_body,
    })?;
    if args.verbose {
        match &fetched.tls {
            Some(tls) => {
                eprintln!(
                    "* {}:{} over {} ({}), ALPN {}",
                    target.host,
                    target.port,
                    tls.version,
                    tls.cipher_suite,
                    tls.alpn.as_deref().unwrap_or("none")
                );
                if let Some(leaf) = tls.chain.first() {
                    if let Ok(summary) =
                        squirrel_pki::describe::summarize(leaf, squirrel_pki::ca::now())
                    {
                        eprintln!("* Server certificate: {}", summary.sentence);
                    }
                }
            }
            None => eprintln!(
                "* {}:{} over plain HTTP: anyone on the path can read this",
                target.host, target.port
            ),
        }
        eprintln!("* HTTP/1.1 {} {}", fetched.status, fetched.reason);
    }
    if fetched.status >= 400 {
        let body = String::from_utf8_lossy(&fetched.body);
        return Err(Failure::new(
            FailureKind::Http,
            format!(
                "the server answered {} {}: {}",
                fetched.status,
                fetched.reason,
                body.lines().next().unwrap_or("").trim()
            ),
        ));
    }
    let mut body = fetched.body.clone();
    if let Some(fernet) = &fernet {
        body = fernet
            .decrypt(body.trim_ascii(), None)
            .map_err(|e| {
                Failure::new(
                    FailureKind::Decrypt,
                    format!(
                        "InvalidToken: the body could not be decrypted with the key in {} ({e}): the key is wrong, or the message was altered on the way",
                        args.fernet_key_env.as_deref().unwrap_or("SECRET_KEY")
                    ),
                )
            })?
            .plaintext;
    } else if body.starts_with(b"gAAAAA") {
        eprintln!(
            "note: the body looks like a Fernet token; pass --fernet-key-env VAR to decrypt it"
        );
    }
    if args.json {
        println!(
            "{}",
            json_report(&target, &fetched, &body, fernet.is_some())
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(member) = fetched.header(squirrel_http::routes::MEMBER_HEADER) {
        eprintln!("Welcome, member {member}.");
    }
    if let Some(path) = &args.output {
        squirrel_pki::files::write_atomic(path, &body, squirrel_pki::files::PRIVATE_MODE, true)
            .map_err(|e| input(format!("-o {}: {e}", path.display())))?;
        return Ok(ExitCode::SUCCESS);
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // squirrel's health check says "ok", which is no secret.
    let secret = !target.path.ends_with("/healthz");
    let written = if args.raw {
        out.write_all(&body)
    } else if secret {
        writeln!(
            out,
            "The secret message is: {}",
            String::from_utf8_lossy(&body)
        )
    } else {
        writeln!(out, "{}", String::from_utf8_lossy(&body).trim_end())
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| input(format!("cannot write to standard output: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
