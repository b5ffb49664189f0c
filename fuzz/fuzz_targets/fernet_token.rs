//! Fernet tokens from anywhere: `inspect`, `decrypt` (with and without a
//! TTL) and `rotate` with fixed keys must never panic, and whatever decrypts
//! must survive a re-encrypt/decrypt round trip.
//!
//! The first byte picks a mode:
//! - 0: the rest is a token as given (text, decoded as base64).
//! - 1: the rest is a token body (version, timestamp, IV, ciphertext); the
//!   harness signs it with key A and encodes it, so the fuzzer gets past the
//!   HMAC and reaches AES-CBC and the padding check.
//! - 2: the rest is a plaintext: encrypt, decrypt, rotate must round trip.
#![no_main]

use aws_lc_rs::hmac;
use libfuzzer_sys::fuzz_target;
use squirrel_cipher::b64;
use squirrel_cipher::fernet::{self, Fernet, Key, TtlCheck, IV_LEN};
use std::sync::OnceLock;

const KEY_A: [u8; 32] = [0x41; 32];
const KEY_B: [u8; 32] = [0x42; 32];

struct Keys {
    /// Key A alone.
    single: Fernet,
    /// Rotation: B encrypts, A still decrypts.
    multi: Fernet,
    /// Key B alone, to check what `multi` writes.
    new_only: Fernet,
    sign_a: hmac::Key,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        single: Fernet::new(Key::from_bytes(&KEY_A).unwrap()),
        multi: Fernet::with_keys(vec![
            Key::from_bytes(&KEY_B).unwrap(),
            Key::from_bytes(&KEY_A).unwrap(),
        ])
        .unwrap(),
        new_only: Fernet::new(Key::from_bytes(&KEY_B).unwrap()),
        sign_a: hmac::Key::new(hmac::HMAC_SHA256, &KEY_A[..16]),
    })
}

fn check_token(token: &[u8]) {
    let k = keys();
    let info = fernet::inspect(token);
    let now = fernet::unix_now();
    let _ = k.single.decrypt(token, Some(TtlCheck { ttl: 60, now }));
    let _ = k.single.decrypt(
        token,
        Some(TtlCheck {
            ttl: u64::MAX,
            now: u64::MAX,
        }),
    );
    if let Ok(opened) = k.single.decrypt(token, None) {
        // A token that decrypts was well formed.
        let info = info.expect("a token that decrypts must inspect");
        assert_eq!(info.timestamp, opened.timestamp);
        assert_eq!(opened.key_index, 0);
        round_trip(&k.single, &opened.plaintext, opened.timestamp);
    }
    match k.multi.decrypt(token, None) {
        Ok(opened) => {
            let rotated = k.multi.rotate(token).expect("a token that decrypts must rotate");
            let again = k
                .new_only
                .decrypt(rotated.as_bytes(), None)
                .expect("a rotated token must decrypt with the new key");
            assert_eq!(again.plaintext, opened.plaintext);
            assert_eq!(again.timestamp, opened.timestamp);
        }
        Err(_) => assert!(k.multi.rotate(token).is_err()),
    }
}

fn round_trip(f: &Fernet, plaintext: &[u8], timestamp: u64) {
    let token = f
        .encrypt_at(plaintext, timestamp, [7u8; IV_LEN])
        .expect("encrypt");
    let info = fernet::inspect(token.as_bytes()).expect("a fresh token must inspect");
    assert_eq!(info.timestamp, timestamp);
    let opened = f.decrypt(token.as_bytes(), None).expect("a fresh token must decrypt");
    assert_eq!(opened.plaintext, plaintext);
    assert_eq!(opened.timestamp, timestamp);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => check_token(rest),
        1 => {
            let tag = hmac::sign(&keys().sign_a, rest);
            let mut body = rest.to_vec();
            body.extend_from_slice(tag.as_ref());
            check_token(b64::encode(&body).as_bytes());
        }
        _ => {
            let k = keys();
            round_trip(&k.single, rest, 1_700_000_000);
            let token = k.single.encrypt(rest).expect("encrypt");
            let rotated = k.multi.rotate(token.as_bytes()).expect("rotate");
            let opened = k.new_only.decrypt(rotated.as_bytes(), None).expect("decrypt");
            assert_eq!(opened.plaintext, rest);
        }
    }
});
