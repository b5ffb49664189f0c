//! A CA, a server certificate for localhost and a member's certificate, all
//! made by squirrel-pki, for the in-process tests of the server and client.

use squirrel_http::TlsFiles;
use squirrel_pki::ca::{init_ca, CaFiles, CaOptions};
use squirrel_pki::issue::issue_paths;
use squirrel_pki::{
    AltName, CertificateAuthority, KeyAlgorithm, KeyProtection, Profile, SignOptions,
};
use std::path::{Path, PathBuf};

/// What `make_pki` made.
#[allow(dead_code)] // each test binary uses its part
pub struct Pki {
    pub ca: CertificateAuthority,
    pub ca_der: Vec<u8>,
    /// The server's files, members only (client CA: this CA; no CRL).
    pub files: TlsFiles,
    /// alice, a member.
    pub member_chain: Vec<Vec<u8>>,
    pub member_key: PathBuf,
    pub member_serial: String,
}

/// A CA in `dir/ca`, `localhost.pem` for the server and `alice-client.pem`
/// for a member.
pub fn make_pki(dir: &Path) -> Pki {
    let ca_files = CaFiles::in_dir(&dir.join("ca"));
    let ca_pem = init_ca(
        &ca_files,
        &CaOptions::default(),
        &KeyProtection::Unencrypted,
    )
    .unwrap();
    let ca = CertificateAuthority::open(&ca_files, None).unwrap();
    let issue = |name: &str, profile: Profile| {
        let names = [AltName::parse(name).unwrap()];
        ca.issue_to_files(
            &names,
            KeyAlgorithm::EcdsaP256,
            &KeyProtection::Unencrypted,
            SignOptions {
                profile,
                ..SignOptions::default()
            },
            issue_paths(dir, &names, profile),
            false,
        )
        .unwrap()
    };
    let server = issue("localhost", Profile::Server);
    let alice = issue("alice", Profile::Client);
    Pki {
        ca_der: squirrel_pki::pem_file::certificates(ca_pem.as_bytes()).unwrap()[0].clone(),
        files: TlsFiles {
            cert: server.cert_path,
            key: server.key_path,
            key_passphrase: None,
            client_ca: Some(ca_files.cert.clone()),
            crl: None,
            legacy_client_ca: false,
            live: None,
        },
        member_chain: vec![alice.issued.der],
        member_key: alice.key_path,
        member_serial: alice.issued.serial,
        ca,
    }
}
