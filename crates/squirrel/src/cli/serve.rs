//! `squirrel serve`: flags in, `squirrel-http` does the serving.

use super::passphrase::PassArgs;
use super::serve_acme;
use super::serve_config::{self, Settings, UsageError};
use anyhow::{bail, Context, Result};
use clap::Args;
use squirrel_http::acme::state::StatePaths;
use squirrel_http::acme::AcmeConfig;
use squirrel_http::live_cert::LiveCert;
use squirrel_http::pid_file::{self, PidFile};
use squirrel_http::{MessageSource, ServeOptions, Server, SiteSources, TlsFiles};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Read the settings from a TOML file: one key per long flag (listen = "127.0.0.1:5683",
    /// message-file = "message.txt"); flags given here win, paths are relative to the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the configuration (files, certificate and key, client CA, CRL, address) as nginx -t
    /// does, print "configuration OK" and exit, without listening.
    #[arg(long)]
    pub check_config: bool,
    /// Address to listen on: 127.0.0.1:5683, [::1]:5683, 0.0.0.0:5683; a port alone (5683 or
    /// :5683) means every IPv4 interface, as nginx's listen 5683 [default: 127.0.0.1:5683].
    #[arg(long, value_name = "ADDR", value_parser = serve_config::parse_listen)]
    pub listen: Option<String>,
    /// Listen on 127.0.0.1:PORT (loopback only).
    #[arg(long, value_name = "PORT", conflicts_with = "listen")]
    pub port: Option<u16>,
    /// The secret message [default: $SECRET_MESSAGE, else "fluffy tail"].
    #[arg(long, value_name = "TEXT", conflicts_with = "message_file")]
    pub message: Option<String>,
    /// Read the secret from FILE, and again whenever it changes (wins over $SECRET_MESSAGE).
    #[arg(long, value_name = "FILE")]
    pub message_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate (a chain may follow it in the file); needs --key.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The certificate's private key (may be encrypted).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Passphrase of the key: first line of FILE.
    #[arg(
        long,
        visible_alias = "pass-file",
        value_name = "FILE",
        conflicts_with = "key_pass_env"
    )]
    pub key_pass_file: Option<PathBuf>,
    /// Passphrase of the key: environment variable VAR.
    #[arg(long, visible_alias = "pass-env", value_name = "VAR")]
    pub key_pass_env: Option<String>,
    /// The key is not encrypted: never ask for a passphrase.
    #[arg(long, conflicts_with_all = ["key_pass_file", "key_pass_env"])]
    pub no_pass: bool,
    /// Members only (mutual TLS): clients need a certificate from this CA; needs --cert.
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// Refuse client certificates this CRL revokes; needs --client-ca.
    #[arg(long, value_name = "FILE")]
    pub crl: Option<PathBuf>,
    /// Accept a --client-ca without CA extensions, like the tutorial's (with a warning).
    #[arg(long)]
    pub legacy_ca: bool,
    /// Get the certificate from this ACME CA (its directory URL) and renew it in place, instead
    /// of --cert/--key; needs --acme-ca and --domain. Kept in $SQUIRREL_HOME/acme.
    #[arg(long, value_name = "URL", conflicts_with_all = ["cert", "key"])]
    pub acme: Option<String>,
    /// The CA certificate that the ACME server's HTTPS chains to (`pki ca serve` prints it).
    #[arg(long, value_name = "FILE")]
    pub acme_ca: Option<PathBuf>,
    /// A name to certify over ACME, DNS name or IP address (repeatable); proven by
    /// tls-alpn-01 on --listen, or http-01 with --http01-listen.
    #[arg(long = "domain", value_name = "NAME")]
    pub domains: Vec<String>,
    /// Contact address of the ACME account.
    #[arg(long, value_name = "EMAIL")]
    pub acme_email: Option<String>,
    /// External account binding: the key id (`squirrel pki ca eab add` prints it).
    #[arg(
        long,
        value_name = "ID",
        requires = "acme_eab_hmac_env",
        allow_hyphen_values = true
    )]
    pub acme_eab_kid: Option<String>,
    /// External account binding: environment variable VAR holds the HMAC key (base64url).
    #[arg(long, value_name = "VAR", requires = "acme_eab_kid")]
    pub acme_eab_hmac_env: Option<String>,
    /// Prove control of the names by http-01 on ADDR (e.g. 0.0.0.0:80) instead of tls-alpn-01.
    #[arg(long, value_name = "ADDR")]
    pub http01_listen: Option<String>,
    /// Bodies are fresh Fernet tokens of the secret, key from env VAR: --fernet-key-env [VAR]
    /// (default SECRET_KEY).
    #[arg(long, value_name = "VAR", num_args = 0..=1, default_missing_value = "SECRET_KEY")]
    pub fernet_key_env: Option<String>,
    /// Write TLS secrets to FILE (NSS key log format) for Wireshark.
    #[arg(long, value_name = "FILE", env = "SSLKEYLOGFILE")]
    pub keylog: Option<PathBuf>,
    /// Write the server's process id to FILE once it listens (for kill -HUP $(cat FILE));
    /// removed when it stops.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Seconds allowed for a TLS handshake [default: 10].
    #[arg(long, value_name = "SECS")]
    pub handshake_timeout: Option<u64>,
    /// Seconds allowed to receive a request's headers, from their first byte (HTTP/2: while a
    /// header block is unfinished; an idle keep-alive connection is ended by --idle-timeout)
    /// [default: 10].
    #[arg(long, value_name = "SECS")]
    pub header_timeout: Option<u64>,
    /// Seconds without traffic after which a connection is closed (HTTP/2 PINGs are not
    /// traffic) [default: 60].
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Largest request header block, in bytes (larger: 431) [default: 16384].
    #[arg(long, value_name = "BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Most connections served at once; more wait [default: 1024].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Length of the kernel's queue of connections not yet accepted [default: 511, nginx's].
    #[arg(long, value_name = "N")]
    pub backlog: Option<u32>,
    /// Seconds a stop waits for requests in flight [default: 10].
    #[arg(long, value_name = "SECS")]
    pub shutdown_grace: Option<u64>,
    /// Worker threads (default: the CPUs this process may use).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Only warnings and errors (no access log).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail (connection errors); twice for everything.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let settings = match serve_config::settings(&args) {
        Ok(settings) => settings,
        Err(err) => match err.downcast_ref::<UsageError>() {
            Some(usage) => {
                eprintln!(
                    "error: {usage}\n\nUsage: squirrel serve [OPTIONS]\n\nFor more information, try '--help'."
                );
                return Ok(ExitCode::from(2));
            }
            None => return Err(err),
        },
    };
    super::logging::init(settings.quiet, settings.verbose);
    let acme = settings.acme.as_ref().map(serve_acme::config).transpose()?;
    let live = acme.as_ref().map(|_| LiveCert::new());
    let options = options(&settings, acme.as_ref().zip(live.as_ref()), None)?;
    if args.check_config {
        return check(&settings, &options, acme.as_ref());
    }
    // With --config, a reload reads the file again.
    let refresh = args.config.as_ref().map(|_| {
        super::serve_reload::refresher(
            args.clone(),
            &settings,
            options.sources.tls.clone(),
            acme.clone().zip(live.clone()),
        )
    });
    if let Some(path) = &settings.pid_file {
        squirrel_http::check::folder_exists(path, "--pid-file")?;
        if let pid_file::Previous::Stale(content) = pid_file::check(path)? {
            tracing::warn!(
                "--pid-file {}: replacing a stale pid file (it held {content:?}, which is not a running process)",
                path.display()
            );
        }
    }
    let runtime = super::runtime::for_threads(settings.threads)?;
    let keylog = settings.keylog.clone();
    let pid_path = settings.pid_file.clone();
    runtime.block_on(async move {
        let acme = match (acme, live) {
            (Some(config), Some(live)) => Some(serve_acme::Acme::prepare(config, live).await?),
            _ => None,
        };
        let mut server = Server::bind(options).await?;
        if let Some(refresh) = refresh {
            server.refresh_sources_with(refresh);
        }
        // Written once the server listens; removed when `pid` drops.
        let pid = pid_path.as_deref().map(PidFile::write).transpose()?;
        let stop = squirrel_http::server::stop_signal()?;
        let status = server.status();
        let reload = server.reload_handle();
        let running = tokio::spawn(server.run(async {
            let signal = stop.await;
            tracing::info!("{signal} received");
        }));
        if let Some(acme) = acme {
            // The server answers the CA's validation while it waits.
            acme.run(reload).await?;
        }
        println!("{}", status.banner());
        if status.is_plain_http() {
            tracing::warn!(
                "plain HTTP: anyone on the path can read the secret (tutorial step 3); serve HTTPS with --cert and --key"
            );
        }
        if let Some(path) = &keylog {
            tracing::warn!("TLS secrets are written to {}: whoever reads it can decrypt the traffic", path.display());
        }
        running.await.context("the server stopped unexpectedly")??;
        drop(pid);
        Ok(ExitCode::SUCCESS)
    })
}

