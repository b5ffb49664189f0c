//! HTTP/1.x for the secret, written by hand: the requests squirrel answers
//! are tiny GETs, and a general-purpose HTTP stack spends more time on them
//! than the kernel does. One read, parse every complete request in the
//! buffer with `httparse`, one write of every answer: one `recv` and one
//! `writev` per request, as nginx does. HTTP/2 goes to hyper.
//!
//! Requests with a body (none of the routes takes one) are answered and the
//! connection is closed, so bodies are never parsed.

use crate::routes::{reply, Caller, Reply};
use crate::site::Site;
use crate::timeouts::HeadersDone;
use arc_swap::ArcSwap;
use bytes::{Buf, BytesMut};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tracing::{debug, info};

/// What a connection needs to answer its requests.
pub struct H1Context {
    pub state: Arc<ArcSwap<Site>>,
    pub caller: Caller,
    pub peer: SocketAddr,
    pub tls_version: &'static str,
    pub headers_done: Arc<HeadersDone>,
    pub max_header_bytes: usize,
    /// Becomes true when the server stops: finish and close.
    pub stopping: watch::Receiver<bool>,
}

const MAX_HEADERS: usize = 64;

/// Serves HTTP/1.x requests on `io` until the client closes, an error, or
/// the server stops.
pub async fn serve<IO>(mut io: IO, mut ctx: H1Context)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut input = BytesMut::with_capacity(4096);
    let mut output: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let mut close = false;
        while !input.is_empty() && !close {
            match parse_one(&input, &ctx, &mut output) {
                Parsed::Answered {
                    consumed,
                    keep_alive,
                } => {
                    input.advance(consumed);
                    close = !keep_alive;
                }
                Parsed::Partial => break,
                Parsed::Rejected(status) => {
                    write_error(&mut output, status);
                    close = true;
                }
            }
        }
        if !close && input.len() > ctx.max_header_bytes {
            write_error(&mut output, 431);
            close = true;
        }
        if !output.is_empty() {
            if let Err(e) = io.write_all(&output).await {
                debug!("connection from {} ended: {e}", ctx.peer);
                return;
            }
            output.clear();
        }
        if close || *ctx.stopping.borrow() {
            let _ = io.shutdown().await;
            return;
        }
        if input.capacity() - input.len() < 1024 {
            input.reserve(4096);
        }
        tokio::select! {
            read = io.read_buf(&mut input) => match read {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) => {
                    debug!("connection from {} ended: {e}", ctx.peer);
                    return;
                }
            },
            _ = ctx.stopping.changed() => {
                if input.is_empty() {
                    let _ = io.shutdown().await;
                    return;
                }
            }
        }
    }
}

enum Parsed {
    Answered { consumed: usize, keep_alive: bool },
    Partial,
    Rejected(u16),
}

fn parse_one(input: &[u8], ctx: &H1Context, output: &mut Vec<u8>) -> Parsed {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let consumed = match req.parse(input) {
        Ok(httparse::Status::Complete(n)) if n > ctx.max_header_bytes => {
            return Parsed::Rejected(431)
        }
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Rejected(431),
        Err(httparse::Error::Version) => return Parsed::Rejected(505),
        Err(_) => return Parsed::Rejected(400),
    };
    ctx.headers_done.mark();
    let started = Instant::now();
    let method = req.method.unwrap_or("");
    let path = req.path.unwrap_or("/");
    let minor = req.version.unwrap_or(1);
    let mut accept = None;
    let mut wants_close = minor == 0;
    let mut has_body = false;
    for header in req.headers.iter() {
        if header.name.eq_ignore_ascii_case("accept") {
            accept = std::str::from_utf8(header.value).ok();
        } else if header.name.eq_ignore_ascii_case("connection") {
            let value = header.value.to_ascii_lowercase();
            if value.windows(5).any(|w| w == b"close") {
                wants_close = true;
            } else if value.windows(10).any(|w| w == b"keep-alive") {
                wants_close = false;
            }
        } else if header.name.eq_ignore_ascii_case("content-length") {
            has_body |= header.value != b"0";
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            has_body = true;
        }
    }
    let keep_alive = !wants_close && !has_body;
    let site = ctx.state.load();
    let answer = reply(&site, &ctx.caller, method, path, accept);
    let bytes = answer.body.len();
    write_reply(output, &answer, method == "HEAD", keep_alive, minor);
    if tracing::enabled!(target: "squirrel::access", tracing::Level::INFO) {
        info!(
            target: "squirrel::access",
            "{} \"{method} {path} HTTP/1.{minor}\" {} {bytes} {:.3}ms {} {}",
            ctx.peer,
            answer.status.as_u16(),
            started.elapsed().as_secs_f64() * 1000.0,
            ctx.tls_version,
            ctx.caller.member.as_deref().unwrap_or("-"),
        );
    }
    Parsed::Answered {
        consumed,
        keep_alive,
    }
}

