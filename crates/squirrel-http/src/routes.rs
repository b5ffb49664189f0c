//! The secret server's routes, tutorial step 1 (`@app.route("/")`):
//!
//! - `GET`/`HEAD /`: the secret as text/plain, a small HTML page for a
//!   browser (Accept prefers text/html), or a fresh Fernet token (step 7);
//! - `GET`/`HEAD /healthz`: `ok`, for monitors;
//! - 404 elsewhere, 405 (with `Allow`) for other methods;
//! - 400 for what RFC 9112 forbids and hyper lets through (no Host, or
//!   two; a repeated Content-Length), with the connection closed.
//!
//! Every answer is a hyper [`Response`] with a [`Full`] body, whatever the
//! HTTP version: hyper writes it as HTTP/1.x or HTTP/2 and adds
//! `content-length` (a `Full` body knows its length) and `date`. HEAD is
//! answered here, as GET without the body but with its `content-length`:
//! hyper leaves the body out of HTTP/1 answers to HEAD, but would send it
//! over HTTP/2. Malformed and oversized requests never get here: hyper
//! answers them 400 and 431 itself.

use crate::site::Site;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body;
use hyper::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH,
    CONTENT_TYPE, HOST, SERVER,
};
use hyper::{Method, Request, Response, StatusCode, Version};
use std::sync::LazyLock;

/// What every route answers.
pub type Answer = Response<Full<Bytes>>;

const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const SERVER_NAME: HeaderValue = HeaderValue::from_static("squirrel");
const GET_HEAD: HeaderValue = HeaderValue::from_static("GET, HEAD");

/// The headers of each kind of answer, made once: cloning a ready map
/// costs a fraction of hashing every name into a new map, on the path of
/// every request.
struct Heads {
    /// Every text/plain answer.
    plain: HeaderMap,
    /// The secret as text/plain (a Fernet token, too).
    secret: HeaderMap,
    /// The secret as a page.
    page: HeaderMap,
}

const CLOSE: HeaderValue = HeaderValue::from_static("close");

static HEADS: LazyLock<Heads> = LazyLock::new(|| {
    let head = |values: &[(HeaderName, HeaderValue)]| values.iter().cloned().collect::<HeaderMap>();
    Heads {
        plain: head(&[(CONTENT_TYPE, TEXT), (SERVER, SERVER_NAME)]),
        // The secret itself: never cached.
        secret: head(&[
            (CONTENT_TYPE, TEXT),
            (SERVER, SERVER_NAME),
            (CACHE_CONTROL, NO_STORE),
        ]),
        page: head(&[
            (CONTENT_TYPE, HTML),
            (SERVER, SERVER_NAME),
            (CACHE_CONTROL, NO_STORE),
        ]),
    }
});

/// The header that greets a member by certificate name.
pub const MEMBER_HEADER: &str = "x-squirrel-member";

/// Who is asking, as the connection knows it.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// The name in the client certificate (mutual TLS).
    pub member: Option<String>,
    /// The same name as a header value, made once per connection rather
    /// than once per request; `None` unless the name is printable ASCII
    /// (what every client reads alike), and then it is not sent.
    greeting: Option<HeaderValue>,
}

impl Caller {
    /// A caller known by the name in its certificate, if any.
    pub fn new(member: Option<String>) -> Caller {
        let greeting = member
            .as_deref()
            .filter(|name| name.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .and_then(|name| HeaderValue::from_str(name).ok());
        Caller { member, greeting }
    }
}

/// Answers one request.
pub fn respond<B>(site: &Site, caller: &Caller, req: &Request<B>) -> Answer {
    if let Some(problem) = framing_problem(req) {
        let mut res = plain(StatusCode::BAD_REQUEST, problem);
        res.headers_mut().insert(CONNECTION, CLOSE);
        return res;
    }
    let res = route(site, caller, req);
    if req.method() == Method::HEAD {
        without_body(res)
    } else {
        res
    }
}

/// What RFC 9112 forbids and hyper lets through: an HTTP/1.1 request
/// without exactly one Host (3.2), an HTTP/1.0 one with several, and a
/// Content-Length repeated, even with equal values (6.3 lets a server
/// accept those; nginx refuses them, and so does squirrel, see
/// [`repeated_content_length`]): a server that guesses here is open to
/// request smuggling behind a proxy that guesses otherwise. hyper itself
/// refuses conflicting values, signs, non-digits and overflows.
fn framing_problem<B>(req: &Request<B>) -> Option<&'static str> {
    let http1 = req.version() == Version::HTTP_11 || req.version() == Version::HTTP_10;
    if !http1 {
        return None;
    }
    let hosts = req.headers().get_all(HOST).iter().count();
    if hosts > 1 || (hosts == 0 && req.version() == Version::HTTP_11) {
        return Some("bad request: HTTP/1.1 needs exactly one Host header\n");
    }
    None
}

