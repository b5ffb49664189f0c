//! `squirrel serve`: the secret server, tutorial steps 1, 7, 13 and 16, as a
//! server people would run for real: limits against abuse, reload without
//! a restart, graceful stop, one access-log line per request.
//!
//! One HTTP stack answers everything: hyper, through hyper-util's
//! `auto::Builder`, HTTP/1.x and HTTP/2 alike, behind the [`Timeouts`] I/O
//! wrapper. The protocol is known before the first byte is read (ALPN over
//! TLS; plain HTTP is HTTP/1, as HTTP/2 needs TLS here), so each connection
//! starts on the right protocol without auto-detection's extra read.

use crate::access;
use crate::error::ServeError;
use crate::handshake::TlsVersion;
use crate::idle::{IdleConnections, Tracked};
use crate::keylog::KeyLogFile;
use crate::listener::{defer_accept, listen};
use crate::live_cert::ACME_TLS_ALPN;
use crate::membership::Membership;
pub use crate::reload::ReloadHandle;
use crate::reload::{spawn_message_watcher, spawn_reloader};
use crate::routes::{self, respond, Caller};
use crate::site::{RefreshSources, Site, SiteSources};
pub use crate::status::Status;
use crate::timeouts::{HeadersDone, Timeouts};
use crate::tls::{handshake_failure, TlsShared};
use arc_swap::ArcSwap;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

/// Limits against abuse; every one has a flag.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Time allowed for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed to receive a request's headers, from their first byte
    /// (nginx's client_header_timeout); on HTTP/2, while a header block is
    /// open (HEADERS, CONTINUATION without END_HEADERS).
    pub header_timeout: Duration,
    /// A connection on which nothing moves for this long is closed (on
    /// HTTP/2, PINGs and SETTINGS do not count as moving).
    pub idle_timeout: Duration,
    /// Larger request headers get 431 (HTTP/1: at least 8 KiB, hyper's
    /// smallest read buffer; HTTP/2: the header list size).
    pub max_header_bytes: usize,
    /// Connections beyond this wait in the kernel's accept queue.
    pub max_connections: usize,
    /// The length of that queue (listen's backlog; nginx's default, 511).
    pub backlog: u32,
    /// How long a stop waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
            max_connections: 1024,
            backlog: 511,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Everything `squirrel serve` was asked for.
pub struct ServeOptions {
    pub listen: String,
    pub sources: SiteSources,
    pub keylog: Option<PathBuf>,
    pub limits: Limits,
}

/// A bound server, ready to run.
pub struct Server {
    reload: ReloadHandle,
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<ArcSwap<Site>>,
    sources: Arc<ArcSwap<SiteSources>>,
    /// Where a reload finds its sources again (the configuration file
    /// re-read); without it, a reload loads the same files again.
    refresh: Option<RefreshSources>,
    shared: Arc<TlsShared>,
    limits: Limits,
    /// SIGHUP, listened for from `bind` on: a SIGHUP sent as soon as the
    /// server says it listens must reload it, not end it (the signal's
    /// default action).
    hangups: Option<tokio::signal::unix::Signal>,
}

