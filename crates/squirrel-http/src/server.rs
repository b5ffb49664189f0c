//! `squirrel serve`: the secret server, tutorial steps 1, 7, 13 and 16, as a
//! server people would run for real: limits against abuse, reload without
//! a restart, graceful stop, one access-log line per request.

use crate::error::ServeError;
use crate::h1::H1Context;
use crate::keylog::KeyLogFile;
use crate::routes::{respond, Caller};
use crate::site::{stamp, Site, SiteSources};
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
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, error, info, warn};

/// Limits against abuse; every one has a flag.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Time allowed for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed to receive a request's headers, from their first byte
    /// (nginx's client_header_timeout); HTTP/1 only.
    pub header_timeout: Duration,
    /// A connection on which nothing moves for this long is closed.
    pub idle_timeout: Duration,
    /// Larger request headers get 431.
    pub max_header_bytes: usize,
    /// Connections beyond this wait in the kernel's accept queue.
    pub max_connections: usize,
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

/// Asks a running server to reload, as SIGHUP does (for programs that run
/// a server in-process, like `squirrel demo`).
#[derive(Clone, Default)]
pub struct ReloadHandle(Arc<tokio::sync::Notify>);

impl ReloadHandle {
    pub fn reload(&self) {
        self.0.notify_one();
    }
}

/// A bound server, ready to run.
pub struct Server {
    reload: ReloadHandle,
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<ArcSwap<Site>>,
    sources: Arc<SiteSources>,
    shared: Arc<TlsShared>,
    limits: Limits,
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
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Bind {
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
        Ok(Server {
            reload: ReloadHandle::default(),
            listener,
            local_addr,
            state: Arc::new(ArcSwap::from_pointee(site)),
            sources: Arc::new(options.sources),
            shared: Arc::new(shared),
            limits: options.limits,
        })
    }

    /// A handle that reloads the configuration as SIGHUP does.
    pub fn reload_handle(&self) -> ReloadHandle {
        self.reload.clone()
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL members use.
    pub fn url(&self) -> String {
        let site = self.state.load();
        let ip = self.local_addr.ip();
        let host = match (&site.cert, ip.is_loopback() || ip.is_unspecified()) {
            (Some(cert), true) if cert.first_dns_name.is_some() => {
                cert.first_dns_name.clone().unwrap_or_default()
            }
            _ if ip.is_ipv6() => format!("[{ip}]"),
            _ => ip.to_string(),
        };
        let scheme = if site.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{host}:{}", self.local_addr.port())
    }

    /// The start-up line: what is served where.
    pub fn banner(&self) -> String {
        let site = self.state.load();
        let mut line = format!("Serving the secret on {}", self.url());
        match &site.cert {
            Some(cert) => {
                line.push_str(&format!(
                    " (TLS 1.3/1.2; certificate {}, valid until {}",
                    cert.holder, cert.not_after
                ));
                if site.members_only {
                    line.push_str("; members only: a client certificate is required");
                }
                line.push(')');
            }
            None => line.push_str(" (plain HTTP)"),
        }
        if site.fernet.is_some() {
            line.push_str(", each body a fresh Fernet token");
        }
        line
    }

    /// True when the secret travels in clear.
    pub fn is_plain_http(&self) -> bool {
        self.state.load().tls.is_none()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish (bounded by the grace period). SIGHUP
    /// reloads certificate, key, client CA, CRL and message.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let Server {
            listener,
            state,
            sources,
            shared,
            limits,
            reload,
            ..
        } = self;
        spawn_reloader(state.clone(), sources.clone(), shared.clone(), reload);
        if let Some(path) = sources.message_file() {
            spawn_message_watcher(state.clone(), sources.clone(), path.to_path_buf());
        }
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            // Header and idle timeouts are enforced by `Timeouts`, which is
            // far cheaper than hyper's per-request header timer.
            .timer(TokioTimer::new())
            .header_read_timeout(None::<Duration>)
            .max_buf_size(limits.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(limits.max_header_bytes as u32);
        let builder = Arc::new(builder);
        let graceful = GracefulShutdown::new();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            };
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
            let connection = Connection {
                state: state.clone(),
                builder: builder.clone(),
                watcher: graceful.watcher(),
                stopping: stop_rx.clone(),
                limits: limits.clone(),
                peer,
            };
            tokio::spawn(async move {
                connection.serve(tcp).await;
                drop(permit);
            });
        }
        drop(listener);
        info!(
            "stopping: no new connections; waiting up to {:?} for requests in flight",
            limits.shutdown_grace
        );
        let _ = stop_tx.send(true);
        let all_closed = async {
            // HTTP/2 connections close through hyper; every connection
            // gives its slot back when it ends.
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

/// TCP_DEFER_ACCEPT: a connection is handed to the server only once the
/// client has sent something (in HTTP and TLS the client speaks first), so
/// the server is not woken for connections that have nothing to say yet.
/// nginx offers the same as `listen ... deferred`. Best effort.
fn defer_accept(listener: &TcpListener, limit: Duration) {
    use std::os::fd::AsRawFd;
    let seconds: libc::c_int = limit.as_secs().clamp(1, 60) as libc::c_int;
    // SAFETY: a valid socket descriptor, an int option of the right size.
    let _ = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

fn resolve(listen: &str) -> Result<SocketAddr, ServeError> {
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

/// One accepted connection.
struct Connection {
    state: Arc<ArcSwap<Site>>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: Watcher,
    stopping: tokio::sync::watch::Receiver<bool>,
    limits: Limits,
    peer: SocketAddr,
}

impl Connection {
    async fn serve(self, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        let headers_done = Arc::new(HeadersDone::default());
        let tls = self.state.load().tls.clone();
        let Some(config) = tls else {
            let io = Timeouts::new(
                tcp,
                Some(self.limits.header_timeout),
                self.limits.idle_timeout,
                headers_done.clone(),
            );
            return self
                .serve_h1(io, "-", Caller::default(), headers_done)
                .await;
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
                warn!(
                    "TLS handshake from {} timed out after {:?}",
                    self.peer, self.limits.handshake_timeout
                );
                return;
            }
        };
        let conn = stream.get_ref().1;
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "TLS",
        };
        let member = conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| squirrel_pki::describe::holder_name(leaf));
        let caller = Caller { member };
        if conn.alpn_protocol() == Some(b"h2") {
            // HTTP/2 interleaves requests: only the idle timeout applies.
            let io = Timeouts::new(stream, None, self.limits.idle_timeout, headers_done.clone());
            self.serve_h2(io, version, caller, headers_done).await
        } else {
            let io = Timeouts::new(
                stream,
                Some(self.limits.header_timeout),
                self.limits.idle_timeout,
                headers_done.clone(),
            );
            self.serve_h1(io, version, caller, headers_done).await
        }
    }

    async fn serve_h1<IO>(
        self,
        io: IO,
        tls_version: &'static str,
        caller: Caller,
        headers_done: Arc<HeadersDone>,
    ) where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let context = H1Context {
            state: self.state,
            caller,
            peer: self.peer,
            tls_version,
            headers_done,
            max_header_bytes: self.limits.max_header_bytes,
            stopping: self.stopping,
        };
        crate::h1::serve(io, context).await
    }

