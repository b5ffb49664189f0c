//! Replay protection (RFC 8555 §6.5): every response carries a fresh
//! `Replay-Nonce`, and every request must spend one, once.
//!
//! Nonces are kept by the [`Store`](crate::store::Store) (`put_nonce`,
//! `take_nonce`), not in this process's memory, so that they survive a
//! restart and several servers sharing one database accept each other's.
//! This module makes them.

use crate::b64;

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
    fn tokens_are_22_base64url_characters_and_differ() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), 22);
        assert!(b64::is_base64url_token(&a));
        assert_ne!(a, b);
    }
}
