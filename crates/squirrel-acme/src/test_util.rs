//! Signing helpers for tests: a minimal ACME *client* side of RFC 8555 §6.2,
//! so that tests (here, and in the crates that build the server on this
//! one) can produce flattened JWS (RFC 7515 §7.2.2) to feed the verifier.
//!
//! Only compiled for this crate's tests or with the `test-util` feature: a
//! server has no business signing requests.

pub mod pg_cluster;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P384_SHA384_FIXED_SIGNING, ECDSA_P521_SHA512_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use serde_json::{json, Value};

use crate::alg::Algorithm;
use crate::b64;
use crate::jwk::Jwk;

/// A private key that can sign JWS, with the algorithm it signs with.
pub enum TestKey {
    /// ECDSA with the fixed-size `r || s` signature of RFC 7518 §3.4.
    Ecdsa(EcdsaKeyPair, Algorithm),
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa(RsaKeyPair),
    /// Ed25519.
    Ed25519(Ed25519KeyPair),
}

impl TestKey {
    /// Generates a fresh key for `alg` (RSA keys are 2048 bits).
    pub fn generate(alg: Algorithm) -> TestKey {
        let ecdsa = |signing| {
            TestKey::Ecdsa(
                EcdsaKeyPair::generate(signing).expect("generate ECDSA key"),
                alg,
            )
        };
        match alg {
            Algorithm::Es256 => ecdsa(&ECDSA_P256_SHA256_FIXED_SIGNING),
            Algorithm::Es384 => ecdsa(&ECDSA_P384_SHA384_FIXED_SIGNING),
            Algorithm::Es512 => ecdsa(&ECDSA_P521_SHA512_FIXED_SIGNING),
            Algorithm::Rs256 => {
                TestKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).expect("generate RSA key"))
            }
            Algorithm::EdDsa => {
                TestKey::Ed25519(Ed25519KeyPair::generate().expect("generate Ed25519 key"))
            }
        }
    }

    /// The public key as a DER SubjectPublicKeyInfo, as a CSR or a
    /// certificate would carry it.
    pub fn spki_der(&self) -> Vec<u8> {
        use aws_lc_rs::encoding::AsDer;
        let der = match self {
            TestKey::Ecdsa(key, _) => key.public_key().as_der().map(|d| d.as_ref().to_vec()),
            TestKey::Rsa(key) => key.public_key().as_der().map(|d| d.as_ref().to_vec()),
            TestKey::Ed25519(key) => key.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.expect("a generated key encodes")
    }

    /// The private key as PKCS#8 DER, to build a CSR or a certificate with
    /// it (ECDSA and Ed25519 keys).
    pub fn pkcs8_der(&self) -> Vec<u8> {
        match self {
            TestKey::Ecdsa(key, _) => key.to_pkcs8v1().expect("encode").as_ref().to_vec(),
            TestKey::Ed25519(key) => key.to_pkcs8v1().expect("encode").as_ref().to_vec(),
            TestKey::Rsa(_) => panic!("pkcs8_der: not needed for RSA test keys"),
        }
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            TestKey::Ecdsa(_, alg) => *alg,
            TestKey::Rsa(_) => Algorithm::Rs256,
            TestKey::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    /// The public key as a JWK JSON value (the `jwk` header member).
    pub fn jwk_json(&self) -> Value {
        match self {
            TestKey::Ecdsa(pair, alg) => {
                let point = pair.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = match alg {
                    Algorithm::Es256 => "P-256",
                    Algorithm::Es384 => "P-384",
                    _ => "P-521",
                };
                json!({
                    "kty": "EC",
                    "crv": crv,
                    "x": b64::encode(&point[1..1 + len]),
                    "y": b64::encode(&point[1 + len..]),
                })
            }
            TestKey::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64::encode(public.modulus().big_endian_without_leading_zero()),
                    "e": b64::encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
            TestKey::Ed25519(pair) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64::encode(pair.public_key().as_ref()),
            }),
        }
    }

    /// The public key, parsed.
    pub fn jwk(&self) -> Jwk {
        Jwk::from_value(&self.jwk_json()).expect("a generated key is a valid JWK")
    }

    /// Signs `message` (the JWS signing input).
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            TestKey::Ecdsa(pair, _) => pair.sign(&rng, message).expect("sign").as_ref().to_vec(),
            TestKey::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .expect("sign");
                signature
            }
            TestKey::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }
}

/// Builds a flattened JSON JWS with an arbitrary protected header, so tests
/// can also build the malformed ones (wrong `alg`, both `jwk` and `kid`...).
pub fn sign_with_header(key: &TestKey, protected: &Value, payload: &[u8]) -> String {
    let protected = b64::encode(protected.to_string().as_bytes());
    let payload = b64::encode(payload);
    let signature = key.sign_bytes(format!("{protected}.{payload}").as_bytes());
    json!({
        "protected": protected,
        "payload": payload,
        "signature": b64::encode(&signature),
    })
    .to_string()
}

/// Builds the JWS of a `newAccount`-style request: the key in `jwk`.
pub fn sign_jwk(key: &TestKey, nonce: &str, url: &str, payload: &[u8]) -> String {
    let header = json!({
        "alg": key.algorithm().name(),
        "jwk": key.jwk_json(),
        "nonce": nonce,
        "url": url,
    });
    sign_with_header(key, &header, payload)
}

/// Builds the JWS of a request by an existing account: the account URL in `kid`.
pub fn sign_kid(key: &TestKey, kid: &str, nonce: &str, url: &str, payload: &[u8]) -> String {
    let header = json!({
        "alg": key.algorithm().name(),
        "kid": kid,
        "nonce": nonce,
        "url": url,
    });
    sign_with_header(key, &header, payload)
}

/// An external account binding (RFC 8555 §7.3.4) for `jwk` at `url`, MACed
/// with `alg` (HS256, HS384 or HS512) under `key`, as a client builds it.
pub fn eab_binding_with(alg: &str, kid: &str, url: &str, jwk: &Value, key: &[u8]) -> Value {
    let protected = b64::encode(
        json!({"alg": alg, "kid": kid, "url": url})
            .to_string()
            .as_bytes(),
    );
    let payload = b64::encode(jwk.to_string().as_bytes());
    let hmac_alg = match alg {
        "HS384" => aws_lc_rs::hmac::HMAC_SHA384,
        "HS512" => aws_lc_rs::hmac::HMAC_SHA512,
        _ => aws_lc_rs::hmac::HMAC_SHA256,
    };
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(hmac_alg, key),
        format!("{protected}.{payload}").as_bytes(),
    );
    json!({"protected": protected, "payload": payload, "signature": b64::encode(tag.as_ref())})
}

/// The HS256 binding of `account`'s key, as certbot and lego send it.
pub fn eab_binding(kid: &str, key: &[u8], account: &TestKey, url: &str) -> Value {
    eab_binding_with("HS256", kid, url, &account.jwk_json(), key)
}
