//! A member stays a member only while the CA says so (tutorial step 16).
//!
//! The handshake checks a client certificate once, when the connection
//! opens. A keep-alive connection (or an HTTP/2 one) may outlive a reload
//! that revoked its member: at its next request after such a reload, its
//! certificate is checked again against the members' new trust (client CA
//! and CRL), and a refused member gets a 403 and loses the connection.

use crate::routes::Answer;
use crate::site::Site;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use rustls::pki_types::{CertificateDer, UnixTime};
use std::sync::atomic::{AtomicU64, Ordering};

/// The certificate a connection's member presented, and the generation of
/// the members' trust it was last found good under.
pub(crate) struct Membership {
    chain: Vec<CertificateDer<'static>>,
    checked: AtomicU64,
}

impl Membership {
    /// The member of a connection whose handshake was checked under
    /// `site`; `None` without a client certificate.
    pub(crate) fn of(chain: Option<&[CertificateDer<'_>]>, site: &Site) -> Option<Membership> {
        let chain: Vec<_> = chain?.iter().map(|c| c.clone().into_owned()).collect();
        let generation = site.members.as_ref()?.generation;
        (!chain.is_empty()).then(|| Membership {
            chain,
            checked: AtomicU64::new(generation),
        })
    }

    /// `None` while the member is still trusted by `site`; otherwise the
    /// words for the log and the answer that ends the connection.
    pub(crate) fn recheck(&self, site: &Site) -> Option<(String, Answer)> {
        let members = site.members.as_ref()?;
        if self.checked.load(Ordering::Relaxed) == members.generation {
            return None;
        }
        let (leaf, intermediates) = self.chain.split_first()?;
        match members
            .verifier
            .verify_client_cert(leaf, intermediates, UnixTime::now())
        {
            Ok(_) => {
                self.checked.store(members.generation, Ordering::Relaxed);
                None
            }
            Err(e) => {
                let why = crate::tls::refusal(&e);
                Some((why.clone(), refused(&why)))
            }
        }
    }
}

/// 403, and the connection closes after it.
fn refused(why: &str) -> Answer {
    let body = format!("not a member any more: {why}; the connection is closed\n");
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = StatusCode::FORBIDDEN;
    let headers = res.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    res
}