fn write_reply(out: &mut Vec<u8>, reply: &Reply, head_only: bool, keep_alive: bool, minor: u8) {
    let status = reply.status;
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\ncontent-type: ");
    out.extend_from_slice(reply.content_type.as_bytes());
    out.extend_from_slice(b"\r\ncontent-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(reply.body.len()).as_bytes());
    out.extend_from_slice(b"\r\nserver: squirrel\r\ndate: ");
    with_date(|date| out.extend_from_slice(date));
    if reply.no_store {
        out.extend_from_slice(b"\r\ncache-control: no-store");
    }
    if reply.allow {
        out.extend_from_slice(b"\r\nallow: GET, HEAD");
    }
    if let Some(member) = &reply.member {
        if member.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            out.extend_from_slice(b"\r\nx-squirrel-member: ");
            out.extend_from_slice(member.as_bytes());
        }
    }
    if !keep_alive {
        out.extend_from_slice(b"\r\nconnection: close");
    } else if minor == 0 {
        out.extend_from_slice(b"\r\nconnection: keep-alive");
    }
    out.extend_from_slice(b"\r\n\r\n");
    if !head_only {
        out.extend_from_slice(&reply.body);
    }
}

fn write_error(out: &mut Vec<u8>, status: u16) {
    let (line, body): (&[u8], &[u8]) = match status {
        431 => (
            b"431 Request Header Fields Too Large",
            b"request headers too large\n",
        ),
        505 => (
            b"505 HTTP Version Not Supported",
            b"HTTP/1.0 and HTTP/1.1 only (HTTP/2 needs TLS with ALPN)\n",
        ),
        _ => (b"400 Bad Request", b"malformed request\n"),
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
    out.extend_from_slice(b"\r\nserver: squirrel\r\nconnection: close\r\ndate: ");
    with_date(|date| out.extend_from_slice(date));
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

thread_local! {
    /// The Date header, formatted once per second per thread.
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((0, [0; 29])) };
}

fn with_date(f: impl FnOnce(&[u8])) {
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let text = httpdate::fmt_http_date(now);
            cached.1.copy_from_slice(&text.as_bytes()[..29]);
            cached.0 = secs;
        }
        f(&cached.1);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn context() -> (H1Context, watch::Sender<bool>) {
        let site = Site {
            message: Bytes::from_static(b"fluffy tail"),
            tls: None,
            cert: None,
            members_only: false,
            fernet: None,
        };
        let (tx, rx) = watch::channel(false);
        (
            H1Context {
                state: Arc::new(ArcSwap::from_pointee(site)),
                caller: Caller::default(),
                peer: "127.0.0.1:1".parse().unwrap(),
                tls_version: "-",
                headers_done: Arc::new(HeadersDone::default()),
                max_header_bytes: 16 * 1024,
                stopping: rx,
            },
            tx,
        )
    }

    async fn exchange(request: &[u8]) -> String {
        let (ctx, _tx) = context();
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let task = tokio::spawn(serve(server, ctx));
        client.write_all(request).await.unwrap();
        client.shutdown().await.unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        task.await.unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn pipelined_requests_get_answers_in_order() {
        let out = exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        let answers: Vec<&str> = out.split("HTTP/1.1 ").skip(1).collect();
        assert_eq!(answers.len(), 3, "{out}");
        assert!(
            answers[0].starts_with(
                "200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 11\r\n"
            ),
            "{out}"
        );
        assert!(
            answers[0].ends_with("\r\ncache-control: no-store\r\n\r\nfluffy tail"),
            "{out}"
        );
        assert!(
            answers[1].ends_with("\r\ncache-control: no-store\r\n\r\n"),
            "HEAD has no body: {out}"
        );
        assert!(
            answers[2].starts_with("404 Not Found")
                && answers[2].contains("\r\nconnection: close\r\n"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn bad_and_oversized_requests_are_refused() {
        let out = exchange(b"NOT HTTP\r\n\r\n").await;
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n", "a".repeat(20_000));
        let out = exchange(big.as_bytes()).await;
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        let out = exchange(b"GET / HTTP/1.0\r\n\r\n").await;
        assert!(
            out.contains("\r\nconnection: close\r\n") && out.ends_with("fluffy tail"),
            "{out}"
        );
        let out = exchange(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").await;
        assert!(
            out.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")
                && out.contains("allow: GET, HEAD"),
            "{out}"
        );
        assert!(
            out.contains("\r\nconnection: close\r\n"),
            "a request with a body closes the connection: {out}"
        );
    }
}
