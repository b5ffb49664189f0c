//! The ACME server proven with real clients: certbot (http-01, renew,
//! revoke) and lego (http-01, tls-alpn-01, external account binding),
//! each scenario run against Pebble (Let's Encrypt's test CA: the
//! reference, and the proof that the scenario itself is right) and against
//! `squirrel pki ca serve`.
//!
//! Run and debug them with
//! `cargo test -p squirrel --test cli acme_clients -- --nocapture`:
//! each client's output is printed, and the servers' logs when a test
//! fails (or always, with `SQUIRREL_ACME_TEST_LOGS=1`). The harness is in `acme_common/mod.rs`.

use crate::acme_common::{cert_info, Ca, Kind, Options, SITE};

/// certbot: `certonly --standalone` (http-01), `renew --force-renewal`,
/// `revoke --reason keycompromise` of the first certificate.
fn certbot_obtains_renews_and_revokes(kind: Kind) {
    let ca = Ca::start(kind, Options::default());
    let port = ca.http01_port.to_string();
    ca.certbot(
        "certbot",
        &[
            "certonly",
            "--standalone",
            "--agree-tos",
            "--register-unsafely-without-email",
            "--http-01-port",
            &port,
            "--http-01-address",
            "127.0.0.1",
            "-d",
            SITE,
        ],
    )
    .success();
    let live = ca.scratch.path("certbot/config/live").join(SITE);
    for file in ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"] {
        assert!(
            live.join(file).is_file(),
            "certbot wrote no {file} in {}",
            live.display()
        );
    }
    let first = ca.assert_issued(
        &live.join("cert.pem"),
        Some(&live.join("chain.pem")),
        &[SITE],
    );

    // The renewal configuration remembers the server, port and address.
    // (Without --no-random-sleep-on-renew, a non-interactive renew first
    // sleeps for up to eight minutes.)
    ca.certbot(
        "certbot",
        &["renew", "--force-renewal", "--no-random-sleep-on-renew"],
    )
    .success();
    let second = ca.assert_issued(
        &live.join("cert.pem"),
        Some(&live.join("chain.pem")),
        &[SITE],
    );
    assert_ne!(
        first.serial, second.serial,
        "the renewed certificate has the old serial"
    );

    let archived = ca
        .scratch
        .path("certbot/config/archive")
        .join(SITE)
        .join("cert1.pem");
    assert_eq!(
        cert_info(&ca.scratch, &archived).serial,
        first.serial,
        "certbot's cert1.pem"
    );
    ca.certbot(
        "certbot",
        &[
            "revoke",
            "--cert-path",
            archived.to_str().unwrap(),
            "--reason",
            "keycompromise",
            "--no-delete-after-revoke",
        ],
    )
    .success();

    match kind {
        Kind::Pebble => {
            let revoked = ca.pebble_status(&first.serial);
            assert_eq!(revoked["Status"], "Revoked", "{revoked}");
            assert_eq!(revoked["Reason"], 1, "keyCompromise is reason 1: {revoked}");
            let valid = ca.pebble_status(&second.serial);
            assert_eq!(valid["Status"], "Valid", "{valid}");
        }
        Kind::Squirrel => {
            let revoked = ca.ledger_row(&first.serial);
            let valid = ca.ledger_row(&second.serial);
            assert_eq!(revoked["status"], "revoked", "{revoked}");
            assert_eq!(
                revoked["revocation_reason"]
                    .as_str()
                    .map(str::to_ascii_lowercase)
                    .as_deref(),
                Some("keycompromise"),
                "{revoked}"
            );
            assert_eq!(valid["status"], "valid", "{valid}");
            assert_account(&revoked);
            assert_eq!(
                revoked["account"], valid["account"],
                "one certbot account renewed"
            );
            for row in [&revoked, &valid] {
                assert!(row["alt_names"].to_string().contains(SITE), "{row}");
            }
            let crl = ca.crl_serials();
            assert!(
                crl.contains(&first.serial),
                "the CRL does not list {}: {crl:?}",
                first.serial
            );
            assert!(
                !crl.contains(&second.serial),
                "the CRL lists the valid {}",
                second.serial
            );
        }
    }
}

