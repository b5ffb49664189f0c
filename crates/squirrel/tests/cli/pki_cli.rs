//! `squirrel pki` end to end: the real binary, real files, exact outputs.

use crate::common::Scratch;
use std::os::unix::fs::PermissionsExt;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn ca_init_writes_three_files_and_never_replaces_a_ca() {
    let s = Scratch::new();
    s.write("pw", "secret_password\n");
    let out = s.ok(&[
        "pki",
        "ca",
        "init",
        "--pass-file",
        "pw",
        "--cn",
        "my-ca.com",
        "--country",
        "US",
    ]);
    assert!(
        out.starts_with(&format!(
            "Created a new certificate authority in {}\n",
            s.home().display()
        )),
        "{out}"
    );
    assert!(
        out.contains("I am my-ca.com according to my-ca.com"),
        "{out}"
    );
    let key = s.home().join("ca-key.pem");
    assert_eq!(mode(&key), 0o600);
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    assert!(s.home().join("ledger.sqlite3").exists());
    let before = std::fs::read(s.home().join("ca.pem")).unwrap();

    let err = s.fails(&["pki", "ca", "init", "--pass-file", "pw"], 1);
    assert!(err.contains("a CA already exists here"), "{err}");
    assert_eq!(
        std::fs::read(s.home().join("ca.pem")).unwrap(),
        before,
        "the CA is untouched"
    );

    let inspect = s.ok(&["pki", "inspect", "ca/ca.pem"]);
    assert!(
        inspect.contains("  Subject:             C=US, CN=my-ca.com\n"),
        "{inspect}"
    );
    assert!(
        inspect.contains("  CA:                  yes (CA:TRUE, pathlen:0)\n"),
        "{inspect}"
    );
    assert!(
        inspect.contains("    Key Usage (critical): Certificate Sign, CRL Sign\n"),
        "{inspect}"
    );
    assert!(
        inspect.contains("    Basic Constraints (critical): CA:TRUE, pathlen:0\n"),
        "{inspect}"
    );
    assert!(
        inspect.contains("    Subject Key Identifier: "),
        "{inspect}"
    );
    assert!(
        inspect.contains("    Authority Key Identifier: "),
        "{inspect}"
    );
}

#[test]
fn issue_names_files_like_mkcert_and_tells_the_sentence() {
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    let out = s.ok(&[
        "pki",
        "issue",
        "localhost",
        "127.0.0.1",
        "::1",
        "--pass-file",
        "pw",
    ]);
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("From "), "{out}");
    assert!(
        first.ends_with(", I am localhost (localhost, 127.0.0.1, ::1) according to my-ca.com"),
        "{out}"
    );
    let key = s.path("localhost+2-key.pem");
    assert_eq!(mode(&key), 0o600);
    assert!(s
        .read("localhost+2-key.pem")
        .starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert_eq!(mode(&s.path("localhost+2.pem")), 0o644);

    let inspect = s.ok(&["pki", "inspect", "localhost+2.pem"]);
    assert!(
        inspect.contains("    Subject Alternative Name: localhost, 127.0.0.1, ::1\n"),
        "{inspect}"
    );
    assert!(
        inspect.contains("    Key Usage (critical): Digital Signature\n"),
        "{inspect}"
    );
    assert!(
        inspect.contains("    Extended Key Usage: TLS Web Server Authentication\n"),
        "{inspect}"
    );
    assert!(inspect.contains("  CA:                  no\n"), "{inspect}");
    assert!(
        inspect.contains("(90 days left)") || inspect.contains("(89 days left)"),
        "{inspect}"
    );

    // A client certificate, with an encrypted key.
    std::fs::write(s.path("member-pw"), "member secret\n").unwrap();
    s.ok(&[
        "pki",
        "issue",
        "alice@squirrels.example",
        "--client",
        "--pass-file",
        "pw",
        "--key-pass-file",
        "member-pw",
    ]);
    let client = s.ok(&["pki", "inspect", "alice@squirrels.example-client.pem"]);
    assert!(
        client.contains("    Extended Key Usage: TLS Web Client Authentication\n"),
        "{client}"
    );
    assert!(s
        .read("alice@squirrels.example-client-key.pem")
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));

    // Nothing is overwritten.
    let err = s.fails(
        &[
            "pki",
            "issue",
            "localhost",
            "127.0.0.1",
            "::1",
            "--pass-file",
            "pw",
        ],
        1,
    );
    assert!(err.contains("localhost+2.pem already exists"), "{err}");
    let list = s.ok(&["pki", "list"]);
    assert_eq!(
        list.lines().count(),
        3,
        "header and two certificates: {list}"
    );
}

