//! The server in-process, over real TCP: a `Server` bound on 127.0.0.1:0
//! answers a table of raw HTTP/1 requests (exact bytes in, exact bytes out,
//! but for the date), and HTTPS with a CA made by squirrel-pki, over
//! HTTP/1.1 and HTTP/2 (ALPN), with a member's client certificate.

mod common;

use bytes::Bytes;
use common::{make_pki, Pki};
use rustls::pki_types::{CertificateDer, ServerName};
use squirrel_http::routes::MEMBER_HEADER;
use squirrel_http::{
    Limits, MessageSource, ReloadHandle, ServeOptions, Server, SiteSources, TlsFiles,
};
use squirrel_pki::PrivateKey;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in the test's runtime; stopped by `stop`.
struct Running {
    addr: SocketAddr,
    reload: ReloadHandle,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    async fn start(tls: Option<TlsFiles>) -> Running {
        Running::start_with(
            tls,
            Limits {
                shutdown_grace: Duration::from_secs(2),
                ..Limits::default()
            },
        )
        .await
    }

    async fn start_with(tls: Option<TlsFiles>, limits: Limits) -> Running {
        let options = ServeOptions {
            listen: "127.0.0.1:0".into(),
            sources: SiteSources {
                message: MessageSource::Text("fluffy tail".into()),
                tls,
                fernet: None,
            },
            keylog: None,
            limits,
        };
        let server = Server::bind(options).await.expect("the server binds");
        let addr = server.local_addr();
        let reload = server.reload_handle();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let until = async {
                let _ = stopped.await;
            };
            server.run(until).await.expect("the server runs");
        });
        Running {
            addr,
            reload,
            stop,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the server stops within its grace period")
            .expect("the server task does not panic");
    }
}

/// Writes `request` and reads until the server closes the connection.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, request: &[u8]) -> String {
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                // A server that closes with part of a request unread
                // resets the connection; what came before still counts.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("reading the answer: {e}"),
            }
        }
    });
    read.await.expect("the server closes the connection");
    dated(&String::from_utf8_lossy(&out))
}