/// What the server is asked to serve: the settings with the key's
/// passphrase and the Fernet keys read. On a reload, `started` is what
/// the server started with: the same key file without a passphrase
/// source is decrypted with the passphrase given at start (asked on the
/// terminal then; there is none now).
pub(super) fn options(
    settings: &Settings,
    acme: Option<(&AcmeConfig, &Arc<LiveCert>)>,
    started: Option<&TlsFiles>,
) -> Result<ServeOptions> {
    let tls = match &settings.tls {
        Some(tls) => {
            // Under --acme the certificate lives in memory; its files in
            // the state folder are named in messages.
            let (cert, key, key_passphrase, live) = match (&tls.cert_key, acme) {
                (_, Some((config, live))) => {
                    let paths =
                        StatePaths::new(&config.state_root, &config.directory, &config.domains);
                    (paths.cert, paths.key, None, Some(live.clone()))
                }
                (Some((cert, key)), None) => {
                    let pass = PassArgs {
                        pass_file: tls.key_pass_file.clone(),
                        pass_env: tls.key_pass_env.clone(),
                        no_pass: tls.no_pass,
                    };
                    let given = tls.key_pass_file.is_some() || tls.key_pass_env.is_some();
                    let passphrase = match started {
                        _ if tls.no_pass => None,
                        Some(first) if first.key == *key && !given => first.key_passphrase.clone(),
                        _ => pass.passphrase_for(key, "server key")?,
                    };
                    (cert.clone(), key.clone(), passphrase, None)
                }
                (None, None) => bail!("no certificate: give --cert and --key, or --acme"),
            };
            Some(TlsFiles {
                cert,
                key,
                key_passphrase,
                client_ca: tls.client_ca.clone(),
                crl: tls.crl.clone(),
                legacy_client_ca: tls.legacy_ca,
                live,
            })
        }
        None => None,
    };
    let fernet = match &settings.fernet_key_env {
        Some(var) => Some(Arc::new(super::fernet::keys_from_env_flag(
            var,
            "--fernet-key-env",
        )?)),
        None => None,
    };
    Ok(ServeOptions {
        listen: settings.listen.clone(),
        sources: SiteSources {
            message: settings.message.clone(),
            tls,
            fernet,
        },
        keylog: settings.keylog.clone(),
        limits: settings.limits.clone(),
    })
}