#[test]
fn csr_sign_and_verify_with_profiles() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.ok(&["pki", "key", "--no-pass", "--out", "server-key.pem"]);
    s.ok(&[
        "pki",
        "csr",
        "--key",
        "server-key.pem",
        "--cn",
        "my-site.com",
        "--country",
        "US",
        "--org",
        "My Company",
        "--san",
        "localhost",
        "--san",
        "127.0.0.1",
        "--out",
        "server-csr.pem",
    ]);
    let csr = s.ok(&["pki", "inspect", "server-csr.pem"]);
    assert!(
        csr.starts_with("Certificate signing request for C=US, O=My Company, CN=my-site.com\n"),
        "{csr}"
    );
    assert!(
        csr.contains("  Alternative names:   localhost, 127.0.0.1\n"),
        "{csr}"
    );

    s.ok(&[
        "pki",
        "sign",
        "--csr",
        "server-csr.pem",
        "--out",
        "server.pem",
        "--pass-file",
        "pw",
        "--days",
        "30",
    ]);
    let ok = s.ok(&[
        "pki",
        "verify",
        "--ca",
        "ca/ca.pem",
        "--hostname",
        "localhost",
        "server.pem",
    ]);
    assert!(ok.starts_with("server.pem: OK\n  From "), "{ok}");
    assert!(
        ok.contains(
            "I am my-site.com (my-site.com, localhost, 127.0.0.1) according to Secret Squirrels CA"
        ),
        "{ok}"
    );
    s.ok(&[
        "pki",
        "verify",
        "--ca",
        "ca/ca.pem",
        "--hostname",
        "127.0.0.1",
        "server.pem",
    ]);
    let inspect = s.ok(&["pki", "inspect", "server.pem", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let cert = &json["items"][0];
    assert_eq!(cert["type"], "certificate");
    assert!(cert["days_left"].as_i64().unwrap() >= 29 && cert["days_left"].as_i64().unwrap() <= 30);

    // A server certificate is not a client certificate.
    let err = s.fails(
        &[
            "pki",
            "verify",
            "--ca",
            "ca/ca.pem",
            "--purpose",
            "client",
            "server.pem",
        ],
        1,
    );
    assert!(
        err.contains("OpenSSL, curl and Python say: \"unsupported certificate purpose\""),
        "{err}"
    );
    s.ok(&[
        "pki",
        "sign",
        "--csr",
        "server-csr.pem",
        "--out",
        "both.pem",
        "--pass-file",
        "pw",
        "--profile",
        "both",
    ]);
    s.ok(&[
        "pki",
        "verify",
        "--ca",
        "ca/ca.pem",
        "--purpose",
        "client",
        "both.pem",
    ]);
}

#[test]
fn lifetime_never_outlives_the_ca() {
    let s = Scratch::new();
    s.init_ca(&["--days", "30"]);
    let out = s
        .squirrel(&[
            "pki",
            "issue",
            "short.example",
            "--pass-file",
            "pw",
            "--days",
            "365",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: the lifetime was cut to end with the CA's own"),
        "{stderr}"
    );
    let ca: serde_json::Value =
        serde_json::from_str(&s.ok(&["pki", "inspect", "--json", "ca/ca.pem"])).unwrap();
    let leaf: serde_json::Value =
        serde_json::from_str(&s.ok(&["pki", "inspect", "--json", "short.example.pem"])).unwrap();
    assert_eq!(leaf["items"][0]["not_after"], ca["items"][0]["not_after"]);
}

#[test]
fn name_constraints_are_written_and_enforced() {
    let s = Scratch::new();
    s.init_ca(&[
        "--permit-dns",
        "squirrels.example",
        "--permit-ip",
        "127.0.0.0/8",
    ]);
    let inspect = s.ok(&["pki", "inspect", "ca/ca.pem"]);
    assert!(
        inspect.contains(
            "    Name Constraints (critical): permitted: squirrels.example, 127.0.0.0/8\n"
        ),
        "{inspect}"
    );
    s.ok(&[
        "pki",
        "issue",
        "www.squirrels.example",
        "127.0.0.2",
        "--pass-file",
        "pw",
    ]);
    s.openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        "ca/ca.pem",
        "www.squirrels.example+1.pem",
    ]);
    let err = s.fails(&["pki", "issue", "localhost", "--pass-file", "pw"], 1);
    assert!(err.contains("localhost is outside the CA's name constraints (permitted: squirrels.example, 127.0.0.0/8)"), "{err}");
    let err = s.fails(
        &[
            "pki",
            "issue",
            "www.squirrels.example",
            "10.0.0.1",
            "--pass-file",
            "pw",
            "--force",
        ],
        1,
    );
    assert!(
        err.contains("10.0.0.1 is outside the CA's name constraints"),
        "{err}"
    );
    assert!(!s.path("localhost.pem").exists() && !s.path("localhost-key.pem").exists());
}

