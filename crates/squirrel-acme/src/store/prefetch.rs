//! The record a request reads right after spending its nonce: the order,
//! authorization (by its id or one of its challenges') or certificate that
//! its URL names. Named up front, it can be read in the same step as the
//! spend ([`Store::spend_nonce_then_read`]): the SQLite store reads it
//! inside the writer's transaction, which spares the request a read
//! transaction of its own (its file-lock calls and its check of the page
//! cache); most ACME requests read one such record.

use super::{Store, StoreResult};
use crate::model::{AuthzRecord, CertificateRecord, OrderRecord};

/// What to read, by the id in the request's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prefetch {
    /// As [`Store::order`].
    Order(String),
    /// As [`Store::authz`].
    Authz(String),
    /// As [`Store::authz_of_challenge`].
    AuthzOfChallenge(String),
    /// As [`Store::certificate`].
    Certificate(String),
}

/// What a [`Prefetch`] found, as the matching read method returns it.
#[derive(Debug, Clone, PartialEq)]
pub enum Prefetched {
    Order(Option<OrderRecord>),
    Authz(Option<AuthzRecord>),
    Certificate(Option<CertificateRecord>),
}

impl Prefetched {
    /// The order, when this is what a [`Prefetch::Order`] found.
    pub fn into_order(self) -> Option<Option<OrderRecord>> {
        match self {
            Prefetched::Order(found) => Some(found),
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

impl Prefetch {
    /// Reads it with the store's read methods: the default way, for a
    /// backend without a better one.
    pub async fn read_from<S: Store + ?Sized>(&self, store: &S) -> StoreResult<Prefetched> {
        Ok(match self {
            Prefetch::Order(id) => Prefetched::Order(store.order(id).await?),
            Prefetch::Authz(id) => Prefetched::Authz(store.authz(id).await?),
            Prefetch::AuthzOfChallenge(id) => {
                Prefetched::Authz(store.authz_of_challenge(id).await?)
            }
            Prefetch::Certificate(serial) => {
                Prefetched::Certificate(store.certificate(serial).await?)
            }
        })
    }
}