    async fn serve_h2<IO>(
        self,
        io: IO,
        tls_version: &'static str,
        caller: Caller,
        headers_done: Arc<HeadersDone>,
    ) where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let state = self.state.clone();
        let caller = Arc::new(caller);
        let service = service_fn(move |req: Request<Incoming>| {
            headers_done.mark();
            let started = Instant::now();
            let site = state.load();
            let res = respond(&site, &caller, &req);
            if tracing::enabled!(target: "squirrel::access", tracing::Level::INFO) {
                use hyper::body::Body;
                let bytes = res.body().size_hint().exact().unwrap_or(0);
                info!(
                    target: "squirrel::access",
                    "{peer} \"{} {} {:?}\" {} {bytes} {:.3}ms {tls_version} {}",
                    req.method(),
                    req.uri().path(),
                    req.version(),
                    res.status().as_u16(),
                    started.elapsed().as_secs_f64() * 1000.0,
                    caller.member.as_deref().unwrap_or("-"),
                );
            }
            std::future::ready(Ok::<_, Infallible>(res))
        });
        let conn = self.builder.serve_connection(TokioIo::new(io), service);
        if let Err(e) = self.watcher.watch(conn.into_owned()).await {
            debug!("connection from {peer} ended: {e}");
        }
    }
}

fn spawn_reloader(
    state: Arc<ArcSwap<Site>>,
    sources: Arc<SiteSources>,
    shared: Arc<TlsShared>,
    asked: ReloadHandle,
) {
    tokio::spawn(async move {
        let mut hangups =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        if hangups.is_none() {
            warn!("cannot listen for SIGHUP: reload by restarting");
        }
        loop {
            let why = tokio::select! {
                Some(()) = next_hangup(&mut hangups) => "SIGHUP",
                () = asked.0.notified() => "asked",
            };
            let sources = sources.clone();
            let shared = shared.clone();
            match tokio::task::spawn_blocking(move || sources.load(&shared)).await {
                Ok(Ok(site)) => {
                    state.store(Arc::new(site));
                    info!("reloaded certificate, key, client CA, CRL and message ({why})");
                }
                Ok(Err(e)) => error!("reload failed, keeping the previous configuration: {e}"),
                Err(e) => error!("reload failed, keeping the previous configuration: {e}"),
            }
        }
    });
}

/// The next SIGHUP, or never when it cannot be listened for.
async fn next_hangup(hangups: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match hangups.as_mut() {
        Some(h) => h.recv().await,
        None => std::future::pending().await,
    }
}

fn spawn_message_watcher(state: Arc<ArcSwap<Site>>, sources: Arc<SiteSources>, path: PathBuf) {
    tokio::spawn(async move {
        let mut last = stamp(&path);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let now = stamp(&path);
            if now == last {
                continue;
            }
            last = now;
            match sources.load_message() {
                Ok(message) => {
                    let site = state.load();
                    if site.message != message {
                        state.store(Arc::new(site.with_message(message)));
                        info!("the secret changed: {} was re-read", path.display());
                    }
                }
                Err(e) => error!("keeping the previous secret: {e}"),
            }
        }
    });
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
