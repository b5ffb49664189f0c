//! What squirrel writes, the real tools accept (openssl, Python
//! `cryptography`, pkilint); what the real tools write, squirrel reads,
//! starting with the tutorial's own files.

use crate::common::Scratch;

const TUTORIAL: &str = include_str!("fixtures/tutorial_pki.py");

fn tutorial_files(s: &Scratch) {
    s.write("tutorial_pki.py", TUTORIAL);
    let (ok, out) = s.run("python3", &["tutorial_pki.py"]);
    assert!(ok, "the tutorial's Python failed: {out}");
}

#[test]
fn squirrel_reads_signs_with_and_verifies_the_tutorials_files() {
    let s = Scratch::new();
    tutorial_files(&s);
    assert!(s
        .read("ca-private-key.pem")
        .contains("Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,"));

    // inspect: the extension-less CA, the legacy keys, the CSR, the leaf.
    let ca = s.ok(&["pki", "inspect", "ca-public-key.pem"]);
    assert!(ca.contains("I am my-ca.com according to my-ca.com"), "{ca}");
    assert!(ca.contains("  CA:                  no basicConstraints (OpenSSL 3, curl and Python refuse such a certificate as a CA)\n"), "{ca}");
    assert!(
        ca.contains("  Extensions:          none (X.509 v3)\n"),
        "{ca}"
    );
    let key = s
        .squirrel(&[
            "pki",
            "inspect",
            "server-private-key.pem",
            "--pass-env",
            "SERVER_PASS",
        ])
        .env("SERVER_PASS", "serverpassword")
        .output()
        .unwrap();
    let key = String::from_utf8(key.stdout).unwrap();
    assert!(key.starts_with("Private key, PKCS#1 (traditional OpenSSL), encrypted\n  Key:                 RSA 2048 bits\n"), "{key}");
    let pubkey = s.openssl(&[
        "pkey",
        "-in",
        "server-private-key.pem",
        "-passin",
        "pass:serverpassword",
        "-pubout",
        "-out",
        "server-pub.pem",
    ]);
    assert!(pubkey.is_empty());
    let fingerprint = s.ok(&["pki", "inspect", "server-pub.pem"]);
    let fp = fingerprint
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("  SHA-256:             ");
    assert!(
        key.contains(fp),
        "the key's fingerprint matches openssl's public key: {key} {fingerprint}"
    );
    let csr = s.ok(&["pki", "inspect", "server-csr.pem"]);
    assert!(csr.contains("Certificate signing request for C=US, ST=Maryland, L=Baltimore, O=My Company, CN=my-site.com"), "{csr}");
    let leaf = s.ok(&["pki", "inspect", "server-public-key.pem"]);
    assert!(
        leaf.contains("I am my-site.com (localhost) according to my-ca.com"),
        "{leaf}"
    );

    // verify: squirrel refuses the tutorial's CA as OpenSSL 3 does...
    let verify = |legacy: &[&str]| {
        let mut args = vec!["pki", "verify", "--ca", "ca-public-key.pem"];
        args.extend_from_slice(legacy);
        args.extend(["--hostname", "localhost", "server-public-key.pem"]);
        s.squirrel(&args).output().unwrap()
    };
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the CA my-ca.com has no extensions")
            && stdout.contains("accept it anyway with --legacy-ca")
            && stdout.contains("OpenSSL, curl and Python say: \"invalid CA certificate\""),
        "{stdout}"
    );
    // ... and accepts it with --legacy-ca, warning of what it lets pass.
    let out = verify(&["--legacy-ca"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the trust anchor my-ca.com has no basicConstraints CA:TRUE")
            && stderr.contains("because of --legacy-ca"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: the certificate my-site.com has no authority key identifier"),
        "the leaf's Baseline Requirements faults only warn under a legacy CA: {stderr}"
    );
    // ... and OpenSSL 3 indeed refuses it, which is what the warning says.
    let (ok, openssl) = s.run(
        "openssl",
        &[
            "verify",
            "-CAfile",
            "ca-public-key.pem",
            "server-public-key.pem",
        ],
    );
    assert!(
        !ok && openssl.contains("invalid CA certificate"),
        "{openssl}"
    );

    // sign with the tutorial's CA files and its legacy-encrypted key.
    let out = s
        .squirrel(&[
            "pki",
            "sign",
            "--ca-cert",
            "ca-public-key.pem",
            "--ca-key",
            "ca-private-key.pem",
            "--pass-env",
            "CA_PASS",
            "--csr",
            "server-csr.pem",
            "--out",
            "squirrel-signed.pem",
        ])
        .env("CA_PASS", "secret_password")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("has no basicConstraints CA:TRUE, like the tutorial's CA"),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: the lifetime was cut to end with the CA's own"),
        "{stderr}"
    );
    assert!(
        s.path("ledger.sqlite3").exists(),
        "the ledger is kept beside the CA's files"
    );
    s.ok(&[
        "pki",
        "verify",
        "--legacy-ca",
        "--ca",
        "ca-public-key.pem",
        "--hostname",
        "localhost",
        "squirrel-signed.pem",
    ]);
    // Python loads what squirrel signed.
    s.python(
        "from cryptography import x509\n\
         c = x509.load_pem_x509_certificate(open('squirrel-signed.pem','rb').read())\n\
         ca = x509.load_pem_x509_certificate(open('ca-public-key.pem','rb').read())\n\
         c.verify_directly_issued_by(ca)\n\
         assert c.subject == x509.load_pem_x509_csr(open('server-csr.pem','rb').read()).subject\n",
    );

    // A CSR from the tutorial's legacy-encrypted server key.
    let out = s
        .squirrel(&[
            "pki",
            "csr",
            "--key",
            "server-private-key.pem",
            "--pass-env",
            "SERVER_PASS",
            "--cn",
            "my-site.com",
            "--san",
            "localhost",
            "--out",
            "again.csr",
        ])
        .env("SERVER_PASS", "serverpassword")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.openssl(&["req", "-in", "again.csr", "-verify", "-noout"]);
    // The wrong passphrase is named as such.
    let err = s
        .squirrel(&[
            "pki",
            "inspect",
            "server-private-key.pem",
            "--pass-env",
            "SERVER_PASS",
        ])
        .env("SERVER_PASS", "secret_password")
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(1));
    let text = String::from_utf8_lossy(&err.stderr);
    assert!(
        text.contains("server-private-key.pem: wrong passphrase"),
        "{text}"
    );
}

