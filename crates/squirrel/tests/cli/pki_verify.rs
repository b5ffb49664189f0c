//! `squirrel pki verify`, `revoke` and `crl`: each failure in plain words
//! with OpenSSL's phrase, and revocation that reaches CRLs and verification.

use crate::common::Scratch;

#[test]
fn verify_names_each_failure_with_the_openssl_phrase() {
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let other = s.path("other");
    s.squirrel(&[
        "pki",
        "ca",
        "init",
        "--no-pass",
        "--dir",
        other.to_str().unwrap(),
        "--cn",
        "stranger-ca",
    ])
    .assert()
    .success();
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["--ca", "other/ca.pem", "localhost.pem"],
            "unable to get local issuer certificate",
            "localhost was issued by my-ca.com, which is not among the trusted CAs",
        ),
        (
            &[
                "--ca",
                "ca/ca.pem",
                "--at",
                "2100-01-01T00:00:00Z",
                "localhost.pem",
            ],
            "certificate has expired",
            "localhost has expired",
        ),
        (
            &[
                "--ca",
                "ca/ca.pem",
                "--at",
                "2001-01-01T00:00:00Z",
                "localhost.pem",
            ],
            "certificate is not yet valid",
            "localhost is not valid yet",
        ),
        (
            &[
                "--ca",
                "ca/ca.pem",
                "--hostname",
                "127.0.0.1",
                "localhost.pem",
            ],
            "hostname mismatch",
            "localhost is not valid for \"127.0.0.1\": it names localhost",
        ),
        (
            &[
                "--ca",
                "ca/ca.pem",
                "--hostname",
                "my-site.com",
                "localhost.pem",
            ],
            "hostname mismatch",
            "it names localhost",
        ),
        (
            &["--ca", "other/ca.pem", "ca/ca.pem"],
            "self-signed certificate",
            "my-ca.com is self-signed",
        ),
    ];
    for (flags, phrase, words) in cases {
        let mut args = vec!["pki", "verify"];
        args.extend_from_slice(flags);
        let out = s.fails(&args, 1);
        assert!(
            out.contains(&format!("OpenSSL, curl and Python say: \"{phrase}\"")),
            "{args:?}: {out}"
        );
        assert!(out.contains(words), "{args:?}: {out}");
    }
    let json = s.fails(
        &[
            "pki",
            "verify",
            "--ca",
            "other/ca.pem",
            "--json",
            "localhost.pem",
        ],
        1,
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(
        v["failure"]["openssl"],
        "unable to get local issuer certificate"
    );
}

#[test]
fn revocation_reaches_the_crl_and_verification() {
    let s = Scratch::new();
    s.init_ca(&[]);
    let serial = s.issue(&["bob.squirrels.example", "--client"]);
    s.ok(&["pki", "crl", "--out", "crl.pem", "--pass-file", "pw"]);
    s.ok(&[
        "pki",
        "verify",
        "--ca",
        "ca/ca.pem",
        "--purpose",
        "client",
        "--crl",
        "crl.pem",
        "bob.squirrels.example-client.pem",
    ]);

    let revoked = s.ok(&[
        "pki",
        "revoke",
        &serial.to_lowercase(),
        "--reason",
        "keyCompromise",
        "--pass-file",
        "pw",
    ]);
    assert!(
        revoked.starts_with(&format!(
            "Revoked {serial} (CN=bob.squirrels.example), reason keyCompromise."
        )),
        "{revoked}"
    );
    let again = s.fails(&["pki", "revoke", &serial, "--pass-file", "pw"], 1);
    assert!(again.contains("is already revoked"), "{again}");
    let list = s.ok(&["pki", "list", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(entries[0]["serial"], serial.as_str());
    assert_eq!(entries[0]["status"], "revoked");
    assert_eq!(entries[0]["revocation_reason"], "keyCompromise");

    let err = s.fails(&["pki", "crl", "--out", "crl.pem", "--pass-file", "pw"], 1);
    assert!(err.contains("crl.pem already exists"), "{err}");
    let wrote = s.ok(&[
        "pki",
        "crl",
        "--out",
        "crl.pem",
        "--force",
        "--pass-file",
        "pw",
    ]);
    assert!(
        wrote.starts_with(
            "Wrote a CRL of 1 revoked certificate(s), signed by Secret Squirrels CA, valid 7 days"
        ),
        "{wrote}"
    );
    let out = s.fails(
        &[
            "pki",
            "verify",
            "--ca",
            "ca/ca.pem",
            "--purpose",
            "client",
            "--crl",
            "crl.pem",
            "bob.squirrels.example-client.pem",
        ],
        1,
    );
    assert!(
        out.contains("OpenSSL, curl and Python say: \"certificate revoked\""),
        "{out}"
    );
    // OpenSSL reads the CRL and agrees.
    let crl_text = s.openssl(&["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(
        crl_text.contains("X509v3 CRL Number: \n                2"),
        "{crl_text}"
    );
    assert!(crl_text.contains("Key Compromise"), "{crl_text}");
}
