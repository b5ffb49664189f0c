//! Bad input: a clear error naming the file or flag, what is wrong and the
//! fix; exit 1 (2 for usage); no panic; no file written or overwritten.

use crate::common::Scratch;

fn files_in(s: &Scratch) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn malformed_truncated_and_wrong_type_pem() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let cert = s.read("localhost.pem");
    s.write("truncated.pem", &cert[..cert.len() / 2]);
    let err = s.fails(&["pki", "inspect", "truncated.pem"], 1);
    assert!(
        err.contains("truncated.pem: malformed or truncated PEM"),
        "{err}"
    );
    assert!(err.contains("copy it again in full"), "{err}");
    s.write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    );
    let err = s.fails(&["pki", "inspect", "garbage.pem"], 1);
    assert!(
        err.contains("garbage.pem: malformed or truncated PEM"),
        "{err}"
    );
    s.write("nothing.txt", "hello\n");
    let err = s.fails(&["pki", "inspect", "nothing.txt"], 1);
    assert!(err.contains("nothing.txt: no PEM block found"), "{err}");

    let err = s.fails(
        &["pki", "csr", "--key", "localhost.pem", "--cn", "x.example"],
        1,
    );
    assert!(
        err.contains(
            "localhost.pem: expected a private key but found a PEM block of type \"CERTIFICATE\""
        ),
        "{err}"
    );
    assert!(
        err.contains("the key is usually in the matching *-key.pem file"),
        "{err}"
    );
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--csr",
            "localhost-key.pem",
            "--out",
            "x.pem",
            "--pass-file",
            "pw",
        ],
        1,
    );
    assert!(err.contains("localhost-key.pem: expected a certificate signing request but found a PEM block of type \"PRIVATE KEY\""), "{err}");
    let err = s.fails(&["pki", "inspect", "missing.pem"], 1);
    assert!(
        err.contains("cannot read missing.pem: No such file or directory"),
        "{err}"
    );
    assert!(!s.path("x.pem").exists());
}

#[test]
fn passphrases_wrong_empty_or_missing() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.write("wrong", "not the password\n");
    s.write("empty", "\n");
    let before = files_in(&s);
    let err = s.fails(&["pki", "issue", "localhost", "--pass-file", "wrong"], 1);
    assert!(err.contains("ca-key.pem: wrong passphrase"), "{err}");
    let err = s.fails(&["pki", "issue", "localhost", "--pass-file", "empty"], 1);
    assert!(err.contains("empty: the passphrase is empty"), "{err}");
    // No terminal and no source: never a silent plain key, never a prompt.
    let err = s.fails(&["pki", "issue", "localhost"], 1);
    assert!(
        err.contains("the CA key is encrypted and there is no terminal to ask for its passphrase"),
        "{err}"
    );
    assert!(err.contains("--pass-file FILE or --pass-env VAR"), "{err}");
    let err = s.fails(&["pki", "key", "--out", "new-key.pem"], 1);
    assert!(
        err.contains("no passphrase for the new key: there is no terminal to ask on"),
        "{err}"
    );
    assert!(
        err.contains("pass --no-pass to write the key unencrypted"),
        "{err}"
    );
    let err = s.fails(
        &[
            "pki",
            "key",
            "--out",
            "new-key.pem",
            "--pass-env",
            "SQUIRREL_UNSET_VARIABLE",
        ],
        1,
    );
    assert!(
        err.contains("environment variable SQUIRREL_UNSET_VARIABLE is not set"),
        "{err}"
    );
    assert_eq!(files_in(&s), before, "nothing was written");
}

#[test]
fn usage_errors_exit_2_and_name_the_flag() {
    let s = Scratch::new();
    let err = s.fails(&["pki", "key", "--algo", "dsa1024", "--no-pass"], 2);
    assert!(
        err.contains("invalid value 'dsa1024' for '--algo <ALGO>'"),
        "{err}"
    );
    assert!(
        err.contains("choose one of rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384, ed25519"),
        "{err}"
    );
    let err = s.fails(&["pki", "issue", "not a name"], 2);
    assert!(
        err.contains("is not a DNS name, an IP address or an email address"),
        "{err}"
    );
    let err = s.fails(&["pki", "ca", "init", "--permit-ip", "10.0.0.0/99"], 2);
    assert!(err.contains("is not an IP network in CIDR form"), "{err}");
    let err = s.fails(
        &[
            "pki", "verify", "--ca", "x.pem", "--at", "tomorrow", "leaf.pem",
        ],
        1,
    );
    assert!(err.contains("cannot read x.pem"), "{err}");
}