impl Server {
    /// Loads the configuration and binds the listening socket. Must be
    /// called inside a tokio runtime.
    pub async fn bind(options: ServeOptions) -> Result<Server, ServeError> {
        let key_log: Option<Arc<dyn rustls::KeyLog>> = match &options.keylog {
            Some(path) => Some(Arc::new(KeyLogFile::open(path).map_err(|e| {
                ServeError::File {
                    path: path.clone(),
                    problem: format!(
                        "cannot open the key log ({e}); check --keylog or SSLKEYLOGFILE"
                    ),
                }
            })?)),
            None => None,
        };
        let shared = TlsShared::new(key_log)?;
        let site = options.sources.load(&shared)?;
        let addr = resolve(&options.listen)?;
        let listener = listen(addr, options.limits.backlog).map_err(|e| ServeError::Bind {
            addr: options.listen.clone(),
            reason: match e.kind() {
                std::io::ErrorKind::AddrInUse => format!(
                    "the address is already in use ({e}): another server runs there; stop it or \
                     choose another --listen address"
                ),
                std::io::ErrorKind::PermissionDenied => format!(
                    "permission denied ({e}): ports below 1024 need root; choose a port above 1024"
                ),
                std::io::ErrorKind::AddrNotAvailable => {
                    format!("this machine has no such address ({e}); use 127.0.0.1 or [::1]")
                }
                _ => e.to_string(),
            },
        })?;
        let local_addr = listener.local_addr()?;
        defer_accept(&listener, options.limits.handshake_timeout);
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        Ok(Server {
            hangups,
            reload: ReloadHandle::default(),
            listener,
            local_addr,
            state: Arc::new(ArcSwap::from_pointee(site)),
            sources: Arc::new(ArcSwap::from_pointee(options.sources)),
            refresh: None,
            shared: Arc::new(shared),
            limits: options.limits,
        })
    }

    /// Makes every reload (SIGHUP, or the handle) take its sources from
    /// `refresh` first: `squirrel serve --config FILE` re-reads the file
    /// there, as nginx re-reads its configuration on SIGHUP. A refresh that
    /// fails keeps the running configuration, as a failed load does.
    pub fn refresh_sources_with(&mut self, refresh: RefreshSources) {
        self.refresh = Some(refresh);
    }

    /// A handle that reloads the configuration as SIGHUP does.
    pub fn reload_handle(&self) -> ReloadHandle {
        self.reload.clone()
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the server serves, for telling: URL, banner. Stays true
    /// across reloads and renewals, after `run` took the server.
    pub fn status(&self) -> Status {
        Status {
            state: self.state.clone(),
            local_addr: self.local_addr,
        }
    }

    /// The URL members use.
    pub fn url(&self) -> String {
        self.status().url()
    }

    /// The start-up line: what is served where.
    pub fn banner(&self) -> String {
        self.status().banner()
    }

    /// True when the secret travels in clear.
    pub fn is_plain_http(&self) -> bool {
        self.status().is_plain_http()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish (bounded by the grace period). SIGHUP
    /// reloads certificate, key, client CA, CRL and message.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let Server {
            listener,
            state,
            sources,
            refresh,
            shared,
            limits,
            reload,
            hangups,
            ..
        } = self;
        spawn_reloader(
            state.clone(),
            sources.clone(),
            refresh,
            shared.clone(),
            reload,
            hangups,
        );
        let handshake_timeouts = Arc::new(AtomicU64::new(0));
        spawn_timeout_reporter(handshake_timeouts.clone(), limits.handshake_timeout);
        spawn_message_watcher(state.clone(), sources.clone());
        let protocols = Arc::new(Protocols::new(&limits));
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        tokio::pin!(shutdown);
        let idle = Arc::new(IdleConnections::default());
        loop {
            let (tcp, peer) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // Every slot taken: the connection idle the longest makes room
            // (else the new one waits for a slot, as in the accept queue).
            let permit = match slots.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    if idle.close_oldest() {
                        debug!(
                            "all {} slots taken: closing the oldest idle connection",
                            limits.max_connections
                        );
                    }
                    tokio::select! {
                        _ = &mut shutdown => break,
                        permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                    }
                }
            };
            let connection = Connection {
                state: state.clone(),
                protocols: protocols.clone(),
                watcher: graceful.watcher(),
                limits: limits.clone(),
                peer,
                handshake_timeouts: handshake_timeouts.clone(),
                idle: idle.clone(),
                tracked: idle.register(),
            };
            let (open, tracked) = (idle.clone(), connection.tracked.clone());
            tokio::spawn(async move {
                connection.serve(tcp).await;
                open.unregister(&tracked);
                drop(permit);
            });
        }
        drop(listener);
        report_timeouts(&handshake_timeouts, limits.handshake_timeout);
        info!(
            "stopping: no new connections; waiting up to {:?} for requests in flight",
            limits.shutdown_grace
        );
        let all_closed = async {
            // hyper closes idle connections, lets requests in flight finish
            // (HTTP/1) or sends GOAWAY (HTTP/2); a connection still in its
            // TLS handshake is told as soon as it is watched. Every
            // connection gives its slot back when it ends.
            graceful.shutdown().await;
            let _ = slots.acquire_many(limits.max_connections as u32).await;
        };
        tokio::select! {
            _ = all_closed => info!("stopped"),
            _ = tokio::time::sleep(limits.shutdown_grace) => warn!("stopped after the grace period; some connections were cut"),
        }
        Ok(())
    }
}

