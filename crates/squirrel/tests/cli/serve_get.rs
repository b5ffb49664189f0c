//! `squirrel serve` and `squirrel get` for real: sockets on loopback, TLS,
//! mutual TLS, Fernet bodies, reloads, against curl, Python requests and
//! openssl too.

use crate::common::Scratch;

fn curl(s: &Scratch, args: &[&str]) -> String {
    let (ok, out) = s.run("curl", &[&["-sS"], args].concat());
    assert!(ok, "curl {args:?}: {out}");
    out
}

#[test]
fn plain_http_serves_the_secret_to_squirrel_curl_and_requests() {
    let s = Scratch::new();
    let server = s.serve(&[]);
    assert_eq!(
        server.banner,
        format!(
            "Serving the secret on http://127.0.0.1:{} (plain HTTP)",
            server.port
        )
    );
    assert_eq!(
        s.ok(&["get", &server.url]),
        "The secret message is: fluffy tail\n"
    );
    assert_eq!(s.ok(&["get", "--raw", &server.url]), "fluffy tail");
    // The tutorial's SECRET_URL, without a scheme.
    let out = s
        .squirrel(&["get"])
        .env("SECRET_URL", format!("127.0.0.1:{}", server.port))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "The secret message is: fluffy tail\n"
    );
    assert_eq!(curl(&s, &[&server.url]), "fluffy tail");
    let client = format!(
        "import os, requests\n\
         os.environ['SECRET_URL'] = '{}'\n\
         response = requests.get(os.environ['SECRET_URL'])\n\
         print(f'The secret message is: {{response.text}}')\n",
        server.url
    );
    assert_eq!(s.python(&client), "The secret message is: fluffy tail\n");
    let head = curl(&s, &["-I", &server.url]);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("content-length: 11\r\n") && head.contains("cache-control: no-store\r\n"),
        "{head}"
    );
    assert!(
        curl(&s, &["-i", &format!("{}/nowhere", server.url)]).starts_with("HTTP/1.1 404 Not Found")
    );
    let post = curl(&s, &["-i", "-X", "POST", &server.url]);
    assert!(
        post.starts_with("HTTP/1.1 405 Method Not Allowed")
            && post.contains("allow: GET, HEAD\r\n"),
        "{post}"
    );
    assert_eq!(curl(&s, &[&format!("{}/healthz", server.url)]), "ok\n");
    let (code, _, err) = s.squirrel_out(&["get", &format!("{}/nowhere", server.url)], &[]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("the server answered 404 Not Found: not found: the secret is at /"),
        "{err}"
    );
    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("WARN plain HTTP: anyone on the path can read the secret"),
        "{log}"
    );
    let access: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"GET / HTTP/1.1\" 200 11 "))
        .collect();
    assert!(access.len() >= 4, "{log}");
    assert!(
        access[0].contains("INFO 127.0.0.1:") && access[0].ends_with("ms - -"),
        "{log}"
    );
    assert!(log.contains("\"POST / HTTP/1.1\" 405 "), "{log}");
    assert!(
        log.contains("SIGTERM received") && log.contains("stopped"),
        "{log}"
    );
    assert!(
        !log.contains("fluffy tail"),
        "the secret is never logged: {log}"
    );
}

