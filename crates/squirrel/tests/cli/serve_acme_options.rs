//! `squirrel serve --acme`, how it is set up: http-01 instead of
//! tls-alpn-01, an external account binding (squirrel's CA and Pebble),
//! the settings in a `--config` file, and the flags it refuses. The
//! harness is `serve_acme`'s.

use crate::acme_common::{Ca, Kind, Options, SITE};
use crate::serve_acme::{get_serial, logged_serial, squirrel_ca};

#[test]
fn serve_acme_proves_its_name_by_http01_when_asked() {
    let ca = squirrel_ca(None);
    let http01 = format!("127.0.0.1:{}", ca.http01_port);
    let bundle = ca.bundle.to_str().unwrap();
    let server = ca.scratch.serve(&[
        "--acme",
        &ca.directory,
        "--acme-ca",
        bundle,
        "--domain",
        "localhost",
        "--http01-listen",
        &http01,
    ]);
    let log = server.wait_for_log(0, "obtained a certificate");
    let serial = logged_serial(&log, "obtained a certificate");
    assert_eq!(get_serial(&ca, server.port).1, serial);
    // Only the challenge path answers there.
    let (ok, out) = ca.scratch.run(
        "curl",
        &[
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://{http01}/"),
        ],
    );
    assert!(ok && out == "404", "{out}");
}

/// `--acme-ca` is a bundle: the ACME CA's certificate need not be the
/// first one in the file (another CA first, as during a rollover). A file
/// without a certificate is refused, named.
#[test]
fn serve_acme_trusts_every_certificate_of_its_ca_bundle() {
    let ca = squirrel_ca(None);
    let s = &ca.scratch;
    s.ok(&["pki", "ca", "init", "--dir", "other-ca", "--no-pass"]);
    let bundle = format!(
        "{}{}",
        s.read("other-ca/ca.pem"),
        std::fs::read_to_string(&ca.bundle).unwrap()
    );
    s.write("bundle.pem", &bundle);
    let listen = format!("127.0.0.1:{}", ca.tlsalpn01_port);
    let server = s.serve(&[
        "--listen",
        &listen,
        "--acme",
        &ca.directory,
        "--acme-ca",
        "bundle.pem",
        "--domain",
        "localhost",
    ]);
    let log = server.wait_for_log(0, "obtained a certificate");
    let serial = logged_serial(&log, "obtained a certificate");
    assert_eq!(get_serial(&ca, server.port).1, serial);
    drop(server);

    s.write("no-cert.pem", "just words\n");
    let out = s.fails(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--acme",
            &ca.directory,
            "--acme-ca",
            "no-cert.pem",
            "--domain",
            "localhost",
        ],
        1,
    );
    assert!(
        out.contains("no-cert.pem") && out.contains("--acme-ca"),
        "{out}"
    );
}

#[test]
fn serve_acme_refuses_bad_flags_with_the_fix() {
    let ca = squirrel_ca(None);
    let s = &ca.scratch;
    let out = s.fails(
        &["serve", "--acme", &ca.directory, "--domain", "localhost"],
        2,
    );
    assert!(out.contains("--acme-ca"), "{out}");
    let out = s.fails(&["serve", "--domain", "localhost"], 2);
    assert!(out.contains("without --acme"), "{out}");
    let bundle = ca.bundle.to_str().unwrap();
    let out = s.fails(&["serve", "--acme", &ca.directory, "--acme-ca", bundle], 2);
    assert!(out.contains("--domain"), "{out}");
    let out = s.fails(
        &[
            "serve",
            "--acme",
            "http://x/dir",
            "--acme-ca",
            bundle,
            "--domain",
            "localhost",
        ],
        2,
    );
    assert!(out.contains("https://"), "{out}");
    let out = s.fails(
        &[
            "serve",
            "--acme",
            &ca.directory,
            "--acme-ca",
            "nope.pem",
            "--domain",
            "localhost",
        ],
        1,
    );
    assert!(
        out.contains("--acme-ca nope.pem") && out.contains("Clients must trust"),
        "{out}"
    );
    let out = s.fails(
        &[
            "serve",
            "--acme",
            &ca.directory,
            "--acme-ca",
            bundle,
            "--domain",
            "localhost",
            "--cert",
            "a.pem",
            "--key",
            "b.pem",
        ],
        2,
    );
    assert!(out.contains("cannot be used with"), "{out}");
    // A key id may begin with '-' (another CA's): taken as the value.
    let out = s.fails(
        &[
            "serve",
            "--acme",
            &ca.directory,
            "--acme-ca",
            bundle,
            "--domain",
            "localhost",
            "--acme-eab-kid",
            "-23aUwhJLFzlTqTWKXTTyw",
            "--acme-eab-hmac-env",
            "SQUIRREL_TEST_NO_SUCH_VARIABLE",
        ],
        1,
    );
    assert!(
        out.contains("--acme-eab-hmac-env SQUIRREL_TEST_NO_SUCH_VARIABLE: the variable is not set"),
        "{out}"
    );
    // A CA that is not there: exit 1, naming it.
    let out = s.fails(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--acme",
            "https://127.0.0.1:1/acme/directory",
            "--acme-ca",
            bundle,
            "--domain",
            "localhost",
        ],
        1,
    );
    assert!(
        out.contains("cannot get a certificate for localhost"),
        "{out}"
    );
    assert!(out.contains("https://127.0.0.1:1/acme/directory"), "{out}");
}

