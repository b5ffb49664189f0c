//! The JWS signature algorithms this server accepts (RFC 7518 §3.1, and
//! RFC 8037 §3.1 for EdDSA), and the key each one needs.
//!
//! RFC 8555 §6.2 requires ES256, recommends EdDSA (Ed25519), and forbids
//! `none` and MAC algorithms such as HS256: a MAC would need a secret shared
//! with the server, which an account key is not. ES384, ES512 and RS256 are
//! accepted because common clients (certbot's RSA keys, lego's P-384 keys)
//! use them.
//!
//! Each algorithm fits exactly one kind of key: ES256 signs with P-256 only,
//! and so on. Checking the pair before verifying is what stops an attacker
//! from choosing which verification routine a key is fed to.

use std::fmt;

/// A JWS `alg` value that this server verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4); mandatory in ACME.
    Es256,
    /// ECDSA with P-384 and SHA-384 (RFC 7518 §3.4).
    Es384,
    /// ECDSA with P-521 and SHA-512 (RFC 7518 §3.4).
    Es512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// Ed25519 (RFC 8037 §3.1; the JOSE name is `EdDSA`, the curve is in the key).
    EdDsa,
}

impl Algorithm {
    /// Every accepted algorithm, in the order a problem document lists them.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Rs256,
        Algorithm::EdDsa,
    ];

    /// The accepted `alg` names: the `algorithms` field of a
    /// `badSignatureAlgorithm` problem document (RFC 8555 §6.2).
    pub const NAMES: [&'static str; 5] = ["ES256", "ES384", "ES512", "RS256", "EdDSA"];

    /// The JOSE name, as it appears in the `alg` header.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Es512 => "ES512",
            Algorithm::Rs256 => "RS256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// Looks up an `alg` name; `None` for anything not accepted (including
    /// `none`, `HS256` and `PS256`). JOSE names are case-sensitive.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_refuse_the_rest() {
        for (alg, name) in Algorithm::ALL.iter().zip(Algorithm::NAMES) {
            assert_eq!(alg.name(), name);
            assert_eq!(Algorithm::from_name(name), Some(*alg));
        }
        for refused in ["none", "HS256", "PS256", "es256", "EdDSA ", "ES256K", ""] {
            assert_eq!(Algorithm::from_name(refused), None, "{refused}");
        }
    }
}
