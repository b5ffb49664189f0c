//! Replay protection (RFC 8555 §6.5): every response carries a fresh
//! `Replay-Nonce`, and every request must spend one, once.
//!
//! A nonce is the time it was made (nanoseconds since 1970) as 16
//! lower-case hex digits, then `base64url(random || tag)`: 64 random bits
//! and an HMAC-SHA256 tag (truncated to 128 bits) of the time and the
//! random bits, under a key kept in the CA's database. Making one needs no
//! database write; a request's nonce is checked here (tag, age) and then
//! spent in the store (`Store::spend_nonce`), which refuses it the second
//! time. Every server sharing the database shares the key and the spent
//! nonces, so replicas accept each other's nonces, and a restart forgets
//! none.
//!
//! Why hex for the time: hex digits sort as their values, so nonces sort
//! by the time they were made. The store's table of spent nonces, kept in
//! nonce order, then grows at one end (the nonces a commit spends sit on
//! one or two pages) and is purged from the other, with no index of its
//! own on expiry. The whole is still base64url text, as RFC 8555 §6.5.1
//! requires: hex digits are base64url characters, and 48 characters
//! decode to 36 octets. Each nonce has one spelling (upper-case hex is
//! refused, and the base64url part has no spare bits), so a nonce cannot be
//! presented twice under two spellings.

use crate::b64;
use aws_lc_rs::hmac;
use time::{Duration, OffsetDateTime};

const TIME_LEN: usize = 8;
const RANDOM_LEN: usize = 8;
const TAG_LEN: usize = 16;
/// The time's hex digits at the front of a nonce.
const TIME_HEX_LEN: usize = 2 * TIME_LEN;
/// A whole nonce: the hex time, then 24 octets in base64url.
const NONCE_TEXT_LEN: usize = TIME_HEX_LEN + (RANDOM_LEN + TAG_LEN) / 3 * 4;

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
        let nanos = u64::try_from(now.unix_timestamp_nanos()).unwrap_or(0);
        let mut random = [0u8; RANDOM_LEN];
        aws_lc_rs::rand::fill(&mut random).expect("the system random generator failed");
        let mut rest = [0u8; RANDOM_LEN + TAG_LEN];
        rest[..RANDOM_LEN].copy_from_slice(&random);
        rest[RANDOM_LEN..].copy_from_slice(&self.tag(nanos, &random));
        format!("{nanos:016x}{}", b64::encode(&rest))
    }

    /// The truncated HMAC of a nonce's time and random bits.
    fn tag(&self, nanos: u64, random: &[u8]) -> [u8; TAG_LEN] {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(&nanos.to_be_bytes());
        context.update(random);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&context.sign().as_ref()[..TAG_LEN]);
        tag
    }

    /// Checks that `nonce` was made by this mint and has not expired at
    /// `now`; returns when it expires (how long the store must remember it
    /// as spent).
    pub fn check(&self, nonce: &str, now: OffsetDateTime) -> Result<OffsetDateTime, NonceError> {
        // Lower-case hex only, so that each nonce has one spelling
        // (`u64::from_str_radix` would also take upper-case digits and a
        // sign); all ASCII, so the split below falls between characters.
        let is_time = |b: &[u8]| b.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if nonce.len() != NONCE_TEXT_LEN || !is_time(&nonce.as_bytes()[..TIME_HEX_LEN]) {
            return Err(NonceError::Unknown);
        }
        let (time, rest) = nonce.split_at(TIME_HEX_LEN);
        let nanos = u64::from_str_radix(time, 16).map_err(|_| NonceError::Unknown)?;
        let rest = b64::decode(rest).ok_or(NonceError::Unknown)?;
        if rest.len() != RANDOM_LEN + TAG_LEN {
            return Err(NonceError::Unknown);
        }
        let (random, tag) = rest.split_at(RANDOM_LEN);
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.tag(nanos, random), tag)
            .map_err(|_| NonceError::Unknown)?;
        let made = OffsetDateTime::from_unix_timestamp_nanos(nanos.into())
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
        assert_eq!(nonce.len(), 48);
        assert!(b64::is_base64url_token(&nonce));
        assert_eq!(b64::decode(&nonce).map(|b| b.len()), Some(36));
        assert_ne!(nonce, mint.issue(now), "nonces differ");
        assert_eq!(mint.check(&nonce, now), Ok(now + Duration::hours(1)));
        assert_eq!(
            mint.check(&nonce, now + Duration::hours(1)),
            Err(NonceError::Expired)
        );
        let other = NonceMint::new(b"another CA's key", Duration::hours(1));
        assert_eq!(other.check(&nonce, now), Err(NonceError::Unknown));
        assert_eq!(mint.check("bm9uY2U", now), Err(NonceError::Unknown));
    }

    #[test]
    fn a_nonce_starts_with_the_time_it_was_made_and_sorts_by_it() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let mint = NonceMint::new(b"a key of this CA", Duration::hours(1));
        let nonce = mint.issue(now);
        assert_eq!(&nonce[..16], "18fae27693b40000");
        let mut made: Vec<String> = [0, 1, 15, 16, 255, 4096, 1 << 40]
            .into_iter()
            .map(|nanos| mint.issue(now + Duration::nanoseconds(nanos)))
            .collect();
        let in_order = made.clone();
        made.sort();
        assert_eq!(made, in_order, "text order is time order");
    }

    #[test]
    fn an_altered_or_respelled_nonce_is_refused_without_a_panic() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let mint = NonceMint::new(b"a key of this CA", Duration::hours(1));
        let nonce = mint.issue(now);
        // Another time: the tag no longer matches.
        let older = format!("18fae27693b30000{}", &nonce[16..]);
        assert_eq!(mint.check(&older, now), Err(NonceError::Unknown));
        // The same time with upper-case hex digits is not the same nonce.
        let upper = format!("18FAE27693B40000{}", &nonce[16..]);
        assert_eq!(mint.check(&upper, now), Err(NonceError::Unknown));
        let mut tag = nonce.clone().into_bytes();
        tag[47] = if tag[47] == b'A' { b'B' } else { b'A' };
        let tag = String::from_utf8(tag).unwrap();
        assert_eq!(mint.check(&tag, now), Err(NonceError::Unknown));
        // Right length, but a character of several bytes across the time's end.
        let wide = format!("18fae27693b4000é{}", &nonce[17..]);
        assert_eq!(wide.len(), 48);
        assert_eq!(mint.check(&wide, now), Err(NonceError::Unknown));
        // The form of earlier squirrels, base64url of the whole.
        assert_eq!(
            mint.check(&b64::encode(&[0x18; 32]), now),
            Err(NonceError::Unknown)
        );
    }
}