/// The answer with every `date` header's value replaced by `DATE`.
fn dated(raw: &str) -> String {
    raw.split("\r\n")
        .map(|line| match line.split_once(": ") {
            Some((name, _)) if name.eq_ignore_ascii_case("date") => "date: DATE",
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A real date is 29 characters, `DATE` 4.
const DATE_PAD: usize = 25;

const TEXT: &str = "content-type: text/plain; charset=utf-8";
const SERVER: &str = "server: squirrel";
const NO_STORE: &str = "cache-control: no-store";
const CLOSE: &str = "connection: close";
const NOT_FOUND: &str = "not found: the secret is at /\n";
const NO_HOST: &str = "bad request: HTTP/1.1 needs exactly one Host header\n";
const TWO_LENGTHS: &str = "bad request: give one Content-Length header with one number\n";

/// An HTTP/1 answer as hyper writes it: the status line, the route's
/// headers and hyper's `connection` in `headers`, then hyper's
/// `content-length` and `date`, then the body.
fn http1(status: &str, headers: &[&str], body: &str) -> String {
    let mut out = format!("{status}\r\n");
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "content-length: {}\r\ndate: DATE\r\n\r\n{body}",
        body.len()
    ));
    out
}

/// The answer to HEAD: the headers of GET, but `content-length` comes
/// from the routes (before hyper's `connection`), and no body.
fn head(status: &str, headers: &[&str], body: &str) -> String {
    let length = format!("content-length: {}", body.len());
    let (hyper, route): (Vec<&str>, Vec<&str>) =
        headers.iter().partition(|h| h.starts_with("connection:"));
    let mut out = format!("{status}\r\n");
    for header in route.iter().chain([&length.as_str()]).chain(&hyper) {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("date: DATE\r\n\r\n");
    out
}

const OK: &str = "HTTP/1.1 200 OK";
const OK_10: &str = "HTTP/1.0 200 OK";

#[tokio::test]
async fn plain_http_answers_the_table_exactly() {
    let server = Running::start(None).await;
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let secret = "fluffy tail";
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "good GET",
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            http1(OK, &[TEXT, SERVER, NO_STORE, CLOSE], secret),
        ),
        (
            "HEAD: the headers of GET, no body",
            b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            head(OK, &[TEXT, SERVER, NO_STORE, CLOSE], secret),
        ),
        (
            "404 elsewhere",
            b"GET /acorns HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            http1("HTTP/1.1 404 Not Found", &[TEXT, SERVER, CLOSE], NOT_FOUND),
        ),
        (
            "405 with Allow for other methods; the body is skipped",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            http1(
                "HTTP/1.1 405 Method Not Allowed",
                &[TEXT, SERVER, "allow: GET, HEAD"],
                "method not allowed: use GET or HEAD\n",
            ) + &http1(OK, &[TEXT, SERVER, CLOSE], "ok\n"),
        ),
        (
            "431 for headers over the limit",
            huge.into_bytes(),
            http1("HTTP/1.1 431 Request Header Fields Too Large", &[CLOSE], ""),
        ),
        (
            "400 for a malformed request line",
            b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n".to_vec(),
            http1("HTTP/1.1 400 Bad Request", &[CLOSE], ""),
        ),
        (
            "400 for something that is not HTTP (a TLS hello)",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n".to_vec(),
            http1("HTTP/1.1 400 Bad Request", &[CLOSE], ""),
        ),
        (
            "pipelined requests, answered in order",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            http1(OK, &[TEXT, SERVER, NO_STORE], secret)
                + &head(OK, &[TEXT, SERVER], "ok\n")
                + &http1("HTTP/1.1 404 Not Found", &[TEXT, SERVER, CLOSE], NOT_FOUND),
        ),
        (
            "400 for HTTP/1.1 without Host (RFC 9112 3.2), and the connection closes",
            b"GET /healthz?probe=1 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            http1("HTTP/1.1 400 Bad Request", &[TEXT, SERVER, CLOSE], NO_HOST),
        ),
        (
            "400 for two Host headers",
            b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n".to_vec(),
            http1("HTTP/1.1 400 Bad Request", &[TEXT, SERVER, CLOSE], NO_HOST),
        ),
        (
            "400 for a repeated Content-Length, even equal (as nginx), and the connection closes",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            http1("HTTP/1.1 400 Bad Request", &[TEXT, SERVER, CLOSE], TWO_LENGTHS),
        ),
        (
            "400 for conflicting Content-Length values (hyper)",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(),
            http1("HTTP/1.1 400 Bad Request", &[CLOSE], ""),
        ),
        (
            "400 for a signed Content-Length (hyper)",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc".to_vec(),
            http1("HTTP/1.1 400 Bad Request", &[CLOSE], ""),
        ),
        (
            "400 for an overflowing Content-Length (hyper)",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
            http1("HTTP/1.1 400 Bad Request", &[CLOSE], ""),
        ),
        (
            "HTTP/1.0: one answer, then the server closes",
            b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n".to_vec(),
            http1(OK_10, &[TEXT, SERVER, NO_STORE], secret),
        ),
        (
            "HTTP/1.0 with keep-alive",
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n".to_vec(),
            http1(OK_10, &[TEXT, SERVER, NO_STORE, "connection: keep-alive"], secret)
                + &http1(OK_10, &[TEXT, SERVER], "ok\n"),
        ),
    ];
    for (name, request, want) in cases {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        assert_eq!(exchange(&mut tcp, &request).await, want, "{name}");
    }
    server.stop().await;
}

#[tokio::test]
async fn browsers_get_a_page_and_keep_alive_holds() {
    let server = Running::start(None).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    // One request at a time on one connection: each answer, then the next.
    let want = http1(OK, &[TEXT, SERVER, NO_STORE], "fluffy tail");
    for _ in 0..3 {
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = vec![0u8; want.len() + DATE_PAD];
        tcp.read_exact(&mut answer).await.unwrap();
        assert_eq!(dated(&String::from_utf8_lossy(&answer)), want);
    }
    let browser = "GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nConnection: close\r\n\r\n";
    let page = exchange(&mut tcp, browser.as_bytes()).await;
    let html_head = format!(
        "{OK}\r\ncontent-type: text/html; charset=utf-8\r\n{SERVER}\r\n{NO_STORE}\r\n{CLOSE}\r\n"
    );
    assert!(page.starts_with(&html_head), "{page}");
    assert!(
        page.contains("<h1>The secret message is: <span id=\"secret\">fluffy tail</span></h1>"),
        "{page}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_stop_closes_idle_connections_and_lets_answers_finish() {
    let server = Running::start(None).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let want = http1(OK, &[TEXT, SERVER, NO_STORE], "fluffy tail");
    let mut answer = vec![0u8; want.len() + DATE_PAD];
    idle.read_exact(&mut answer).await.unwrap();
    assert_eq!(dated(&String::from_utf8_lossy(&answer)), want);
    server.stop().await;
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).await.unwrap(), 0, "closed");
}

/// A TLS connection to `addr` as the member, offering `alpn`.
async fn connect_tls(
    pki: &Pki,
    addr: SocketAddr,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(pki.ca_der.clone())).unwrap();
    let key = PrivateKey::from_pem(&std::fs::read(&pki.member_key).unwrap(), None).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            pki.member_chain
                .iter()
                .cloned()
                .map(CertificateDer::from)
                .collect(),
            key.to_rustls(),
        )
        .unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("the handshake succeeds");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(alpn));
    tls
}

