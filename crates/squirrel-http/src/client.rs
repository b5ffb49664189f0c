//! `squirrel get`: the members' client, tutorial steps 2 and 14
//! (`requests.get(url, verify="ca-public-key.pem")`).
//!
//! A small, blocking HTTP/1.1 client over rustls, so that every failure can
//! be seen where it happens and explained: in plain words, with the phrase
//! OpenSSL, curl and requests print for the same problem, and the fix.

use crate::diagnose::{self, Failure, FailureKind, Trust};
use crate::handshake::{client_config, handshake, Identity, TlsInfo};
use crate::target::Target;
use crate::verifiers::{system_roots, RecordingVerifier};
use squirrel_pki::verify::AnchorPolicy;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// What `squirrel get` was asked for.
pub struct GetOptions {
    pub target: Target,
    /// Trust exactly these CAs (DER); `None`: the system's trusted CAs.
    pub anchors: Option<Vec<Vec<u8>>>,
    /// How `anchors` are judged (`--legacy-ca` accepts the tutorial's CA).
    pub anchor_policy: AnchorPolicy,
    /// A client certificate chain and key, for mutual TLS.
    pub identity: Option<Identity>,
    /// Skip verification of the server's certificate.
    pub insecure: bool,
    pub timeout: Duration,
    /// Larger bodies are refused.
    pub max_body: usize,
}

/// A response.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub tls: Option<TlsInfo>,
}

impl Fetched {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Fetches the target once (GET, `Connection: close`).
pub fn get(options: &GetOptions) -> Result<Fetched, Failure> {
    let target = &options.target;
    let tcp = connect(target, options.timeout)?;
    if !target.https {
        let mut tcp = tcp;
        send_request(&mut tcp, target).map_err(|e| diagnose::io_failure(&e, target))?;
        let (status, reason, headers, body) =
            read_response(&mut tcp, options.max_body, target, false)?;
        return Ok(Fetched {
            status,
            reason,
            headers,
            body,
            tls: None,
        });
    }
    let verifier = Arc::new(verifier(options)?);
    let config = client_config(verifier.clone(), options.identity.as_ref(), &[b"http/1.1"])?;
    let explain = |e: &std::io::Error| {
        let trust = Trust {
            anchors: options.anchors.as_deref(),
            anchor_policy: options.anchor_policy,
            client_certificate: options.identity.is_some(),
        };
        diagnose::tls_failure(e, target, &verifier.seen(), &trust)
    };
    let (mut tls, info) = handshake(tcp, config, target, &verifier, explain)?;
    send_request(&mut tls, target).map_err(|e| explain(&e))?;
    let (status, reason, headers, body) =
        match read_response(&mut tls, options.max_body, target, true) {
            Ok(parts) => parts,
            Err(failure) => return Err(failure.or_tls(explain)),
        };
    Ok(Fetched {
        status,
        reason,
        headers,
        body,
        tls: Some(info),
    })
}

/// Completes a TLS handshake with an `https://` target, accepting any
/// certificate, and returns what was negotiated and presented: what
/// `openssl s_client -showcerts` shows, for `squirrel pki inspect`. The
/// chain is judged afterwards, by the same engine as `squirrel pki verify`.
pub fn presented_chain(target: &Target, timeout: Duration) -> Result<TlsInfo, Failure> {
    if !target.https {
        return Err(Failure::new(
            FailureKind::Input,
            format!(
                "{}: only https:// URLs have certificates to inspect; write it like https://localhost:5683",
                target.authority()
            ),
        ));
    }
    let tcp = connect(target, timeout)?;
    let verifier = Arc::new(RecordingVerifier::looking());
    let config = client_config(verifier.clone(), None, &[b"h2", b"http/1.1"])?;
    let explain = |e: &std::io::Error| {
        let trust = Trust {
            anchors: None,
            anchor_policy: AnchorPolicy::System,
            client_certificate: false,
        };
        diagnose::tls_failure(e, target, &verifier.seen(), &trust)
    };
    let (_tls, info) = handshake(tcp, config, target, &verifier, explain)?;
    Ok(info)
}

fn connect(target: &Target, timeout: Duration) -> Result<TcpStream, Failure> {
    let addrs: Vec<_> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| diagnose::resolve_failure(&e, target))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(timeout)).ok();
                tcp.set_write_timeout(Some(timeout)).ok();
                tcp.set_nodelay(true).ok();
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => diagnose::connect_failure(&e, target),
        None => Failure::new(
            FailureKind::Network,
            format!("{} has no address", target.host),
        ),
    })
}

