//! Certificate signing requests from anywhere: `parse_csr` must never
//! panic, and a request that parses goes through the CA's signing policy
//! (`CertificateAuthority::sign`); whatever the CA signs must be a
//! certificate that x509-parser and `describe::summarize` read back.
//!
//! The input is DER. The first byte picks the profile and lifetime.
//! The CA (ECDSA P-256, unencrypted key) lives in a temporary directory,
//! on /dev/shm when there is one, made once per process.
#![no_main]

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
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, der)) = data.split_first() else {
        return;
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