pub(crate) fn resolve(listen: &str) -> Result<SocketAddr, ServeError> {
    let bad = |why: String| {
        ServeError::invalid(
            format!("--listen {listen:?} is not a usable address ({why})"),
            "write it like 127.0.0.1:5683, [::1]:5683 or localhost:5683",
        )
    };
    listen
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("it resolves to nothing".into()))
}

/// hyper's two protocols, configured once for every connection.
struct Protocols {
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

impl Protocols {
    fn new(limits: &Limits) -> Protocols {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            // Header and idle timeouts are enforced by `Timeouts`, which is
            // far cheaper than hyper's header timer, re-armed per request
            // (and which would need `.timer()`).
            .header_read_timeout(None::<Duration>)
            // hyper answers 431 when a request's head fills its read buffer.
            .max_buf_size(limits.max_header_bytes.max(8192))
            // Answers are small: one copy into one buffer is cheaper than
            // hyper's queue of buffers for writev.
            .writev(false);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
        Protocols {
            http1: builder.clone().http1_only(),
            http2: builder.http2_only(),
        }
    }
}

/// One accepted connection.
struct Connection {
    state: Arc<ArcSwap<Site>>,
    protocols: Arc<Protocols>,
    watcher: Watcher,
    limits: Limits,
    peer: SocketAddr,
    /// TLS handshakes that timed out, reported by `spawn_timeout_reporter`.
    handshake_timeouts: Arc<AtomicU64>,
    /// Open connections, to close the idle one at the limit.
    idle: Arc<IdleConnections>,
    tracked: Arc<Tracked>,
}

impl Connection {
    async fn serve(self, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        // The configuration this connection's handshake is checked under.
        let site = self.state.load_full();
        let Some(config) = site.tls.clone() else {
            let how = How {
                http2: false,
                tls_version: "-",
                caller: Caller::default(),
                membership: None,
            };
            return self.serve_http(tcp, how).await;
        };
        let accepting = TlsAcceptor::from(config).accept(tcp);
        let stream = match tokio::time::timeout(self.limits.handshake_timeout, accepting).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                warn!(
                    "refused a TLS handshake from {}: {}",
                    self.peer,
                    handshake_failure(&e)
                );
                return;
            }
            Err(_) => {
                // Counted, and told once per interval: a slowloris of
                // thousands of silent connections is one line, not thousands.
                self.handshake_timeouts.fetch_add(1, Ordering::Relaxed);
                debug!(
                    "TLS handshake from {} timed out after {:?}",
                    self.peer, self.limits.handshake_timeout
                );
                return;
            }
        };
        let conn = stream.get_ref().1;
        if conn.alpn_protocol() == Some(ACME_TLS_ALPN) {
            // A tls-alpn-01 validation ends with its handshake (RFC 8737 §3).
            debug!("answered a tls-alpn-01 validation from {}", self.peer);
            return;
        }
        let tls_version = conn
            .protocol_version()
            .and_then(TlsVersion::from_rustls)
            .map_or("TLS", TlsVersion::openssl_name);
        let member = conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| squirrel_pki::describe::holder_name(leaf));
        let how = How {
            http2: conn.alpn_protocol() == Some(b"h2"),
            tls_version,
            caller: Caller::new(member),
            membership: Membership::of(conn.peer_certificates(), &site),
        };
        self.serve_http(stream, how).await
    }

    /// Answers every request of the connection, HTTP/1.x or HTTP/2, until
    /// the client leaves, a limit is reached or the server stops.
    async fn serve_http<IO>(self, stream: IO, how: How)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let headers_done = Arc::new(HeadersDone::default());
        let io = Timeouts::new(
            stream,
            (self.limits.header_timeout, self.limits.idle_timeout),
            self.limits.max_header_bytes,
            headers_done.clone(),
            how.http2,
        );
        let peer = self.peer;
        let state = self.state;
        let (idle, tracked) = (self.idle.clone(), self.tracked.clone());
        let How {
            http2,
            tls_version,
            caller,
            membership,
        } = how;
        let caller = Arc::new(caller);
        let log_caller = caller.clone();
        let membership = membership.map(Arc::new);
        let service = service_fn(move |req: Request<Incoming>| {
            let repeated_length = headers_done.mark();
            idle.busy(&tracked);
            let started = Instant::now();
            let site = state.load();
            let res = match membership.as_ref().and_then(|m| m.recheck(&site)) {
                Some((why, refused)) => {
                    warn!("closed the connection of {peer} after a reload: {why}");
                    refused
                }
                None if repeated_length => routes::repeated_content_length(),
                None => respond(&site, &caller, &req),
            };
            access::record(peer, &req, &res, started, tls_version, &caller);
            idle.idle(&tracked);
            std::future::ready(Ok::<_, Infallible>(res))
        });
        let protocol = if http2 {
            &self.protocols.http2
        } else {
            &self.protocols.http1
        };
        let conn = protocol.serve_connection(TokioIo::new(io), service);
        tokio::select! {
            ended = self.watcher.watch(conn.into_owned()) => if let Err(e) = ended {
                match access::refusal(e.as_ref()) {
                    Some((status, reason)) => {
                        access::refused(peer, status, reason, tls_version, &log_caller);
                    }
                    None => debug!("connection from {peer} ended: {e}"),
                }
            },
            () = self.tracked.close.notified() => {
                debug!("closed the idle connection from {peer} to make room");
            }
        }
    }
}

