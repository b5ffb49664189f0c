//! acme-load: the load client of bench/acme.sh.
//!
//! Creates one ACME account on `--directory`, then runs `--orders` orders
//! for unique names (`o{i}{suffix}`), `--concurrency` of them in flight.
//! Each order: new order, fetch its authorization, answer http-01 from this
//! program's own in-memory responder on 127.0.0.1:`--http01-port`, set the
//! challenge ready, poll until the order is ready, finalize with an ECDSA
//! P-256 CSR, poll for the certificate and download it. The latency of an
//! order runs from the new-order request to the certificate downloaded.
//!
//! `--warmup W` orders (names `w{i}{suffix}`) run first and are not counted.
//! Prints one JSON line on stdout; the first few errors go to stderr.

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use instant_acme::{
    Account, AuthorizationStatus, BodyWrapper, ChallengeType, HttpClient, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rcgen::{CertificateParams, DistinguishedName, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How many error messages are printed on stderr at most.
const ERRORS_SHOWN: usize = 5;

#[derive(Parser)]
#[command(about = "ACME load client: N http-01 orders, C in flight, one JSON line of figures")]
struct Args {
    /// The ACME directory URL.
    #[arg(long, value_name = "URL")]
    directory: String,
    /// PEM file of the root certificate that the ACME server's TLS certificate chains to.
    #[arg(long, value_name = "PEM")]
    root: PathBuf,
    /// Orders to run (counted).
    #[arg(long, value_name = "N", default_value_t = 200)]
    orders: usize,
    /// Orders in flight at once.
    #[arg(long, value_name = "C", default_value_t = 16)]
    concurrency: usize,
    /// Port of the http-01 responder on 127.0.0.1 (the port the server validates on).
    #[arg(long, value_name = "P")]
    http01_port: u16,
    /// Suffix of the ordered names: o0.bench.test, o1.bench.test, ...
    #[arg(long, value_name = "SUFFIX", default_value = ".bench.test")]
    domain_suffix: String,
    /// Orders run before the measured ones, not counted.
    #[arg(long, value_name = "W", default_value_t = 0)]
    warmup: usize,
    /// First wait before polling an order (ready, then certificate), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10)]
    poll_delay_ms: u64,
    /// Each wait between polls is the one before times this factor.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.5)]
    poll_backoff: f32,
    /// Give up on an order's polling (ready, then certificate) after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    poll_timeout: u64,
}

/// token → key authorization, as the http-01 responder answers it.
type Tokens = Arc<RwLock<HashMap<String, String>>>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("acme-load: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<std::process::ExitCode, BoxError> {
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let tokens: Tokens = Arc::default();
    let listener = TcpListener::bind(("127.0.0.1", args.http01_port))
        .await
        .map_err(|e| format!("http-01 responder on 127.0.0.1:{}: {e}", args.http01_port))?;
    tokio::spawn(serve_http01(listener, tokens.clone()));

    let http = http_client(&args.root)?;
    let (account, _credentials) = Account::builder_with_http(http)
        .create(
            &NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            args.directory.clone(),
            None,
        )
        .await
        .map_err(|e| format!("new account on {}: {e}", args.directory))?;

    let policy = RetryPolicy::new()
        .initial_delay(Duration::from_millis(args.poll_delay_ms))
        .backoff(args.poll_backoff)
        .timeout(Duration::from_secs(args.poll_timeout));
    let client = Client {
        account,
        tokens,
        policy,
    };

    if args.warmup > 0 {
        let warm = load(
            &client,
            "w",
            &args.domain_suffix,
            args.warmup,
            args.concurrency,
        )
        .await;
        if let Some(e) = warm.errors.first() {
            return Err(format!(
                "warm-up: {} of {} orders failed; first: {e}",
                warm.failed, args.warmup
            )
            .into());
        }
    }

    let run = load(
        &client,
        "o",
        &args.domain_suffix,
        args.orders,
        args.concurrency,
    )
    .await;
    let mut latencies = run.latencies_ms;
    latencies.sort_by(f64::total_cmp);
    let ok = latencies.len();
    let line = serde_json::json!({
        "orders": args.orders,
        "ok": ok,
        "failed": run.failed,
        "seconds": round3(run.seconds),
        "orders_per_sec": round3(if run.seconds > 0.0 { ok as f64 / run.seconds } else { 0.0 }),
        "p50_ms": round3(percentile(&latencies, 50.0)),
        "p99_ms": round3(percentile(&latencies, 99.0)),
        "max_ms": round3(latencies.last().copied().unwrap_or(0.0)),
    });
    println!("{line}");
    for e in run.errors.iter().take(ERRORS_SHOWN) {
        eprintln!("acme-load: order failed: {e}");
    }
    Ok(if run.failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}

#[derive(Clone)]
struct Client {
    account: Account,
    tokens: Tokens,
    policy: RetryPolicy,
}

#[derive(Default)]
struct Outcome {
    latencies_ms: Vec<f64>,
    failed: usize,
    /// The first few error messages.
    errors: Vec<String>,
    seconds: f64,
}

/// How long one order may take, polls included, before it counts as
/// failed (the polling itself gives up after --poll-timeout).
const ORDER_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `count` orders named `{prefix}{i}{suffix}`, `concurrency` in flight.
async fn load(
    client: &Client,
    prefix: &str,
    suffix: &str,
    count: usize,
    concurrency: usize,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    // Set when an order timed out: the server stopped answering, so no
    // more orders are started (the ones not run count as failed).
    let stalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.min(count) {
        let (client, next, outcome) = (client.clone(), next.clone(), outcome.clone());
        let stalled = stalled.clone();
        let (prefix, suffix) = (prefix.to_owned(), suffix.to_owned());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count || stalled.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("{prefix}{i}{suffix}");
                let t0 = Instant::now();
                // A server that stops answering fails the order (counted,
                // its error shown) instead of hanging the run.
                let result = match tokio::time::timeout(ORDER_TIMEOUT, client.order(&name)).await {
                    Ok(result) => result,
                    Err(_) => {
                        stalled.store(true, Ordering::Relaxed);
                        Err(format!(
                            "no certificate after {ORDER_TIMEOUT:?}: the server stopped \
                             answering (no more orders started)"
                        )
                        .into())
                    }
                };
                let ms = t0.elapsed().as_secs_f64() * 1e3;
                let mut out = outcome.lock().unwrap();
                match result {
                    Ok(()) => out.latencies_ms.push(ms),
                    Err(e) => {
                        out.failed += 1;
                        if out.errors.len() < ERRORS_SHOWN {
                            out.errors.push(format!("{name}: {e}"));
                        }
                    }
                }
            }
        }));
    }
    for worker in workers {
        if let Err(e) = worker.await {
            let mut out = outcome.lock().unwrap();
            out.errors.push(format!("worker: {e}"));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut out = std::mem::take(&mut *outcome.lock().unwrap());
    // An order not run (a worker that panicked) counts as failed.
    let done = out.latencies_ms.len() + out.failed;
    out.failed += count.saturating_sub(done);
    out.seconds = seconds;
    out
}

impl Client {
    /// One order for `name`, from new order to the certificate downloaded.
    async fn order(&self, name: &str) -> Result<(), BoxError> {
        let identifiers = [Identifier::Dns(name.to_owned())];
        let mut order = self
            .account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(|e| format!("new order: {e}"))?;

        let mut answered = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(|e| format!("authorization: {e}"))?;
            match authz.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => return Err(format!("authorization is {other:?}").into()),
            }
            let mut challenge = authz
                .challenge(ChallengeType::Http01)
                .ok_or("no http-01 challenge offered")?;
            let key_authorization = challenge.key_authorization().as_str().to_owned();
            self.tokens
                .write()
                .unwrap()
                .insert(challenge.token.clone(), key_authorization);
            answered.push(challenge.token.clone());
            challenge
                .set_ready()
                .await
                .map_err(|e| format!("challenge: {e}"))?;
        }

        let status = order.poll_ready(&self.policy).await;
        {
            let mut tokens = self.tokens.write().unwrap();
            for token in &answered {
                tokens.remove(token);
            }
        }
        match status.map_err(|e| format!("poll ready: {e}"))? {
            OrderStatus::Ready => {}
            other => return Err(format!("order is {other:?}, not ready").into()),
        }

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec![name.to_owned()])?;
        params.distinguished_name = DistinguishedName::new();
        let csr = params.serialize_request(&key)?;
        order
            .finalize_csr(csr.der())
            .await
            .map_err(|e| format!("finalize: {e}"))?;
        let chain = order
            .poll_certificate(&self.policy)
            .await
            .map_err(|e| format!("certificate: {e}"))?;
        if !chain.contains("-----BEGIN CERTIFICATE-----") {
            return Err("the certificate download is no PEM chain".into());
        }
        Ok(())
    }
}

