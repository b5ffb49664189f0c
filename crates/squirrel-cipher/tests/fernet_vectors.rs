//! The Fernet spec's own test vectors (generate, verify, invalid), vendored
//! in `tests/data/fernet` (see its README.md for their source and licence).

use serde_json::Value;
use squirrel_cipher::fernet::{Fernet, FernetError, Key, TtlCheck};
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn vectors(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fernet")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let vectors: Vec<Value> = serde_json::from_str(&text).expect("vectors are JSON");
    assert!(!vectors.is_empty(), "{name} has no vectors");
    vectors
}

fn unix(rfc3339: &Value) -> u64 {
    let when = OffsetDateTime::parse(rfc3339.as_str().unwrap(), &Rfc3339).unwrap();
    u64::try_from(when.unix_timestamp()).unwrap()
}

fn fernet(v: &Value) -> Fernet {
    Fernet::new(Key::from_base64(v["secret"].as_str().unwrap()).unwrap())
}

#[test]
fn generate_vectors_are_reproduced() {
    for v in vectors("generate.json") {
        let iv: Vec<u8> = v["iv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
            .collect();
        let token = fernet(&v)
            .encrypt_at(
                v["src"].as_str().unwrap().as_bytes(),
                unix(&v["now"]),
                iv.try_into().unwrap(),
            )
            .unwrap();
        assert_eq!(token, v["token"].as_str().unwrap());
    }
}

#[test]
fn verify_vectors_decrypt() {
    for v in vectors("verify.json") {
        let check = TtlCheck {
            ttl: v["ttl_sec"].as_u64().unwrap(),
            now: unix(&v["now"]),
        };
        let opened = fernet(&v)
            .decrypt(v["token"].as_str().unwrap().as_bytes(), Some(check))
            .unwrap();
        assert_eq!(opened.plaintext, v["src"].as_str().unwrap().as_bytes());
        assert_eq!(opened.timestamp, 499_162_800);
        assert_eq!(opened.key_index, 0);
    }
}

/// Each invalid vector is refused, and for the reason its description gives.
#[test]
fn invalid_vectors_are_refused_for_their_reason() {
    let vectors = vectors("invalid.json");
    assert_eq!(vectors.len(), 8);
    for v in vectors {
        let desc = v["desc"].as_str().unwrap();
        let now = unix(&v["now"]);
        let check = TtlCheck {
            ttl: v["ttl_sec"].as_u64().unwrap(),
            now,
        };
        let err = fernet(&v)
            .decrypt(v["token"].as_str().unwrap().as_bytes(), Some(check))
            .unwrap_err();
        assert!(err.is_invalid_token(), "{desc}: {err}");
        let expected_ok = match desc {
            "incorrect mac" => err == FernetError::Hmac { keys: 1 },
            "too short" => err == FernetError::TooShort(40),
            "invalid base64" => matches!(err, FernetError::Base64(_)),
            "payload size not multiple of block size" => err == FernetError::BlockSize(15),
            "payload padding error" | "incorrect IV (causes padding error)" => {
                err == FernetError::Padding
            }
            "far-future TS (unacceptable clock skew)" => {
                matches!(err, FernetError::FromFuture { now: n, .. } if n == now)
            }
            "expired TTL" => matches!(err, FernetError::Expired { ttl: 60, .. }),
            other => panic!("unexpected vector {other:?}"),
        };
        assert!(expected_ok, "{desc}: got {err:?}");
    }
}

#[test]
fn error_messages_are_exact() {
    let key = Key::from_base64("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=").unwrap();
    let f = Fernet::new(key);
    let token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
    let expired = f
        .decrypt(
            token.as_bytes(),
            Some(TtlCheck {
                ttl: 60,
                now: 499_162_800 + 61,
            }),
        )
        .unwrap_err();
    assert_eq!(
        expired.to_string(),
        "invalid token: it has expired; it was made at 499162800 (Unix time), 61 s before \
         499162861, and the TTL is 60 s"
    );
    let future = f
        .decrypt(
            token.as_bytes(),
            Some(TtlCheck {
                ttl: 60,
                now: 499_162_800 - 61,
            }),
        )
        .unwrap_err();
    assert_eq!(
        future.to_string(),
        "invalid token: it is dated 61 s in the future (made at 499162800, now is 499162739 in \
         Unix time), beyond the 60 s of clock skew allowed; check both clocks"
    );
    // 60 s either way is still fine.
    for now in [499_162_800 - 60, 499_162_800 + 60] {
        let check = Some(TtlCheck { ttl: 60, now });
        assert_eq!(
            f.decrypt(token.as_bytes(), check).unwrap().plaintext,
            b"hello"
        );
    }
    let other = Fernet::new(Key::generate().unwrap());
    assert_eq!(
        other
            .decrypt(token.as_bytes(), None)
            .unwrap_err()
            .to_string(),
        "invalid token: the HMAC does not match the key; the token was made with another key, \
         or was changed on the way"
    );
    assert_eq!(
        f.decrypt(b"hAAA", None).unwrap_err().to_string(),
        "invalid token: its version byte is 0x84, but Fernet tokens start with 0x80 \
         (\"gAAAAA\" in base64)"
    );
    assert_eq!(f.decrypt(b" \n", None).unwrap_err(), FernetError::Empty);
    assert_eq!(
        f.decrypt(b"gAAA%", None).unwrap_err().to_string(),
        "invalid token: it is not URL-safe base64 (character '%' at position 4 is not in the \
         URL-safe alphabet)"
    );
}

#[test]
fn multi_key_rotation_keeps_the_timestamp() {
    let old = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    let token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
    let new = Key::generate().unwrap();
    let new_text = new.to_base64();
    let both = Fernet::with_keys(vec![new, Key::from_base64(old).unwrap()]).unwrap();
    let opened = both.decrypt(token.as_bytes(), None).unwrap();
    assert_eq!(
        (opened.plaintext.as_slice(), opened.key_index),
        (&b"hello"[..], 1)
    );
    let rotated = both.rotate(token.as_bytes()).unwrap();
    let only_new = Fernet::new(Key::from_base64(&new_text).unwrap());
    let reopened = only_new.decrypt(rotated.as_bytes(), None).unwrap();
    assert_eq!(reopened.plaintext, b"hello");
    assert_eq!(reopened.timestamp, 499_162_800);
    let only_old = Fernet::new(Key::from_base64(old).unwrap());
    assert_eq!(
        only_old.decrypt(rotated.as_bytes(), None).unwrap_err(),
        FernetError::Hmac { keys: 1 }
    );
    let two_others =
        Fernet::with_keys(vec![Key::generate().unwrap(), Key::generate().unwrap()]).unwrap();
    assert_eq!(
        two_others.decrypt(token.as_bytes(), None).unwrap_err(),
        FernetError::Hmac { keys: 2 }
    );
    assert_eq!(Fernet::with_keys(vec![]).unwrap_err(), FernetError::NoKeys);
}

/// Truncated, extended and mutated tokens are refused, never a panic, and
/// extreme timestamps do not overflow the TTL arithmetic.
#[test]
fn damaged_tokens_are_refused_without_panics() {
    let key = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    let token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
    let f = Fernet::new(Key::from_base64(key).unwrap());
    let check = Some(TtlCheck {
        ttl: u64::MAX,
        now: u64::MAX,
    });
    for len in 0..token.len() {
        assert!(f.decrypt(&token.as_bytes()[..len], None).is_err(), "{len}");
        assert!(f.decrypt(&token.as_bytes()[..len], check).is_err(), "{len}");
    }
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=%+/ \x00\xff";
    // Strict base64 leaves no two spellings of one token, so every change
    // breaks the base64, the layout or the HMAC.
    for pos in 0..token.len() {
        for &c in alphabet {
            let mut bytes = token.as_bytes().to_vec();
            if bytes[pos] == c {
                continue;
            }
            bytes[pos] = c;
            let err = f.decrypt(&bytes, None).unwrap_err();
            assert!(err.is_invalid_token(), "{pos} {c}: {err}");
        }
    }
    let mut extended = token.to_string();
    extended.push_str("AAAA");
    assert!(f.decrypt(extended.as_bytes(), None).is_err());
    for stamp in [0u64, u64::MAX] {
        let t = f.encrypt_at(b"x", stamp, [0; 16]).unwrap();
        for now in [0u64, u64::MAX] {
            for ttl in [0u64, u64::MAX] {
                let _ = f.decrypt(t.as_bytes(), Some(TtlCheck { ttl, now }));
            }
        }
        assert_eq!(f.decrypt(t.as_bytes(), None).unwrap().timestamp, stamp);
    }
}