/// What the connection learnt before its first request.
struct How {
    /// ALPN chose HTTP/2.
    http2: bool,
    /// "TLSv1.3", "TLSv1.2", or "-" for plain HTTP.
    tls_version: &'static str,
    caller: Caller,
    /// A member's certificate, checked again after reloads.
    membership: Option<Membership>,
}

/// Every ten seconds, one WARN line for the TLS handshakes that timed out
/// in that interval, if any (and a last one when the server stops).
fn spawn_timeout_reporter(count: Arc<AtomicU64>, limit: Duration) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(10));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            report_timeouts(&count, limit);
        }
    });
}

/// Tells the handshakes that timed out since the last report, if any.
fn report_timeouts(count: &AtomicU64, limit: Duration) {
    let n = count.swap(0, Ordering::Relaxed);
    if n > 0 {
        warn!("{n} TLS handshake(s) timed out after {limit:?} since the last report");
    }
}

/// Listens for SIGTERM and SIGINT (Ctrl-C); the future completes on the
/// first of them, naming it. Listening starts now, not when the future is
/// first polled, so that a server that could not be stopped cleanly does
/// not start: the error is the caller's to report. Must be called inside a
/// tokio runtime.
pub fn stop_signal() -> Result<impl Future<Output = &'static str>, ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind: SignalKind, name: &'static str| {
        signal(kind).map_err(|reason| ServeError::Signal { name, reason })
    };
    let mut term = listen(SignalKind::terminate(), "SIGTERM")?;
    let mut int = listen(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    })
}
