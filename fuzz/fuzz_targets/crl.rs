//! CRL files from anywhere: `pem_file::crls` (PEM or DER), then
//! `inspect::summarize_crl` on each, then `verify::verify` of a good chain
//! with those CRLs. Nothing may panic, and the leaf, which this process's
//! CA never revoked, must never be reported revoked: no input can carry
//! that CA's signature (errors and other failures are fine, they are the
//! CRL's fault).
//!
//! A CA and a leaf are made once per process, in a temporary directory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squirrel_pki::ca::{init_ca, CaOptions};
use squirrel_pki::csr::{build_csr, parse_csr};
use squirrel_pki::inspect::summarize_crl;
use squirrel_pki::pem_file;
use squirrel_pki::verify::{verify, Verification};
use squirrel_pki::{
    AltName, CaFiles, CertificateAuthority, KeyAlgorithm, KeyProtection, PrivateKey,
    SignOptions, Subject,
};

struct Chain {
    _dir: tempfile::TempDir,
    anchors: Vec<Vec<u8>>,
    leaf: Vec<u8>,
}

fn make_chain() -> Chain {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let files = CaFiles::in_dir(&dir.path().join("ca"));
    let ca_pem = init_ca(&files, &CaOptions::default(), &KeyProtection::Unencrypted).unwrap();
    let ca = CertificateAuthority::open(&files, None).unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = build_csr(
        &key,
        &Subject::common_name("leaf.test"),
        &[AltName::Dns("leaf.test".into())],
    )
    .unwrap();
    let csr_der = pem_file::blocks(csr.as_bytes()).unwrap()[0].contents().to_vec();
    let issued = ca.sign(&parse_csr(&csr_der).unwrap(), SignOptions::default()).unwrap();
    Chain {
        _dir: dir,
        anchors: pem_file::certificates(ca_pem.as_bytes()).unwrap(),
        leaf: issued.der,
    }
}

thread_local! {
    static CHAIN: Chain = make_chain();
}

fuzz_target!(|data: &[u8]| {
    let Ok(crls) = pem_file::crls(data) else {
        return;
    };
    for der in &crls {
        let _ = summarize_crl(der);
    }
    CHAIN.with(|chain| {
        let report = verify(&Verification {
            hostname: Some("leaf.test"),
            crls: &crls,
            ..Verification::new(&chain.anchors, &[], &chain.leaf)
        });
        if let Ok(report) = report {
            if let Some(failure) = report.failure {
                assert!(
                    !failure.webpki_error.contains("Revoked"),
                    "a CRL not signed by the CA revoked the leaf: {failure:?}"
                );
            }
        }
    });
});
