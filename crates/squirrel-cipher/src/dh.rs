//! Diffie-Hellman, tutorial step 8: how two squirrels who never met agree on
//! a key while a spy sees everything they send.
//!
//! The tutorial tells it with paint: a public colour (yellow), a private
//! colour each side mixes in, mixtures exchanged in the open, and the same
//! final colour on both sides. This module plays it with real numbers twice:
//!
//! 1. a toy finite-field exchange with a small prime `p` and base `g`, small
//!    enough to follow by hand, and small enough that the spy breaks it by
//!    trying every private number, which shows why real exchanges are big;
//! 2. a real X25519 exchange (aws-lc-rs), whose shared secret goes through
//!    HKDF-SHA256 to become a Fernet key, so that one side can encrypt the
//!    secret message and the other decrypt it: steps 6 to 8 joined up.
//!
//! The reports are grouped by who knows what: `public` is what the spy sees,
//! `you` and `squirrel` hold what never leaves each side.

use crate::fernet::{Fernet, Key};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};
use aws_lc_rs::encoding::{AsBigEndian, Curve25519SeedBin};
use aws_lc_rs::{hkdf, rand};
use serde::Serialize;

/// The toy prime and base of the Wikipedia example: 5 is a generator mod 23.
pub const TOY_P: u64 = 23;
pub const TOY_G: u64 = 5;
/// The toy prime stays below this, so the numbers can be followed by hand
/// and the spy's brute force is instant.
pub const TOY_MAX_P: u64 = 1_000_000;
/// HKDF `info` that ties the derived key to this use.
pub const HKDF_INFO: &[u8] = b"squirrel dh fernet key v1";

/// Errors of the Diffie-Hellman module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DhError {
    #[error(
        "p = {0} is not a prime between 5 and {TOY_MAX_P}: the toy exchange needs a small prime \
         modulus, such as 23"
    )]
    BadPrime(u64),
    #[error("g = {g} must be between 2 and p - 2 = {max}, such as 5 with p = 23")]
    BadBase { g: u64, max: u64 },
    #[error("the private number {value} of {who} must be between 2 and p - 2 = {max}")]
    BadPrivate {
        who: &'static str,
        value: u64,
        max: u64,
    },
    #[error("aws-lc failed to {0}")]
    Crypto(&'static str),
    #[error("the derived key does not work: {0}")]
    Fernet(#[from] crate::fernet::FernetError),
}

/// What the spy sees in the toy exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToyPublic {
    /// The public colour: the prime modulus...
    pub p: u64,
    /// ...and the base everyone starts from.
    pub g: u64,
    /// g^a mod p, sent by you.
    pub you_mixture: u64,
    /// g^b mod p, sent by the squirrel.
    pub squirrel_mixture: u64,
}

/// What one side keeps to itself in the toy exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToySide {
    /// The private colour, never sent.
    pub private: u64,
    /// The other side's mixture raised to the private number, mod p.
    pub shared: u64,
}

/// The spy's attack on the toy exchange: try every exponent until g^x = A.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToySpy {
    /// An exponent x with g^x mod p = your mixture (maybe not yours, but as good).
    pub found_private: u64,
    /// How many exponents the spy tried.
    pub tries: u64,
    /// The squirrel's mixture raised to x: the shared colour, stolen.
    pub shared: u64,
}

/// The whole toy exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToyExchange {
    pub public: ToyPublic,
    pub you: ToySide,
    pub squirrel: ToySide,
    pub spy: ToySpy,
}

/// `base^exp mod m` by square-and-multiply, in u128 so nothing overflows.
pub fn mod_pow(base: u64, mut exp: u64, m: u64) -> u64 {
    let m128 = u128::from(m);
    let mut result = 1u128 % m128;
    let mut base = u128::from(base) % m128;
    while exp > 0 {
        if exp & 1 == 1 {
            result = result * base % m128;
        }
        base = base * base % m128;
        exp >>= 1;
    }
    // The result is below m, a u64.
    result as u64
}

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 1;
    }
    true
}

