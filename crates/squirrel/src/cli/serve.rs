//! `squirrel serve`: flags in, `squirrel-http` does the serving.

use super::passphrase::PassArgs;
use anyhow::{Context, Result};
use clap::Args;
use squirrel_http::{
    Limits, MessageSource, ServeOptions, Server, SiteSources, TlsFiles, DEFAULT_MESSAGE,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (IPv4 or IPv6): 127.0.0.1:5683, [::1]:5683, 0.0.0.0:5683.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5683")]
    pub listen: String,
    /// The secret message (default: "fluffy tail").
    #[arg(
        long,
        value_name = "TEXT",
        env = "SECRET_MESSAGE",
        conflicts_with = "message_file"
    )]
    pub message: Option<String>,
    /// Read the secret from FILE, and again whenever it changes.
    #[arg(long, value_name = "FILE")]
    pub message_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate (a chain may follow it in the file).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The certificate's private key (may be encrypted).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Passphrase of the key: first line of FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "key_pass_env")]
    pub key_pass_file: Option<PathBuf>,
    /// Passphrase of the key: environment variable VAR.
    #[arg(long, value_name = "VAR")]
    pub key_pass_env: Option<String>,
    /// Members only (mutual TLS): clients need a certificate from this CA.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub client_ca: Option<PathBuf>,
    /// Refuse client certificates this CRL revokes.
    #[arg(long, value_name = "FILE", requires = "client_ca")]
    pub crl: Option<PathBuf>,
    /// Accept a --client-ca without CA extensions, like the tutorial's (with a warning).
    #[arg(long, requires = "client_ca")]
    pub legacy_ca: bool,
    /// Bodies are fresh Fernet tokens of the secret, key from env VAR: --fernet-key-env[=VAR] (default SECRET_KEY).
    #[arg(long, value_name = "VAR", num_args = 0..=1, require_equals = true, default_missing_value = "SECRET_KEY")]
    pub fernet_key_env: Option<String>,
    /// Write TLS secrets to FILE (NSS key log format) for Wireshark.
    #[arg(long, value_name = "FILE", env = "SSLKEYLOGFILE")]
    pub keylog: Option<PathBuf>,
    /// Seconds allowed for a TLS handshake.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub handshake_timeout: u64,
    /// Seconds allowed to receive a request's headers, from their first byte (HTTP/2: while a
    /// header block is unfinished; an idle keep-alive connection is ended by --idle-timeout).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds without traffic after which a connection is closed (HTTP/2 PINGs are not traffic).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub idle_timeout: u64,
    /// Largest request header block, in bytes (larger: 431).
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,
    /// Most connections served at once; more wait.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Length of the kernel's queue of connections not yet accepted (nginx's default).
    #[arg(long, value_name = "N", default_value_t = 511)]
    pub backlog: u32,
    /// Seconds a stop waits for requests in flight.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub shutdown_grace: u64,
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
    super::logging::init(args.quiet, args.verbose);
    let message = match (&args.message_file, &args.message) {
        (Some(file), _) => MessageSource::File(file.clone()),
        (None, Some(text)) => MessageSource::Text(text.clone()),
        (None, None) => MessageSource::Text(DEFAULT_MESSAGE.to_string()),
    };
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let pass = PassArgs {
                pass_file: args.key_pass_file.clone(),
                pass_env: args.key_pass_env.clone(),
                no_pass: false,
            };
            Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                key_passphrase: pass.passphrase_for(key, "server key")?,
                client_ca: args.client_ca.clone(),
                crl: args.crl.clone(),
                legacy_client_ca: args.legacy_ca,
            })
        }
        _ => None,
    };
    let fernet = match &args.fernet_key_env {
        Some(var) => Some(Arc::new(super::fernet::keys_from_env_flag(
            var,
            "--fernet-key-env",
        )?)),
        None => None,
    };
    let options = ServeOptions {
        listen: args.listen.clone(),
        sources: SiteSources {
            message,
            tls,
            fernet,
        },
        keylog: args.keylog.clone(),
        limits: Limits {
            handshake_timeout: Duration::from_secs(args.handshake_timeout),
            header_timeout: Duration::from_secs(args.header_timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            max_header_bytes: args.max_header_bytes,
            max_connections: args.max_connections.max(1),
            backlog: args.backlog.max(1),
            shutdown_grace: Duration::from_secs(args.shutdown_grace),
        },
    };
    let threads = args
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    // One thread: a current-thread runtime, without work-stealing overhead.
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let server = Server::bind(options).await?;
        println!("{}", server.banner());
        if server.is_plain_http() {
            tracing::warn!(
                "plain HTTP: anyone on the path can read the secret (tutorial step 3); serve HTTPS with --cert and --key"
            );
        }
        if let Some(path) = &args.keylog {
            tracing::warn!("TLS secrets are written to {}: whoever reads it can decrypt the traffic", path.display());
        }
        let stop = squirrel_http::server::stop_signal()?;
        server
            .run(async {
                let signal = stop.await;
                tracing::info!("{signal} received");
            })
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}
