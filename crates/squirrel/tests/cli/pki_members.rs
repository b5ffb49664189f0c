//! Issue 12's complaints about the CA, each a test: a CA of an existing
//! key, advice that names real files, a member with only ca.pem, revoking
//! by name, DER files and HOST:PORT in `inspect`, a CSR that names nobody,
//! and the `--key-pass-*` spellings.

use crate::common::Scratch;

/// The tutorial's first rows: `pki key`, then `ca init --key`.
#[test]
fn a_ca_is_made_of_an_existing_encrypted_key() {
    let s = Scratch::new();
    s.write("pw", "secret_password\n");
    s.ok(&[
        "pki",
        "key",
        "--algo",
        "rsa2048",
        "--out",
        "ca-private-key.pem",
        "--pass-file",
        "pw",
    ]);
    let out = s.ok(&[
        "pki",
        "ca",
        "init",
        "--key",
        "ca-private-key.pem",
        "--dir",
        "club",
        "--pass-file",
        "pw",
    ]);
    assert!(
        out.starts_with(
            "Created a new certificate authority in club from the key ca-private-key.pem\n"
        ),
        "{out}"
    );
    assert!(out.contains("  key:         club/ca-key.pem  (encrypted; keep it secret)\n  (a copy of ca-private-key.pem, which is left as it was: keep it as secret, or delete it)\n"), "{out}");
    assert!(s
        .read("club/ca-key.pem")
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    // The same key, under the same passphrase; the CA certificate is its.
    let public = |file: &str| s.openssl(&["pkey", "-in", file, "-passin", "file:pw", "-pubout"]);
    assert_eq!(public("club/ca-key.pem"), public("ca-private-key.pem"));
    assert_eq!(
        public("club/ca-key.pem"),
        s.openssl(&["x509", "-in", "club/ca.pem", "-noout", "-pubkey"])
    );
    s.ok(&[
        "pki",
        "issue",
        "localhost",
        "--ca-dir",
        "club",
        "--pass-file",
        "pw",
    ]);
    s.openssl(&["verify", "-CAfile", "club/ca.pem", "localhost.pem"]);

    // Refused: a CA is never replaced, and --algo makes no sense with --key.
    let err = s.fails(
        &[
            "pki",
            "ca",
            "init",
            "--key",
            "ca-private-key.pem",
            "--dir",
            "club",
            "--pass-file",
            "pw",
        ],
        1,
    );
    assert!(
        err.contains("refused: a CA already exists here (club/ca.pem is present)"),
        "{err}"
    );
    let err = s.fails(
        &[
            "pki",
            "ca",
            "init",
            "--key",
            "ca-private-key.pem",
            "--algo",
            "ed25519",
        ],
        2,
    );
    assert!(
        err.contains("the argument '--key <FILE>' cannot be used with '--algo <ALGO>'"),
        "{err}"
    );
}

#[test]
fn a_failed_ca_init_from_a_key_leaves_no_directory() {
    let s = Scratch::new();
    s.write("pw", "secret_password\n");
    s.write("wrong", "not the passphrase\n");
    s.ok(&["pki", "key", "--out", "k.pem", "--pass-file", "pw"]);
    let err = s.fails(
        &[
            "pki",
            "ca",
            "init",
            "--key",
            "k.pem",
            "--dir",
            "new/ca",
            "--pass-file",
            "wrong",
        ],
        1,
    );
    assert!(
        err.contains("squirrel: error: k.pem: wrong passphrase"),
        "{err}"
    );
    let err = s.fails(
        &[
            "pki",
            "ca",
            "init",
            "--key",
            "k.pem",
            "--dir",
            "new/ca",
            "--pass-file",
            "pw",
            "--days",
            "0",
        ],
        1,
    );
    assert_eq!(
        err,
        "squirrel: error: --days must be at least 1; pass --days 3650\n"
    );
    s.ok(&["pki", "key", "--out", "plain.pem", "--no-pass"]);
    let err = s.fails(
        &["pki", "ca", "init", "--key", "plain.pem", "--dir", "new/ca"],
        1,
    );
    assert!(
        err.contains("no passphrase for the new CA key: there is no terminal to ask on"),
        "{err}"
    );
    assert!(!s.path("new").exists(), "no directory is left behind");
    // A plain key stays plain only when asked.
    s.ok(&[
        "pki",
        "ca",
        "init",
        "--key",
        "plain.pem",
        "--dir",
        "new/ca",
        "--no-pass",
    ]);
    assert!(s
        .read("new/ca/ca-key.pem")
        .starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn advice_about_a_missing_ca_names_a_real_directory_or_the_key() {
    let s = Scratch::new();
    s.ok(&["pki", "key", "--out", "k.pem", "--no-pass"]);
    s.ok(&[
        "pki",
        "csr",
        "--key",
        "k.pem",
        "--no-pass",
        "--cn",
        "a.example",
        "--out",
        "a.csr",
    ]);
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--ca-cert",
            "ca-public-key.pem",
            "--ca-key",
            "k.pem",
            "--csr",
            "a.csr",
            "--out",
            "a.pem",
        ],
        1,
    );
    assert_eq!(err, "squirrel: error: --ca-cert ca-public-key.pem: no such file; check the path of the CA's certificate (e.g. ca.pem or ca-public-key.pem), or give the CA's directory with --ca-dir DIR; to make a CA of the key k.pem, run `squirrel pki ca init --key k.pem --dir DIR` and then use --ca-dir DIR\n");
    let err = s.fails(&["pki", "list", "--ca-dir", "my club"], 1);
    assert_eq!(err, "squirrel: error: no CA certificate at my club/ca.pem: create a CA first with `squirrel pki ca init --dir 'my club'`, or point to one with --ca-dir DIR or --ca-cert FILE\n");
    let err = s.fails(&["pki", "install", "--ca-cert", "ca.pem", "--dry-run"], 1);
    assert_eq!(err, "squirrel: error: --ca-cert ca.pem: no such file; check the path of the CA's certificate (e.g. ca.pem or ca-public-key.pem), or give the CA's directory with --ca-dir DIR\n");
    assert!(!s.path("a.pem").exists());
}

#[test]
fn a_member_with_only_ca_pem_installs_it_and_list_says_where_the_ledger_is() {
    let s = Scratch::new();
    s.init_ca(&[]);
    std::fs::create_dir(s.path("member")).unwrap();
    std::fs::copy(s.home().join("ca.pem"), s.path("member/ca.pem")).unwrap();
    let out = s.ok(&[
        "pki",
        "install",
        "--ca-cert",
        "member/ca.pem",
        "--stores",
        "system",
        "--dry-run",
    ]);
    assert!(
        out.starts_with("Would change: Secret Squirrels CA (squirrel-"),
        "{out}"
    );
    assert!(out.contains(") from member/ca.pem\n"), "{out}");
    let err = s.fails(&["pki", "list", "--ca-cert", "member/ca.pem"], 1);
    assert_eq!(err, "squirrel: error: no ledger at member/ledger.sqlite3, beside the CA certificate member/ca.pem: this CA has issued nothing with squirrel here. The ledger is kept only where the CA signs (its directory, beside ca.pem and ca-key.pem); run `squirrel pki list` there, or give that directory with --ca-dir DIR\n");
    let serial = s.issue(&["localhost"]);
    std::fs::copy(
        s.home().join("ledger.sqlite3"),
        s.path("member/ledger.sqlite3"),
    )
    .unwrap();
    let out = s.ok(&["pki", "list", "--ca-cert", "member/ca.pem"]);
    assert!(
        out.contains(&format!("{serial}   valid    server")),
        "{out}"
    );
}

#[test]
fn revoke_takes_a_serial_prefix_or_a_name_and_refuses_ambiguity() {
    let s = Scratch::new();
    s.init_ca(&[]);
    let first = s.issue(&["alice", "--client"]);
    let second = s.issue(&["alice", "--client", "--force"]);
    let bob = s.issue(&["bob", "--client"]);
    let err = s.fails(&["pki", "revoke", "ALICE", "--pass-file", "pw"], 1);
    assert_eq!(err, format!("squirrel: error: \"ALICE\" matches 2 certificates; give enough of the serial to pick one, e.g. `squirrel pki revoke {first}`:\n  {first}  valid  CN=alice (alice)\n  {second}  valid  CN=alice (alice)\n"));
    let err = s.fails(&["pki", "revoke", "carol", "--pass-file", "pw"], 1);
    assert_eq!(err, "squirrel: error: no certificate in the ledger matches \"carol\" (by serial, serial prefix, common name or alternative name); run `squirrel pki list` to see the certificates this CA issued\n");
    // A prefix, in lower case with colons.
    let prefix = format!("{}:{}", &first[..2], &first[2..8]).to_lowercase();
    let out = s.ok(&["pki", "revoke", &prefix, "--pass-file", "pw"]);
    assert_eq!(out, format!("Revoked {first} (CN=alice), reason unspecified. Publish a new CRL with `squirrel pki crl --out crl.pem --pass-file pw` and reload the servers that use it.\n"));
    // The revoked one is passed over: "alice" is now the second alone.
    s.ok(&["pki", "crl", "--out", "crl.pem", "--pass-file", "pw"]);
    let out = s.ok(&[
        "pki",
        "revoke",
        "alice",
        "--reason",
        "superseded",
        "--ca-dir",
        "ca",
        "--pass-file",
        "pw",
    ]);
    assert_eq!(out, format!("Revoked {second} (CN=alice), reason superseded. Publish a new CRL with `squirrel pki crl --out crl.pem --force --ca-dir ca --pass-file pw` and reload the servers that use it.\n"));
    // The advice works as printed.
    s.ok(&[
        "pki",
        "crl",
        "--out",
        "crl.pem",
        "--force",
        "--ca-dir",
        "ca",
        "--pass-file",
        "pw",
    ]);
    let crl = s.ok(&["pki", "inspect", "crl.pem"]);
    assert!(
        crl.contains("  Revoked:             2 certificate(s)\n"),
        "{crl}"
    );
    assert!(
        crl.contains(&format!("    {second}  since ")) && !crl.contains(&bob),
        "{crl}"
    );
    let err = s.fails(&["pki", "revoke", &first, "--pass-file", "pw"], 1);
    assert!(
        err.contains(&format!(
            "refused: certificate {first} (CN=alice) is already revoked"
        )),
        "{err}"
    );
}

#[test]
fn inspect_reads_der_files_of_every_kind() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.issue(&["localhost"]);
    s.ok(&["pki", "crl", "--out", "crl.pem", "--pass-file", "pw"]);
    s.ok(&[
        "pki",
        "csr",
        "--key",
        "localhost-key.pem",
        "--no-pass",
        "--cn",
        "localhost",
        "--out",
        "l.csr",
    ]);
    s.openssl(&[
        "x509",
        "-in",
        "localhost.pem",
        "-outform",
        "DER",
        "-out",
        "cert.der",
    ]);
    s.openssl(&["req", "-in", "l.csr", "-outform", "DER", "-out", "csr.der"]);
    s.openssl(&[
        "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
    ]);
    s.openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        "localhost-key.pem",
        "-outform",
        "DER",
        "-out",
        "key.der",
    ]);
    s.openssl(&[
        "pkey",
        "-in",
        "localhost-key.pem",
        "-outform",
        "DER",
        "-out",
        "sec1.der",
    ]);
    s.openssl(&[
        "pkey",
        "-in",
        "localhost-key.pem",
        "-pubout",
        "-outform",
        "DER",
        "-out",
        "pub.der",
    ]);
    for (der, pem) in [
        ("cert.der", "localhost.pem"),
        ("csr.der", "l.csr"),
        ("crl.der", "crl.pem"),
    ] {
        assert_eq!(
            s.ok(&["pki", "inspect", der]),
            s.ok(&["pki", "inspect", pem]),
            "{der}"
        );
    }
    let key = s.ok(&["pki", "inspect", "key.der"]);
    assert!(
        key.starts_with("Private key, PKCS#8, NOT encrypted\n  Key:                 ECDSA P-256\n"),
        "{key}"
    );
    let sec1 = s.ok(&["pki", "inspect", "sec1.der"]);
    assert!(
        sec1.starts_with("Private key, SEC1 (traditional OpenSSL), NOT encrypted\n"),
        "{sec1}"
    );
    let public = s.ok(&["pki", "inspect", "pub.der"]);
    assert!(public.starts_with("Public key, ECDSA P-256\n"), "{public}");
    let json = s.ok(&["pki", "inspect", "crl.der", "--json"]);
    assert!(json.contains("\"encoding\": \"DER\""), "{json}");
    std::fs::write(s.path("odd.der"), [0x30, 0x03, 0x02, 0x01, 0x01]).unwrap();
    let err = s.fails(&["pki", "inspect", "odd.der"], 1);
    assert_eq!(err, "squirrel: error: odd.der: the file is binary (DER) but not a certificate, CSR, CRL, public key or private key that squirrel can read; check that you gave the right file\n");
}