/// A random number in `low..=high` (the toy does not mind the tiny bias).
fn random_between(low: u64, high: u64) -> Result<u64, DhError> {
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes).map_err(|_| DhError::Crypto("draw random bytes"))?;
    Ok(low + u64::from_le_bytes(bytes) % (high - low + 1))
}

/// Plays the toy exchange. Private numbers not given are drawn at random.
pub fn toy_exchange(
    p: u64,
    g: u64,
    you_private: Option<u64>,
    squirrel_private: Option<u64>,
) -> Result<ToyExchange, DhError> {
    if !(5..TOY_MAX_P).contains(&p) || !is_prime(p) {
        return Err(DhError::BadPrime(p));
    }
    let max = p - 2;
    if !(2..=max).contains(&g) {
        return Err(DhError::BadBase { g, max });
    }
    let pick = |given: Option<u64>, who: &'static str| match given {
        Some(value) if (2..=max).contains(&value) => Ok(value),
        Some(value) => Err(DhError::BadPrivate { who, value, max }),
        None => random_between(2, max),
    };
    let a = pick(you_private, "you")?;
    let b = pick(squirrel_private, "the squirrel")?;
    let you_mixture = mod_pow(g, a, p);
    let squirrel_mixture = mod_pow(g, b, p);
    // The spy's brute force: walk g^1, g^2, ... until it meets your mixture.
    let mut power = 1u64;
    let mut found_private = 0;
    for x in 1..p {
        power = power * g % p;
        if power == you_mixture {
            found_private = x;
            break;
        }
    }
    Ok(ToyExchange {
        public: ToyPublic {
            p,
            g,
            you_mixture,
            squirrel_mixture,
        },
        you: ToySide {
            private: a,
            shared: mod_pow(squirrel_mixture, a, p),
        },
        squirrel: ToySide {
            private: b,
            shared: mod_pow(you_mixture, b, p),
        },
        spy: ToySpy {
            found_private,
            tries: found_private,
            shared: mod_pow(squirrel_mixture, found_private, p),
        },
    })
}

/// What the spy sees in the X25519 exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct X25519Public {
    /// Your public key, hex.
    pub you_public_key: String,
    /// The squirrel's public key, hex.
    pub squirrel_public_key: String,
    /// The message as the squirrel sends it: a Fernet token.
    pub token: String,
}

/// What one side keeps to itself in the X25519 exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct X25519Side {
    /// The private key, hex: never sent.
    pub private_key: String,
    /// The X25519 shared secret, hex: computed, never sent.
    pub shared_secret: String,
    /// HKDF-SHA256 of the shared secret, as a Fernet key.
    pub fernet_key: String,
    /// The message in clear on this side.
    pub message: String,
}

/// The whole X25519 exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct X25519Exchange {
    pub public: X25519Public,
    pub you: X25519Side,
    pub squirrel: X25519Side,
}

struct Party {
    private: PrivateKey,
    public: Vec<u8>,
}

impl Party {
    fn new() -> Result<Self, DhError> {
        let private =
            PrivateKey::generate(&X25519).map_err(|_| DhError::Crypto("generate an X25519 key"))?;
        let public = private
            .compute_public_key()
            .map_err(|_| DhError::Crypto("compute an X25519 public key"))?
            .as_ref()
            .to_vec();
        Ok(Party { private, public })
    }

    fn private_hex(&self) -> Result<String, DhError> {
        let seed: Curve25519SeedBin = self
            .private
            .as_be_bytes()
            .map_err(|_| DhError::Crypto("export an X25519 private key"))?;
        Ok(hex::encode(seed.as_ref()))
    }

    /// The shared secret with the peer, and the Fernet key derived from it.
    fn agree(&self, peer_public: &[u8]) -> Result<(Vec<u8>, Key), DhError> {
        let peer = UnparsedPublicKey::new(&X25519, peer_public);
        let secret = agreement::agree(
            &self.private,
            peer,
            DhError::Crypto("agree on an X25519 secret"),
            |secret| Ok(secret.to_vec()),
        )?;
        let key = Key::from_bytes(&derive_fernet_key(&secret)?)?;
        Ok((secret, key))
    }
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 (empty salt, [`HKDF_INFO`]) from a shared secret to the 32
/// bytes of a Fernet key. A raw DH output is not uniformly random; HKDF
/// makes it a proper key.
pub fn derive_fernet_key(shared_secret: &[u8]) -> Result<[u8; 32], DhError> {
    let mut out = [0u8; 32];
    hkdf::Salt::new(hkdf::HKDF_SHA256, &[])
        .extract(shared_secret)
        .expand(&[HKDF_INFO], Len(out.len()))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| DhError::Crypto("derive a key with HKDF-SHA256"))?;
    Ok(out)
}