/// The answer to a head that repeats Content-Length, which hyper lets
/// through as one when the values are equal; the connection's bytes tell
/// (`head_scan`).
pub fn repeated_content_length() -> Answer {
    let mut res = plain(
        StatusCode::BAD_REQUEST,
        "bad request: give one Content-Length header with one number\n",
    );
    res.headers_mut().insert(CONNECTION, CLOSE);
    res
}

fn route<B>(site: &Site, caller: &Caller, req: &Request<B>) -> Answer {
    let path = req.uri().path();
    if path != "/" && path != "/healthz" {
        return plain(StatusCode::NOT_FOUND, "not found: the secret is at /\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut res = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET or HEAD\n",
        );
        res.headers_mut().insert(ALLOW, GET_HEAD);
        return res;
    }
    if path == "/healthz" {
        return plain(StatusCode::OK, "ok\n");
    }
    let mut res = if let Some(fernet) = &site.fernet {
        match fernet.encrypt(&site.message) {
            Ok(token) => answer(StatusCode::OK, &HEADS.secret, Bytes::from(token)),
            Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "encryption failed\n"),
        }
    } else if req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(prefers_html)
    {
        answer(StatusCode::OK, &HEADS.page, Bytes::from(page(site, caller)))
    } else {
        answer(StatusCode::OK, &HEADS.secret, site.message.clone())
    };
    if let Some(greeting) = &caller.greeting {
        res.headers_mut().insert(MEMBER_HEADER, greeting.clone());
    }
    res
}

/// The answer to HEAD: the headers of GET, `content-length` included.
fn without_body(res: Answer) -> Answer {
    let length = res.body().size_hint().exact().unwrap_or(0);
    let mut res = res.map(|_| Full::default());
    res.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(length));
    res
}

/// A fixed text/plain answer.
fn plain(status: StatusCode, body: &'static str) -> Answer {
    answer(status, &HEADS.plain, Bytes::from_static(body.as_bytes()))
}

fn answer(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Answer {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    *res.headers_mut() = headers.clone();
    res
}

/// True when the client ranks text/html above text/plain (a browser);
/// curl, requests and squirrel send `*/*` and get plain text.
pub fn prefers_html(accept: &str) -> bool {
    let quality = |wanted: &str| -> f32 {
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let media = parts.next()?.trim();
                if !media.eq_ignore_ascii_case(wanted) {
                    return None;
                }
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some(q)
            })
            .fold(0.0, f32::max)
    };
    let html = quality("text/html");
    html > 0.0 && html > quality("text/plain")
}

