//! `squirrel pki ca serve`: the CA goes online. It speaks ACME (RFC 8555),
//! so certbot, lego and any ACME client get and renew certificates by
//! themselves, after proving that they control the names; the tutorial's
//! "a real CA makes you prove that you own my-site.com", done for real.
//! Arguments here; the server is `squirrel_acme::server`.

use super::ca_args::CaArgs;
use crate::cli::passphrase::PassArgs;
use anyhow::{bail, Context, Result};
use arc_swap::ArcSwap;
use clap::Args;
use squirrel_acme::server::identity::{self, ServerIdentity};
use squirrel_acme::server::listen::{self, ListenLimits};
use squirrel_acme::server::policy::AllowedName;
use squirrel_acme::server::{Acme, AcmeOptions, Policy};
use squirrel_acme::store;
use squirrel_acme::validate::ValidationConfig;
use squirrel_pki::{AltName, CertificateAuthority};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct CaServeArgs {
    #[command(flatten)]
    pub ca: CaArgs,
    #[command(flatten)]
    pub pass: PassArgs,
    #[command(flatten)]
    pub db: super::db::DbArgs,
    /// Address to listen on (HTTPS).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// A name of this server, in its own certificate (repeatable; default: localhost,
    /// 127.0.0.1, ::1). The first one is in the directory URL printed.
    #[arg(long = "name", value_name = "NAME", value_parser = super::parse_alt_name)]
    pub names: Vec<AltName>,
    /// Register only holders of an external account binding key (`squirrel pki ca eab add`).
    #[arg(long)]
    pub require_eab: bool,
    /// Issue only for this DNS suffix or IP network (repeatable; default: any name the CA's
    /// name constraints allow), e.g. --allow-name my-club.test --allow-name 10.0.0.0/8.
    #[arg(long = "allow-name", value_name = "SUFFIX")]
    pub allow_names: Vec<AllowedName>,
    /// Lifetime of the certificates issued, in days.
    #[arg(long, value_name = "N", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub cert_days: u32,
    /// Lifetime in minutes instead, for tests of renewal (e.g. 10).
    #[arg(long, value_name = "N", conflicts_with = "cert_days", value_parser = clap::value_parser!(u32).range(1..))]
    pub cert_minutes: Option<u32>,
    /// Port that http-01 validation connects to (as Pebble's httpPort).
    #[arg(long = "http01-port", value_name = "PORT", default_value_t = 80)]
    pub http01_port: u16,
    /// Port that tls-alpn-01 validation connects to (as Pebble's tlsPort).
    #[arg(long = "tlsalpn01-port", value_name = "PORT", default_value_t = 443)]
    pub tlsalpn01_port: u16,
    /// Validate NAME at IP instead of asking DNS, as curl's --resolve (repeatable).
    #[arg(long, value_name = "NAME=IP", value_parser = parse_resolve)]
    pub resolve: Vec<(String, IpAddr)>,
    /// The DNS server that validation asks (A, AAAA, TXT), e.g. 127.0.0.1:8053.
    #[arg(long, value_name = "ADDR")]
    pub dns_resolver: Option<SocketAddr>,
    /// Terms of service URL, shown in the directory; clients must agree to them.
    #[arg(long, value_name = "URL")]
    pub tos: Option<String>,
    /// Refuse every Nth nonce with badNonce, to see clients retry (a test aid, as Pebble's
    /// PEBBLE_WFE_NONCEREJECT).
    #[arg(long, value_name = "N", hide = true, value_parser = clap::value_parser!(u32).range(2..))]
    pub reject_every_nth_nonce: Option<u32>,
    /// How often the server looks whether its own certificate is due, in
    /// seconds (a test aid; default an hour).
    #[arg(long, value_name = "SECS", hide = true, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub identity_check_every: u64,
    /// Log warnings and errors only.
    #[arg(short, long)]
    pub quiet: bool,
    /// More log (-v: debug).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_resolve(text: &str) -> Result<(String, IpAddr), String> {
    let (name, ip) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=IP (e.g. my-site.test=127.0.0.1)"))?;
    let ip = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("{ip:?} is not an IP address"))?;
    Ok((name.trim_end_matches('.').to_ascii_lowercase(), ip))
}

