//! The ACME server with two more real clients, both of which answer
//! http-01 by writing a file into a web root that a plain web server
//! serves: dehydrated (obtain two names, force a renewal, revoke) and
//! acme-tiny (an RSA account key and a CSR made by openssl). As in
//! `acme_clients.rs`, each scenario runs against Pebble, to show that the
//! scenario is right, and against `squirrel pki ca serve`.

use crate::acme_common::{cert_info, Ca, Kind, Options, SITE};

/// The second name of every certificate here.
const WWW: &str = "www.my-site.test";

fn start(kind: Kind) -> Ca {
    Ca::start(
        kind,
        Options {
            extra_names: vec![WWW.into()],
            ..Options::default()
        },
    )
}

/// dehydrated: register, obtain a certificate for two names, renew it by
/// force (`--cron --force`), then revoke the first one.
fn dehydrated_obtains_renews_and_revokes(kind: Kind) {
    let ca = start(kind);
    let web = ca.webroot("www");
    let domains = ["--domain", SITE, "--domain", WWW];
    ca.dehydrated("dehydrated", &web, &["--register", "--accept-terms"])
        .success();
    ca.dehydrated("dehydrated", &web, &[&["--cron"][..], &domains].concat())
        .success();
    let live = ca.scratch.path("dehydrated/certs").join(SITE);
    // cert.pem is a link to the newest cert-TIMESTAMP.pem.
    let first_file = live.join(std::fs::read_link(live.join("cert.pem")).unwrap());
    let first = ca.assert_issued(&first_file, Some(&live.join("chain.pem")), &[SITE, WWW]);
    assert!(
        web.challenges.read_dir().unwrap().next().is_none(),
        "dehydrated left its tokens in the web root"
    );

    ca.dehydrated(
        "dehydrated",
        &web,
        &[&["--cron", "--force"][..], &domains].concat(),
    )
    .success();
    let second = ca.assert_issued(
        &live.join("cert.pem"),
        Some(&live.join("chain.pem")),
        &[SITE, WWW],
    );
    assert_ne!(
        first.serial, second.serial,
        "--force issued no new certificate"
    );

    ca.dehydrated(
        "dehydrated",
        &web,
        &["--revoke", first_file.to_str().unwrap()],
    )
    .success();
    match kind {
        Kind::Pebble => {
            assert_eq!(ca.pebble_status(&first.serial)["Status"], "Revoked");
            assert_eq!(ca.pebble_status(&second.serial)["Status"], "Valid");
        }
        Kind::Squirrel => {
            let revoked = ca.ledger_row(&first.serial);
            assert_eq!(revoked["status"], "revoked", "{revoked}");
            assert_eq!(ca.ledger_row(&second.serial)["status"], "valid");
            assert!(
                revoked["account"].as_str().is_some_and(|a| !a.is_empty()),
                "the ledger row names no ACME account: {revoked}"
            );
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

/// acme-tiny: an RSA-2048 account key (RS256) and an ECDSA CSR for two
/// names, both made by openssl; the chain it prints verifies.
fn acme_tiny_obtains(kind: Kind) {
    let ca = start(kind);
    let web = ca.webroot("www");
    let s = &ca.scratch;
    s.openssl(&["genrsa", "-out", "account.key", "2048"]);
    s.openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "site.key",
        "-subj",
        &format!("/CN={SITE}"),
        "-addext",
        &format!("subjectAltName=DNS:{SITE},DNS:{WWW}"),
        "-out",
        "site.csr",
    ]);
    let run = ca.acme_tiny(&web, &["--account-key", "account.key", "--csr", "site.csr"]);
    run.success();
    // The chain is on stdout, the progress on stderr: the output holds both.
    let pems: Vec<String> = run
        .output
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|rest| {
            let body = rest.split("-----END CERTIFICATE-----").next().unwrap();
            format!("-----BEGIN CERTIFICATE-----{body}-----END CERTIFICATE-----\n")
        })
        .collect();
    assert!(
        !pems.is_empty(),
        "acme-tiny printed no certificate:\n{}",
        run.output
    );
    let cert = s.write("site.pem", &pems[0]);
    let chain = s.write("chain.pem", &pems[1..].concat());
    let info = ca.assert_issued(&cert, Some(&chain), &[SITE, WWW]);
    // The certificate is for the CSR's key.
    let key_of = |args: &[&str]| s.openssl(args);
    assert_eq!(
        key_of(&["x509", "-in", "site.pem", "-noout", "-pubkey"]),
        key_of(&["pkey", "-in", "site.key", "-pubout"]),
    );
    if kind == Kind::Squirrel {
        assert_eq!(ca.ledger_row(&info.serial)["status"], "valid");
    }
    assert_eq!(cert_info(s, &cert).serial, info.serial);
}

#[test]
fn pebble_dehydrated_obtains_renews_and_revokes() {
    dehydrated_obtains_renews_and_revokes(Kind::Pebble);
}

#[test]
fn squirrel_dehydrated_obtains_renews_and_revokes() {
    dehydrated_obtains_renews_and_revokes(Kind::Squirrel);
}

#[test]
fn pebble_acme_tiny_obtains() {
    acme_tiny_obtains(Kind::Pebble);
}

#[test]
fn squirrel_acme_tiny_obtains() {
    acme_tiny_obtains(Kind::Squirrel);
}
