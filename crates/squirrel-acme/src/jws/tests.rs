use serde_json::{json, Value};

use super::*;
use crate::problem::{ErrorType, Problem};
use crate::test_util::{sign_jwk, sign_kid, sign_with_header, TestKey};

const NONCE: &str = "oFvnlFP1wIhRlYS2jTaXbA";
const URL: &str = "https://ca.example/acme/new-account";

fn body(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

/// Re-serializes a JWS body after `edit`.
fn edited(jws: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value = body(jws);
    edit(&mut value);
    value.to_string().into_bytes()
}

fn header_with(key: &TestKey, extra: Value) -> Value {
    let mut header = json!({
        "alg": key.algorithm().name(),
        "jwk": key.jwk_json(),
        "nonce": NONCE,
        "url": URL,
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            header.as_object_mut().unwrap().remove(k);
        } else {
            header[k] = v.clone();
        }
    }
    header
}

fn problem_kind(result: Result<Jws, JwsError>) -> ErrorType {
    Problem::from(result.expect_err("must be refused")).kind
}

#[test]
fn round_trip_every_algorithm() {
    for alg in Algorithm::ALL {
        let key = TestKey::generate(alg);
        let jws = Jws::parse(sign_jwk(&key, NONCE, URL, br#"{"a":1}"#).as_bytes())
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let header = jws.header();
        assert_eq!(header.alg, alg);
        assert_eq!(header.nonce, NONCE);
        assert_eq!(header.url, URL);
        assert_eq!(header.key, KeyRef::Jwk(key.jwk()));
        assert_eq!(jws.verify(), Ok(&br#"{"a":1}"#[..]), "{alg}");
        assert_eq!(jws.check_url(URL), Ok(()));
    }
}

#[test]
fn kid_requests_verify_with_the_callers_key() {
    let key = TestKey::generate(Algorithm::EdDsa);
    let kid = "https://ca.example/acme/acct/1";
    let jws = Jws::parse(sign_kid(&key, kid, NONCE, URL, b"{}").as_bytes()).unwrap();
    assert_eq!(jws.header().key, KeyRef::Kid(kid.into()));
    assert_eq!(jws.verify(), Err(JwsError::NoEmbeddedKey));
    assert_eq!(jws.verify_with(&key.jwk()), Ok(&b"{}"[..]));
    let other = TestKey::generate(Algorithm::EdDsa).jwk();
    assert_eq!(jws.verify_with(&other), Err(JwsError::BadSignature));
}

#[test]
fn post_as_get_has_an_empty_payload() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let key = TestKey::generate(alg);
        let signed = sign_jwk(&key, NONCE, URL, b"");
        assert_eq!(body(&signed)["payload"], "");
        let jws = Jws::parse(signed.as_bytes()).unwrap();
        assert_eq!(jws.verify(), Ok(&b""[..]));
    }
}

#[test]
fn tampering_is_refused() {
    let key = TestKey::generate(Algorithm::Es256);
    let signed = sign_jwk(&key, NONCE, URL, br#"{"a":1}"#);

    let payload = edited(&signed, |v| {
        v["payload"] = json!(b64::encode(br#"{"a":2}"#))
    });
    assert_eq!(
        Jws::parse(&payload).unwrap().verify(),
        Err(JwsError::BadSignature)
    );

    let other_url = header_with(&key, json!({"url": "https://ca.example/acme/revoke"}));
    let protected = edited(&signed, |v| {
        v["protected"] = json!(b64::encode(other_url.to_string().as_bytes()))
    });
    assert_eq!(
        Jws::parse(&protected).unwrap().verify(),
        Err(JwsError::BadSignature)
    );

    let signature = edited(&signed, |v| {
        let mut sig = b64::decode(v["signature"].as_str().unwrap()).unwrap();
        sig[10] ^= 0x40;
        v["signature"] = json!(b64::encode(&sig));
    });
    let jws = Jws::parse(&signature).unwrap();
    assert_eq!(jws.verify(), Err(JwsError::BadSignature));
    assert_eq!(
        Problem::from(JwsError::BadSignature).kind,
        ErrorType::Malformed
    );

    let truncated = edited(&signed, |v| {
        let sig = b64::decode(v["signature"].as_str().unwrap()).unwrap();
        v["signature"] = json!(b64::encode(&sig[..63]));
    });
    assert_eq!(
        Jws::parse(&truncated).unwrap().verify(),
        Err(JwsError::BadSignature)
    );
}

#[test]
fn algorithm_must_fit_the_key() {
    // An ES256 header carrying (and signed by) a P-384 key.
    let p384 = TestKey::generate(Algorithm::Es384);
    let header = header_with(&p384, json!({"alg": "ES256"}));
    let jws = Jws::parse(sign_with_header(&p384, &header, b"{}").as_bytes()).unwrap();
    let err = jws.verify().unwrap_err();
    assert!(
        matches!(
            err,
            JwsError::AlgorithmKeyMismatch {
                alg: Algorithm::Es256,
                needs: Algorithm::Es384,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(Problem::from(err).kind, ErrorType::BadPublicKey);

    // An RS256 header with an account's Ed25519 key given by the caller.
    let rsa = TestKey::generate(Algorithm::Rs256);
    let ed = TestKey::generate(Algorithm::EdDsa);
    let jws = Jws::parse(sign_kid(&rsa, "acct", NONCE, URL, b"").as_bytes()).unwrap();
    assert!(matches!(
        jws.verify_with(&ed.jwk()),
        Err(JwsError::AlgorithmKeyMismatch { .. })
    ));
}

#[test]
fn none_and_mac_algorithms_are_bad_signature_algorithms() {
    let key = TestKey::generate(Algorithm::Es256);
    for alg in ["HS256", "none", "PS256", "ES256K"] {
        let header = header_with(&key, json!({"alg": alg}));
        let result = Jws::parse(sign_with_header(&key, &header, b"{}").as_bytes());
        let err = result.expect_err(alg);
        assert_eq!(
            err,
            JwsError::UnsupportedAlgorithm {
                alg: alg.into(),
                accepted: &Algorithm::NAMES
            }
        );
        let problem = Problem::from(err);
        assert_eq!(problem.kind, ErrorType::BadSignatureAlgorithm);
        assert_eq!(problem.http_status(), 400);
        assert_eq!(
            problem.algorithms.as_deref(),
            Some(&["ES256", "ES384", "ES512", "RS256", "EdDSA"].map(String::from)[..])
        );
    }
}

#[test]
fn exactly_one_of_jwk_and_kid() {
    let key = TestKey::generate(Algorithm::Es256);
    let both = header_with(&key, json!({"kid": "https://ca.example/acme/acct/1"}));
    let neither = header_with(&key, json!({"jwk": null}));
    for header in [both, neither] {
        let result = Jws::parse(sign_with_header(&key, &header, b"{}").as_bytes());
        assert_eq!(result.as_ref().err(), Some(&JwsError::KeyChoice));
        assert_eq!(problem_kind(result), ErrorType::Malformed);
    }
}

#[test]
fn base64_padding_and_foreign_characters_are_malformed() {
    let key = TestKey::generate(Algorithm::Es256);
    // A payload whose encoding needs padding: 4 bytes → 6 characters (+ "==").
    let signed = sign_jwk(&key, NONCE, URL, b"{\"\"}");
    for member in ["payload", "protected", "signature"] {
        let padded = edited(&signed, |v| {
            let text = v[member].as_str().unwrap().to_string();
            // The padding RFC 4648 would add (or a stray "=" if none).
            let pad = if text.len() % 4 == 2 { "==" } else { "=" };
            v[member] = json!(format!("{text}{pad}"));
        });
        let result = Jws::parse(&padded);
        assert!(
            matches!(result, Err(JwsError::BadEncoding(m)) if m == member),
            "{member}"
        );
        assert_eq!(problem_kind(result), ErrorType::Malformed);
    }
    let plus = edited(&signed, |v| {
        let text = v["signature"].as_str().unwrap().replace(['-', '_'], "+");
        v["signature"] = json!(format!("{text}+/"));
    });
    assert_eq!(
        Jws::parse(&plus).err(),
        Some(JwsError::BadEncoding("signature"))
    );
}

#[test]
fn header_rules() {
    let key = TestKey::generate(Algorithm::Es256);
    let parse = |extra: Value| {
        Jws::parse(sign_with_header(&key, &header_with(&key, extra), b"{}").as_bytes())
    };
    assert_eq!(
        parse(json!({"b64": false})).err(),
        Some(JwsError::UnsupportedHeader("b64"))
    );
    assert_eq!(
        parse(json!({"crit": ["b64"]})).err(),
        Some(JwsError::UnsupportedHeader("crit"))
    );
    assert_eq!(
        parse(json!({"nonce": null})).err(),
        Some(JwsError::MissingNonce)
    );
    assert_eq!(
        problem_kind(parse(json!({"nonce": null}))),
        ErrorType::BadNonce
    );
    assert_eq!(
        parse(json!({"nonce": "a+b="})).err(),
        Some(JwsError::BadNonceEncoding)
    );
    assert_eq!(
        problem_kind(parse(json!({"nonce": "a+b="}))),
        ErrorType::Malformed
    );
    assert_eq!(
        parse(json!({"url": null})).err(),
        Some(JwsError::MissingHeader("url"))
    );
    assert_eq!(
        parse(json!({"alg": null})).err(),
        Some(JwsError::MissingHeader("alg"))
    );
    assert!(matches!(
        parse(json!({"url": 7})),
        Err(JwsError::Malformed(_))
    ));
    assert!(matches!(
        parse(json!({"kid": 7, "jwk": null})),
        Err(JwsError::Malformed(_))
    ));
    let small_rsa = json!({"jwk": {"kty": "RSA", "n": b64::encode(&[0xc5; 128]), "e": "AQAB"}});
    let err = parse(small_rsa).unwrap_err();
    assert_eq!(err, JwsError::Key(JwkError::RsaSize { bits: 1024 }));
    assert_eq!(Problem::from(err).kind, ErrorType::BadPublicKey);
}

type Edit = fn(&mut Value);

#[test]
fn serialization_rules() {
    let key = TestKey::generate(Algorithm::Es256);
    let signed = sign_jwk(&key, NONCE, URL, b"{}");
    let cases: [(&str, Edit); 5] = [
        ("unprotected header", |v| v["header"] = json!({"kid": "x"})),
        ("general serialization", |v| v["signatures"] = json!([])),
        ("detached payload", |v| {
            v.as_object_mut().unwrap().remove("payload");
        }),
        ("no signature", |v| {
            v.as_object_mut().unwrap().remove("signature");
        }),
        ("no protected", |v| {
            v.as_object_mut().unwrap().remove("protected");
        }),
    ];
    for (why, edit) in cases {
        let result = Jws::parse(&edited(&signed, edit));
        assert!(matches!(result, Err(JwsError::Malformed(_))), "{why}");
    }
    assert!(matches!(
        Jws::parse(b"not json"),
        Err(JwsError::Malformed(_))
    ));
    assert!(matches!(Jws::parse(b"[]"), Err(JwsError::Malformed(_))));
    let not_object = json!({"protected": b64::encode(b"[1]"), "payload": "", "signature": ""});
    assert!(matches!(
        Jws::parse(not_object.to_string().as_bytes()),
        Err(JwsError::Malformed(_))
    ));
}

#[test]
fn url_must_match_exactly() {
    let key = TestKey::generate(Algorithm::Es256);
    let jws = Jws::parse(sign_jwk(&key, NONCE, URL, b"").as_bytes()).unwrap();
    let err = jws
        .check_url("https://ca.example/acme/new-account/")
        .unwrap_err();
    assert_eq!(Problem::from(err).kind, ErrorType::Unauthorized);
    assert!(jws
        .check_url("https://CA.example/acme/new-account")
        .is_err());
}
