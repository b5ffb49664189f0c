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
    let in_a_year = (time::OffsetDateTime::now_utc() + time::Duration::days(365))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let cases: [(&[&str], &str, &str); 7] = [
        (
            &["--ca", "other/ca.pem", "localhost.pem"],
            "unable to get local issuer certificate",
            "localhost was issued by my-ca.com, which is not among the trusted CAs",
        ),
        (
            &["--ca", "ca/ca.pem", "--at", &in_a_year, "localhost.pem"],
            "certificate has expired",
            "localhost has expired",
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
            "the CA my-ca.com has expired",
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
            "the CA my-ca.com is not valid yet",
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

#[test]
fn a_crl_must_come_from_the_leafs_own_ca_and_be_current() {
    let s = Scratch::new();
    s.init_ca(&[]);
    let serial = s.issue(&["bob.squirrels.example", "--client"]);
    s.ok(&["pki", "revoke", &serial, "--pass-file", "pw"]);
    s.ok(&[
        "pki",
        "crl",
        "--days",
        "1",
        "--out",
        "crl.pem",
        "--pass-file",
        "pw",
    ]);
    // Two other CAs: one named like ours (squirrel's default name), one not.
    for (dir, cn) in [("twin", "Secret Squirrels CA"), ("stranger", "stranger-ca")] {
        s.ok(&["pki", "ca", "init", "--no-pass", "--dir", dir, "--cn", cn]);
        let crl = format!("{dir}-crl.pem");
        s.ok(&["pki", "crl", "--ca-dir", dir, "--out", &crl]);
    }
    let verify = |crl: &str, at: Option<&str>| {
        let mut args = vec![
            "pki",
            "verify",
            "--json",
            "--ca",
            "ca/ca.pem",
            "--purpose",
            "client",
            "--crl",
            crl,
        ];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        args.push("bob.squirrels.example-client.pem");
        let out = s.fails(&args, 1);
        let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(json["valid"], false, "{out}");
        json["failure"]["openssl"].as_str().unwrap().to_string()
    };
    // The revoked certificate passes with no CRL of its own CA.
    assert_eq!(
        verify("stranger-crl.pem", None),
        "unable to get certificate CRL"
    );
    // What the CRL says, as `openssl crl -text` would tell it.
    let shown = s.ok(&["pki", "inspect", "crl.pem"]);
    assert!(
        shown.starts_with("Certificate revocation list of Secret Squirrels CA\n"),
        "{shown}"
    );
    assert!(shown.contains("\n  CRL number:          1\n"), "{shown}");
    assert!(
        shown.contains(&format!("\n    {serial}  since ")),
        "{shown}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["pki", "inspect", "--json", "crl.pem"])).unwrap();
    let crl = &json["items"][0];
    assert_eq!(
        (crl["type"].as_str(), crl["number"].as_str()),
        (Some("revocation_list"), Some("1"))
    );
    assert_eq!(crl["revoked"][0]["serial"], serial.as_str());
    std::fs::write(
        s.path("garbage.pem"),
        "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n",
    )
    .unwrap();
    let err = s.fails(&["pki", "inspect", "garbage.pem"], 1);
    assert!(
        err.contains("garbage.pem: the CRL cannot be parsed"),
        "{err}"
    );
    // A CA with the same name but another key: not its CRL (OpenSSL agrees).
    assert_eq!(
        verify("twin-crl.pem", None),
        "unable to get certificate CRL"
    );
    assert_eq!(verify("crl.pem", None), "certificate revoked");
    // Our CRL with its signature altered, as DER.
    let pem_text = std::fs::read_to_string(s.path("crl.pem")).unwrap();
    let mut der = pem::parse(&pem_text).unwrap().into_contents();
    *der.last_mut().unwrap() ^= 1;
    std::fs::write(s.path("forged-crl.der"), &der).unwrap();
    assert_eq!(verify("forged-crl.der", None), "CRL signature failure");
    let days_from_now = |days: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(days))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    assert_eq!(
        verify("crl.pem", Some(&days_from_now(3))),
        "CRL has expired"
    );
    // Yesterday neither the CRL nor the certificate existed yet; OpenSSL
    // (`verify -attime`) names the CRL first, and so does squirrel.
    assert_eq!(
        verify("crl.pem", Some(&days_from_now(-1))),
        "CRL is not yet valid"
    );
    // OpenSSL agrees on the stranger's CRL.
    let openssl = std::process::Command::new("openssl")
        .current_dir(s.path("."))
        .args([
            "verify",
            "-crl_check",
            "-CAfile",
            "ca/ca.pem",
            "-CRLfile",
            "stranger-crl.pem",
            "bob.squirrels.example-client.pem",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&openssl.stderr).into_owned()
        + &String::from_utf8_lossy(&openssl.stdout);
    assert!(!openssl.status.success(), "{text}");
    assert!(text.contains("unable to get certificate CRL"), "{text}");
}
