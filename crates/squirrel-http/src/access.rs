//! The access log: one line per answered request, HTTP/1.x and HTTP/2
//! alike, written here and nowhere else (target `squirrel::access`, so the
//! CLI can show or hide it apart from the server's own news).
//!
//! The line follows the common log format's spirit:
//! `PEER "METHOD TARGET VERSION" STATUS BYTES TIMEms TLS MEMBER`, e.g.
//! `127.0.0.1:50312 "GET / HTTP/1.1" 200 11 0.012ms TLSv1.3 alice`. BYTES
//! is the body's length, for HEAD too (what `content-length` announced);
//! TLS and MEMBER are `-` when absent. Requests refused before they reach
//! the routes get a line too, with `"-"` for the request line they did not
//! complete and the reason at the end, as nginx logs them: 400 (malformed,
//! hyper's own answer), 431 (headers too large, hyper's own answer), 408
//! (the headers did not arrive in time; nothing is answered). The secret is
//! never logged: only the request line is.

use crate::routes::{Answer, Caller};
use hyper::body::Body;
use hyper::header::CONTENT_LENGTH;
use hyper::Request;
use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;
use tracing::{info, Level};

/// Logs one answered request, if the access log is on; formats nothing
/// otherwise.
pub(crate) fn record<B>(
    peer: SocketAddr,
    req: &Request<B>,
    res: &Answer,
    started: Instant,
    tls_version: &'static str,
    caller: &Caller,
) {
    if tracing::enabled!(target: "squirrel::access", Level::INFO) {
        let line = AccessLine {
            peer,
            req,
            res,
            millis: started.elapsed().as_secs_f64() * 1000.0,
            tls_version,
            caller,
        };
        info!(target: "squirrel::access", "{line}");
    }
}

/// Logs a request refused before it reached the routes.
pub(crate) fn refused(
    peer: SocketAddr,
    status: u16,
    reason: &str,
    tls_version: &'static str,
    caller: &Caller,
) {
    info!(
        target: "squirrel::access",
        "{peer} \"-\" {status} 0 - {tls_version} {} ({reason})",
        caller.member.as_deref().unwrap_or("-")
    );
}

/// The access-log status of a connection that ended with `err`, when a
/// request was refused: hyper's own 400 and 431, the header timeout's 408.
pub(crate) fn refusal(err: &(dyn std::error::Error + 'static)) -> Option<(u16, &'static str)> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            if hyper.is_parse_too_large() {
                return Some((431, "request headers too large"));
            }
            if hyper.is_parse() {
                return Some((400, "malformed request"));
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<crate::timeouts::HeaderTimeout>())
            {
                return Some((408, "request header timeout"));
            }
        }
        if e.is::<crate::timeouts::HeaderTimeout>() {
            return Some((408, "request header timeout"));
        }
        cause = e.source();
    }
    None
}

struct AccessLine<'a, B> {
    peer: SocketAddr,
    req: &'a Request<B>,
    res: &'a Answer,
    millis: f64,
    tls_version: &'static str,
    caller: &'a Caller,
}

impl<B> AccessLine<'_, B> {
    /// The body's length: as `content-length` announced it when set (HEAD
    /// has no body), else as the body knows it.
    fn bytes(&self) -> u64 {
        let announced = self.res.headers().get(CONTENT_LENGTH);
        match announced.and_then(|v| v.to_str().ok()?.parse().ok()) {
            Some(length) => length,
            None => self.res.body().size_hint().exact().unwrap_or(0),
        }
    }
}

impl<B> fmt::Display for AccessLine<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = self.req.uri();
        // HTTP/2 requests carry an absolute URI: log only what an HTTP/1
        // request line would carry.
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        write!(
            f,
            "{} \"{} {target} {:?}\" {} {} {:.3}ms {} {}",
            self.peer,
            self.req.method(),
            self.req.version(),
            self.res.status().as_u16(),
            self.bytes(),
            self.millis,
            self.tls_version,
            self.caller.member.as_deref().unwrap_or("-"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::respond;
    use crate::site::Site;
    use bytes::Bytes;
    use hyper::Version;

    /// The line for `req` as the routes answer it.
    fn line(req: &Request<()>, tls_version: &'static str, caller: &Caller) -> String {
        let site = Site {
            message: Bytes::from_static(b"fluffy tail"),
            tls: None,
            cert: None,
            members_only: false,
            members: None,
            fernet: None,
        };
        let res = respond(&site, caller, req);
        AccessLine {
            peer: "127.0.0.1:50312".parse().unwrap(),
            req,
            res: &res,
            millis: 0.0123,
            tls_version,
            caller,
        }
        .to_string()
    }

    #[test]
    fn lines_name_request_status_size_time_tls_and_member() {
        let get = Request::builder()
            .uri("/?x=1")
            .header("host", "x")
            .body(())
            .unwrap();
        assert_eq!(
            line(&get, "-", &Caller::default()),
            "127.0.0.1:50312 \"GET /?x=1 HTTP/1.1\" 200 11 0.012ms - -"
        );
        let h2_head = Request::builder()
            .method("HEAD")
            .uri("https://localhost:5683/")
            .version(Version::HTTP_2)
            .body(())
            .unwrap();
        let member = Caller::new(Some("alice".into()));
        assert_eq!(
            line(&h2_head, "TLSv1.3", &member),
            "127.0.0.1:50312 \"HEAD / HTTP/2.0\" 200 11 0.012ms TLSv1.3 alice"
        );
        let post = Request::builder()
            .method("POST")
            .uri("/")
            .version(Version::HTTP_10)
            .body(())
            .unwrap();
        assert_eq!(
            line(&post, "TLSv1.2", &Caller::default()),
            "127.0.0.1:50312 \"POST / HTTP/1.0\" 405 36 0.012ms TLSv1.2 -"
        );
    }
}