#[test]
fn inspect_a_live_server_and_judge_its_chain() {
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let (server, port) = s.openssl_server("localhost.pem", "localhost-key.pem", "-www");
    let url = format!("https://localhost:{port}");
    let good = s
        .squirrel(&["pki", "inspect", &url, "--ca", "ca/ca.pem"])
        .output()
        .unwrap();
    let bad = s
        .squirrel(&["pki", "inspect", &url, "--json"])
        .output()
        .unwrap();
    drop(server);
    let good_text = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{good_text}{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        good_text.contains(&format!("localhost:{port} speaks TLS 1.3")),
        "{good_text}"
    );
    assert!(
        good_text.contains("I am localhost (localhost) according to my-ca.com"),
        "{good_text}"
    );
    assert!(
        good_text.contains("Verified: the chain is trusted by --ca ca/ca.pem."),
        "{good_text}"
    );
    assert_eq!(bad.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(json["verified"], false);
    assert_eq!(
        json["failure"]["openssl"],
        "unable to get local issuer certificate"
    );
    assert_eq!(json["chain"].as_array().unwrap().len(), 1);
}

/// `pki renew CERT`: a new key and certificate for the same names,
/// profile and lifetime, in place; the ledger keeps both.
#[test]
fn renew_replaces_a_certificate_and_its_key_in_place() {
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    let old = s.issue(&["localhost", "127.0.0.1", "--days", "30"]);
    let client = s.issue(&["alice", "--client"]);
    let old_key = std::fs::read_to_string(s.path("localhost+1-key.pem")).unwrap();
    let out = s.ok(&["pki", "renew", "localhost+1.pem", "--pass-file", "pw"]);
    assert!(
        out.contains(&format!("Renewed localhost, 127.0.0.1 (serial {old}")),
        "{out}"
    );
    let new = out
        .lines()
        .find_map(|l| l.strip_prefix("  serial: "))
        .unwrap_or_else(|| panic!("no serial in {out}"));
    assert_ne!(new, old);
    let key = s.path("localhost+1-key.pem");
    assert_eq!(mode(&key), 0o600);
    assert_ne!(std::fs::read_to_string(&key).unwrap(), old_key, "a new key");
    // The key fits the certificate; the names and lifetime are the old ones.
    let pubkey = |args: &[&str]| s.openssl(args);
    assert_eq!(
        pubkey(&["x509", "-in", "localhost+1.pem", "-noout", "-pubkey"]),
        pubkey(&["pkey", "-in", key.to_str().unwrap(), "-pubout"])
    );
    let text = s.openssl(&[
        "x509",
        "-in",
        "localhost+1.pem",
        "-noout",
        "-ext",
        "subjectAltName",
    ]);
    assert!(
        text.contains("DNS:localhost, IP Address:127.0.0.1"),
        "{text}"
    );
    let list: serde_json::Value = serde_json::from_str(&s.ok(&["pki", "list", "--json"])).unwrap();
    let rows = list.as_array().unwrap();
    let row = |serial: &str| rows.iter().find(|r| r["serial"] == serial).unwrap().clone();
    assert_eq!(
        row(&old)["status"],
        "valid",
        "the old one stays until revoked"
    );
    let (old_row, new_row) = (row(&old), row(new));
    assert_eq!(new_row["profile"], "server");
    assert_eq!(new_row["alt_names"], old_row["alt_names"]);
    let day = |r: &serde_json::Value, k: &str| {
        time::OffsetDateTime::parse(
            r[k].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let lifetime =
        |r: &serde_json::Value| (day(r, "not_after") - day(r, "not_before")).whole_days();
    assert_eq!(lifetime(&new_row), lifetime(&old_row));

    // A client certificate stays one.
    s.ok(&["pki", "renew", "alice-client.pem", "--pass-file", "pw"]);
    let list: serde_json::Value = serde_json::from_str(&s.ok(&["pki", "list", "--json"])).unwrap();
    let renewed = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["alt_names"] == serde_json::json!(["alice"]) && r["serial"] != client)
        .count();
    assert_eq!(renewed, 1);
    assert!(s
        .openssl(&[
            "x509",
            "-in",
            "alice-client.pem",
            "-noout",
            "-ext",
            "extendedKeyUsage"
        ])
        .contains("TLS Web Client Authentication"));

    // Another CA's certificate, and no file at all: exit 1 with the fix.
    s.ok(&[
        "pki",
        "ca",
        "init",
        "--dir",
        "other",
        "--no-pass",
        "--cn",
        "other",
    ]);
    s.ok(&[
        "pki",
        "issue",
        "stranger.test",
        "--ca-dir",
        "other",
        "--no-pass",
    ]);
    let err = s.fails(
        &["pki", "renew", "stranger.test.pem", "--pass-file", "pw"],
        1,
    );
    assert!(
        err.contains("is not in the ledger") && err.contains("--ca-dir"),
        "{err}"
    );
    let err = s.fails(&["pki", "renew", "nothing.pem", "--pass-file", "pw"], 1);
    assert!(err.contains("nothing.pem: no such certificate"), "{err}");
}