#[test]
fn serve_acme_settings_come_from_a_config_file_too() {
    let s = crate::common::Scratch::new();
    s.ok(&["pki", "ca", "init", "--dir", "club", "--no-pass"]);
    s.write(
        "serve.toml",
        "acme = \"https://127.0.0.1:1/acme/directory\"\nacme-ca = \"club/ca.pem\"\n\
         domain = [\"localhost\", \"127.0.0.1\"]\n",
    );
    let out = s.ok(&["serve", "--config", "serve.toml", "--check-config"]);
    assert!(
        out.contains(
            "certificate: from the ACME CA https://127.0.0.1:1/acme/directory for localhost, 127.0.0.1"
        ),
        "{out}"
    );
    assert!(out.contains("(HTTPS)"), "{out}");
    // A file that sets both sources of the certificate names itself.
    s.write(
        "both.toml",
        "acme = \"https://127.0.0.1:1/acme/directory\"\nacme-ca = \"club/ca.pem\"\n\
         domain = [\"localhost\"]\ncert = \"a.pem\"\nkey = \"b.pem\"\n",
    );
    let err = s.fails(&["serve", "--config", "both.toml", "--check-config"], 1);
    assert!(
        err.contains("both.toml") && err.contains("keep one"),
        "{err}"
    );
}

/// A members-only CA: without the binding the server cannot register
/// (exit 1, saying so); with `--acme-eab-kid` and the HMAC key in a
/// variable it can.
fn serve_acme_registers_with_an_external_account_binding(kind: Kind) {
    let ca = Ca::start(
        kind,
        Options {
            require_eab: true,
            ..Options::default()
        },
    );
    let listen = format!("127.0.0.1:{}", ca.tlsalpn01_port);
    let bundle = ca.bundle.to_str().unwrap();
    let base = [
        "serve",
        "--listen",
        &listen,
        "--acme",
        &ca.directory,
        "--acme-ca",
        bundle,
        "--domain",
        SITE,
    ];
    let out = ca.scratch.fails(&base, 1);
    assert!(
        out.contains("cannot get a certificate") && out.contains("refused to register an account"),
        "{out}"
    );
    let eab = ca.eab("server");
    let mut args = base[1..].to_vec();
    args.extend([
        "--acme-eab-kid",
        &eab.kid,
        "--acme-eab-hmac-env",
        "ACME_HMAC",
    ]);
    let server = ca
        .scratch
        .serve_with_env(&args, &[("ACME_HMAC", eab.hmac.as_str())]);
    let log = server.wait_for_log(0, "obtained a certificate");
    let serial = logged_serial(&log, "obtained a certificate");
    assert!(!log.contains(&eab.hmac), "the HMAC key is never logged");
    match kind {
        Kind::Pebble => assert_eq!(ca.pebble_status(&serial)["Status"], "Valid"),
        Kind::Squirrel => {
            let row = ca.ledger_row(&serial);
            assert!(row["account"].is_string(), "{row}");
            let dir = ca.ca_dir();
            let list = ca
                .scratch
                .ok(&["pki", "ca", "eab", "list", "--ca-dir", dir, "--json"]);
            let list: serde_json::Value = serde_json::from_str(&list).unwrap();
            assert_eq!(list[0]["account"], row["account"], "{list}");
        }
    }
}

#[test]
fn serve_acme_eab_squirrel() {
    serve_acme_registers_with_an_external_account_binding(Kind::Squirrel);
}

#[test]
fn serve_acme_eab_pebble() {
    serve_acme_registers_with_an_external_account_binding(Kind::Pebble);
}

/// `serve --config FILE --acme ...`: SIGHUP reads the file again, as
/// without `--acme`; the certificate stays the one the ACME client got,
/// and a changed ACME setting waits for a restart, saying so.
#[test]
fn serve_acme_sighup_reads_the_config_file_again() {
    let ca = squirrel_ca(None);
    let s = &ca.scratch;
    let toml = |message: &str, domains: &str| {
        s.write(
            "serve.toml",
            &format!(
                "acme = \"{}\"\nacme-ca = \"{}\"\ndomain = [{domains}]\nmessage = \"{message}\"\n",
                ca.directory,
                ca.bundle.display()
            ),
        );
    };
    toml("first secret", "\"localhost\"");
    let listen = format!("127.0.0.1:{}", ca.tlsalpn01_port);
    let server = s.serve(&["--listen", &listen, "--config", "serve.toml"]);
    let log = server.wait_for_log(0, "obtained a certificate");
    let serial = logged_serial(&log, "obtained a certificate");
    assert_eq!(
        get_serial(&ca, server.port),
        ("first secret".to_string(), serial.clone())
    );

    // The file rewritten, SIGHUP, the log of the reload.
    let reload = |message: &str, domains: &str| {
        toml(message, domains);
        let mark = server.log_mark();
        server.signal("HUP");
        server.wait_for_log(mark, "reloaded certificate, key")
    };
    reload("second secret", "\"localhost\"");
    assert_eq!(
        get_serial(&ca, server.port),
        ("second secret".to_string(), serial.clone())
    );
    let log = reload("third secret", "\"localhost\", \"127.0.0.1\"");
    assert!(
        log.contains("serve.toml: an ACME setting changed: that takes a restart"),
        "{log}"
    );
    assert_eq!(
        get_serial(&ca, server.port),
        ("third secret".to_string(), serial)
    );
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}
