//! Members only (tutorial step 16, mutual TLS) and Fernet bodies (step 7).

use crate::common::Scratch;

/// `serve` for members only: localhost's certificate, the CA's members, its CRL.
const MEMBERS_ONLY: [&str; 8] = [
    "--cert",
    "localhost.pem",
    "--key",
    "localhost-key.pem",
    "--client-ca",
    "ca/ca.pem",
    "--crl",
    "crl.pem",
];

#[test]
fn members_get_in_strangers_and_revoked_members_do_not() {
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let alice_serial = s.issue(&["alice", "--client"]);
    s.ok(&["pki", "issue", "bob", "--client", "--pass-file", "pw"]);
    s.squirrel(&[
        "pki",
        "ca",
        "init",
        "--no-pass",
        "--dir",
        "stranger-ca",
        "--cn",
        "stranger-ca",
    ])
    .assert()
    .success();
    s.squirrel(&[
        "pki",
        "issue",
        "mallory",
        "--client",
        "--ca-dir",
        "stranger-ca",
    ])
    .assert()
    .success();
    s.ok(&["pki", "crl", "--out", "crl.pem", "--pass-file", "pw"]);
    let server = s.serve(&MEMBERS_ONLY);
    assert!(
        server
            .banner
            .ends_with("; members only: a client certificate is required)"),
        "{}",
        server.banner
    );

    let member = |who: &str| {
        let cert = format!("{who}-client.pem");
        let key = format!("{who}-client-key.pem");
        s.squirrel_out(
            &[
                "get",
                "--ca",
                "ca/ca.pem",
                "--cert",
                &cert,
                "--key",
                &key,
                &server.url,
            ],
            &[],
        )
    };
    let (code, out, err) = member("alice");
    assert_eq!(
        (code, out.as_str()),
        (0, "The secret message is: fluffy tail\n"),
        "{err}"
    );
    assert!(err.contains("Welcome, member alice."), "{err}");
    // No certificate: the handshake is refused, and the reason is given.
    let (code, _, err) = s.squirrel_out(&["get", "--ca", "ca/ca.pem", &server.url], &[]);
    assert_eq!(code, 4);
    assert!(
        err.contains(
            "admits members only: it requires a client certificate. Pass --cert FILE --key FILE"
        ),
        "{err}"
    );
    assert!(
        err.contains("\"tlsv13 alert certificate required\""),
        "{err}"
    );
    // A stranger's certificate.
    let (code, _, err) = member("mallory");
    assert_eq!(code, 4);
    assert!(
        err.contains(
            "rejected the client certificate: it was not issued by a CA the server trusts"
        ),
        "{err}"
    );
    assert!(err.contains("\"tlsv1 alert unknown ca\""), "{err}");
    // curl and requests, as members; the browser page greets the member.
    let (ok, page) = s.run(
        "curl",
        &[
            "-sS",
            "--cacert",
            "ca/ca.pem",
            "--cert",
            "bob-client.pem",
            "--key",
            "bob-client-key.pem",
            "-H",
            "Accept: text/html",
            &server.url,
        ],
    );
    assert!(ok, "{page}");
    assert!(
        page.contains("<span id=\"secret\">fluffy tail</span>"),
        "{page}"
    );
    assert!(page.contains("Welcome, member <b>bob</b>."), "{page}");
    assert!(
        page.contains("This server's certificate says: <q>From "),
        "{page}"
    );
    let py = s.python(&format!(
        "import requests\nr = requests.get('{}', verify='ca/ca.pem', cert=('bob-client.pem', 'bob-client-key.pem'))\nprint(r.text, r.headers['x-squirrel-member'])",
        server.url
    ));
    assert_eq!(py, "fluffy tail bob\n");

    // Alice leaves the club: revoke, publish the CRL, reload with SIGHUP.
    s.ok(&[
        "pki",
        "revoke",
        &alice_serial,
        "--pass-file",
        "pw",
        "--reason",
        "affiliationChanged",
    ]);
    s.ok(&[
        "pki",
        "crl",
        "--out",
        "crl.pem",
        "--force",
        "--pass-file",
        "pw",
    ]);
    let reloaded = server.reload();
    assert!(
        reloaded.ends_with("reloaded certificate, key, client CA, CRL and message (SIGHUP)"),
        "{reloaded}"
    );
    let (code, _, err) = member("alice");
    assert_eq!(code, 4, "alice is refused after the CRL reload: {err}");
    assert!(
        err.contains("rejected the client certificate: it has been revoked"),
        "{err}"
    );
    assert!(err.contains("\"sslv3 alert certificate revoked\""), "{err}");
    assert_eq!(member("bob").0, 0, "bob is still a member");
    let (_, log) = server.stop();
    assert!(
        log.contains("the client presented no certificate (members only)"),
        "{log}"
    );
    assert!(
        log.contains("the client's certificate is not from the members' CA (unknown CA)"),
        "{log}"
    );
    assert!(
        log.contains("reloaded certificate, key, client CA, CRL and message (SIGHUP)"),
        "{log}"
    );
    assert!(log.contains("the client's certificate is revoked"), "{log}");
    assert!(
        log.contains(" TLSv1.3 alice") && log.contains(" TLSv1.3 bob"),
        "{log}"
    );
}