/// A ledger row made through ACME names its account.
#[track_caller]
fn assert_account(row: &serde_json::Value) {
    let account = &row["account"];
    assert!(
        !account.is_null() && account != "",
        "the ledger row has no account: {row}"
    );
}

/// Which challenge lego answers.
#[derive(Clone, Copy)]
enum Challenge {
    Http01,
    TlsAlpn01,
}

/// lego's flags for `challenge`, on the port the CA validates on.
fn lego_challenge(ca: &Ca, challenge: Challenge) -> Vec<String> {
    let (flag, port) = match challenge {
        Challenge::Http01 => ("--http", ca.http01_port),
        Challenge::TlsAlpn01 => ("--tls", ca.tlsalpn01_port),
    };
    vec![
        flag.into(),
        format!("{flag}.port"),
        format!("127.0.0.1:{port}"),
    ]
}

/// `lego ARGS --domains NAME... CHALLENGE run` in `dir`.
fn lego_run(
    ca: &Ca,
    dir: &str,
    args: &[&str],
    names: &[&str],
    challenge: Challenge,
) -> crate::acme_common::ClientRun {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    for name in names {
        all.extend(["--domains".into(), name.to_string()]);
    }
    all.extend(lego_challenge(ca, challenge));
    all.push("run".into());
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    ca.lego(dir, &all)
}

/// Asserts lego's certificate in `dir`; returns its path.
fn assert_lego_cert(ca: &Ca, dir: &str, names: &[&str]) -> std::path::PathBuf {
    let certs = ca.scratch.path(dir).join("certificates");
    let cert = certs.join(format!("{SITE}.crt"));
    assert!(
        certs.join(format!("{SITE}.key")).is_file(),
        "lego wrote no key"
    );
    let info = ca.assert_issued(
        &cert,
        Some(&certs.join(format!("{SITE}.issuer.crt"))),
        names,
    );
    if ca.kind == Kind::Squirrel {
        let row = ca.ledger_row(&info.serial);
        assert_eq!(row["status"], "valid", "{row}");
        assert_account(&row);
    }
    cert
}

fn lego_obtains(kind: Kind, challenge: Challenge) {
    let ca = Ca::start(kind, Options::default());
    lego_run(&ca, "lego", &[], &[SITE], challenge).success();
    assert_lego_cert(&ca, "lego", &[SITE]);
}

/// A CA that requires external account binding refuses lego without it
/// (lego reads `externalAccountRequired` in the directory's meta) and with
/// a wrong HMAC key (the server checks the binding), and accepts the key
/// it handed out.
fn lego_needs_eab(kind: Kind) {
    let ca = Ca::start(
        kind,
        Options {
            require_eab: true,
            ..Options::default()
        },
    );
    let without = lego_run(&ca, "lego-without-eab", &[], &[SITE], Challenge::Http01);
    without.failure();
    assert!(
        without
            .output
            .contains("Server requires External Account Binding"),
        "lego did not see externalAccountRequired in the directory: {}",
        without.output
    );

    let eab = ca.eab("lego");
    let wrong = "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH";
    assert_ne!(eab.hmac, wrong);
    let bad = lego_run(
        &ca,
        "lego-wrong-eab",
        &["--eab", "--kid", &eab.kid, "--hmac", wrong],
        &[SITE],
        Challenge::Http01,
    );
    bad.failure();
    assert!(
        bad.output.contains("urn:ietf:params:acme:error:"),
        "lego shows no ACME problem for a wrong binding: {}",
        bad.output
    );

    lego_run(
        &ca,
        "lego-eab",
        &["--eab", "--kid", &eab.kid, "--hmac", &eab.hmac],
        &[SITE],
        Challenge::Http01,
    )
    .success();
    assert_lego_cert(&ca, "lego-eab", &[SITE]);
}

