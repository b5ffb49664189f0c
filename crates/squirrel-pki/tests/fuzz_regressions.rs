//! Inputs found by the fuzz targets in fuzz/ (see fuzz/README.md), kept as
//! regression tests.

use squirrel_pki::PrivateKey;

/// fuzz target `private_key`: a plain PKCS#8 `PRIVATE KEY` block carrying a
/// legacy `Proc-Type: 4,ENCRYPTED` header. `from_pem` ignores the header
/// and loads the key without a passphrase, but `pem_is_encrypted` said it
/// was encrypted, so the CLI asked for a passphrase it did not need (and
/// refused the key under `--no-pass`). Both must agree.
#[test]
fn a_proc_type_header_on_a_pkcs8_block_does_not_ask_for_a_passphrase() {
    let pem = b"-----BEGIN PRIVATE KEY-----\n\
Proc-Type: 4,ENCRYPTED\n\
DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\
\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKICVdl2FmqAiIV6p\n\
Ryg5NY4lFzfhbYg1MHUAI9tdPvuhRANCAAS4M/8S4PWTJ5KyKqpoGTAz/vpBbNLw\n\
ec95lk1A+zQe3YWFoUy3oLK2XPuBrYg1WeJJWuyAQ+uW/CLVyEgAjzHp\n\
-----END PRIVATE KEY-----\n";
    let key = PrivateKey::from_pem(pem, None).expect("the key is plain PKCS#8");
    assert!(!key.public_key_der().is_empty());
    assert!(!PrivateKey::pem_is_encrypted(pem).unwrap());
}

/// The legacy header still means "encrypted" where `from_pem` honours it.
#[test]
fn a_proc_type_header_on_a_pkcs1_or_sec1_block_asks_for_a_passphrase() {
    for tag in ["RSA PRIVATE KEY", "EC PRIVATE KEY"] {
        let pem = format!(
            "-----BEGIN {tag}-----\n\
Proc-Type: 4,ENCRYPTED\n\
DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\
\n\
AAAAAAAAAAAAAAAAAAAAAA==\n\
-----END {tag}-----\n"
        );
        assert!(
            PrivateKey::pem_is_encrypted(pem.as_bytes()).unwrap(),
            "{tag}"
        );
        assert!(PrivateKey::from_pem(pem.as_bytes(), None).is_err(), "{tag}");
    }
}

/// fuzz target `csr_sign`: a correctly self-signed request whose subject
/// has an attribute type OID starting {4 11 ...}, which has no DER form.
/// `parse_csr` copied it and rcgen (yasna) panicked writing the
/// certificate: `pki sign` crashed on a hostile request. It must be
/// refused with an error instead.
#[test]
fn a_subject_field_with_an_invalid_oid_is_refused_not_a_panic() {
    let der = include_bytes!("data/fuzz_csr_invalid_oid.der");
    let err = squirrel_pki::csr::parse_csr(der).expect_err("the subject cannot be copied");
    assert!(err.to_string().contains("invalid field type"), "{err}");
}

/// fuzz target `csr_sign`: a self-signed request whose subject CN is the
/// PrintableString "lea?.test". rcgen accepts '?', yasna panics writing
/// it: `pki sign` crashed. It must be refused with an error instead.
#[test]
fn a_printable_string_with_a_question_mark_is_refused_not_a_panic() {
    let der = include_bytes!("data/fuzz_csr_printable_question_mark.der");
    let err = squirrel_pki::csr::parse_csr(der).expect_err("the subject cannot be copied");
    assert!(err.to_string().contains("bad PrintableString"), "{err}");
}
