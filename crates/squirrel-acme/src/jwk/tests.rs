use serde_json::json;

use super::*;
use crate::test_util::TestKey;

/// RFC 7638 §3.1's example key (an RSA key from RFC 7517 Appendix A.1).
const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

#[test]
fn rfc7638_thumbprint_vector() {
    let jwk = Jwk::from_value(&json!({
        "kty": "RSA",
        "n": RFC7638_N,
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }))
    .expect("the RFC's key parses");
    assert_eq!(
        jwk.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(jwk.algorithm(), Algorithm::Rs256);
    assert_eq!(jwk.describe(), "RSA 2048");
    assert_eq!(
        jwk.canonical_json(),
        format!(r#"{{"e":"AQAB","kty":"RSA","n":"{RFC7638_N}"}}"#)
    );
}

#[test]
fn generated_keys_round_trip_through_canonical_json() {
    for alg in Algorithm::ALL {
        let key = TestKey::generate(alg).jwk();
        assert_eq!(key.algorithm(), alg);
        let again = Jwk::from_json(key.canonical_json().as_bytes()).expect("canonical JSON parses");
        assert_eq!(again, key);
        assert_eq!(again.thumbprint(), key.thumbprint());
    }
}

#[test]
fn rsa_1024_is_refused() {
    let mut n = vec![0xc5u8; 128];
    n[127] = 0x01; // odd, as a real modulus
    let err = Jwk::from_value(&json!({"kty": "RSA", "n": b64::encode(&n), "e": "AQAB"}));
    assert_eq!(err, Err(JwkError::RsaSize { bits: 1024 }));
}

#[test]
fn rsa_leading_zero_is_refused() {
    let mut bytes = b64::decode(RFC7638_N).unwrap();
    bytes.insert(0, 0);
    let n_zero = b64::encode(&bytes);
    let err = Jwk::from_value(&json!({"kty": "RSA", "n": n_zero, "e": "AQAB"}));
    assert_eq!(err, Err(JwkError::NonMinimalInteger("n")));
}

fn ec_json(crv: &str, x: &[u8], y: &[u8]) -> serde_json::Value {
    json!({"kty": "EC", "crv": crv, "x": b64::encode(x), "y": b64::encode(y)})
}

#[test]
fn ec_coordinates_must_have_the_curve_size() {
    let err = Jwk::from_value(&ec_json("P-256", &[1; 31], &[1; 32]));
    assert_eq!(
        err,
        Err(JwkError::WrongLength {
            member: "x",
            crv: "P-256",
            expected: 32,
            actual: 31
        })
    );
    // A P-256 key labelled P-384.
    let p256 = TestKey::generate(Algorithm::Es256).jwk_json();
    let mut relabelled = p256.clone();
    relabelled["crv"] = json!("P-384");
    assert!(matches!(
        Jwk::from_value(&relabelled),
        Err(JwkError::WrongLength { expected: 48, .. })
    ));
}

#[test]
fn ec_points_off_the_curve_are_refused() {
    let mut key = TestKey::generate(Algorithm::Es256).jwk_json();
    let mut y = b64::decode(key["y"].as_str().unwrap()).unwrap();
    y[31] ^= 1;
    key["y"] = json!(b64::encode(&y));
    assert_eq!(Jwk::from_value(&key), Err(JwkError::InvalidPoint("P-256")));
}

#[test]
fn unsupported_and_malformed_keys() {
    let cases = [
        (json!({"kty": "oct", "k": "AAAA"}), "private"),
        (json!({"kty": "oct"}), "kty"),
        (json!({"kty": "OKP", "crv": "Ed448", "x": "AAAA"}), "crv"),
        (
            json!({"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"}),
            "crv",
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": "AA=="}),
            "encoding",
        ),
        (json!({"kty": "EC", "crv": "P-256"}), "missing"),
        (json!({"kty": 1}), "type"),
        (json!(["EC"]), "object"),
    ];
    for (value, why) in cases {
        let err = Jwk::from_value(&value).expect_err(why);
        let ok = match why {
            "private" => matches!(err, JwkError::PrivateKey(_)),
            "kty" => matches!(err, JwkError::UnsupportedKeyType(_)),
            "crv" => matches!(err, JwkError::UnsupportedCurve { .. }),
            "encoding" => err == JwkError::BadEncoding("x"),
            "missing" => err == JwkError::MissingMember("x"),
            _ => matches!(err, JwkError::Malformed(_)),
        };
        assert!(ok, "{why}: {err:?}");
    }
    let with_d = json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(&[0; 32]), "d": "AA"});
    assert_eq!(
        Jwk::from_value(&with_d),
        Err(JwkError::PrivateKey("d".into()))
    );
    assert!(matches!(Jwk::from_json(b"{"), Err(JwkError::Malformed(_))));
}

#[test]
fn ed25519_key_length() {
    let err = Jwk::from_value(&json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(&[7; 31])}));
    assert!(matches!(
        err,
        Err(JwkError::WrongLength { expected: 32, .. })
    ));
}

#[test]
fn impossible_rsa_keys_are_refused() {
    let big_e = b64::encode(&[2, 0, 0, 0, 1]);
    for (e, why) in [
        ("AQ", "e = 1"),
        ("Ag", "e = 2, even"),
        (&big_e[..], "e = 2^33 + 1"),
    ] {
        let err = Jwk::from_value(&json!({"kty": "RSA", "n": RFC7638_N, "e": e}));
        assert!(matches!(err, Err(JwkError::InvalidRsaKey(_))), "{why}");
    }
    let mut even = b64::decode(RFC7638_N).unwrap();
    *even.last_mut().unwrap() &= 0xfe;
    let err = Jwk::from_value(&json!({"kty": "RSA", "n": b64::encode(&even), "e": "AQAB"}));
    assert_eq!(
        err,
        Err(JwkError::InvalidRsaKey("the modulus is even")),
        "even modulus"
    );
}