/// The certificate lego obtained, served by `squirrel serve` and fetched
/// by `squirrel get --ca DIR/ca.pem` (as https://localhost: get has no
/// --resolve, hence the second name; squirrel only) and by curl for
/// my-site.test.
fn the_obtained_cert_serves_https(kind: Kind) {
    let ca = Ca::start(
        kind,
        Options {
            extra_names: vec!["localhost".into()],
            ..Options::default()
        },
    );
    let names = [SITE, "localhost"];
    lego_run(&ca, "lego", &[], &names, Challenge::Http01).success();
    let cert = assert_lego_cert(&ca, "lego", &names);
    let key = cert.with_extension("key");
    let server = ca.scratch.serve(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--no-pass",
        "--message",
        "obtained by ACME",
    ]);
    let root = ca.root.to_str().unwrap();
    // squirrel get refuses Pebble's root, by design: it has an
    // extendedKeyUsage, which the Baseline Requirements forbid in a root.
    if kind == Kind::Squirrel {
        let body = ca.scratch.ok(&[
            "get",
            "--ca",
            root,
            "--raw",
            &format!("https://localhost:{}", server.port),
        ]);
        assert_eq!(body.trim(), "obtained by ACME");
    }
    let (ok, body) = ca.scratch.run(
        "curl",
        &[
            "-sS",
            "--fail",
            "--cacert",
            root,
            "--resolve",
            &format!("{SITE}:{}:127.0.0.1", server.port),
            &format!("https://{SITE}:{}/", server.port),
        ],
    );
    assert!(ok, "curl: {body}");
    assert_eq!(body.trim(), "obtained by ACME");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "squirrel serve: {log}");
}

#[test]
fn pebble_certbot_obtains_renews_and_revokes() {
    certbot_obtains_renews_and_revokes(Kind::Pebble);
}

#[test]
fn pebble_lego_http01() {
    lego_obtains(Kind::Pebble, Challenge::Http01);
}

#[test]
fn pebble_lego_tlsalpn01() {
    lego_obtains(Kind::Pebble, Challenge::TlsAlpn01);
}

#[test]
fn pebble_lego_needs_eab() {
    lego_needs_eab(Kind::Pebble);
}

#[test]
fn pebble_obtained_cert_serves_https() {
    the_obtained_cert_serves_https(Kind::Pebble);
}

#[test]
fn squirrel_certbot_obtains_renews_and_revokes() {
    certbot_obtains_renews_and_revokes(Kind::Squirrel);
}

#[test]
fn squirrel_lego_http01() {
    lego_obtains(Kind::Squirrel, Challenge::Http01);
}

#[test]
fn squirrel_lego_tlsalpn01() {
    lego_obtains(Kind::Squirrel, Challenge::TlsAlpn01);
}

#[test]
fn squirrel_lego_needs_eab() {
    lego_needs_eab(Kind::Squirrel);
}

#[test]
fn squirrel_obtained_cert_serves_https() {
    the_obtained_cert_serves_https(Kind::Squirrel);
}

/// RFC 8555 §6.5: a client whose nonce is refused (`badNonce`) retries
/// with the fresh one from the error response. The server refuses every
/// third good nonce here; certbot and lego still get their certificates.
#[test]
fn squirrel_clients_retry_bad_nonces() {
    let ca = Ca::start(
        Kind::Squirrel,
        Options {
            reject_every_nth_nonce: Some(3),
            ..Options::default()
        },
    );
    let port = ca.http01_port.to_string();
    ca.certbot(
        "certbot",
        &[
            "certonly",
            "--standalone",
            "--agree-tos",
            "--register-unsafely-without-email",
            "--http-01-port",
            &port,
            "--http-01-address",
            "127.0.0.1",
            "-d",
            SITE,
        ],
    )
    .success();
    let live = ca.scratch.path("certbot/config/live").join(SITE);
    ca.assert_issued(
        &live.join("cert.pem"),
        Some(&live.join("chain.pem")),
        &[SITE],
    );
    lego_run(&ca, "lego", &[], &[SITE], Challenge::Http01).success();
    assert_lego_cert(&ca, "lego", &[SITE]);
}
