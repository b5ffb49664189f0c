//! `squirrel pki ca serve` and `pki ca eab` as an operator and a stranger
//! meet them: the transport's refusals as problem documents, SIGHUP and
//! SIGTERM, EAB key management, and bad flags.

use crate::acme_common::{Ca, Kind, Options};
use crate::common::Scratch;

fn squirrel_ca() -> Ca {
    Ca::start(Kind::Squirrel, Options::default())
}

/// curl's status line, headers and body for a request to the server.
fn curl_raw(ca: &Ca, args: &[&str]) -> String {
    let bundle = ca.bundle.to_str().unwrap();
    let (ok, out) = ca
        .scratch
        .run("curl", &[&["-sS", "-i", "--cacert", bundle], args].concat());
    assert!(ok, "curl {args:?}: {out}");
    out
}

#[test]
fn the_transport_refuses_what_is_not_acme_with_problem_documents() {
    let ca = squirrel_ca();
    let base = ca.directory.trim_end_matches("/directory").to_string();
    let directory: serde_json::Value =
        serde_json::from_str(&ca.curl(&[ca.directory.as_str()])).unwrap();
    assert_eq!(directory["newOrder"], format!("{base}/new-order"));
    assert_eq!(directory["meta"]["externalAccountRequired"], false);

    // A body over 64 KiB.
    let big = ca.scratch.write("big.json", &"x".repeat(70 * 1024));
    let out = curl_raw(
        &ca,
        &[
            "-H",
            "Content-Type: application/jose+json",
            "--data-binary",
            &format!("@{}", big.display()),
            &format!("{base}/new-order"),
        ],
    );
    assert!(out.starts_with("HTTP/2 413"), "{out}");
    assert!(
        out.contains("urn:ietf:params:acme:error:malformed"),
        "{out}"
    );
    assert!(out.to_ascii_lowercase().contains("replay-nonce:"), "{out}");

    // The wrong content type.
    let out = curl_raw(
        &ca,
        &[
            "-H",
            "Content-Type: application/json",
            "--data",
            "{}",
            &format!("{base}/new-order"),
        ],
    );
    assert!(out.starts_with("HTTP/2 415"), "{out}");
    assert!(out.contains("application/jose+json"), "{out}");

    // A malformed JWS over HTTP/1.1.
    let out = curl_raw(
        &ca,
        &[
            "--http1.1",
            "-H",
            "Content-Type: application/jose+json",
            "--data",
            "{\"protected\": 1}",
            &format!("{base}/new-account"),
        ],
    );
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(
        out.contains("urn:ietf:params:acme:error:malformed"),
        "{out}"
    );
    assert!(out.contains("application/problem+json"), "{out}");
}

#[test]
fn sighup_reloads_and_sigterm_stops() {
    let ca = squirrel_ca();
    ca.server().signal("HUP");
    ca.server().wait_for_line("SIGHUP: reloaded (kept");
    // Still serving after the reload.
    ca.curl(&[ca.directory.as_str()]);
    ca.server().signal("TERM");
    ca.server().wait_for_line("stopped");
}

/// The server's own certificate is looked at on a timer too, not only on
/// SIGHUP: one that is gone (or due) is issued again while the server
/// runs, and new connections get it.
#[test]
fn the_servers_own_certificate_is_renewed_without_a_signal() {
    let ca = Ca::start(
        Kind::Squirrel,
        Options {
            identity_check_every: Some(1),
            ..Options::default()
        },
    );
    let cert = std::path::Path::new(ca.ca_dir()).join("acme-server.pem");
    let first = std::fs::read_to_string(&cert).unwrap();
    std::fs::remove_file(&cert).unwrap();
    ca.server()
        .wait_for_line("renewed the server's own certificate");
    let second = std::fs::read_to_string(&cert).unwrap();
    assert_ne!(first, second, "a new certificate");
    // Served from now on: the chain curl sees is the new file's leaf.
    let out = ca.scratch.openssl(&[
        "s_client",
        "-connect",
        ca.directory
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap(),
        "-CAfile",
        ca.bundle.to_str().unwrap(),
        "-verify_return_error",
    ]);
    let leaf = second
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    assert!(
        out.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
            .contains(&leaf),
        "{out}"
    );
}

#[test]
fn eab_keys_are_made_listed_and_removed() {
    let ca = squirrel_ca();
    let dir = ca.ca_dir();
    let s = &ca.scratch;
    let out = s.ok(&["pki", "ca", "eab", "add", "alice", "--ca-dir", dir]);
    assert!(
        out.contains("key id:") && out.contains("HMAC key:"),
        "{out}"
    );
    assert!(out.contains("--eab-kid") && out.contains("--hmac"), "{out}");
    let again = s.fails(&["pki", "ca", "eab", "add", "alice", "--ca-dir", dir], 1);
    assert!(again.contains("exists already"), "{again}");
    let list: serde_json::Value =
        serde_json::from_str(&s.ok(&["pki", "ca", "eab", "list", "--ca-dir", dir, "--json"]))
            .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "alice");
    assert!(list[0]["account"].is_null(), "{list}");
    assert!(
        list[0].get("hmac_key").is_none(),
        "the list never shows a secret"
    );
    s.ok(&["pki", "ca", "eab", "remove", "alice", "--ca-dir", dir]);
    let text = s.ok(&["pki", "ca", "eab", "list", "--ca-dir", dir]);
    assert!(text.contains("No EAB keys"), "{text}");
    let gone = s.fails(&["pki", "ca", "eab", "remove", "alice", "--ca-dir", dir], 1);
    assert!(gone.contains("no EAB key"), "{gone}");
}

#[test]
fn bad_flags_are_refused_with_the_fix() {
    let s = Scratch::new();
    let dir = s.path("ca");
    let dir = dir.to_str().unwrap();
    s.ok(&["pki", "ca", "init", "--dir", dir, "--no-pass"]);
    let out = s.fails(
        &[
            "pki",
            "ca",
            "serve",
            "--ca-dir",
            dir,
            "--no-pass",
            "--resolve",
            "my-site.test",
        ],
        2,
    );
    assert!(out.contains("NAME=IP"), "{out}");
    let out = s.fails(
        &[
            "pki",
            "ca",
            "serve",
            "--ca-dir",
            dir,
            "--no-pass",
            "--allow-name",
            "not a name",
        ],
        2,
    );
    assert!(out.contains("DNS suffix"), "{out}");
    let out = s.fails(
        &[
            "pki",
            "ca",
            "serve",
            "--ca-dir",
            dir,
            "--no-pass",
            "--listen",
            "nowhere",
        ],
        1,
    );
    assert!(
        out.contains("--listen") && out.contains("127.0.0.1:8443"),
        "{out}"
    );
    let out = s.fails(
        &[
            "pki",
            "ca",
            "serve",
            "--ca-dir",
            &format!("{dir}-missing"),
            "--no-pass",
        ],
        1,
    );
    assert!(out.contains("pki ca init"), "{out}");
    let out = s.fails(
        &[
            "pki",
            "ca",
            "eab",
            "list",
            "--ca-dir",
            &format!("{dir}-missing"),
        ],
        1,
    );
    assert!(out.contains("pki ca init"), "{out}");
}