#[tokio::test]
async fn https_serves_members_over_http1_and_http2() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let server = Running::start(Some(pki.files.clone())).await;

    let mut h1 = connect_tls(&pki, server.addr, b"http/1.1").await;
    let answer = exchange(
        &mut h1,
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\nGET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        answer,
        http1(
            OK,
            &[TEXT, SERVER, NO_STORE, "x-squirrel-member: alice"],
            "fluffy tail"
        ) + &http1("HTTP/1.1 404 Not Found", &[TEXT, SERVER, CLOSE], NOT_FOUND)
    );

    // ALPN http/1.0, as `curl --http1.0 https://...` offers it (and nginx
    // accepts it).
    let mut h10 = connect_tls(&pki, server.addr, b"http/1.0").await;
    let answer = exchange(&mut h10, b"GET / HTTP/1.0\r\n\r\n").await;
    assert_eq!(
        answer,
        http1(
            OK_10,
            &[TEXT, SERVER, NO_STORE, "x-squirrel-member: alice"],
            "fluffy tail"
        )
    );

    let h2 = connect_tls(&pki, server.addr, b"h2").await;
    let (mut client, connection) = h2::client::handshake(h2).await.expect("HTTP/2 starts");
    let driver = tokio::spawn(connection);
    let mut answers = Vec::new();
    for (method, path) in [("GET", "/"), ("HEAD", "/"), ("GET", "/nope"), ("PUT", "/")] {
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("https://localhost{path}"))
            .body(())
            .unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        let response = response.await.expect("an HTTP/2 answer");
        let (head, mut body) = response.into_parts();
        let mut bytes = Vec::new();
        if method == "HEAD" {
            // (h2 checks DATA against content-length, HEAD or not: no reading.)
            assert!(body.is_end_stream(), "HEAD has no body");
        }
        while !body.is_end_stream() {
            match body.data().await {
                Some(chunk) => bytes.extend_from_slice(&chunk.unwrap()),
                None => break,
            }
        }
        let mut headers: Vec<String> = head
            .headers
            .iter()
            .filter(|(name, _)| *name != "date")
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        headers.sort();
        answers.push((head.status.as_u16(), headers.join(", "), Bytes::from(bytes)));
    }
    drop(client);
    let text = TEXT;
    let secret_headers = format!("cache-control: no-store, content-length: 11, {text}, server: squirrel, {MEMBER_HEADER}: alice");
    assert_eq!(
        answers,
        vec![
            (
                200,
                secret_headers.clone(),
                Bytes::from_static(b"fluffy tail")
            ),
            (200, secret_headers, Bytes::new()),
            (
                404,
                format!("content-length: 30, {text}, server: squirrel"),
                Bytes::from_static(NOT_FOUND.as_bytes())
            ),
            (
                405,
                format!("allow: GET, HEAD, content-length: 36, {text}, server: squirrel"),
                Bytes::from_static(b"method not allowed: use GET or HEAD\n")
            ),
        ]
    );
    server.stop().await;
    let _ = driver.await;
}

/// Reads one HTTP/1 answer whose body ends with `last`.
async fn read_answer<S: AsyncRead + Unpin>(stream: &mut S, last: &str) -> String {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&out).ends_with(last) {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn a_member_revoked_by_a_reload_loses_the_connections_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let crl = dir.path().join("crl.pem");
    std::fs::write(&crl, pki.ca.crl(7).unwrap()).unwrap();
    let files = TlsFiles {
        crl: Some(crl.clone()),
        legacy_client_ca: false,
        live: None,
        ..pki.files.clone()
    };
    let server = Running::start(Some(files)).await;
    let get = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

    // Two keep-alive connections, HTTP/1.1 and HTTP/2, opened while alice
    // is a member.
    let mut h1 = connect_tls(&pki, server.addr, b"http/1.1").await;
    h1.write_all(get).await.unwrap();
    assert!(read_answer(&mut h1, "fluffy tail").await.starts_with(OK));
    let h2 = connect_tls(&pki, server.addr, b"h2").await;
    let (mut client, connection) = h2::client::handshake(h2).await.expect("HTTP/2 starts");
    let driver = tokio::spawn(connection);
    let status = |client: &mut h2::client::SendRequest<Bytes>| {
        let request = hyper::Request::get("https://localhost/").body(()).unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        async move { response.await.unwrap().status().as_u16() }
    };
    assert_eq!(status(&mut client).await, 200);

    // A reload that changes nothing keeps serving her.
    server.reload.reload_and_wait().await;
    h1.write_all(get).await.unwrap();
    assert!(read_answer(&mut h1, "fluffy tail").await.starts_with(OK));

    // Revoked, a new CRL, a reload: her open connections are refused.
    pki.ca
        .revoke(&pki.member_serial, "affiliationChanged".parse().unwrap())
        .unwrap();
    std::fs::write(&crl, pki.ca.crl(7).unwrap()).unwrap();
    server.reload.reload_and_wait().await;
    let refused = exchange(&mut h1, get).await;
    assert_eq!(
        refused,
        http1(
            "HTTP/1.1 403 Forbidden",
            &[TEXT, CLOSE],
            "not a member any more: the client's certificate is revoked; the connection is closed\n"
        )
    );
    assert_eq!(status(&mut client).await, 403);
    drop(client);
    let _ = driver.await;
    server.stop().await;
}

