//! JSON Web Keys (RFC 7517, with the key types of RFC 7518 §6 and RFC 8037
//! §2) and their thumbprints (RFC 7638).
//!
//! An ACME account *is* a public key: `newAccount` carries it as the `jwk`
//! header of the JWS (RFC 8555 §6.2, §7.3), the server stores it, and the
//! key authorization of every challenge is `token || '.' || thumbprint`
//! (RFC 8555 §8.1). So this module does two jobs:
//!
//! - turn the JSON into a key that can verify signatures, refusing up front
//!   what could never verify (wrong coordinate sizes, points off the curve,
//!   RSA moduli under 2048 bits): a refused key is a `badPublicKey` problem
//!   (RFC 8555 §6.2), reported when the account is created rather than as a
//!   mysterious signature failure later;
//! - compute the RFC 7638 thumbprint, which must be byte-for-byte what the
//!   client computes, or every challenge fails.
//!
//! Only public keys are accepted: a JWK holding private members (`d`, `p`,
//! ...) is refused, since a client that sends one has leaked its key.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, VerificationAlgorithm, ECDSA_P256_SHA256_FIXED,
    ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256,
};
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::b64;

/// The smallest RSA modulus accepted, in bits (RFC 8555 §6.2 names a short
/// modulus as a reason for `badPublicKey`; 2048 is the CA/B Forum floor).
pub const RSA_MIN_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (aws-lc-rs' verification limit).
pub const RSA_MAX_BITS: usize = 8192;

/// Why a JWK was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    /// The JWK is not a JSON object, or a member has the wrong JSON type.
    #[error("the JWK is not a valid JSON object: {0}")]
    Malformed(String),
    /// A required member is absent.
    #[error("the JWK has no \"{0}\" member")]
    MissingMember(&'static str),
    /// A member is not strict base64url without padding (RFC 7515 §2).
    #[error("the JWK member \"{0}\" is not base64url without padding")]
    BadEncoding(&'static str),
    /// The `kty` is not EC, RSA or OKP.
    #[error("unsupported JWK key type \"{0}\" (accepted: EC, RSA, OKP)")]
    UnsupportedKeyType(String),
    /// The `crv` is not one this server verifies.
    #[error("unsupported curve \"{crv}\" for key type {kty}")]
    UnsupportedCurve {
        /// The key type (`EC` or `OKP`).
        kty: &'static str,
        /// The curve named by the JWK.
        crv: String,
    },
    /// A coordinate or key has the wrong length for its curve.
    #[error("the JWK member \"{member}\" is {actual} bytes long; {crv} needs {expected}")]
    WrongLength {
        /// The member (`x` or `y`).
        member: &'static str,
        /// The curve.
        crv: &'static str,
        /// The length the curve requires.
        expected: usize,
        /// The decoded length.
        actual: usize,
    },
    /// The key is not a valid point or key for its curve.
    #[error("the {0} public key is not a valid point on its curve")]
    InvalidPoint(&'static str),
    /// `n` or `e` has a leading zero octet (RFC 7518 §6.3.1 requires the
    /// minimal encoding, and the thumbprint depends on it).
    #[error("the RSA member \"{0}\" has leading zero octets")]
    NonMinimalInteger(&'static str),
    /// The RSA modulus is outside 2048..=8192 bits.
    #[error("the RSA modulus is {bits} bits; accepted: {RSA_MIN_BITS} to {RSA_MAX_BITS}")]
    RsaSize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// The RSA key is not a possible public key: an even modulus, or an
    /// exponent that is even, 1, or over 33 bits (BoringSSL's limit).
    #[error("the RSA public key is invalid: {0}")]
    InvalidRsaKey(&'static str),
    /// The JWK contains private key material.
    #[error("the JWK contains the private member \"{0}\"; send the public key only")]
    PrivateKey(String),
}

/// An elliptic curve of an `EC` key (RFC 7518 §6.2.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256, used with ES256.
    P256,
    /// NIST P-384, used with ES384.
    P384,
    /// NIST P-521, used with ES512.
    P521,
}

impl Curve {
    /// The JOSE `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The length of one coordinate in bytes (RFC 7518 §6.2.1.2: always the
    /// full field size, leading zeros kept).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    fn from_name(name: &str) -> Option<Curve> {
        [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

/// The public parameters of a key, as decoded from the JWK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyParams {
    /// `kty: EC`: an uncompressed point.
    Ec {
        /// The curve.
        curve: Curve,
        /// The x coordinate, big-endian, `curve.coordinate_len()` bytes.
        x: Vec<u8>,
        /// The y coordinate, big-endian, `curve.coordinate_len()` bytes.
        y: Vec<u8>,
    },
    /// `kty: RSA`: modulus and exponent, big-endian, minimal.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
    /// `kty: OKP, crv: Ed25519` (RFC 8037 §2): the 32-byte public key.
    Ed25519 {
        /// The public key.
        x: Vec<u8>,
    },
}

/// A parsed, validated public JWK that can verify signatures.
#[derive(Clone)]
pub struct Jwk {
    params: KeyParams,
    key: ParsedPublicKey,
}

impl Jwk {
    /// Parses a JWK from its JSON text.
    pub fn from_json(json: &[u8]) -> Result<Jwk, JwkError> {
        let value: Value =
            serde_json::from_slice(json).map_err(|e| JwkError::Malformed(e.to_string()))?;
        Jwk::from_value(&value)
    }

    /// Parses a JWK from a JSON value (the `jwk` member of a JWS header).
    pub fn from_value(value: &Value) -> Result<Jwk, JwkError> {
        let object = value
            .as_object()
            .ok_or_else(|| JwkError::Malformed("not a JSON object".into()))?;
        // RFC 7518 §6.2.2, §6.3.2 and RFC 8037 §2: private members.
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            if object.contains_key(private) {
                return Err(JwkError::PrivateKey(private.into()));
            }
        }
        let kty = string_member(object, "kty")?;
        let params = match kty {
            "EC" => {
                let crv = string_member(object, "crv")?;
                let curve = Curve::from_name(crv).ok_or_else(|| JwkError::UnsupportedCurve {
                    kty: "EC",
                    crv: crv.into(),
                })?;
                let x = coordinate(object, "x", curve.name(), curve.coordinate_len())?;
                let y = coordinate(object, "y", curve.name(), curve.coordinate_len())?;
                KeyParams::Ec { curve, x, y }
            }
            "RSA" => {
                let n = minimal_integer(object, "n")?;
                let e = minimal_integer(object, "e")?;
                let bits = bit_len(&n);
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(JwkError::RsaSize { bits });
                }
                // aws-lc accepts e = 1 when parsing, which makes every
                // "signature" equal to its own message: check here.
                if n.last().is_some_and(|b| b & 1 == 0) {
                    return Err(JwkError::InvalidRsaKey("the modulus is even"));
                }
                if e.last().is_some_and(|b| b & 1 == 0) || e == [1] {
                    return Err(JwkError::InvalidRsaKey(
                        "the exponent must be odd and at least 3",
                    ));
                }
                if bit_len(&e) > 33 {
                    return Err(JwkError::InvalidRsaKey("the exponent is over 33 bits"));
                }
                KeyParams::Rsa { n, e }
            }
            "OKP" => {
                let crv = string_member(object, "crv")?;
                if crv != "Ed25519" {
                    return Err(JwkError::UnsupportedCurve {
                        kty: "OKP",
                        crv: crv.into(),
                    });
                }
                let x = coordinate(object, "x", "Ed25519", 32)?;
                KeyParams::Ed25519 { x }
            }
            other => return Err(JwkError::UnsupportedKeyType(other.into())),
        };
        Jwk::from_params(params)
    }

    /// Builds a key from decoded parameters, checking it with aws-lc-rs:
    /// this is where a point off its curve is refused, once, rather than at
    /// every verification.
    pub fn from_params(params: KeyParams) -> Result<Jwk, JwkError> {
        let key = match &params {
            KeyParams::Ec { curve, x, y } => {
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04); // SEC 1 §2.3.3: uncompressed point
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                ParsedPublicKey::new(ec_verification(*curve), point)
                    .map_err(|_| JwkError::InvalidPoint(curve.name()))?
            }
            KeyParams::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .map_err(|_| JwkError::InvalidRsaKey("refused by aws-lc"))?,
            KeyParams::Ed25519 { x } => {
                ParsedPublicKey::new(&ED25519, x).map_err(|_| JwkError::InvalidPoint("Ed25519"))?
            }
        };
        Ok(Jwk { params, key })
    }

    /// The decoded public parameters.
    pub fn params(&self) -> &KeyParams {
        &self.params
    }

    /// The one JWS algorithm this key verifies (see [`crate::alg`]).
    pub fn algorithm(&self) -> Algorithm {
        match &self.params {
            KeyParams::Ec {
                curve: Curve::P256, ..
            } => Algorithm::Es256,
            KeyParams::Ec {
                curve: Curve::P384, ..
            } => Algorithm::Es384,
            KeyParams::Ec {
                curve: Curve::P521, ..
            } => Algorithm::Es512,
            KeyParams::Rsa { .. } => Algorithm::Rs256,
            KeyParams::Ed25519 { .. } => Algorithm::EdDsa,
        }
    }

    /// A short description for messages: `EC P-256`, `RSA 2048`, `OKP Ed25519`.
    pub fn describe(&self) -> String {
        match &self.params {
            KeyParams::Ec { curve, .. } => format!("EC {}", curve.name()),
            KeyParams::Rsa { n, .. } => format!("RSA {}", bit_len(n)),
            KeyParams::Ed25519 { .. } => "OKP Ed25519".into(),
        }
    }

    /// The RFC 7638 §3 canonical JSON: the required members only, in
    /// lexicographic order, no whitespace. All values are base64url or fixed
    /// names, so no JSON escaping can occur. It is also a valid public JWK.
    pub fn canonical_json(&self) -> String {
        match &self.params {
            KeyParams::Ec { curve, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                curve.name(),
                b64::encode(x),
                b64::encode(y)
            ),
            KeyParams::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64::encode(e),
                b64::encode(n)
            ),
            KeyParams::Ed25519 { x } => {
                format!(
                    r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                    b64::encode(x)
                )
            }
        }
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256(canonical JSON)). This is
    /// the account-key half of every key authorization (RFC 8555 §8.1).
    pub fn thumbprint(&self) -> String {
        let hash = digest::digest(&digest::SHA256, self.canonical_json().as_bytes());
        b64::encode(hash.as_ref())
    }

    /// Verifies `signature` over `message` with this key's one algorithm.
    /// ECDSA signatures are the fixed-size `r || s` of RFC 7518 §3.4.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

impl PartialEq for Jwk {
    fn eq(&self, other: &Jwk) -> bool {
        self.params == other.params
    }
}

impl Eq for Jwk {}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("key", &self.describe())
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

fn ec_verification(curve: Curve) -> &'static dyn VerificationAlgorithm {
    match curve {
        Curve::P256 => &ECDSA_P256_SHA256_FIXED,
        Curve::P384 => &ECDSA_P384_SHA384_FIXED,
        Curve::P521 => &ECDSA_P521_SHA512_FIXED,
    }
}

fn string_member<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, JwkError> {
    match object.get(name) {
        None => Err(JwkError::MissingMember(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(JwkError::Malformed(format!("\"{name}\" is not a string"))),
    }
}

fn bytes_member(object: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JwkError> {
    b64::decode(string_member(object, name)?).ok_or(JwkError::BadEncoding(name))
}

fn coordinate(
    object: &Map<String, Value>,
    member: &'static str,
    crv: &'static str,
    expected: usize,
) -> Result<Vec<u8>, JwkError> {
    let bytes = bytes_member(object, member)?;
    if bytes.len() != expected {
        return Err(JwkError::WrongLength {
            member,
            crv,
            expected,
            actual: bytes.len(),
        });
    }
    Ok(bytes)
}

fn minimal_integer(object: &Map<String, Value>, member: &'static str) -> Result<Vec<u8>, JwkError> {
    let bytes = bytes_member(object, member)?;
    match bytes.first() {
        None => Err(JwkError::BadEncoding(member)),
        Some(0) => Err(JwkError::NonMinimalInteger(member)),
        Some(_) => Ok(bytes),
    }
}

/// The bit length of a big-endian integer without leading zero octets.
fn bit_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(first) => bytes.len() * 8 - first.leading_zeros() as usize,
    }
}

#[cfg(test)]
mod tests;