const KEY: &str = "8jtTR9QcD-k3R09Pcd5ePgmTu_itJQt9WKQPzqjrcoM=";
const WRONG: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

#[test]
fn fernet_bodies_are_fresh_tokens_only_the_key_opens() {
    let s = Scratch::new();
    let server = s.serve_with_env(&["--fernet-key-env"], &[("SECRET_KEY", KEY)]);
    assert!(
        server
            .banner
            .ends_with("(plain HTTP), each body a fresh Fernet token"),
        "{}",
        server.banner
    );
    let (code, first, err) = s.squirrel_out(&["get", "--raw", &server.url], &[]);
    assert_eq!(code, 0);
    assert!(first.starts_with("gAAAAA"), "{first}");
    assert!(
        err.contains(
            "note: the body looks like a Fernet token; pass --fernet-key-env VAR to decrypt it"
        ),
        "{err}"
    );
    let (_, second, _) = s.squirrel_out(&["get", "--raw", &server.url], &[]);
    assert_ne!(first, second, "every request gets a fresh token");
    let (code, out, _) = s.squirrel_out(
        &["get", "--fernet-key-env", &server.url],
        &[("SECRET_KEY", KEY)],
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "The secret message is: fluffy tail\n")
    );
    let (code, out, err) = s.squirrel_out(
        &["get", "--fernet-key-env", &server.url],
        &[("SECRET_KEY", WRONG)],
    );
    assert_eq!((code, out.as_str()), (6, ""));
    assert!(
        err.contains("InvalidToken: the body could not be decrypted with the key in SECRET_KEY"),
        "{err}"
    );
    assert!(
        err.contains("the key is wrong, or the message was altered on the way"),
        "{err}"
    );
    // The tutorial's symmetric_client.py.
    let client = format!(
        "import os, requests\n\
         from cryptography.fernet import Fernet\n\
         my_cipher = Fernet(b'{KEY}')\n\
         response = requests.get('{}')\n\
         print(my_cipher.decrypt(response.content).decode())\n",
        server.url
    );
    assert_eq!(s.python(&client), "fluffy tail\n");
    drop(server);
    let (code, _, err) = s.squirrel_out(&["serve", "--fernet-key-env=SQUIRREL_NO_SUCH_VAR"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--fernet-key-env SQUIRREL_NO_SUCH_VAR: the environment variable SQUIRREL_NO_SUCH_VAR is not set"), "{err}");
    let (code, _, err) = s.squirrel_out(
        &["serve", "--fernet-key-env"],
        &[("SECRET_KEY", "too-short")],
    );
    assert_eq!(code, 1);
    assert!(err.contains("does not hold a Fernet key"), "{err}");
}

#[test]
fn rotated_keys_reach_the_server_and_the_client() {
    // SECRET_KEY=new,old: the server encrypts with the new key; a member
    // who still has only the old key fails, one with both (or the new) reads.
    let s = Scratch::new();
    let rotated = format!("{WRONG},{KEY}");
    let server = s.serve_with_env(&["--fernet-key-env"], &[("SECRET_KEY", &rotated)]);
    let (code, token, _) = s.squirrel_out(&["get", "--raw", &server.url], &[]);
    assert_eq!(code, 0);
    let opened = s.python(&format!(
        "from cryptography.fernet import Fernet\n\
         print(Fernet(b'{WRONG}').decrypt(b'{}').decode())\n",
        token.trim()
    ));
    assert_eq!(opened, "fluffy tail\n", "the first key encrypts");
    for (keys, expected) in [(rotated.as_str(), 0), (WRONG, 0), (KEY, 6)] {
        let (code, out, err) = s.squirrel_out(
            &["get", "--fernet-key-env", &server.url],
            &[("SECRET_KEY", keys)],
        );
        assert_eq!(code, expected, "SECRET_KEY={keys}: {out}{err}");
        if expected == 0 {
            assert_eq!(out, "The secret message is: fluffy tail\n");
        }
    }
}

/// One HTTPS request with `openssl s_client` as `who`, saving the session
/// to (or resuming it from) `session`; returns everything s_client printed.
fn s_client(s: &Scratch, port: u16, who: &str, version: &str, session: (&str, &str)) -> String {
    use std::io::Write;
    let cert = format!("{who}-client.pem");
    let key = format!("{who}-client-key.pem");
    let mut child = std::process::Command::new("openssl")
        .current_dir(s.path("."))
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost", "-CAfile", "ca/ca.pem"])
        .args(["-cert", &cert, "-key", &key, version, "-ign_eof"])
        .args([session.0, session.1])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl s_client");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_revoked_member_cannot_come_back_by_resuming_a_session() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let bob = s.issue(&["bob", "--client"]);
    s.ok(&["pki", "crl", "--out", "crl.pem", "--pass-file", "pw"]);
    let server = s.serve(&MEMBERS_ONLY);
    let greeted = "x-squirrel-member: bob";
    for (version, file) in [("-tls1_3", "s13.pem"), ("-tls1_2", "s12.pem")] {
        let first = s_client(&s, server.port, "bob", version, ("-sess_out", file));
        assert!(first.contains(greeted), "{version} full handshake: {first}");
        // Resumption works while bob is a member: the test can tell.
        let resumed = s_client(&s, server.port, "bob", version, ("-sess_in", file));
        assert!(resumed.contains("Reused, TLSv1."), "{version}: {resumed}");
        assert!(resumed.contains(greeted), "{version}: {resumed}");
        // A reload that changes neither the client CA nor the CRL keeps
        // the sessions.
        assert!(server.reload().contains(" reloaded "));
        let resumed = s_client(&s, server.port, "bob", version, ("-sess_in", file));
        assert!(resumed.contains("Reused, TLSv1."), "{version}: {resumed}");
    }
    s.ok(&["pki", "revoke", &bob, "--pass-file", "pw"]);
    s.ok(&[
        "pki",
        "crl",
        "--out",
        "crl.pem",
        "--force",
        "--pass-file",
        "pw",
    ]);
    assert!(server.reload().contains(" reloaded "));
    for (version, file) in [("-tls1_3", "s13.pem"), ("-tls1_2", "s12.pem")] {
        let after = s_client(&s, server.port, "bob", version, ("-sess_in", file));
        assert!(
            !after.contains("Reused, TLSv1."),
            "{version} resumed: {after}"
        );
        assert!(!after.contains(greeted), "{version} let bob in: {after}");
    }
    // A TLS 1.1 client is told apart in the log.
    let old = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
        ])
        .args(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!old.status.success());
    let (_, log) = server.stop();
    assert!(log.contains("the client's certificate is revoked"), "{log}");
    assert!(
        log.contains("unsupported protocol version: the client speaks neither TLS 1.3 nor TLS 1.2"),
        "{log}"
    );
}
