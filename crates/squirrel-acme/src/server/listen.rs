//! The ACME server's transport: TLS (rustls, ALPN h2 and http/1.1), HTTP/1.1
//! and HTTP/2 (hyper), a bounded number of connections, timeouts for slow
//! clients, a 64 KiB body limit, and a graceful stop: on shutdown no new
//! connection is taken and requests in flight finish. Challenges still
//! being validated stay `processing` in the store and are resumed by the
//! next start ([`Acme::resume`]).

use super::{Acme, AcmeRequest, MAX_BODY};
use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Transport limits.
#[derive(Clone, Debug)]
pub struct ListenLimits {
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl Default for ListenLimits {
    fn default() -> Self {
        ListenLimits {
            max_connections: 4096,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A rustls server configuration for the ACME server's certificate chain.
pub fn tls_config(
    identity: super::identity::ServerIdentity,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `acme` on `listener` until `shutdown` completes. `tls` may be
/// swapped at any time (SIGHUP): new connections take the new one.
pub async fn serve(
    acme: Arc<Acme>,
    listener: TcpListener,
    tls: Arc<ArcSwap<ServerConfig>>,
    limits: ListenLimits,
    shutdown: impl Future<Output = ()>,
) {
    let fallback_host = listener
        .local_addr()
        .map(|a| host_of(&a))
        .unwrap_or_else(|_| "localhost".into());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(128);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                "refused {peer}: {} connections open",
                limits.max_connections
            );
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = TlsAcceptor::from(tls.load_full());
        let (acme, builder, watcher) = (acme.clone(), builder.clone(), graceful.watcher());
        let (fallback_host, handshake_timeout) = (fallback_host.clone(), limits.handshake_timeout);
        tokio::spawn(async move {
            let _permit = permit;
            let stream = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake from {peer} failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake from {peer} timed out");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (acme, fallback_host) = (acme.clone(), fallback_host.clone());
                async move {
                    let request = read_request(req, &fallback_host).await;
                    Ok::<_, Infallible>(acme.respond(request).await.map(Full::new))
                }
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
    drop(listener);
    tracing::info!(
        "stopping: waiting up to {:?} for requests in flight",
        limits.shutdown_grace
    );
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("stopped"),
        _ = tokio::time::sleep(limits.shutdown_grace) => tracing::warn!("stopped after the grace period"),
    }
}

/// The request as the handlers see it; the body is read up to [`MAX_BODY`].
async fn read_request(req: Request<Incoming>, fallback_host: &str) -> AcmeRequest {
    let (parts, body) = req.into_parts();
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            parts
                .headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .map(String::from)
        })
        .filter(|h| is_host(h))
        .unwrap_or_else(|| fallback_host.to_string());
    let body = read_body(body).await;
    AcmeRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        base: format!("https://{host}"),
        content_type: parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        body,
    }
}

/// Reads the body, or None when it is over [`MAX_BODY`]. An oversized
/// body is still drained, up to [`DRAIN_LIMIT`], so that the client reads
/// the 413 problem document rather than a reset stream; past that, the
/// connection is cut.
async fn read_body(mut body: Incoming) -> Option<Bytes> {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map(|f| f.into_data()) else {
            return None;
        };
        let Ok(data) = data else { continue };
        seen += data.len();
        if seen > DRAIN_LIMIT {
            return None;
        }
        if seen <= MAX_BODY {
            kept.extend_from_slice(&data);
        }
    }
    (seen <= MAX_BODY).then(|| Bytes::from(kept))
}

/// How much of an oversized body is read and thrown away.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// A Host header that can be put back into URLs: a name or address and a
/// port, nothing else.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

fn host_of(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}
