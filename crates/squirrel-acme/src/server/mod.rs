//! The ACME server (RFC 8555): `squirrel pki ca serve`.
//!
//! The tutorial's CA is offline: the leader signs each request by hand. A
//! real CA checks that whoever asks for `my-site.com` controls it, and
//! signs by itself. This module is that CA's front desk; an order flows
//! through it as:
//!
//! 1. [`listen`]: TLS, HTTP/1.1 or HTTP/2, a 64 KiB body limit;
//! 2. [`Acme::respond`]: routing; every answer gets a fresh `Replay-Nonce`;
//! 3. `auth`: the flattened JWS is parsed, its `url` and `nonce` checked,
//!    its signature verified with the embedded key or the account's;
//! 4. `account`, `order`, `authz`, `finalize`, `revoke`, `renewal`: the
//!    resources and their state machines (RFC 8555 §7.1.6), read and written
//!    through the [`Store`] (the CA's ledger database);
//! 5. challenges are validated in the background ([`crate::validate`]);
//! 6. `finalize` signs with the same policy as `squirrel pki sign`, and the
//!    certificate becomes a ledger row with its account.

mod account;
mod auth;
mod authz;
mod finalize;
pub mod identity;
pub mod listen;
mod order;
pub mod policy;
mod renewal;
mod reply;
mod resources;
mod revoke;
mod stalled;

use crate::nonce::token as nonce_token;
use crate::problem::{ErrorType, Problem};
use crate::store::Store;
use crate::validate::ValidationConfig;
use bytes::Bytes;
use hyper::Method;
use reply::Reply;
use squirrel_pki::CertificateAuthority;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Semaphore;

pub use policy::Policy;

/// The largest request body accepted (RFC 8555 leaves it to the server;
/// a CSR with a hundred names fits many times over).
pub const MAX_BODY: usize = 64 * 1024;

/// What the leader decides about this CA's ACME service.
#[derive(Clone, Debug)]
pub struct AcmeOptions {
    /// Only holders of an EAB key (`squirrel pki ca eab add`) may register.
    pub require_eab: bool,
    /// The terms of service URL shown in the directory's `meta`.
    pub terms_of_service: Option<String>,
    /// Which names the CA issues for, and for how long.
    pub policy: Policy,
    /// Where and how challenges are validated.
    pub validation: ValidationConfig,
    /// How long a nonce may wait before its use.
    pub nonce_lifetime: Duration,
    /// How long an order (and its pending authorizations) may take.
    pub order_lifetime: Duration,
    /// How long a valid authorization may be reused for new orders.
    pub authz_reuse: Duration,
    /// How many validations run at once.
    pub max_validations: usize,
    /// Refuse every Nth good nonce with `badNonce`: a test of the clients'
    /// retries (RFC 8555 §6.5: a client retries with the fresh nonce), as
    /// Pebble's PEBBLE_WFE_NONCEREJECT. None in service.
    pub reject_every_nth_nonce: Option<u32>,
    /// How often this server looks for challenges and orders left
    /// `processing` by a replica that stopped, taking over those seen in
    /// two looks in a row (`Acme::watch_stalled`).
    pub stalled_after: std::time::Duration,
}

impl Default for AcmeOptions {
    fn default() -> Self {
        AcmeOptions {
            require_eab: false,
            terms_of_service: None,
            policy: Policy::default(),
            validation: ValidationConfig::default(),
            nonce_lifetime: Duration::hours(1),
            order_lifetime: Duration::days(7),
            authz_reuse: Duration::days(30),
            max_validations: 64,
            reject_every_nth_nonce: None,
            // Longer than a validation may take (`ValidationConfig::timeout`,
            // 10 s), so that a live replica's work is not taken over.
            stalled_after: std::time::Duration::from_secs(15),
        }
    }
}

/// An HTTP request as the ACME handlers see it: the transport (TLS, HTTP
/// version, body limit) is [`listen`]'s business.
#[derive(Debug)]
pub struct AcmeRequest {
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// `https://HOST[:PORT]` as the client addressed the server: the
    /// prefix of every URL it is given back and of the JWS `url` it signs.
    pub base: String,
    pub content_type: Option<String>,
    /// The body, or None when it was over [`MAX_BODY`].
    pub body: Option<Bytes>,
}