/// The HTTPS client of the ACME requests: instant-acme's own default
/// (`Account::builder_with_root`: hyper-util's pooled client, rustls, HTTP/2
/// or HTTP/1.1 by ALPN, only `root` trusted), except that it sets
/// TCP_NODELAY. Without it, Nagle's algorithm against the peer's delayed ACK
/// holds many requests for ~40 ms on loopback, a floor under every request
/// that would hide the servers' own speed.
fn http_client(root: &Path) -> Result<Box<dyn HttpClient>, BoxError> {
    let mut roots = RootCertStore::empty();
    let mut found = 0;
    for cert in
        CertificateDer::pem_file_iter(root).map_err(|e| format!("root {}: {e}", root.display()))?
    {
        roots.add(cert.map_err(|e| format!("root {}: {e}", root.display()))?)?;
        found += 1;
    }
    if found == 0 {
        return Err(format!("root {}: no certificate", root.display()).into());
    }
    let tls = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp);
    let client: HyperClient<_, BodyWrapper<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build(https);
    Ok(Box::new(client))
}

/// Answers `GET /.well-known/acme-challenge/TOKEN` with the key authorization.
async fn serve_http01(listener: TcpListener, tokens: Tokens) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let tokens = tokens.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let answer = answer_http01(&tokens, req.uri().path());
                async move { Ok::<_, Infallible>(answer) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer_http01(tokens: &Tokens, path: &str) -> Response<Full<Bytes>> {
    let found = path
        .strip_prefix("/.well-known/acme-challenge/")
        .and_then(|token| tokens.read().unwrap().get(token).cloned());
    match found {
        Some(key_authorization) => Response::builder()
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from(key_authorization)))
            .unwrap(),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"no such token\n")))
            .unwrap(),
    }
}

/// Nearest-rank percentile of sorted values (0 when there are none).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
