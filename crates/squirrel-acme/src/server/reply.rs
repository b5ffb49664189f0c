//! What every ACME response carries (RFC 8555 §6.5, §7.1): a fresh
//! `Replay-Nonce`, a `Link` to the directory, `Cache-Control: no-store`,
//! and for errors an RFC 7807 problem document.

use crate::problem::Problem;
use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde::Serialize;

/// A response before the headers every response shares.
pub(crate) struct Reply {
    status: u16,
    content_type: &'static str,
    body: Bytes,
    location: Option<String>,
    /// `Link` values besides the directory's, e.g. `<URL>;rel="up"`.
    links: Vec<String>,
    retry_after: Option<u64>,
}

impl Reply {
    /// A JSON resource.
    pub fn json(status: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Reply::with_body(status, "application/json", body.into())
    }

    /// An RFC 7807 problem document with its status.
    pub fn problem(problem: &Problem) -> Reply {
        let mut reply = Reply::with_body(
            problem.http_status(),
            "application/problem+json",
            problem.to_json().into(),
        );
        if problem.kind == crate::problem::ErrorType::RateLimited {
            reply.retry_after = Some(1);
        }
        reply
    }

    /// No body (new-nonce, revokeCert).
    pub fn empty(status: u16) -> Reply {
        Reply::with_body(status, "", Bytes::new())
    }

    /// Plain text.
    pub fn text(text: String) -> Reply {
        Reply::with_body(200, "text/plain; charset=utf-8", text.into())
    }

    /// A certificate chain, leaf first (RFC 8555 §9.1).
    pub fn pem_chain(pem: String) -> Reply {
        Reply::with_body(200, "application/pem-certificate-chain", pem.into())
    }

    fn with_body(status: u16, content_type: &'static str, body: Bytes) -> Reply {
        Reply {
            status,
            content_type,
            body,
            location: None,
            links: Vec::new(),
            retry_after: None,
        }
    }

    /// Sets `Location` (a created account or order, RFC 8555 §7.3, §7.4).
    pub fn location(mut self, url: String) -> Reply {
        self.location = Some(url);
        self
    }

    /// Adds a `Link` with relation `rel` (e.g. `up` from a challenge to
    /// its authorization).
    pub fn link(mut self, url: &str, rel: &str) -> Reply {
        self.links.push(format!("<{url}>;rel=\"{rel}\""));
        self
    }

    /// Sets `Retry-After` in seconds (an order still processing, §7.4).
    pub fn retry_after(mut self, seconds: u64) -> Reply {
        self.retry_after = Some(seconds);
        self
    }

    /// The HTTP response: this reply plus the shared headers.
    pub fn into_response(self, base: &str, nonce: Option<String>) -> Response<Bytes> {
        let mut response = Response::new(self.body);
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let headers = response.headers_mut();
        if !self.content_type.is_empty() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(nonce) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            headers.insert("replay-nonce", nonce);
        }
        let index = format!("<{base}/acme/directory>;rel=\"index\"");
        for link in std::iter::once(index).chain(self.links) {
            if let Ok(value) = HeaderValue::from_str(&link) {
                headers.append("link", value);
            }
        }
        if let Some(url) = self.location.and_then(|u| HeaderValue::from_str(&u).ok()) {
            headers.insert(LOCATION, url);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
