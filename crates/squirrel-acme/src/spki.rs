//! Public keys seen from both sides: an account key arrives as a JWK, a
//! certificate's or a CSR's as a DER SubjectPublicKeyInfo. RFC 8555 needs
//! them compared twice: a CSR must not carry the account key (§7.4), and a
//! revocation may be signed by the certificate's own key (§7.6).

use crate::jwk::{Curve, KeyParams};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const OID_ED25519: &str = "1.3.101.112";

/// The JWK parameters of a DER SubjectPublicKeyInfo, or None for a key
/// type no JWK here can hold (the caller then knows they differ).
pub fn key_params(spki_der: &[u8]) -> Option<KeyParams> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der).ok()?;
    from_spki(&spki)
}

/// As [`key_params`], for an already parsed SubjectPublicKeyInfo.
pub fn from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Option<KeyParams> {
    if spki.algorithm.algorithm.to_id_string() == OID_ED25519 {
        return Some(KeyParams::Ed25519 {
            x: spki.subject_public_key.data.to_vec(),
        });
    }
    match spki.parsed().ok()? {
        PublicKey::RSA(rsa) => Some(KeyParams::Rsa {
            n: strip_zeros(rsa.modulus),
            e: strip_zeros(rsa.exponent),
        }),
        PublicKey::EC(point) => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())?
                .to_id_string();
            let curve = match curve_oid.as_str() {
                OID_P256 => Curve::P256,
                OID_P384 => Curve::P384,
                OID_P521 => Curve::P521,
                _ => return None,
            };
            let data = point.data();
            let len = curve.coordinate_len();
            if data.len() != 1 + 2 * len || data[0] != 0x04 {
                return None;
            }
            Some(KeyParams::Ec {
                curve,
                x: data[1..=len].to_vec(),
                y: data[1 + len..].to_vec(),
            })
        }
        _ => None,
    }
}

/// A big-endian integer without its leading zero octets, as a JWK writes
/// RSA parameters (RFC 7518 §6.3.1: minimal octets).
fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TestKey;
    use crate::Algorithm;

    #[test]
    fn a_key_reads_the_same_from_its_jwk_and_its_spki() {
        for alg in [
            Algorithm::Es256,
            Algorithm::Es384,
            Algorithm::Rs256,
            Algorithm::EdDsa,
        ] {
            let key = TestKey::generate(alg);
            let jwk = key.jwk();
            let spki = key.spki_der();
            assert_eq!(key_params(&spki).as_ref(), Some(jwk.params()), "{alg:?}");
        }
    }
}
