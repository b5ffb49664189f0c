//! The secret server's routes, tutorial step 1 (`@app.route("/")`):
//!
//! - `GET`/`HEAD /`: the secret as text/plain, a small HTML page for a
//!   browser (Accept prefers text/html), or a fresh Fernet token (step 7);
//! - `GET`/`HEAD /healthz`: `ok`, for monitors;
//! - 404 elsewhere, 405 (with `Allow`) for other methods.

use crate::site::Site;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, SERVER};
use hyper::{Request, Response, StatusCode};

const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const SERVER_NAME: HeaderValue = HeaderValue::from_static("squirrel");
const GET_HEAD: HeaderValue = HeaderValue::from_static("GET, HEAD");

/// The header that greets a member by certificate name.
pub const MEMBER_HEADER: &str = "x-squirrel-member";

/// Who is asking, as the connection knows it.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// The name in the client certificate (mutual TLS).
    pub member: Option<String>,
}

/// What to answer, before it is written as HTTP/1 by hand or by hyper.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: HeaderValue,
    pub body: Bytes,
    /// 405: say which methods are allowed.
    pub allow: bool,
    /// The secret itself: never cached.
    pub no_store: bool,
    /// Greet the member by name.
    pub member: Option<String>,
}

impl Reply {
    fn plain(status: StatusCode, body: Bytes) -> Reply {
        Reply {
            status,
            content_type: TEXT,
            body,
            allow: false,
            no_store: false,
            member: None,
        }
    }

    /// The hyper form (used for HTTP/2).
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut res = Response::new(Full::new(self.body));
        *res.status_mut() = self.status;
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, self.content_type);
        headers.insert(SERVER, SERVER_NAME);
        if self.no_store {
            headers.insert(CACHE_CONTROL, NO_STORE);
        }
        if self.allow {
            headers.insert(ALLOW, GET_HEAD);
        }
        if let Some(value) = self.member.and_then(|m| HeaderValue::from_str(&m).ok()) {
            headers.insert(MEMBER_HEADER, value);
        }
        res
    }
}

/// Decides the answer to `method path` with the client's `Accept` header.
pub fn reply(
    site: &Site,
    caller: &Caller,
    method: &str,
    path: &str,
    accept: Option<&str>,
) -> Reply {
    let path = path.split('?').next().unwrap_or(path);
    if path != "/" && path != "/healthz" {
        return Reply::plain(
            StatusCode::NOT_FOUND,
            Bytes::from_static(b"not found: the secret is at /\n"),
        );
    }
    if method != "GET" && method != "HEAD" {
        let mut reply = Reply::plain(
            StatusCode::METHOD_NOT_ALLOWED,
            Bytes::from_static(b"method not allowed: use GET or HEAD\n"),
        );
        reply.allow = true;
        return reply;
    }
    if path == "/healthz" {
        return Reply::plain(StatusCode::OK, Bytes::from_static(b"ok\n"));
    }
    let mut reply = if let Some(fernet) = &site.fernet {
        match fernet.encrypt(&site.message) {
            Ok(token) => Reply::plain(StatusCode::OK, Bytes::from(token)),
            Err(_) => Reply::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                Bytes::from_static(b"encryption failed\n"),
            ),
        }
    } else if accept.is_some_and(prefers_html) {
        Reply {
            content_type: HTML,
            ..Reply::plain(StatusCode::OK, Bytes::from(page(site, caller)))
        }
    } else {
        Reply::plain(StatusCode::OK, site.message.clone())
    };
    reply.no_store = true;
    reply.member = caller.member.clone();
    reply
}

/// Answers one hyper request.
pub fn respond<B>(site: &Site, caller: &Caller, req: &Request<B>) -> Response<Full<Bytes>> {
    let accept = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    reply(
        site,
        caller,
        req.method().as_str(),
        req.uri().path(),
        accept,
    )
    .into_response()
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
            fernet: None,
        }
    }

    fn get(path: &str, accept: Option<&str>) -> Request<()> {
        let mut b = Request::builder().uri(path);
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn routes_and_negotiation() {
        let s = site();
        let c = Caller::default();
        let res = respond(&s, &c, &get("/", Some("*/*")));
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let res = respond(&s, &c, &get("/", Some(browser)));
        assert_eq!(res.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(respond(&s, &c, &get("/nope", None)).status(), 404);
        assert_eq!(respond(&s, &c, &get("/healthz", None)).status(), 200);
        let post = Request::builder().method("POST").uri("/").body(()).unwrap();
        let res = respond(&s, &c, &post);
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()[ALLOW], "GET, HEAD");
        assert!(!prefers_html("text/plain, text/html;q=0.5"));
    }

    #[test]
    fn the_page_escapes_the_secret_and_greets_members() {
        let caller = Caller {
            member: Some("alice".into()),
        };
        let html = page(&site(), &caller);
        assert!(
            html.contains("<span id=\"secret\">fluffy &lt;tail&gt;</span>"),
            "{html}"
        );
        assert!(html.contains("Welcome, member <b>alice</b>."), "{html}");
    }
}
