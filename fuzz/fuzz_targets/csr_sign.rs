//! Certificate signing requests from anywhere: `parse_csr` must never
//! panic, and a request that parses goes through the CA's signing policy
//! (`CertificateAuthority::sign`); whatever the CA signs must be a
//! certificate that x509-parser and `describe::summarize` read back.
//!
//! The first byte picks the profile and lifetime, and with its high bit
//! set the rest is not a whole request but a CertificationRequestInfo
//! (the signed part): the harness signs it with a fixed P-256 key (the
//! key of the seeds, fuzz/seeds/private_key/pkcs8_ec.pem), so mutated
//! subjects and extensions still pass the self-signature check and reach
//! the signing policy. Without the high bit the rest is a DER request.
//! The CA (ECDSA P-256, unencrypted key) lives in a temporary directory,
//! on /dev/shm when there is one, made once per process.
#![no_main]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use libfuzzer_sys::fuzz_target;
use squirrel_pki::ca::{init_ca, CaOptions};
use squirrel_pki::csr::parse_csr;
use squirrel_pki::describe::summarize;
use squirrel_pki::{CaFiles, CertificateAuthority, KeyProtection, Profile, SignOptions};

struct Ca {
    _dir: tempfile::TempDir,
    ca: CertificateAuthority,
}

fn make_ca() -> Ca {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let files = CaFiles::in_dir(&dir.path().join("ca"));
    init_ca(&files, &CaOptions::default(), &KeyProtection::Unencrypted).unwrap();
    let ca = CertificateAuthority::open(&files, None).unwrap();
    Ca { _dir: dir, ca }
}

thread_local! {
    static CA: Ca = make_ca();
    static SIGNER: EcdsaKeyPair = {
        let pem = include_bytes!("../seeds/private_key/pkcs8_ec.pem");
        let der = squirrel_pki::pem_file::blocks(pem).unwrap()[0].contents().to_vec();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der).unwrap()
    };
}

/// A DER TLV with a definite length.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// CertificationRequest { info, ecdsa-with-SHA256, signature }.
fn signed_request(info: &[u8]) -> Vec<u8> {
    const ECDSA_WITH_SHA256: [u8; 12] = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    let sig = SIGNER.with(|k| k.sign(&SystemRandom::new(), info).unwrap());
    let mut bits = vec![0u8];
    bits.extend_from_slice(sig.as_ref());
    let mut body = info.to_vec();
    body.extend_from_slice(&ECDSA_WITH_SHA256);
    body.extend_from_slice(&tlv(0x03, &bits));
    tlv(0x30, &body)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let resigned;
    let der = if pick & 0x80 != 0 {
        resigned = signed_request(rest);
        &resigned
    } else {
        rest
    };
    let Ok(request) = parse_csr(der) else {
        return;
    };
    let profile = [Profile::Server, Profile::Client, Profile::Both][usize::from(pick) % 3];
    let days = [1, 90, 397, 100_000][usize::from(pick >> 2) % 4];
    CA.with(|ca| {
        if let Ok(issued) = ca.ca.sign(&request, SignOptions { days, profile }) {
            let now = squirrel_pki::ca::now();
            summarize(&issued.der, now).expect("a certificate the CA signed must be readable");
            squirrel_pki::describe::parse_certificate(&issued.der)
                .expect("a certificate the CA signed must parse");
            let from_pem = squirrel_pki::pem_file::certificates(issued.pem.as_bytes())
                .expect("the issued PEM must read back");
            assert_eq!(from_pem, vec![issued.der.clone()]);
        }
    });
});
