//! Private key files from anywhere: `PrivateKey::from_pem` with and without
//! a passphrase must never panic, for every format squirrel reads (PKCS#8
//! plain and encrypted, PKCS#1, SEC1, legacy `Proc-Type: 4,ENCRYPTED`).
//! A key that loads must give its public key and its rustls form.
//!
//! Encrypted inputs run their KDF: PKCS#8 carries its own scrypt/PBKDF2
//! parameters, so a mutated iteration count or scrypt N makes single
//! executions slow (libFuzzer reports them as slow units, or as a timeout
//! beyond -timeout). The library is fuzzed as it is; see fuzz/README.md.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squirrel_pki::{Passphrase, PrivateKey};
use std::sync::OnceLock;

fn passphrase() -> &'static Passphrase {
    static PASS: OnceLock<Passphrase> = OnceLock::new();
    PASS.get_or_init(|| Passphrase::new("secret").unwrap())
}

fn use_key(key: &PrivateKey) {
    let spki = key.public_key_der();
    assert!(!spki.is_empty());
    let _ = key.info();
    let _ = key.is_rsa();
    let _ = key.to_rustls();
}

fuzz_target!(|data: &[u8]| {
    let encrypted = PrivateKey::pem_is_encrypted(data);
    if let Ok(key) = PrivateKey::from_pem(data, None) {
        use_key(&key);
        assert!(
            !matches!(encrypted, Ok(true)),
            "an encrypted key loaded without a passphrase"
        );
    }
    if let Ok(key) = PrivateKey::from_pem(data, Some(passphrase())) {
        use_key(&key);
    }
});