/// `--check-config`: load everything, bind nothing, say what would be served.
fn check(
    settings: &Settings,
    options: &ServeOptions,
    acme: Option<&AcmeConfig>,
) -> Result<ExitCode> {
    let checked = squirrel_http::check::check(options)?;
    if let Some(path) = &settings.pid_file {
        squirrel_http::check::folder_exists(path, "--pid-file")?;
    }
    let mut how = vec![if checked.certificate.is_some() || acme.is_some() {
        "HTTPS"
    } else {
        "plain HTTP"
    }];
    if checked.members_only {
        how.push("members only");
    }
    if checked.fernet {
        how.push("Fernet bodies");
    }
    println!("configuration OK");
    println!("  listen: {} ({})", checked.addr, how.join(", "));
    if let Some(sentence) = &checked.certificate {
        println!("  certificate: {sentence}");
    }
    if let Some(acme) = acme {
        println!(
            "  certificate: from the ACME CA {} for {} (not contacted by --check-config)",
            acme.directory,
            acme.domains.join(", ")
        );
    }
    match &settings.message {
        MessageSource::File(path) => println!(
            "  message: {} ({} bytes)",
            path.display(),
            checked.message_bytes
        ),
        MessageSource::Text(_) => println!("  message: text ({} bytes)", checked.message_bytes),
    }
    Ok(ExitCode::SUCCESS)
}