pub fn run(args: CaServeArgs) -> Result<ExitCode> {
    crate::cli::logging::init(args.quiet, args.verbose);
    let listen: SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address and port; write it like 127.0.0.1:8443 or [::1]:8443",
            args.listen
        )
    })?;
    let names = if args.names.is_empty() {
        ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|n| AltName::parse(n))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        args.names.clone()
    };
    let ca = args.ca.open(&args.pass)?;
    // With --db, the server's own certificate is recorded in the shared
    // database, as every other: `pki list --db` and `pki revoke --db` see
    // each replica's. (ACME certificates go through the store.)
    let ca = match args.db.db.as_deref() {
        Some(url) => super::db::record_in(ca, url)?,
        None => ca,
    };
    let files = ca.files.clone();
    let dir = files
        .ledger
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let server_identity = identity::server_identity(&ca, &names, &dir)?;
    let tls = Arc::new(ArcSwap::from(listen::tls_config(server_identity)?));
    let options = options(&args);
    let runtime = crate::cli::runtime::for_threads(None)?;
    runtime.block_on(async move {
        let store = store::backend::open(args.db.db.as_deref(), &files.ledger).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("--listen {listen}: cannot listen there"))?;
        let port = listener.local_addr()?.port();
        let acme = Acme::new(store, ca, options);
        let resumed = acme.resume().await.map_err(|p| anyhow::anyhow!(p.detail))?;
        if resumed > 0 {
            tracing::info!("resumed {resumed} challenges and orders left in progress");
        }
        // What a replica sharing the database leaves half done when it dies.
        let _watch = acme.watch_stalled();
        // Signals are listened for before the server says it is ready: a
        // SIGHUP sent as soon as it has must reload it, not end it.
        let stop = squirrel_http::server::stop_signal()?;
        let every = std::time::Duration::from_secs(args.identity_check_every);
        spawn_reloader(acme.clone(), names.clone(), dir.clone(), tls.clone(), every)?;
        let host = directory_host(listen, &names);
        println!("ACME directory: https://{host}:{port}/acme/directory");
        let trust = std::path::absolute(&files.cert).unwrap_or_else(|_| files.cert.clone());
        println!("Clients must trust: {}", trust.display());
        if let Some(db) = args.db.shown() {
            println!("Database: {db} (shared by every replica of this CA)");
        }
        if args.require_eab {
            println!("Registration needs an EAB key: squirrel pki ca eab add NAME");
        }
        listen::serve(acme, listener, tls, ListenLimits::default(), async {
            let signal = stop.await;
            tracing::info!("{signal} received");
        })
        .await;
        Ok(ExitCode::SUCCESS)
    })
}

fn options(args: &CaServeArgs) -> AcmeOptions {
    let mut resolve: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for (name, ip) in &args.resolve {
        resolve.entry(name.clone()).or_default().push(*ip);
    }
    let cert_lifetime = match args.cert_minutes {
        Some(minutes) => time::Duration::minutes(minutes.into()),
        None => time::Duration::days(args.cert_days.into()),
    };
    AcmeOptions {
        require_eab: args.require_eab,
        terms_of_service: args.tos.clone(),
        policy: Policy {
            allowed: args.allow_names.clone(),
            cert_lifetime,
        },
        validation: ValidationConfig {
            http01_port: args.http01_port,
            tlsalpn01_port: args.tlsalpn01_port,
            resolve,
            dns_resolver: args.dns_resolver,
            ..ValidationConfig::default()
        },
        reject_every_nth_nonce: args.reject_every_nth_nonce,
        ..AcmeOptions::default()
    }
}

/// The host of the directory URL: the listening address, unless it is a
/// wildcard (0.0.0.0, ::), then the server's first name.
fn directory_host(listen: SocketAddr, names: &[AltName]) -> String {
    let ip = listen.ip();
    if !ip.is_unspecified() {
        return match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
    }
    match names.first() {
        Some(AltName::Ip(IpAddr::V6(v6))) => format!("[{v6}]"),
        Some(name) => name.to_string(),
        None => "localhost".into(),
    }
}

/// SIGHUP, and every `--identity-check-every` (an hour): the server's own certificate
/// is issued again if it is due (or its files changed), and new
/// connections use it. A server left running renews its certificate by
/// itself, long before it expires.
fn spawn_reloader(
    acme: Arc<Acme>,
    names: Vec<AltName>,
    dir: std::path::PathBuf,
    tls: Arc<ArcSwap<rustls::ServerConfig>>,
    every: std::time::Duration,
) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    let mut check = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tokio::spawn(async move {
        loop {
            let why = tokio::select! {
                signal = hangup.recv() => match signal {
                    Some(()) => "SIGHUP",
                    None => return,
                },
                _ = check.tick() => "renewal check",
            };
            // Off the async threads: issuing signs and writes files, and
            // with --db records through the database's own runtime.
            let (acme, names, dir) = (acme.clone(), names.clone(), dir.clone());
            let reloaded = tokio::task::spawn_blocking(move || reload(acme.ca(), &names, &dir))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|r| r);
            let outcome = reloaded.and_then(|identity| {
                let path = identity.cert_path.display().to_string();
                let issued = identity.issued;
                // The hourly check swaps the TLS configuration (and its
                // session cache) only for a new certificate; SIGHUP always,
                // as files may have changed by hand.
                if issued || why == "SIGHUP" {
                    tls.store(listen::tls_config(identity)?);
                }
                Ok((path, issued))
            });
            match (why, outcome) {
                ("SIGHUP", Ok((path, issued))) => tracing::info!(
                    "SIGHUP: reloaded ({} {path})",
                    if issued { "issued" } else { "kept" }
                ),
                (_, Ok((path, true))) => {
                    tracing::info!("renewed the server's own certificate ({path})")
                }
                (_, Ok((_, false))) => {}
                (why, Err(e)) => {
                    tracing::error!("{why}: reload failed, keeping the old certificate: {e:#}")
                }
            }
        }
    });
    Ok(())
}

fn reload(ca: &CertificateAuthority, names: &[AltName], dir: &Path) -> Result<ServerIdentity> {
    if !dir.exists() {
        bail!("the CA directory {} is gone", dir.display());
    }
    Ok(identity::server_identity(ca, names, dir)?)
}