#[tokio::test]
async fn at_the_limit_the_oldest_idle_connection_makes_room() {
    let server = Running::start_with(
        None,
        Limits {
            max_connections: 2,
            shutdown_grace: Duration::from_secs(2),
            ..Limits::default()
        },
    )
    .await;
    let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    // Two keep-alive clients take both slots, answer, and sit idle.
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first.write_all(get).await.unwrap();
    assert!(read_answer(&mut first, "fluffy tail").await.starts_with(OK));
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    second.write_all(get).await.unwrap();
    assert!(read_answer(&mut second, "fluffy tail")
        .await
        .starts_with(OK));
    // A third is answered at once (the idle timeout is 60 s): the first,
    // idle the longest, was closed for it.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(get).await.unwrap();
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        read_answer(&mut third, "fluffy tail"),
    )
    .await
    .expect("the third client is served without waiting for an idle timeout");
    assert!(answer.starts_with(OK));
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "the oldest idle connection was closed"
    );
    second.write_all(get).await.unwrap();
    assert!(read_answer(&mut second, "fluffy tail")
        .await
        .starts_with(OK));
    server.stop().await;
}

/// An HTTP/2 frame: length, type, flags, stream, payload (RFC 9113 4.1).
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Starts HTTP/2 by hand over TLS: the preface and an empty SETTINGS.
async fn raw_h2(pki: &Pki, addr: SocketAddr) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut tls = connect_tls(pki, addr, b"h2").await;
    let mut start = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    start.extend(h2_frame(0x4, 0, 0, &[]));
    tls.write_all(&start).await.unwrap();
    tls
}

/// Sends a PING every 200 ms (if `ping`) until the server closes the
/// connection; returns how long that took (or `None` after `give_up`).
async fn until_closed<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    ping: bool,
    give_up: Duration,
) -> Option<Duration> {
    let started = std::time::Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    while started.elapsed() < give_up {
        if ping
            && stream
                .write_all(&h2_frame(0x6, 0, 0, &[1; 8]))
                .await
                .is_err()
        {
            return Some(started.elapsed());
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            _ => {}
        }
    }
    None
}

#[tokio::test]
async fn http2_pings_keep_nothing_alive_and_open_header_blocks_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let server = Running::start_with(
        Some(pki.files.clone()),
        Limits {
            idle_timeout: Duration::from_secs(1),
            header_timeout: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(2),
            ..Limits::default()
        },
    )
    .await;
    // Only PINGs (answered, but not a request): closed at the idle timeout.
    let mut pinger = raw_h2(&pki, server.addr).await;
    let closed = until_closed(&mut pinger, true, Duration::from_secs(10)).await;
    assert!(
        closed.is_some_and(|t| t > Duration::from_millis(800) && t < Duration::from_secs(4)),
        "a PING-only connection outlived the 1 s idle timeout: {closed:?}"
    );

    // HEADERS without END_HEADERS, then silence: cut at the header timeout
    // though the idle timeout is longer. (A PING there would be a protocol
    // error: only CONTINUATION may follow.)
    drop(server);
    let server = Running::start_with(
        Some(pki.files.clone()),
        Limits {
            idle_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(2),
            ..Limits::default()
        },
    )
    .await;
    let mut unfinished = raw_h2(&pki, server.addr).await;
    // :method GET, :scheme https, :path / (HPACK static table), no END_HEADERS.
    let headers = h2_frame(0x1, 0x1, 1, &[0x82, 0x87, 0x84]);
    unfinished.write_all(&headers).await.unwrap();
    let closed = until_closed(&mut unfinished, false, Duration::from_secs(10)).await;
    assert!(
        closed.is_some_and(|t| t > Duration::from_millis(800) && t < Duration::from_secs(4)),
        "an unfinished header block outlived the 1 s header timeout: {closed:?}"
    );

    // A finished request is answered as usual.
    let h2 = connect_tls(&pki, server.addr, b"h2").await;
    let (client, connection) = h2::client::handshake(h2).await.expect("HTTP/2 starts");
    let driver = tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = hyper::Request::get("https://localhost/").body(()).unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    assert_eq!(response.await.unwrap().status(), 200);
    drop(client);
    let _ = driver.await;
    server.stop().await;
}