/// The ACME server: the CA, its store and its options.
pub struct Acme {
    store: Arc<dyn Store>,
    ca: CertificateAuthority,
    /// The CA certificate in PEM, appended to every chain.
    ca_pem: String,
    options: AcmeOptions,
    validations: Arc<Semaphore>,
    /// Account keys already parsed, by their stored JWK text (a key is
    /// its text: a rollover stores another text).
    keys: std::sync::Mutex<std::collections::HashMap<String, crate::Jwk>>,
    /// Makes and checks nonces; its key comes from the store on first use.
    mint: tokio::sync::OnceCell<crate::nonce::NonceMint>,
    /// Good nonces redeemed so far (for `reject_every_nth_nonce`).
    nonces_redeemed: std::sync::atomic::AtomicU64,
    /// The orders and challenges this server is working on.
    busy: stalled::Busy,
}

impl Acme {
    /// An ACME server for `ca`, keeping its state in `store`.
    pub fn new(store: Arc<dyn Store>, ca: CertificateAuthority, options: AcmeOptions) -> Arc<Acme> {
        let ca_pem = pem_of(&ca.cert_der);
        Arc::new(Acme {
            store,
            validations: Arc::new(Semaphore::new(options.max_validations.max(1))),
            ca,
            ca_pem,
            options,
            nonces_redeemed: Default::default(),
            mint: tokio::sync::OnceCell::new(),
            keys: Default::default(),
            busy: Default::default(),
        })
    }

    /// The CA behind this server.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// The store behind this server.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Finishes what a previous run left half done: challenges still being
    /// validated are validated again, finalized orders are signed. Call it
    /// once at start; it returns when the work is queued.
    pub async fn resume(self: &Arc<Self>) -> Result<usize, Problem> {
        let mut resumed = 0;
        for challenge in self.store.processing_challenges().await? {
            // Not awaited: the server starts while these run.
            drop(self.spawn_validation(authz::Validation {
                challenge_id: challenge.id.clone(),
                known: None,
            }));
            resumed += 1;
        }
        for order in self.store.processing_orders().await? {
            self.finish_processing(order, None).await;
            resumed += 1;
        }
        Ok(resumed)
    }

    /// Answers one request. Never fails: errors are problem documents.
    pub async fn respond(self: &Arc<Self>, request: AcmeRequest) -> hyper::Response<Bytes> {
        let reply = match self.route(&request).await {
            Ok(reply) => reply,
            Err(problem) => Reply::problem(&problem),
        };
        let nonce = self.fresh_nonce().await;
        let response = reply.into_response(&request.base, nonce);
        tracing::debug!(
            "{} {} {}",
            request.method,
            request.path,
            response.status().as_u16()
        );
        response
    }

    async fn route(self: &Arc<Self>, req: &AcmeRequest) -> Result<Reply, Problem> {
        let path = req.path.as_str();
        let method = &req.method;
        let (first, rest) = match path.strip_prefix("/acme/") {
            Some(tail) => tail.split_once('/').unwrap_or((tail, "")),
            None if path == "/" => return Ok(Reply::text(resources::welcome(&req.base))),
            None => return Err(not_found(path)),
        };
        let post_only = |reply| post_only(method, reply);
        match (first, rest) {
            ("directory", "") => get_only(method, || Ok(resources::directory(self, &req.base))),
            ("new-nonce", "") => match *method {
                Method::HEAD => Ok(Reply::empty(200)),
                Method::GET => Ok(Reply::empty(204)),
                _ => Err(method_not_allowed(method, "GET, HEAD")),
            },
            ("renewal-info", id) if !id.is_empty() => {
                get_only(method, || Ok(()))?;
                renewal::info(self, id).await
            }
            ("new-account", "") => post_only(account::new_account(self, req).await),
            ("key-change", "") => post_only(account::key_change(self, req).await),
            ("new-order", "") => post_only(order::new_order(self, req).await),
            ("revoke-cert", "") => post_only(revoke::revoke(self, req).await),
            ("acct", id) => match id.split_once('/') {
                None => post_only(account::account(self, req, id).await),
                Some((id, "orders")) => post_only(account::orders(self, req, id).await),
                Some(_) => Err(not_found(path)),
            },
            ("order", id) => match id.split_once('/') {
                None => post_only(order::order(self, req, id).await),
                Some((id, "finalize")) => post_only(finalize::finalize(self, req, id).await),
                Some(_) => Err(not_found(path)),
            },
            ("authz", id) => post_only(authz::authorization(self, req, id).await),
            ("chall", id) => post_only(authz::challenge(self, req, id).await),
            ("cert", serial) => post_only(finalize::certificate(self, req, serial).await),
            _ => Err(not_found(path)),
        }
    }