#[test]
fn https_trusts_exactly_the_ca_it_is_given() {
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let server = s.serve(&[
        "--cert",
        "localhost.pem",
        "--key",
        "localhost-key.pem",
        "--message",
        "acorns at dawn",
    ]);
    assert!(server.banner.starts_with(&format!(
        "Serving the secret on https://localhost:{} (TLS 1.3/1.2; certificate localhost, valid until ",
        server.port
    )), "{}", server.banner);
    assert_eq!(
        s.ok(&["get", "--ca", "ca/ca.pem", &server.url]),
        "The secret message is: acorns at dawn\n"
    );
    // As curl users write it: --cacert and -o FILE (0600: it is the secret).
    s.ok(&[
        "get",
        "--cacert",
        "ca/ca.pem",
        "-o",
        "secret.txt",
        &server.url,
    ]);
    assert_eq!(s.read("secret.txt"), "acorns at dawn");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path("secret.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // --json: one object, the TLS facts included; a failure is JSON too.
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["get", "--ca", "ca/ca.pem", "--json", &server.url])).unwrap();
    assert_eq!(json["status"], 200);
    assert_eq!(json["body"], "acorns at dawn");
    assert_eq!(json["tls"]["version"], "TLS 1.3");
    assert_eq!(json["tls"]["alpn"], "http/1.1");
    assert!(json["tls"]["certificate"]
        .as_str()
        .unwrap()
        .contains("I am localhost (localhost) according to my-ca.com"));
    assert_eq!(json["decrypted"], false);
    let (code, out, _) = s.squirrel_out(&["get", "--json", &server.url], &[]);
    assert_eq!(code, 4);
    let error: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(error["error"]["kind"], "tls");
    assert_eq!(error["error"]["exit_code"], 4);
    assert_eq!(
        error["error"]["openssl"],
        "certificate verify failed: unable to get local issuer certificate"
    );
    // /healthz says "ok", which is no secret.
    let health = format!("{}/healthz", server.url.trim_end_matches('/'));
    assert_eq!(s.ok(&["get", "--ca", "ca/ca.pem", &health]), "ok\n");
    // No URL: the tutorial's SECRET_URL is named.
    let err = s.fails(&["get"], 2);
    assert!(err.contains("<URL> (or set SECRET_URL)"), "{err}");
    let (code, _, err) = s.squirrel_out(&["get", "--ca", "ca/ca.pem", "-v", &server.url], &[]);
    assert_eq!(code, 0);
    assert!(
        err.contains(&format!("* localhost:{} over TLS 1.3 (TLS13_", server.port))
            && err.contains("ALPN http/1.1"),
        "{err}"
    );
    assert!(
        err.contains("* Server certificate: From ")
            && err.contains("I am localhost (localhost) according to my-ca.com"),
        "{err}"
    );

    // Without the CA: the tutorial's error, explained.
    let (code, out, err) = s.squirrel_out(&["get", &server.url], &[]);
    assert_eq!((code, out.as_str()), (4, ""), "{err}");
    assert!(err.contains("localhost was issued by my-ca.com, which is not among the trusted CAs; trust that CA with --ca FILE"), "{err}");
    assert!(
        err.contains("say: \"certificate verify failed: unable to get local issuer certificate\""),
        "{err}"
    );
    // Python requests says the same words.
    let (ok, py) = s.run(
        "python3",
        &[
            "-c",
            &format!("import requests; requests.get('{}')", server.url),
        ],
    );
    assert!(
        !ok && py.contains("certificate verify failed: unable to get local issuer certificate"),
        "{py}"
    );
    // The wrong name: 127.0.0.1 is not in the certificate.
    let (code, _, err) = s.squirrel_out(
        &["get", "--ca", "ca/ca.pem", &server.url_for("127.0.0.1")],
        &[],
    );
    assert_eq!(code, 4);
    assert!(
        err.contains("localhost is not valid for \"127.0.0.1\": it names localhost"),
        "{err}"
    );
    assert!(
        err.contains("\"certificate verify failed: hostname mismatch\""),
        "{err}"
    );
    // http:// to the TLS port, and --insecure.
    let (code, _, err) = s.squirrel_out(&["get", &server.url.replace("https", "http")], &[]);
    assert_eq!(code, 5);
    assert!(err.contains("speaks TLS: this is an HTTPS port"), "{err}");
    let (code, out, err) = s.squirrel_out(&["get", "--insecure", &server.url], &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "The secret message is: acorns at dawn\n")
    );
    assert!(
        err.contains("warning: --insecure: the server's certificate is NOT verified"),
        "{err}"
    );

    // curl, requests and openssl with the CA.
    assert_eq!(
        curl(&s, &["--cacert", "ca/ca.pem", &server.url]),
        "acorns at dawn"
    );
    let py = s.python(&format!(
        "import requests\nprint(requests.get('{}', verify='ca/ca.pem').text)",
        server.url
    ));
    assert_eq!(py, "acorns at dawn\n");
    let (_, chain) = s.run(
        "openssl",
        &[
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
            "-servername",
            "localhost",
            "-showcerts",
            "-CAfile",
            "ca/ca.pem",
            "-verify_return_error",
        ],
    );
    assert!(
        chain.contains(" 0 s:CN = localhost\n   i:CN = my-ca.com\n"),
        "{chain}"
    );
    assert!(chain.contains("Verify return code: 0 (ok)"), "{chain}");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("\"GET / HTTP/1.1\" 200 14 ") && log.contains("TLSv1.3 -"),
        "{log}"
    );
}