#[test]
fn bad_requests_are_refused_and_nothing_is_written() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "k.pem",
    ]);
    // A request to be a CA.
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "k.pem",
        "-subj",
        "/CN=evil.example",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-out",
        "ca-req.pem",
    ]);
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--csr",
            "ca-req.pem",
            "--out",
            "evil.pem",
            "--pass-file",
            "pw",
        ],
        1,
    );
    assert!(err.contains("refused: the request asks to be a certificate authority (it requests basicConstraints CA:TRUE)"), "{err}");
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "k.pem",
        "-subj",
        "/CN=evil.example",
        "-addext",
        "keyUsage=critical,keyCertSign",
        "-out",
        "ku-req.pem",
    ]);
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--csr",
            "ku-req.pem",
            "--out",
            "evil.pem",
            "--pass-file",
            "pw",
        ],
        1,
    );
    assert!(err.contains("keyCertSign or cRLSign"), "{err}");
    // A request that names nobody.
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "k.pem",
        "-subj",
        "/O=Nobody in particular",
        "-out",
        "nobody.pem",
    ]);
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--csr",
            "nobody.pem",
            "--out",
            "evil.pem",
            "--pass-file",
            "pw",
        ],
        1,
    );
    assert!(err.contains("the request names nobody"), "{err}");
    // A request whose signature does not verify.
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "k.pem",
        "-subj",
        "/CN=abcdefgh.example",
        "-out",
        "good.pem",
    ]);
    s.python(
        "import base64\n\
         lines = open('good.pem').read().strip().splitlines()\n\
         der = bytearray(base64.b64decode(''.join(lines[1:-1])))\n\
         i = der.find(b'abcdefgh')\n\
         der[i] = ord('x')\n\
         b = base64.b64encode(bytes(der)).decode()\n\
         open('tampered.pem','w').write('-----BEGIN CERTIFICATE REQUEST-----\\n' + '\\n'.join(b[j:j+64] for j in range(0, len(b), 64)) + '\\n-----END CERTIFICATE REQUEST-----\\n')\n",
    );
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--csr",
            "tampered.pem",
            "--out",
            "evil.pem",
            "--pass-file",
            "pw",
        ],
        1,
    );
    assert!(err.contains("tampered.pem: refused: the signature of the certificate signing request does not verify"), "{err}");
    assert!(!s.path("evil.pem").exists());
    // Unknown extensions are ignored with a warning, not a failure.
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "k.pem",
        "-subj",
        "/CN=odd.example",
        "-addext",
        "subjectAltName=DNS:odd.example",
        "-addext",
        "1.2.3.4=ASN1:UTF8String:hello",
        "-out",
        "odd.pem",
    ]);
    let out = s
        .squirrel(&[
            "pki",
            "sign",
            "--csr",
            "odd.pem",
            "--out",
            "odd.crt",
            "--pass-file",
            "pw",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the request's unknown extension 1.2.3.4 was ignored"),
        "{stderr}"
    );
    let ledger = s.ok(&["pki", "list"]);
    assert_eq!(
        ledger.lines().count(),
        2,
        "only odd.example was issued: {ledger}"
    );
}