    /// True when this good nonce is to be refused anyway, as a test of
    /// the client's retry (see [`AcmeOptions::reject_every_nth_nonce`]).
    fn rejects_nonce_for_test(&self) -> bool {
        let Some(n) = self.options.reject_every_nth_nonce.filter(|&n| n > 0) else {
            return false;
        };
        let count = self
            .nonces_redeemed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        count % u64::from(n) == 0
    }

    /// The parsed account key of a stored JWK, from a small cache: every
    /// request of an account is verified with it.
    pub(crate) fn account_key(&self, jwk: &str) -> Result<crate::Jwk, Problem> {
        const MAX_CACHED: usize = 10_000;
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = keys.get(jwk) {
            return Ok(key.clone());
        }
        let key = crate::Jwk::from_json(jwk.as_bytes()).map_err(|e| {
            Problem::new(
                ErrorType::ServerInternal,
                format!("a stored account key: {e}"),
            )
        })?;
        if keys.len() >= MAX_CACHED {
            keys.clear();
        }
        keys.insert(jwk.to_string(), key.clone());
        Ok(key)
    }

    /// The nonce mint, with the key every server of this CA shares.
    pub(crate) async fn mint(&self) -> Result<&crate::nonce::NonceMint, Problem> {
        self.mint
            .get_or_try_init(|| async {
                let key = self.store.nonce_key().await?;
                Ok::<_, Problem>(crate::nonce::NonceMint::new(
                    &key,
                    self.options.nonce_lifetime,
                ))
            })
            .await
    }

    /// A new nonce. A store failure (reading the nonce key) leaves the
    /// response without one: the client's next request gets `badNonce`
    /// and asks again, rather than this response becoming an error.
    async fn fresh_nonce(&self) -> Option<String> {
        match self.mint().await {
            Ok(mint) => Some(mint.issue(OffsetDateTime::now_utc())),
            Err(problem) => {
                tracing::error!("cannot make a nonce: {}", problem.detail);
                None
            }
        }
    }
}

/// A random id for a resource: 128 bits, base64url (RFC 8555 §8.1 asks as
/// much of tokens; ids get the same, so that URLs cannot be guessed).
pub(crate) fn random_id() -> String {
    nonce_token()
}

fn pem_of(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

/// Resources other than the directory, new-nonce and renewal-info are read
/// with POST-as-GET (RFC 8555 §6.3): a GET gets 405.
fn post_only(method: &Method, reply: Result<Reply, Problem>) -> Result<Reply, Problem> {
    match *method {
        Method::POST => reply,
        _ => Err(method_not_allowed(method, "POST")),
    }
}

fn get_only<T>(method: &Method, f: impl FnOnce() -> Result<T, Problem>) -> Result<T, Problem> {
    match *method {
        Method::GET | Method::HEAD => f(),
        _ => Err(method_not_allowed(method, "GET")),
    }
}

fn method_not_allowed(method: &Method, allowed: &str) -> Problem {
    Problem::new(
        ErrorType::Malformed,
        format!("{method} is not allowed here; use {allowed} (RFC 8555 §6.3)"),
    )
    .with_status(405)
}

fn not_found(path: &str) -> Problem {
    Problem::new(
        ErrorType::Malformed,
        format!("no ACME resource at {path}; the directory is at /acme/directory"),
    )
    .with_status(404)
}