#[test]
fn inspect_takes_host_port_as_a_server() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.issue(&["localhost"]);
    let server = s.serve(&[
        "--cert",
        "localhost.pem",
        "--key",
        "localhost-key.pem",
        "--message",
        "hi",
    ]);
    let target = format!("localhost:{}", server.port);
    let out = s.ok(&["pki", "inspect", &target, "--ca", "ca/ca.pem"]);
    assert!(
        out.starts_with(&format!("{target} speaks TLS 1.3")),
        "{out}"
    );
    assert!(
        out.ends_with("Verified: the chain is trusted by --ca ca/ca.pem.\n"),
        "{out}"
    );
}

#[test]
fn a_csr_that_names_nobody_is_refused() {
    let s = Scratch::new();
    s.ok(&["pki", "key", "--out", "k.pem", "--no-pass"]);
    let err = s.fails(
        &[
            "pki", "csr", "--key", "k.pem", "--org", "Club", "--out", "x.csr",
        ],
        1,
    );
    assert_eq!(err, "squirrel: error: the request would name nobody; give --cn NAME and/or --san NAME (for example --san localhost --san 127.0.0.1)\n");
    assert!(!s.path("x.csr").exists());
}

#[test]
fn key_pass_flags_are_aliases_except_where_issue_encrypts_the_new_key() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.ok(&["pki", "key", "--out", "k.pem", "--key-pass-file", "pw"]);
    let csr = s.ok(&[
        "pki",
        "csr",
        "--key",
        "k.pem",
        "--key-pass-file",
        "pw",
        "--cn",
        "a.example",
    ]);
    assert!(
        csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{csr}"
    );
    let (code, _, err) = s.squirrel_out(
        &[
            "pki",
            "crl",
            "--out",
            "crl.pem",
            "--key-pass-env",
            "CA_PASS",
        ],
        &[("CA_PASS", "secret_password")],
    );
    assert_eq!(code, 0, "{err}");
    let help = s.ok(&["pki", "sign", "--help"]);
    assert!(help.contains("--key-pass-file]"), "{help}");
    // On issue, --key-pass-file encrypts the new key; --pass-file opens the CA's.
    s.write("leaf-pw", "leaf passphrase\n");
    s.ok(&[
        "pki",
        "issue",
        "localhost",
        "--key-pass-file",
        "leaf-pw",
        "--pass-file",
        "pw",
    ]);
    s.openssl(&[
        "pkey",
        "-in",
        "localhost-key.pem",
        "-passin",
        "file:leaf-pw",
        "-noout",
    ]);
    let help = s.ok(&["pki", "issue", "--help"]);
    assert!(!help.contains("alias"), "{help}");
}
