//! Anti-replay nonces (RFC 8555 §6.5 "Replay Protection").
//!
//! Every ACME POST carries a server-issued nonce in its protected header;
//! the server accepts each nonce once, so a captured request cannot be sent
//! again. The RFC leaves the mechanism to the server and suggests the one
//! used here: "generate a random 128-bit value for each response, keep a
//! list of issued nonces, and strike nonces from this list as they are used".
//!
//! Two limits keep the list from growing without end: a nonce expires after
//! a lifetime, and the store holds at most `capacity` nonces, dropping the
//! oldest first. A dropped or expired nonce is simply refused with
//! `badNonce`, which clients handle by retrying with the fresh nonce of the
//! error response (RFC 8555 §6.5), so both limits are safe.
//!
//! The store is in memory and process-local: a later storage trait can put
//! a shared one behind the same two calls, `issue` and `redeem`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::b64;

/// The default nonce lifetime: long enough for a client's slow step
/// (solving a DNS challenge between two requests), short enough to bound
/// the store.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// The default number of nonces kept.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Why a nonce was refused: both are `badNonce` problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// Never issued, already used, or dropped to make room: RFC 8555 §6.5
    /// treats a used nonce "in the same way as a value it had never issued".
    #[error("the nonce is unknown or has already been used")]
    Unknown,
    /// Issued, but older than the store's lifetime.
    #[error("the nonce has expired")]
    Expired,
}

/// A thread-safe, bounded, single-use nonce store.
#[derive(Debug)]
pub struct NonceStore {
    lifetime: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Issue order → nonce, so the oldest is found in O(log n).
    by_age: BTreeMap<u64, String>,
    /// Nonce → (issue order, issue time).
    live: HashMap<String, (u64, Instant)>,
    next: u64,
}

impl Default for NonceStore {
    fn default() -> NonceStore {
        NonceStore::new(DEFAULT_LIFETIME, DEFAULT_CAPACITY)
    }
}

impl NonceStore {
    /// A store whose nonces live `lifetime` and which holds at most
    /// `capacity` of them (at least one).
    pub fn new(lifetime: Duration, capacity: usize) -> NonceStore {
        NonceStore {
            lifetime,
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Issues a fresh nonce: 128 random bits, base64url (22 characters),
    /// for a `Replay-Nonce` header (RFC 8555 §6.5.1).
    pub fn issue(&self) -> String {
        self.issue_at(Instant::now())
    }

    /// Accepts `nonce` once: a second call with the same value fails.
    pub fn redeem(&self, nonce: &str) -> Result<(), NonceError> {
        self.redeem_at(nonce, Instant::now())
    }

    /// [`issue`](Self::issue) with the caller's clock (for tests).
    pub fn issue_at(&self, now: Instant) -> String {
        let nonce = token();

        let mut inner = self.lock();
        // Drop the expired, then the oldest until there is room.
        while let Some((_, oldest)) = inner.by_age.first_key_value() {
            let expired = inner
                .live
                .get(oldest)
                .is_none_or(|(_, issued)| self.is_expired(*issued, now));
            if !expired && inner.live.len() < self.capacity {
                break;
            }
            if let Some((_, oldest)) = inner.by_age.pop_first() {
                inner.live.remove(&oldest);
            }
        }
        let order = inner.next;
        inner.next += 1;
        inner.by_age.insert(order, nonce.clone());
        inner.live.insert(nonce.clone(), (order, now));
        nonce
    }

    /// [`redeem`](Self::redeem) with the caller's clock (for tests).
    pub fn redeem_at(&self, nonce: &str, now: Instant) -> Result<(), NonceError> {
        let mut inner = self.lock();
        let (order, issued) = inner.live.remove(nonce).ok_or(NonceError::Unknown)?;
        inner.by_age.remove(&order);
        if self.is_expired(issued, now) {
            return Err(NonceError::Expired);
        }
        Ok(())
    }

    /// How many nonces are held (issued, not yet redeemed or dropped).
    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_expired(&self, issued: Instant, now: Instant) -> bool {
        now.saturating_duration_since(issued) > self.lifetime
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent maps (every
        // update is a complete insert or remove), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// 128 random bits, base64url: a nonce, a token (RFC 8555 §8.1 asks for at
/// least 128 bits of entropy) or a resource id that cannot be guessed.
pub fn token() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator failed");
    b64::encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_128_bit_base64url_and_distinct() {
        let store = NonceStore::default();
        let a = store.issue();
        let b = store.issue();
        assert_eq!(a.len(), 22);
        assert_eq!(b64::decode(&a).map(|v| v.len()), Some(16));
        assert!(b64::is_base64url_token(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn single_use() {
        let store = NonceStore::default();
        let nonce = store.issue();
        assert_eq!(store.redeem(&nonce), Ok(()));
        assert_eq!(store.redeem(&nonce), Err(NonceError::Unknown));
        assert!(store.is_empty());
    }

    #[test]
    fn unknown_nonce() {
        let store = NonceStore::default();
        store.issue();
        assert_eq!(
            store.redeem("AAAAAAAAAAAAAAAAAAAAAA"),
            Err(NonceError::Unknown)
        );
        assert_eq!(store.redeem(""), Err(NonceError::Unknown));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn expiry() {
        let lifetime = Duration::from_secs(60);
        let store = NonceStore::new(lifetime, 10);
        let t0 = Instant::now();
        let fresh = store.issue_at(t0);
        let stale = store.issue_at(t0);
        assert_eq!(
            store.redeem_at(&fresh, t0 + lifetime),
            Ok(()),
            "at the limit"
        );
        assert_eq!(
            store.redeem_at(&stale, t0 + lifetime + Duration::from_secs(1)),
            Err(NonceError::Expired)
        );
        // An expired nonce is gone, not reusable.
        assert_eq!(store.redeem_at(&stale, t0), Err(NonceError::Unknown));
    }

    #[test]
    fn expired_nonces_are_purged_on_issue() {
        let lifetime = Duration::from_secs(60);
        let store = NonceStore::new(lifetime, 10);
        let t0 = Instant::now();
        for _ in 0..5 {
            store.issue_at(t0);
        }
        store.issue_at(t0 + lifetime * 2);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn bounded_oldest_dropped_first() {
        let store = NonceStore::new(DEFAULT_LIFETIME, 3);
        let t0 = Instant::now();
        let issued: Vec<String> = (0..5).map(|_| store.issue_at(t0)).collect();
        assert_eq!(store.len(), 3);
        assert_eq!(store.redeem_at(&issued[0], t0), Err(NonceError::Unknown));
        assert_eq!(store.redeem_at(&issued[1], t0), Err(NonceError::Unknown));
        for kept in &issued[2..] {
            assert_eq!(store.redeem_at(kept, t0), Ok(()));
        }
        // Redeeming from the middle leaves the order consistent.
        let a = store.issue_at(t0);
        let b = store.issue_at(t0);
        let c = store.issue_at(t0);
        assert_eq!(store.redeem_at(&b, t0), Ok(()));
        let d = store.issue_at(t0);
        let e = store.issue_at(t0);
        assert_eq!(store.len(), 3);
        assert_eq!(store.redeem_at(&a, t0), Err(NonceError::Unknown));
        for kept in [&c, &d, &e] {
            assert_eq!(store.redeem_at(kept, t0), Ok(()));
        }
    }

    #[test]
    fn thread_safe() {
        let store = std::sync::Arc::new(NonceStore::default());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        let nonce = store.issue();
                        assert_eq!(store.redeem(&nonce), Ok(()));
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("thread");
        }
        assert!(store.is_empty());
    }
}
