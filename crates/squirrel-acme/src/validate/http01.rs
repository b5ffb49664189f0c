//! http-01 (RFC 8555 §8.3): `GET http://NAME/.well-known/acme-challenge/TOKEN`
//! must answer 200 with the key authorization as its body.
//!
//! Choices, and why:
//! - The port is `http01_port` (80 by default, as §8.3 step 3 requires;
//!   another only for tests and private setups, as Pebble's httpPort),
//!   and the `Host:` header is the identifier itself (an IPv6 literal
//!   bracketed, RFC 3986 §3.2.2), the name the site answers for.
//! - Every resolved address is tried until one accepts the connection.
//! - Redirects are followed (§8.3 "SHOULD follow redirects"), at most 10,
//!   to `http` or `https` on any name: a redirect to a central certificate
//!   manager is the use case §8.3 gives. An `https` target's certificate
//!   is not verified ([`super::tls`] says why).
//! - At most 64 KiB of body is read: a key authorization is under 200
//!   bytes, and the validator must not be made to swallow a huge file.
//! - Trailing whitespace is trimmed before comparing (§8.3 step 4: the
//!   server SHOULD ignore it; `echo KEYAUTH > file` adds a newline), and
//!   the rest must equal the key authorization exactly.
//! - Problem types as Boulder's: a failure to connect or a broken HTTP
//!   exchange is `connection`; a wrong status or body is `unauthorized`.
//!
//! Server-side request forgery (RFC 8555 §10.4): whoever orders a name
//! chooses where the CA connects, and through a redirect, the whole URL.
//! This CA is private and validates on its own network, so private
//! addresses stay allowed; what it refuses, as Let's Encrypt's Boulder
//! does, is being turned into a reader of that network's other services:
//! - a redirect may lead only to port 80 or 443, or to the ports the CA
//!   validates on (`--http01-port`, `--tlsalpn01-port`);
//! - link-local and cloud metadata addresses are never connected
//!   to ([`resolve::never_validated`]);
//! - a wrong answer is quoted in the problem only when it has the shape of
//!   a key authorization (the mistake worth showing: another token or
//!   account key); anything else is described by its length alone, so
//!   that a page reached through a redirect is not handed to the client.

use super::{resolve, tls, Target, ValidationConfig};
use crate::problem::{ErrorType, Problem};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderValue, ACCEPT, CONNECTION, HOST, LOCATION, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};

/// RFC 8555 gives no number; 10 is Boulder's and Pebble's.
const MAX_REDIRECTS: usize = 10;
/// The most body read (see the module docs).
const MAX_BODY: usize = 64 * 1024;
/// What the validator calls itself, so site logs show who asked.
const USER_AGENT_VALUE: &str = concat!("squirrel-acme-validator/", env!("CARGO_PKG_VERSION"));

/// One URL on the way: the challenge URL, then each redirect's target.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Url {
    https: bool,
    /// The host without brackets: a lower-case name or an IP literal.
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    path: String,
}

impl Url {
    fn default_port(&self) -> u16 {
        if self.https {
            443
        } else {
            80
        }
    }

    /// `host[:port]` as in a URL and a `Host:` header: the port only
    /// when it is not the scheme's default (RFC 9110 §7.2).
    fn authority(&self) -> String {
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => self.host.clone(),
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.path)
    }
}

/// What one request got: the status, the `Location` of a redirect, and
/// the (bounded) body of a 200.
struct Fetched {
    addr: SocketAddr,
    status: StatusCode,
    location: Option<String>,
    body: Vec<u8>,
}