#[test]
fn a_ca_that_is_expired_mismatched_or_not_a_ca_is_refused() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.ok(&["pki", "key", "--no-pass", "--out", "other-key.pem"]);
    s.ok(&[
        "pki",
        "csr",
        "--key",
        "other-key.pem",
        "--cn",
        "x.example",
        "--san",
        "x.example",
        "--out",
        "x.csr",
    ]);
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--ca-cert",
            "ca/ca.pem",
            "--ca-key",
            "other-key.pem",
            "--csr",
            "x.csr",
            "--out",
            "x.pem",
        ],
        1,
    );
    assert!(
        err.contains("the key other-key.pem does not match the CA certificate ca/ca.pem"),
        "{err}"
    );
    // A leaf certificate used as a CA.
    s.ok(&["pki", "issue", "leaf.example", "--pass-file", "pw"]);
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--ca-cert",
            "leaf.example.pem",
            "--ca-key",
            "leaf.example-key.pem",
            "--csr",
            "x.csr",
            "--out",
            "x.pem",
        ],
        1,
    );
    assert!(
        err.contains(
            "leaf.example.pem (leaf.example) is not a CA certificate (basicConstraints CA:FALSE)"
        ),
        "{err}"
    );
    // An expired CA, made with Python.
    s.python(
        "import datetime\n\
         from cryptography import x509\n\
         from cryptography.x509.oid import NameOID\n\
         from cryptography.hazmat.primitives import hashes, serialization\n\
         from cryptography.hazmat.primitives.asymmetric import ec\n\
         key = ec.generate_private_key(ec.SECP256R1())\n\
         name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'old-ca')])\n\
         now = datetime.datetime.now(datetime.timezone.utc)\n\
         cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())\n\
           .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=400))\n\
           .not_valid_after(now - datetime.timedelta(days=35))\n\
           .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(key, hashes.SHA256()))\n\
         open('old-ca.pem','wb').write(cert.public_bytes(serialization.Encoding.PEM))\n\
         open('old-ca-key.pem','wb').write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))\n",
    );
    let err = s.fails(
        &[
            "pki",
            "sign",
            "--ca-cert",
            "old-ca.pem",
            "--ca-key",
            "old-ca-key.pem",
            "--csr",
            "x.csr",
            "--out",
            "x.pem",
        ],
        1,
    );
    assert!(
        err.contains("the CA certificate old-ca.pem (old-ca) expired on"),
        "{err}"
    );
    assert!(
        err.contains("Create a new CA with `squirrel pki ca init"),
        "{err}"
    );
    assert!(!s.path("x.pem").exists());
    let err = s.fails(
        &[
            "pki", "sign", "--ca-dir", "nowhere", "--csr", "x.csr", "--out", "x.pem",
        ],
        1,
    );
    assert!(err.contains("no CA certificate at nowhere/ca.pem: create a CA first with `squirrel pki ca init --dir nowhere`"), "{err}");
}

#[test]
fn existing_outputs_and_unwritable_places() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.write("taken.pem", "precious\n");
    let err = s.fails(&["pki", "key", "--no-pass", "--out", "taken.pem"], 1);
    assert!(
        err.contains(
            "taken.pem already exists; squirrel never overwrites a file unless you pass --force"
        ),
        "{err}"
    );
    assert_eq!(s.read("taken.pem"), "precious\n");
    let err = s.fails(
        &["pki", "key", "--no-pass", "--out", "/proc/squirrel-key.pem"],
        1,
    );
    assert!(err.contains("cannot write /proc/squirrel-key.pem"), "{err}");
    let err = s.fails(
        &["pki", "key", "--no-pass", "--out", "no/such/dir/key.pem"],
        1,
    );
    assert!(
        err.contains("cannot write no/such/dir/key.pem: No such file or directory"),
        "{err}"
    );
    s.ok(&["pki", "key", "--no-pass", "--out", "taken.pem", "--force"]);
    assert!(s
        .read("taken.pem")
        .starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn endless_inputs_are_refused_at_once() {
    // /dev/zero never ends: every file input stops at its cap and says so.
    let s = Scratch::new();
    s.init_ca(&[]);
    let big = "/dev/zero is larger than 16 MiB: it is not what squirrel expects here; check \
               the file name";
    let cases: [(&[&str], String); 8] = [
        (&["pki", "inspect", "/dev/zero"], big.into()),
        (
            &["pki", "verify", "--ca", "/dev/zero", "/dev/zero"],
            big.into(),
        ),
        (
            &["pki", "sign", "--csr", "/dev/zero", "--out", "x.pem"],
            big.into(),
        ),
        (
            &[
                "pki",
                "verify",
                "--ca",
                "ca/ca.pem",
                "--crl",
                "/dev/zero",
                "ca/ca.pem",
            ],
            big.into(),
        ),
        (
            &["get", "--ca", "/dev/zero", "https://localhost:1/"],
            big.into(),
        ),
        (
            &["pki", "key", "--pass-file", "/dev/zero", "--out", "k.pem"],
            "/dev/zero is larger than 64 KiB".into(),
        ),
        (
            &[
                "fernet",
                "encrypt",
                "--key",
                "8jtTR9QcD-k3R09Pcd5ePgmTu_itJQt9WKQPzqjrcoM=",
                "--in",
                "/dev/zero",
            ],
            "--in: /dev/zero is larger than 256 MiB".into(),
        ),
        (
            &["fernet", "decrypt", "--key-file", "/dev/zero"],
            "--key-file: /dev/zero is larger than 64 KiB".into(),
        ),
    ];
    let before = files_in(&s);
    for (args, expected) in cases {
        let err = s.fails(args, 1);
        assert!(err.contains(&expected), "{args:?}: {err}");
    }
    assert_eq!(files_in(&s), before, "nothing is written");
}
