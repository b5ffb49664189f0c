//! squirrel reads every key format openssl writes: PKCS#8 (plain, PBKDF2,
//! scrypt), PKCS#1 and SEC1, plain and legacy-encrypted.

use crate::common::Scratch;

#[test]
fn squirrel_reads_every_key_format_openssl_writes() {
    let s = Scratch::new();
    s.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-out",
        "p8.pem",
    ]);
    s.openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "rsa-p8.pem",
    ]);
    let pass = "pass:openssl pass";
    let variants: [(&str, Vec<&str>); 7] = [
        ("sec1.pem", vec!["ec", "-in", "p8.pem", "-out", "sec1.pem"]),
        (
            "sec1-aes.pem",
            vec![
                "ec",
                "-in",
                "p8.pem",
                "-aes256",
                "-passout",
                pass,
                "-out",
                "sec1-aes.pem",
            ],
        ),
        (
            "pkcs1.pem",
            vec![
                "rsa",
                "-in",
                "rsa-p8.pem",
                "-traditional",
                "-out",
                "pkcs1.pem",
            ],
        ),
        (
            "pkcs1-3des.pem",
            vec![
                "rsa",
                "-in",
                "rsa-p8.pem",
                "-traditional",
                "-des3",
                "-passout",
                pass,
                "-out",
                "pkcs1-3des.pem",
            ],
        ),
        (
            "pkcs1-aes128.pem",
            vec![
                "rsa",
                "-in",
                "rsa-p8.pem",
                "-traditional",
                "-aes128",
                "-passout",
                pass,
                "-out",
                "pkcs1-aes128.pem",
            ],
        ),
        (
            "p8-pbkdf2.pem",
            vec![
                "pkcs8",
                "-topk8",
                "-in",
                "p8.pem",
                "-v2",
                "aes-256-cbc",
                "-v2prf",
                "hmacWithSHA256",
                "-passout",
                pass,
                "-out",
                "p8-pbkdf2.pem",
            ],
        ),
        (
            "p8-scrypt.pem",
            vec![
                "pkcs8",
                "-topk8",
                "-in",
                "rsa-p8.pem",
                "-scrypt",
                "-passout",
                pass,
                "-out",
                "p8-scrypt.pem",
            ],
        ),
    ];
    for (file, args) in &variants {
        s.openssl(args);
        let source = if file.starts_with("sec1") || file.starts_with("p8-pbkdf2") {
            "p8.pem"
        } else {
            "rsa-p8.pem"
        };
        let expected = fingerprint_of(&s, source);
        let out = s
            .squirrel(&["pki", "inspect", "--json", file, "--pass-env", "P"])
            .env("P", "openssl pass")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["items"][0]["key"]["spki_sha256"],
            expected.as_str(),
            "{file}"
        );
        if file.contains('-') {
            assert_eq!(v["items"][0]["encrypted"], true, "{file}");
            let wrong = s
                .squirrel(&["pki", "inspect", file, "--pass-env", "P"])
                .env("P", "not the pass")
                .output()
                .unwrap();
            assert_eq!(wrong.status.code(), Some(1), "{file}");
            assert!(
                String::from_utf8_lossy(&wrong.stderr)
                    .contains(&format!("{file}: wrong passphrase")),
                "{file}"
            );
        }
    }
}

/// The SHA-256 of a key's public half, as squirrel prints it, computed by
/// openssl and Python.
fn fingerprint_of(s: &Scratch, key: &str) -> String {
    s.python(&format!(
        "import subprocess, hashlib\n\
         der = subprocess.run(['openssl','pkey','-in','{key}','-pubout','-outform','DER'], check=True, capture_output=True).stdout\n\
         print(':'.join('%02X' % b for b in hashlib.sha256(der).digest()))\n"
    ))
    .trim()
    .to_string()
}