pub(crate) async fn validate(
    config: &ValidationConfig,
    deadline: Instant,
    target: &Target,
    token: &str,
    key_authorization: &str,
) -> Result<(), Problem> {
    // The token is ours, but it is pasted into a request line: refuse
    // anything but base64url (RFC 8555 §8.3's token syntax).
    if !crate::b64::is_base64url_token(token) {
        return Err(Problem::new(
            ErrorType::Malformed,
            format!("http-01 token {} is not base64url", super::quote(token, 60)),
        ));
    }
    let mut url = Url {
        https: false,
        host: target.to_string(),
        port: config.http01_port,
        path: format!("/.well-known/acme-challenge/{token}"),
    };
    let mut host_header = target.url_host();
    let mut redirects = 0;
    loop {
        let fetched = fetch(config, deadline, &url, &host_header).await?;
        let addr = fetched.addr;
        if fetched.status.is_redirection() {
            let Some(location) = fetched.location else {
                return Err(Problem::new(
                    ErrorType::Unauthorized,
                    format!(
                        "{url} ({addr}) answered {} without a Location header",
                        fetched.status
                    ),
                ));
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(Problem::new(
                    ErrorType::Connection,
                    format!("too many redirects (more than {MAX_REDIRECTS}), the last from {url} ({addr})"),
                ));
            }
            url = follow(&url, &location)
                .and_then(|next| allowed_redirect(config, next))
                .map_err(|why| {
                    Problem::new(
                        ErrorType::Connection,
                        format!(
                            "{url} ({addr}) redirected to {}, which cannot be followed: {why}",
                            super::quote(&location, 200)
                        ),
                    )
                })?;
            host_header = url.authority();
            continue;
        }
        if fetched.status != StatusCode::OK {
            return Err(Problem::new(
                ErrorType::Unauthorized,
                format!(
                    "http-01: {url} ({addr}) answered {}, not 200 with the key authorization",
                    fetched.status
                ),
            ));
        }
        let body = String::from_utf8_lossy(&fetched.body);
        let answer = body.trim_end_matches(|c: char| c.is_ascii_whitespace());
        if answer == key_authorization {
            return Ok(());
        }
        let got = if looks_like_key_authorization(answer.trim_start()) {
            super::quote(answer, 100)
        } else if fetched.body.len() >= MAX_BODY {
            format!(
                "{} KiB or more that are not a key authorization",
                MAX_BODY / 1024
            )
        } else {
            format!(
                "{} bytes that are not a key authorization",
                fetched.body.len()
            )
        };
        return Err(Problem::new(
            ErrorType::Unauthorized,
            format!(
                "http-01: the key authorization at {url} ({addr}) is wrong: expected {}, got {got}",
                super::quote(key_authorization, 100),
            ),
        ));
    }
}

/// One GET of `url`: resolve, connect (TLS for https), send, and read
/// the status, the Location and at most [`MAX_BODY`] of a 200's body.
async fn fetch(
    config: &ValidationConfig,
    deadline: Instant,
    url: &Url,
    host_header: &str,
) -> Result<Fetched, Problem> {
    let ips = resolve::resolve(config, &url.host, deadline).await?;
    let what = format!("http-01 request {url}");
    let (tcp, addr) = resolve::connect(&ips, url.port, deadline, &what).await?;
    if !url.https {
        return get(tcp, addr, url, host_header, deadline).await;
    }
    let server_name = match url.host.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(url.host.clone()).map_err(|e| {
            Problem::new(
                ErrorType::Connection,
                format!("{url}: {} is not a valid server name: {e}", url.host),
            )
        })?,
    };
    let client = tls::client_config(&[b"http/1.1"])?;
    let stream = tls::handshake(tcp, addr, server_name, client, deadline, &what).await?;
    get(stream, addr, url, host_header, deadline).await
}

/// Aborts the HTTP connection's task when the request is done or given
/// up, so that a server that never closes holds no task after validation.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The HTTP/1.1 exchange over an open connection (hyper's client).
async fn get<S>(
    stream: S,
    addr: SocketAddr,
    url: &Url,
    host_header: &str,
    deadline: Instant,
) -> Result<Fetched, Problem>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection_problem =
        |what: String| Problem::new(ErrorType::Connection, format!("{url} ({addr}): {what}"));
    let timed_out = |step: &str| connection_problem(format!("timed out {step}"));

    let (mut sender, connection) = match timeout_at(
        deadline,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(connection_problem(format!("HTTP setup failed: {e}"))),
        Err(_) => return Err(timed_out("setting up HTTP")),
    };
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let host = HeaderValue::from_str(host_header)
        .map_err(|_| connection_problem(format!("invalid Host {host_header:?}")))?;
    let request = Request::get(url.path.as_str())
        .header(HOST, host)
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(ACCEPT, "*/*")
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| connection_problem(format!("cannot build the request: {e}")))?;
    let response = match timeout_at(deadline, async {
        sender.ready().await?;
        sender.send_request(request).await
    })
    .await
    {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(connection_problem(format!("HTTP request failed: {e}"))),
        Err(_) => return Err(timed_out("waiting for the response")),
    };

    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let mut body = Vec::new();
    if status == StatusCode::OK {
        let mut incoming = response.into_body();
        while body.len() < MAX_BODY {
            match timeout_at(deadline, incoming.frame()).await {
                Err(_) => return Err(timed_out("reading the body")),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(connection_problem(format!("reading the body failed: {e}")))
                }
                Ok(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        let room = MAX_BODY - body.len();
                        body.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
            }
        }
    }
    Ok(Fetched {
        addr,
        status,
        location,
        body,
    })
}