#[test]
fn keys_of_every_algorithm_load_in_openssl_and_python() {
    let s = Scratch::new();
    let algos = [
        ("rsa2048", "RSA", "2048"),
        ("rsa3072", "RSA", "3072"),
        ("ecdsa-p256", "EC", "256"),
        ("ecdsa-p384", "EC", "384"),
        ("ed25519", "ED25519", ""),
    ];
    for (i, (algo, _, _)) in algos.iter().enumerate() {
        let kdf = if i % 2 == 0 { "scrypt" } else { "pbkdf2" };
        let file = format!("{algo}.pem");
        let out = s
            .squirrel(&[
                "pki",
                "key",
                "--algo",
                algo,
                "--kdf",
                kdf,
                "--pass-env",
                "KEY_PASS",
                "--out",
                &file,
            ])
            .env("KEY_PASS", "correct horse")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(s
            .read(&file)
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    }
    for (algo, kind, bits) in algos {
        let text = s.openssl(&[
            "pkey",
            "-in",
            &format!("{algo}.pem"),
            "-passin",
            "pass:correct horse",
            "-noout",
            "-text",
        ]);
        let expect = match kind {
            "ED25519" => "ED25519 Private-Key:".to_string(),
            _ => format!("Private-Key: ({bits} bit"),
        };
        assert!(text.contains(&expect), "{algo}: {text}");
    }
    let script = "from cryptography.hazmat.primitives import serialization\n\
        from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519\n\
        kinds = {'rsa2048': rsa.RSAPrivateKey, 'rsa3072': rsa.RSAPrivateKey,\n\
                 'ecdsa-p256': ec.EllipticCurvePrivateKey, 'ecdsa-p384': ec.EllipticCurvePrivateKey,\n\
                 'ed25519': ed25519.Ed25519PrivateKey}\n\
        for name, kind in kinds.items():\n\
        \x20   k = serialization.load_pem_private_key(open(name + '.pem', 'rb').read(), b'correct horse')\n\
        \x20   assert isinstance(k, kind), (name, type(k))\n\
        print('ok')\n";
    assert_eq!(s.python(script).trim(), "ok");
}

#[test]
fn everything_squirrel_writes_passes_openssl_python_and_pkilint() {
    let s = Scratch::new();
    s.init_ca(&[
        "--cn",
        "Squirrel Test CA",
        "--country",
        "US",
        "--org",
        "Secret Squirrels",
        "--algo",
        "rsa3072",
    ]);
    s.openssl(&[
        "pkey",
        "-in",
        "ca/ca-key.pem",
        "-passin",
        "file:pw",
        "-noout",
    ]);
    s.ok(&[
        "pki",
        "issue",
        "my-site.com",
        "127.0.0.1",
        "squirrel@my-site.com",
        "--pass-file",
        "pw",
    ]);
    s.ok(&[
        "pki",
        "issue",
        "member.my-site.com",
        "--client",
        "--algo",
        "ed25519",
        "--pass-file",
        "pw",
    ]);
    s.ok(&[
        "pki",
        "issue",
        "rsa.my-site.com",
        "--algo",
        "rsa2048",
        "--profile",
        "both",
        "--pass-file",
        "pw",
    ]);
    s.ok(&[
        "pki",
        "key",
        "--no-pass",
        "--algo",
        "ecdsa-p384",
        "--out",
        "k.pem",
    ]);
    s.ok(&[
        "pki",
        "csr",
        "--key",
        "k.pem",
        "--cn",
        "csr.my-site.com",
        "--san",
        "csr.my-site.com",
        "--san",
        "::1",
        "--out",
        "k.csr",
    ]);
    s.openssl(&["req", "-in", "k.csr", "-verify", "-noout"]);
    s.ok(&[
        "pki",
        "sign",
        "--csr",
        "k.csr",
        "--out",
        "k.crt",
        "--pass-file",
        "pw",
    ]);
    let leaves = [
        "my-site.com+2.pem",
        "member.my-site.com-client.pem",
        "rsa.my-site.com.pem",
        "k.crt",
    ];
    for leaf in leaves {
        let purpose = if leaf.contains("client") {
            "sslclient"
        } else {
            "sslserver"
        };
        let out = s.openssl(&[
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            "-CAfile",
            "ca/ca.pem",
            leaf,
        ]);
        assert_eq!(out.trim(), format!("{leaf}: OK"));
    }
    // Python's X.509 path validation (cryptography.x509.verification).
    s.python(
        "from cryptography import x509\n\
         from cryptography.x509.verification import PolicyBuilder, Store\n\
         import ipaddress\n\
         load = lambda f: x509.load_pem_x509_certificate(open(f, 'rb').read())\n\
         store = Store([load('ca/ca.pem')])\n\
         PolicyBuilder().store(store).build_server_verifier(x509.DNSName('my-site.com')).verify(load('my-site.com+2.pem'), [])\n\
         PolicyBuilder().store(store).build_server_verifier(x509.IPAddress(ipaddress.ip_address('127.0.0.1'))).verify(load('my-site.com+2.pem'), [])\n\
         PolicyBuilder().store(store).build_server_verifier(x509.DNSName('csr.my-site.com')).verify(load('k.crt'), [])\n\
         PolicyBuilder().store(store).build_client_verifier().verify(load('member.my-site.com-client.pem'), [])\n",
    );
    // RFC 5280 linting: no error, no warning.
    for cert in ["ca/ca.pem"].iter().chain(leaves.iter()) {
        let (_, out) = s.run("lint_pkix_cert", &["lint", "-s", "WARNING", cert]);
        assert_eq!(out.trim(), "", "pkilint findings for {cert}");
    }
    // The CRL verifies with OpenSSL, and OpenSSL refuses the revoked member.
    let member = s.ok(&["pki", "inspect", "--json", "member.my-site.com-client.pem"]);
    let v: serde_json::Value = serde_json::from_str(&member).unwrap();
    let serial = v["items"][0]["serial"].as_str().unwrap().replace(':', "");
    s.ok(&[
        "pki",
        "revoke",
        &serial,
        "--pass-file",
        "pw",
        "--reason",
        "affiliationChanged",
    ]);
    s.ok(&["pki", "crl", "--out", "crl.pem", "--pass-file", "pw"]);
    let out = s.openssl(&["crl", "-in", "crl.pem", "-CAfile", "ca/ca.pem", "-noout"]);
    assert!(out.contains("verify OK"), "{out}");
    let (ok, out) = s.run(
        "openssl",
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "crl.pem",
            "-CAfile",
            "ca/ca.pem",
            "member.my-site.com-client.pem",
        ],
    );
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    s.openssl(&[
        "verify",
        "-crl_check",
        "-CRLfile",
        "crl.pem",
        "-CAfile",
        "ca/ca.pem",
        "k.crt",
    ]);
}

#[test]
fn pkilint_only_objects_to_single_label_names_like_localhost() {
    // pkilint's domain syntax check wants a dot; localhost is still what the
    // tutorial serves. This pins down that nothing else is found.
    let s = Scratch::new();
    s.init_ca(&[]);
    s.ok(&[
        "pki",
        "issue",
        "localhost",
        "127.0.0.1",
        "--pass-file",
        "pw",
    ]);
    let (_, out) = s.run(
        "lint_pkix_cert",
        &["lint", "-s", "WARNING", "localhost+1.pem"],
    );
    let findings: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("(ERROR)") || l.contains("(WARNING)") || l.contains("(FATAL)"))
        .collect();
    assert_eq!(findings, vec!["    pkix.invalid_domain_name_syntax (ERROR): Invalid domain name syntax: \"localhost\""], "{out}");
}