/// The page a browser shows: the secret, the certificate's sentence, and
/// the member's name.
fn page(site: &Site, caller: &Caller) -> String {
    let secret = escape(&String::from_utf8_lossy(&site.message));
    let sentence = match &site.cert {
        Some(cert) => format!(
            "<p class=\"cert\">This server's certificate says: <q>{}</q></p>",
            escape(&cert.sentence)
        ),
        None => "<p class=\"cert\">This page came over plain HTTP: anyone on the path could read it.</p>".into(),
    };
    let member = match &caller.member {
        Some(name) => format!(
            "<p class=\"member\">Welcome, member <b>{}</b>.</p>",
            escape(name)
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Secret Squirrels</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:42em;margin:3em auto;padding:0 1em;line-height:1.5}}\
         #secret{{background:#fff3c4;padding:0 .2em}}.cert{{color:#555}}</style></head>\n\
         <body>\n<h1>The secret message is: <span id=\"secret\">{secret}</span></h1>\n{member}\n{sentence}\n</body>\n</html>\n"
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            message: Bytes::from_static(b"fluffy <tail>"),
            tls: None,
            cert: None,
            members_only: false,
            members: None,
            fernet: None,
        }
    }

    fn get(path: &str, accept: Option<&str>) -> Request<()> {
        let mut b = Request::builder().uri(path).header("host", "x");
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        b.body(()).unwrap()
    }

    /// Status, headers (in order) and body, as one comparable value.
    fn parts(res: Answer) -> (u16, Vec<String>, Bytes) {
        let headers = res
            .headers()
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        let status = res.status().as_u16();
        (
            status,
            headers,
            res.into_body().into_inner().unwrap_or_default(),
        )
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    const TEXT_HEADERS: [&str; 2] = [
        "content-type: text/plain; charset=utf-8",
        "server: squirrel",
    ];

    #[test]
    fn routes_and_negotiation() {
        let s = site();
        let c = Caller::default();
        let secret = [&TEXT_HEADERS[..], &["cache-control: no-store"]].concat();
        assert_eq!(
            parts(respond(&s, &c, &get("/?from=curl", Some("*/*")))),
            (200, strings(&secret), Bytes::from_static(b"fluffy <tail>"))
        );
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let (status, headers, body) = parts(respond(&s, &c, &get("/", Some(browser))));
        assert_eq!(
            (status, headers),
            (
                200,
                strings(&[
                    "content-type: text/html; charset=utf-8",
                    "server: squirrel",
                    "cache-control: no-store"
                ])
            )
        );
        assert_eq!(body, page(&s, &c));
        assert_eq!(
            parts(respond(&s, &c, &get("/nope", None))),
            (
                404,
                strings(&TEXT_HEADERS),
                Bytes::from_static(b"not found: the secret is at /\n")
            )
        );
        assert_eq!(
            parts(respond(&s, &c, &get("/healthz", None))),
            (200, strings(&TEXT_HEADERS), Bytes::from_static(b"ok\n"))
        );
        let post = Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "x")
            .body(())
            .unwrap();
        assert_eq!(
            parts(respond(&s, &c, &post)),
            (
                405,
                strings(&[&TEXT_HEADERS[..], &["allow: GET, HEAD"]].concat()),
                Bytes::from_static(b"method not allowed: use GET or HEAD\n")
            )
        );
        assert!(!prefers_html("text/plain, text/html;q=0.5"));
    }

    #[test]
    fn http1_requests_need_exactly_one_host() {
        let s = site();
        let c = Caller::default();
        let refused = |req: &Request<()>| parts(respond(&s, &c, req)).0;
        let no_host = Request::builder().uri("/").body(()).unwrap();
        assert_eq!(refused(&no_host), 400);
        let two = Request::builder()
            .uri("/")
            .header("host", "x")
            .header("host", "y")
            .body(())
            .unwrap();
        assert_eq!(refused(&two), 400);
        let http10 = Request::builder()
            .uri("/")
            .version(Version::HTTP_10)
            .body(())
            .unwrap();
        assert_eq!(refused(&http10), 200, "HTTP/1.0 may leave Host out");
        let http2 = Request::builder()
            .uri("https://localhost/")
            .version(Version::HTTP_2)
            .body(())
            .unwrap();
        assert_eq!(refused(&http2), 200, "HTTP/2 names the host in :authority");
    }

    #[test]
    fn members_are_greeted_when_their_name_can_be_a_header() {
        let s = site();
        let alice = Caller::new(Some("alice".into()));
        let (_, headers, _) = parts(respond(&s, &alice, &get("/", None)));
        assert_eq!(
            headers.last().map(String::as_str),
            Some("x-squirrel-member: alice")
        );
        let (_, headers, _) = parts(respond(&s, &alice, &get("/healthz", None)));
        assert_eq!(headers, strings(&TEXT_HEADERS), "only the secret greets");
        let accented = Caller::new(Some("zoë".into()));
        let (_, headers, _) = parts(respond(&s, &accented, &get("/", None)));
        assert_eq!(
            headers,
            strings(&[&TEXT_HEADERS[..], &["cache-control: no-store"]].concat())
        );
        let odd = Caller::new(Some("bob\r\nset-cookie: x".into()));
        let (_, headers, _) = parts(respond(&s, &odd, &get("/", None)));
        assert_eq!(
            headers,
            strings(&[&TEXT_HEADERS[..], &["cache-control: no-store"]].concat())
        );
    }

    #[test]
    fn the_page_escapes_the_secret_and_greets_members() {
        let caller = Caller::new(Some("alice".into()));
        let html = page(&site(), &caller);
        assert!(
            html.contains("<span id=\"secret\">fluffy &lt;tail&gt;</span>"),
            "{html}"
        );
        assert!(html.contains("Welcome, member <b>alice</b>."), "{html}");
    }
}