fn send_request(stream: &mut impl Write, target: &Target) -> std::io::Result<()> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: squirrel/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        target.path,
        target.host_header(),
        env!("CARGO_PKG_VERSION")
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()
}

type Response = (u16, String, Vec<(String, String)>, Vec<u8>);

const MAX_HEAD: usize = 64 * 1024;

fn read_response(
    stream: &mut impl Read,
    max_body: usize,
    target: &Target,
    tls: bool,
) -> Result<Response, Failure> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    let head_len;
    let (status, reason, headers) = loop {
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if tls => return Err(Failure::io(e)),
            Err(e) => return Err(diagnose::io_failure(&e, target)),
        };
        if n == 0 {
            return Err(diagnose::no_answer(&buf, target));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut header_slots = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut header_slots);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                head_len = len;
                let headers = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                break (
                    parsed.code.unwrap_or(0),
                    parsed.reason.unwrap_or("").to_string(),
                    headers,
                );
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => {
                return Err(Failure::new(
                    FailureKind::Http,
                    "the response headers are larger than 64 KiB",
                ))
            }
            Err(_) => return Err(diagnose::not_http(&buf, target)),
        }
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let too_large = || {
        Failure::new(
            FailureKind::Http,
            format!("the response body is larger than {max_body} bytes; raise --max-body if it is expected"),
        )
    };
    let mut body = buf.split_off(head_len);
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if let Some(len) = header("content-length").filter(|_| !chunked) {
        let len: usize = len.parse().map_err(|_| {
            Failure::new(
                FailureKind::Http,
                format!("malformed Content-Length {len:?}"),
            )
        })?;
        if len > max_body {
            return Err(too_large());
        }
        while body.len() < len {
            let n = stream.read(&mut chunk).map_err(Failure::io)?;
            if n == 0 {
                return Err(Failure::new(
                    FailureKind::Http,
                    format!(
                        "the connection closed after {} of {len} body bytes",
                        body.len()
                    ),
                ));
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(len);
    } else {
        loop {
            if body.len() > max_body.saturating_add(64 * 1024) {
                return Err(too_large());
            }
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
                // A peer that closes without close_notify: the body is what came.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(Failure::io(e)),
            }
        }
        if chunked {
            body = dechunk(&body)
                .ok_or_else(|| Failure::new(FailureKind::Http, "malformed chunked body"))?;
        }
        if body.len() > max_body {
            return Err(too_large());
        }
    }
    Ok((status, reason, headers, body))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// The verifier of a fetch: the chosen roots (`--ca`, or the system's),
/// or none at all with `--insecure`; recording the presented chain.
fn verifier(options: &GetOptions) -> Result<RecordingVerifier, Failure> {
    if options.insecure {
        return Ok(RecordingVerifier::looking());
    }
    if let Some(anchors) = &options.anchors {
        return Ok(RecordingVerifier::strict(
            anchors.clone(),
            options.anchor_policy,
        ));
    }
    RecordingVerifier::trusting(&system_roots())
        .map_err(|e| {
            Failure::new(
                FailureKind::Input,
                format!("cannot build the verifier: {e}"),
            )
        })?
        .ok_or_else(|| {
            Failure::new(
                FailureKind::Input,
                "no trusted CA could be loaded; give the CA's certificate with --ca FILE",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_decoded() {
        assert_eq!(
            dechunk(b"5\r\nfluff\r\n6\r\ny tail\r\n0\r\n\r\n").unwrap(),
            b"fluffy tail"
        );
        assert!(dechunk(b"zz\r\n").is_none());
    }
}