#[test]
fn https_to_a_plain_port_and_nobody_listening() {
    let s = Scratch::new();
    let server = s.serve(&[]);
    let (code, _, err) = s.squirrel_out(&["get", &server.url.replace("http", "https")], &[]);
    assert_eq!(code, 4);
    assert!(
        err.contains("does not speak TLS: it answered in plain text. Use http://"),
        "{err}"
    );
    assert!(err.contains("\"wrong version number\""), "{err}");
    let port = server.port;
    drop(server);
    let (code, _, err) = s.squirrel_out(&["get", &format!("http://127.0.0.1:{port}")], &[]);
    assert_eq!(code, 3);
    assert!(
        err.contains(&format!(
            "connection refused by 127.0.0.1:{port}: nothing listens there"
        )),
        "{err}"
    );
    let (code, _, err) = s.squirrel_out(&["get", "ftp://127.0.0.1/"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("unsupported scheme ftp://"), "{err}");
    let (code, _, err) = s.squirrel_out(&["get", "http://127.0.0.1:99999/"], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("is not a usable URL (the port is not a number from 1 to 65535)"),
        "{err}"
    );
}

#[test]
fn expired_and_self_signed_certificates_are_explained() {
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    // An expired leaf, signed by the CA's own key (Python reads the encrypted key).
    s.python(
        "import datetime\n\
         from cryptography import x509\n\
         from cryptography.x509.oid import NameOID\n\
         from cryptography.hazmat.primitives import hashes, serialization\n\
         from cryptography.hazmat.primitives.asymmetric import ec\n\
         ca_key = serialization.load_pem_private_key(open('ca/ca-key.pem','rb').read(), b'secret_password')\n\
         ca = x509.load_pem_x509_certificate(open('ca/ca.pem','rb').read())\n\
         key = ec.generate_private_key(ec.SECP256R1())\n\
         now = datetime.datetime.now(datetime.timezone.utc)\n\
         cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')]))\n\
           .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())\n\
           .not_valid_before(now - datetime.timedelta(days=60)).not_valid_after(now - datetime.timedelta(days=30))\n\
           .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost')]), critical=False)\n\
           .sign(ca_key, hashes.SHA256()))\n\
         open('old.pem','wb').write(cert.public_bytes(serialization.Encoding.PEM))\n\
         open('old-key.pem','wb').write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))\n",
    );
    let server = s.serve(&["--cert", "old.pem", "--key", "old-key.pem"]);
    let (code, _, err) = s.squirrel_out(&["get", "--ca", "ca/ca.pem", &server.url], &[]);
    assert_eq!(code, 4);
    assert!(
        err.contains("localhost has expired (valid from ")
            && err.contains("issue a new certificate"),
        "{err}"
    );
    assert!(
        err.contains("\"certificate verify failed: certificate has expired\""),
        "{err}"
    );
    drop(server);
    s.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "self-key.pem",
        "-out",
        "self.pem",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-days",
        "30",
    ]);
    let server = s.serve(&["--cert", "self.pem", "--key", "self-key.pem"]);
    let (code, _, err) = s.squirrel_out(&["get", "--ca", "ca/ca.pem", &server.url], &[]);
    assert_eq!(code, 4);
    assert!(
        err.contains("localhost is self-signed and is not one of the trusted CAs"),
        "{err}"
    );
    assert!(
        err.contains("\"certificate verify failed: self-signed certificate\""),
        "{err}"
    );
}
