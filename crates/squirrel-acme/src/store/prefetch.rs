//! The record a request reads right after spending its nonce: the order
//! (with its authorizations while its state follows theirs),
//! authorization (by its id or one of its challenges') or certificate that
//! its URL names. Named up front, it can be read in the same step as the
//! spend ([`Store::spend_nonce_then_read`](super::Store::spend_nonce_then_read)): the SQLite store reads it
//! inside the writer's transaction, which spares the request a read
//! transaction of its own (its file-lock calls and its check of the page
//! cache); most ACME requests read one such record.

use crate::model::{AuthzRecord, CertificateRecord, OrderRecord};

/// What to read, by the id in the request's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prefetch {
    /// As [`Store::order`](super::Store::order), and when the order
    /// [follows its authorizations](OrderRecord::follows_its_authorizations),
    /// as [`Store::authz`](super::Store::authz) for each of them: the order's state is derived
    /// from theirs at every read.
    Order(String),
    /// As [`Store::authz`](super::Store::authz).
    Authz(String),
    /// As [`Store::authz_of_challenge`](super::Store::authz_of_challenge).
    AuthzOfChallenge(String),
    /// As [`Store::certificate`](super::Store::certificate).
    Certificate(String),
}

/// What a [`Prefetch`] found, as the matching read method returns it.
#[derive(Debug, Clone, PartialEq)]
pub enum Prefetched {
    /// The order, and those of its authorizations that exist (in the
    /// order's order) when it follows them; none otherwise.
    Order(Option<OrderRecord>, Vec<AuthzRecord>),
    Authz(Option<AuthzRecord>),
    Certificate(Option<CertificateRecord>),
}

impl Prefetched {
    /// The order and its authorizations, when this is what a
    /// [`Prefetch::Order`] found.
    pub fn into_order(self) -> Option<(Option<OrderRecord>, Vec<AuthzRecord>)> {
        match self {
            Prefetched::Order(found, authzs) => Some((found, authzs)),
            _ => None,
        }
    }

    /// The authorization, when this is what a [`Prefetch::Authz`] or
    /// [`Prefetch::AuthzOfChallenge`] found.
    pub fn into_authz(self) -> Option<Option<AuthzRecord>> {
        match self {
            Prefetched::Authz(found) => Some(found),
            _ => None,
        }
    }

    /// The certificate, when this is what a [`Prefetch::Certificate`] found.
    pub fn into_certificate(self) -> Option<Option<CertificateRecord>> {
        match self {
            Prefetched::Certificate(found) => Some(found),
            _ => None,
        }
    }
}

/// The authorizations a [`Prefetch::Order`] reads after `found`: all of
/// its own while it follows them, none otherwise.
pub(crate) fn authz_ids_to_read(found: Option<&OrderRecord>) -> &[String] {
    match found {
        Some(order) if order.follows_its_authorizations() => &order.authz_ids,
        _ => &[],
    }
}