/// Plays a real X25519 exchange; the squirrel then sends `message`
/// encrypted under the derived key and you decrypt it.
pub fn x25519_exchange(message: &str) -> Result<X25519Exchange, DhError> {
    let you = Party::new()?;
    let squirrel = Party::new()?;
    let (you_secret, you_key) = you.agree(&squirrel.public)?;
    let (squirrel_secret, squirrel_key) = squirrel.agree(&you.public)?;
    let you_key_text = you_key.to_base64();
    let squirrel_key_text = squirrel_key.to_base64();
    let token = Fernet::new(squirrel_key).encrypt(message.as_bytes())?;
    let opened = Fernet::new(you_key).decrypt(token.as_bytes(), None)?;
    Ok(X25519Exchange {
        public: X25519Public {
            you_public_key: hex::encode(&you.public),
            squirrel_public_key: hex::encode(&squirrel.public),
            token,
        },
        you: X25519Side {
            private_key: you.private_hex()?,
            shared_secret: hex::encode(you_secret),
            fernet_key: you_key_text,
            message: String::from_utf8_lossy(&opened.plaintext).into_owned(),
        },
        squirrel: X25519Side {
            private_key: squirrel.private_hex()?,
            shared_secret: hex::encode(squirrel_secret),
            fernet_key: squirrel_key_text,
            message: message.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wikipedia_example() {
        // p = 23, g = 5, a = 4, b = 3: A = 4, B = 10, s = 18.
        let toy = toy_exchange(23, 5, Some(4), Some(3)).unwrap();
        assert_eq!(toy.public.you_mixture, 4);
        assert_eq!(toy.public.squirrel_mixture, 10);
        assert_eq!(toy.you.shared, 18);
        assert_eq!(toy.squirrel.shared, 18);
        assert_eq!(toy.spy.found_private, 4);
        assert_eq!(toy.spy.shared, 18);
    }

    #[test]
    fn toy_parameters_are_checked() {
        assert_eq!(toy_exchange(21, 5, None, None), Err(DhError::BadPrime(21)));
        assert_eq!(
            toy_exchange(23, 22, None, None),
            Err(DhError::BadBase { g: 22, max: 21 })
        );
        assert_eq!(
            toy_exchange(23, 5, Some(1), None),
            Err(DhError::BadPrivate {
                who: "you",
                value: 1,
                max: 21
            })
        );
    }

    #[test]
    fn random_toy_exchanges_agree() {
        for _ in 0..50 {
            let toy = toy_exchange(999_983, 5, None, None).unwrap();
            assert_eq!(toy.you.shared, toy.squirrel.shared);
            assert_eq!(toy.spy.shared, toy.you.shared);
        }
    }

    #[test]
    fn x25519_sides_agree_and_the_message_arrives() {
        let ex = x25519_exchange("fluffy tail").unwrap();
        assert_eq!(ex.you.shared_secret, ex.squirrel.shared_secret);
        assert_eq!(ex.you.fernet_key, ex.squirrel.fernet_key);
        assert_ne!(ex.you.private_key, ex.squirrel.private_key);
        assert_eq!(ex.you.private_key.len(), 64);
        assert_eq!(ex.public.you_public_key.len(), 64);
        assert_eq!(ex.you.message, "fluffy tail");
        assert!(ex.public.token.starts_with("gAAAAA"));
    }

    #[test]
    fn hkdf_is_deterministic() {
        assert_eq!(
            derive_fernet_key(&[7; 32]).unwrap(),
            derive_fernet_key(&[7; 32]).unwrap()
        );
        assert_ne!(
            derive_fernet_key(&[7; 32]).unwrap(),
            derive_fernet_key(&[8; 32]).unwrap()
        );
    }
}
