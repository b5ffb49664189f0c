//! Replay protection (RFC 8555 §6.5): every response carries a fresh
//! `Replay-Nonce`, and every request must spend one, once.
//!
//! A nonce is `base64url(time || random || tag)`: the time it was made,
//! 64 random bits, and an HMAC-SHA256 tag (truncated to 128 bits) under a
//! key kept in the CA's database. Making one needs no database write; a
//! request's nonce is checked here (tag, age) and then spent in the store
//! (`Store::spend_nonce`), which refuses it the second time. Every server
//! sharing the database shares the key and the spent nonces, so replicas
//! accept each other's nonces, and a restart forgets none.

use crate::b64;
use aws_lc_rs::hmac;
use time::{Duration, OffsetDateTime};

const TIME_LEN: usize = 8;
const RANDOM_LEN: usize = 8;
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = TIME_LEN + RANDOM_LEN + TAG_LEN;

/// Why a nonce is refused before the store is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// Not one of this CA's nonces (or altered).
    #[error("the nonce was not issued by this server")]
    Unknown,
    /// Older than the nonce lifetime.
    #[error("the nonce expired")]
    Expired,
}

/// Makes and checks nonces with the CA's nonce key.
pub struct NonceMint {
    key: hmac::Key,
    lifetime: Duration,
}

impl NonceMint {
    /// A mint for `key` (from `Store::nonce_key`); nonces last `lifetime`.
    pub fn new(key: &[u8], lifetime: Duration) -> NonceMint {
        NonceMint {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            lifetime,
        }
    }

    /// A fresh nonce made at `now`.
    pub fn issue(&self, now: OffsetDateTime) -> String {
        let mut bytes = [0u8; NONCE_LEN];
        let nanos = u64::try_from(now.unix_timestamp_nanos()).unwrap_or(0);
        bytes[..TIME_LEN].copy_from_slice(&nanos.to_be_bytes());
        aws_lc_rs::rand::fill(&mut bytes[TIME_LEN..TIME_LEN + RANDOM_LEN])
            .expect("the system random generator failed");
        let tag = hmac::sign(&self.key, &bytes[..TIME_LEN + RANDOM_LEN]);
        bytes[TIME_LEN + RANDOM_LEN..].copy_from_slice(&tag.as_ref()[..TAG_LEN]);
        b64::encode(&bytes)
    }

    /// Checks that `nonce` was made by this mint and has not expired at
    /// `now`; returns when it expires (how long the store must remember it
    /// as spent).
    pub fn check(&self, nonce: &str, now: OffsetDateTime) -> Result<OffsetDateTime, NonceError> {
        let bytes = b64::decode(nonce).ok_or(NonceError::Unknown)?;
        if bytes.len() != NONCE_LEN {
            return Err(NonceError::Unknown);
        }
        let tag = hmac::sign(&self.key, &bytes[..TIME_LEN + RANDOM_LEN]);
        aws_lc_rs::constant_time::verify_slices_are_equal(
            &tag.as_ref()[..TAG_LEN],
            &bytes[TIME_LEN + RANDOM_LEN..],
        )
        .map_err(|_| NonceError::Unknown)?;
        let mut time = [0u8; TIME_LEN];
        time.copy_from_slice(&bytes[..TIME_LEN]);
        let made = OffsetDateTime::from_unix_timestamp_nanos(u64::from_be_bytes(time).into())
            .map_err(|_| NonceError::Unknown)?;
        let expires = made + self.lifetime;
        if expires <= now {
            return Err(NonceError::Expired);
        }
        Ok(expires)
    }
}

/// 128 random bits, base64url: a token (RFC 8555 §8.1 asks for at least
/// 128 bits of entropy) or a resource id that cannot be guessed.
pub fn token() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator failed");
    b64::encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_22_base64url_characters_and_differ() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), 22);
        assert!(b64::is_base64url_token(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn a_nonce_checks_until_it_expires_and_only_under_its_key() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let mint = NonceMint::new(b"a key of this CA", Duration::hours(1));
        let nonce = mint.issue(now);
        assert!(b64::is_base64url_token(&nonce));
        assert_ne!(nonce, mint.issue(now), "nonces differ");
        assert_eq!(mint.check(&nonce, now), Ok(now + Duration::hours(1)));
        assert_eq!(
            mint.check(&nonce, now + Duration::hours(1)),
            Err(NonceError::Expired)
        );
        let other = NonceMint::new(b"another CA's key", Duration::hours(1));
        assert_eq!(other.check(&nonce, now), Err(NonceError::Unknown));
        let mut altered = b64::decode(&nonce).unwrap();
        altered[0] ^= 1; // an older time, to outlive the lifetime
        assert_eq!(
            mint.check(&b64::encode(&altered), now),
            Err(NonceError::Unknown)
        );
        assert_eq!(mint.check("bm9uY2U", now), Err(NonceError::Unknown));
    }
}