/// `next`, when a redirect may lead there: port 80 or 443, or a port the
/// CA validates on (see the module's notes on request forgery).
fn allowed_redirect(config: &ValidationConfig, next: Url) -> Result<Url, String> {
    let allowed = [80, 443, config.http01_port, config.tlsalpn01_port];
    if allowed.contains(&next.port) {
        return Ok(next);
    }
    let mut ports = allowed.to_vec();
    ports.sort_unstable();
    ports.dedup();
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    Err(format!(
        "port {} is not one a redirect may lead to ({}; RFC 8555 §10.4: a client must not make \
         the CA reach the other services of its network); redirect to one of those ports",
        next.port,
        ports.join(", ")
    ))
}

/// Whether `answer` has the shape of a key authorization (RFC 8555 §8.1):
/// `token.thumbprint`, both base64url, of a sensible length.
fn looks_like_key_authorization(answer: &str) -> bool {
    answer.len() <= 300
        && answer.split_once('.').is_some_and(|(token, thumbprint)| {
            crate::b64::is_base64url_token(token) && crate::b64::is_base64url_token(thumbprint)
        })
}

/// The URL a `Location` leads to from `base` (RFC 9110 §10.2.2: it may
/// be relative, resolved as RFC 3986 §5 says), or why it cannot be
/// followed. Only `http` and `https` are followed; the fragment is
/// dropped (it never reaches the server).
fn follow(base: &Url, location: &str) -> Result<Url, String> {
    let location = location.trim();
    let location = location.split('#').next().unwrap_or_default();
    let scheme = location
        .split_once(':')
        .filter(|(scheme, _)| !scheme.is_empty() && !scheme.contains(['/', '?']))
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    let absolute = match (scheme.as_deref(), location) {
        (Some("http" | "https"), _) => location.to_string(),
        (Some(other), _) => return Err(format!("the scheme {other:?} is not http or https")),
        (None, l) if l.starts_with("//") => {
            format!("{}:{l}", if base.https { "https" } else { "http" })
        }
        (None, l) if l.starts_with('/') => {
            return Ok(Url {
                path: l.to_string(),
                ..base.clone()
            })
        }
        (None, l) => {
            // A relative path: merge with the base's directory (RFC 3986 §5.2.3).
            let base_path = base.path.split('?').next().unwrap_or("/");
            let directory = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            let path = if l.is_empty() {
                base.path.clone()
            } else {
                format!("{directory}{l}")
            };
            return Ok(Url {
                path,
                ..base.clone()
            });
        }
    };
    let uri: Uri = absolute
        .parse()
        .map_err(|e| format!("not a valid URL: {e}"))?;
    let https = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("https"));
    let host = uri
        .host()
        .filter(|host| !host.is_empty())
        .ok_or("it has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|pq| pq.starts_with('/'))
        .unwrap_or("/")
        .to_string();
    Ok(Url {
        https,
        host,
        port,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url {
            https: false,
            host: "a.test".into(),
            port: 5002,
            path: "/.well-known/acme-challenge/tok".into(),
        }
    }

    #[test]
    fn locations_resolve_against_the_base() {
        let to = |l: &str| follow(&base(), l).map(|u| u.to_string());
        assert_eq!(to("/x?y").unwrap(), "http://a.test:5002/x?y");
        assert_eq!(
            to("other").unwrap(),
            "http://a.test:5002/.well-known/acme-challenge/other"
        );
        assert_eq!(to("//B.test/p").unwrap(), "http://b.test/p");
        assert_eq!(
            to("HTTPS://b.test:8443/p#frag").unwrap(),
            "https://b.test:8443/p"
        );
        assert_eq!(to("https://b.test").unwrap(), "https://b.test/");
        assert_eq!(to("http://[::1]:81/p").unwrap(), "http://[::1]:81/p");
        assert_eq!(follow(&base(), "http://[::1]/p").unwrap().host, "::1");
        assert!(to("ftp://b.test/p").unwrap_err().contains("ftp"));
        assert!(to("http:///p").is_err());
    }
}
