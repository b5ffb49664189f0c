//! Running the server for real: the secret changes without a restart,
//! reloads that fail keep the old configuration, limits, key logs, IPv6,
//! bad input; and the client against servers that are not squirrel.

use crate::common::{free_port, retry, Scratch};
use std::io::{Read, Write};
use std::time::Duration;

#[test]
fn the_secret_changes_without_a_restart() {
    let s = Scratch::new();
    s.write("message.txt", "fluffy tail\n");
    let server = s.serve(&["--message-file", "message.txt"]);
    let get = ["get", "--raw", server.url.as_str()];
    assert_eq!(
        s.squirrel_out(&get, &[]).1,
        "fluffy tail",
        "the trailing newline is not part of the secret"
    );
    let mark = server.log_mark();
    s.write("message.txt", "acorns at midnight\n");
    server.wait_for_log(mark, "the secret changed: message.txt was re-read");
    assert_eq!(
        s.squirrel_out(&get, &[]).1,
        "acorns at midnight",
        "the new secret is served"
    );
    // An unreadable message file keeps the previous secret.
    let mark = server.log_mark();
    std::fs::remove_file(s.path("message.txt")).unwrap();
    server.wait_for_log(mark, "keeping the previous secret: message.txt");
    assert_eq!(s.squirrel_out(&get, &[]).1, "acorns at midnight");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("the secret changed: message.txt was re-read"),
        "{log}"
    );
    assert!(
        log.contains("keeping the previous secret: message.txt: cannot read the message file"),
        "{log}"
    );
    assert!(!log.contains("acorns"), "the secret is never logged: {log}");
}

#[test]
fn sighup_reloads_the_certificate_and_a_bad_reload_keeps_the_old_one() {
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    s.ok(&[
        "pki",
        "issue",
        "localhost",
        "--pass-file",
        "pw",
        "--cert-file",
        "server.pem",
        "--key-file",
        "server-key.pem",
    ]);
    let server = s.serve(&["--cert", "server.pem", "--key", "server-key.pem"]);
    let fingerprint = || {
        let (_, _, err) = s.squirrel_out(&["get", "-v", "--ca", "ca/ca.pem", &server.url], &[]);
        err.lines()
            .find(|l| l.starts_with("* Server certificate:"))
            .unwrap_or("")
            .to_string()
    };
    let (_, before, _) = s.squirrel_out(&["pki", "inspect", "--json", "server.pem"], &[]);
    s.ok(&[
        "pki",
        "issue",
        "localhost",
        "127.0.0.1",
        "--pass-file",
        "pw",
        "--cert-file",
        "server.pem",
        "--key-file",
        "server-key.pem",
        "--force",
    ]);
    let reloaded = server.reload();
    assert!(reloaded.contains(" reloaded "), "{reloaded}");
    assert!(
        fingerprint().contains("I am localhost (localhost, 127.0.0.1)"),
        "the new certificate is served after SIGHUP"
    );
    assert!(!before.is_empty());
    // A broken certificate: the reload fails, the old configuration stays.
    s.write("server.pem", "-----BEGIN CERTIFICATE-----\ngarbage\n");
    let failed = server.reload();
    assert!(failed.contains(" reload failed"), "{failed}");
    assert_eq!(
        s.ok(&["get", "--ca", "ca/ca.pem", &server.url_for("127.0.0.1")]),
        "The secret message is: fluffy tail\n"
    );
    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(log.contains("reload failed, keeping the previous configuration: server.pem: malformed or truncated PEM"), "{log}");
}

#[test]
fn limits_and_key_logs_and_ipv6() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.ok(&["pki", "issue", "localhost", "::1", "--pass-file", "pw"]);
    let server = s.serve(&[
        "--listen",
        "[::1]:0",
        "--cert",
        "localhost+1.pem",
        "--key",
        "localhost+1-key.pem",
        "--keylog",
        "keys.log",
        "--handshake-timeout",
        "1",
        "--header-timeout",
        "1",
        "--backlog",
        "77",
    ]);
    // The listen backlog (ss shows it as the listening socket's Send-Q).
    let ss = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{}", server.port)])
        .output()
        .expect("ss (iproute2)");
    let ss = String::from_utf8_lossy(&ss.stdout);
    assert_eq!(
        ss.split_whitespace().nth(2),
        Some("77"),
        "the backlog: {ss}"
    );
    assert!(
        server.url.starts_with("https://localhost:"),
        "{}",
        server.url
    );
    let v6 = format!("https://[::1]:{}", server.port);
    assert_eq!(
        s.ok(&["get", "--ca", "ca/ca.pem", &v6]),
        "The secret message is: fluffy tail\n"
    );
    let keys = s.read("keys.log");
    assert!(
        keys.lines()
            .any(|l| l.starts_with("CLIENT_HANDSHAKE_TRAFFIC_SECRET ")),
        "{keys}"
    );
    assert!(
        keys.lines()
            .any(|l| l.starts_with("SERVER_TRAFFIC_SECRET_0 ")),
        "{keys}"
    );
    // Oversized headers: 431.
    let big = format!("X-Big: {}", "a".repeat(20_000));
    let (ok, out) = s.run(
        "curl",
        &[
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            "ca/ca.pem",
            "--http1.1",
            "-H",
            &big,
            &v6,
        ],
    );
    assert!(ok, "{out}");
    assert_eq!(out, "431");
    // Clients that never start their handshake are cut off, and told in
    // one line, not one each.
    let silent: Vec<_> = (0..20)
        .map(|_| std::net::TcpStream::connect(("::1", server.port)).unwrap())
        .collect();
    for mut one in silent {
        one.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            one.read(&mut buf).unwrap_or(0),
            0,
            "the server closed the silent connection"
        );
    }
    let (_, log) = server.stop();
    // (Two lines at most if a ten-second report fell in between.)
    let counts: Vec<u32> = log
        .lines()
        .filter(|l| l.contains("timed out after 1s"))
        .map(|l| {
            l.split(" WARN ")
                .nth(1)
                .and_then(|rest| {
                    rest.strip_suffix(" TLS handshake(s) timed out after 1s since the last report")
                })
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a summary line: {l}"))
        })
        .collect();
    assert!(counts.len() <= 2, "{log}");
    assert_eq!(counts.iter().sum::<u32>(), 20, "{log}");
    assert!(log.contains("TLS secrets are written to keys.log"), "{log}");
    // hyper's own 431 is in the access log, as nginx logs it.
    assert!(
        log.contains("\"-\" 431 0 - TLSv1.3 - (request headers too large)"),
        "{log}"
    );

    // Plain HTTP: a client that sends half a request is cut off too.
    let server = s.serve(&["--header-timeout", "1"]);
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    let (code, _, err) = s.squirrel_out(&["get", "--max-body", "5", &server.url], &[]);
    assert_eq!(code, 5);
    assert!(
        err.contains("the response body is larger than 5 bytes; raise --max-body"),
        "{err}"
    );
    // A malformed request: hyper's 400. A silent connection: no line.
    let mut bad = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    bad.write_all(b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = bad.read_to_end(&mut answer);
    assert!(answer.starts_with(b"HTTP/1.1 400 Bad Request"));
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = silent.read_to_end(&mut Vec::new());
    let (_, log) = server.stop();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" \"-\" "))
        .map(|l| l.split_once(" \"-\" ").map_or(l, |(_, rest)| rest))
        .collect();
    assert_eq!(
        refused,
        [
            "408 0 - - - (request header timeout)",
            "400 0 - - - (malformed request)"
        ],
        "{log}"
    );
}

#[test]
fn bad_input_is_named_and_nothing_starts() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    s.ok(&["pki", "issue", "other.example", "--pass-file", "pw"]);
    let server = s.serve(&[]);
    let taken = format!("127.0.0.1:{}", server.port);
    let (code, _, err) = s.squirrel_out(&["serve", "--listen", &taken], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "cannot listen on {taken}: the address is already in use"
        )),
        "{err}"
    );
    assert!(
        err.contains("stop it or choose another --listen address"),
        "{err}"
    );
    drop(server);
    let cases: [(&[&str], &str); 5] = [
        (&["--cert", "missing.pem", "--key", "localhost-key.pem"], "cannot read missing.pem: No such file or directory"),
        (&["--cert", "localhost.pem", "--key", "other.example-key.pem"], "the key other.example-key.pem does not match the certificate localhost.pem (localhost)"),
        (&["--cert", "localhost-key.pem", "--key", "localhost-key.pem"], "expected a certificate but found a PEM block of type \"PRIVATE KEY\""),
        (&["--listen", "nowhere:notaport"], "--listen \"nowhere:notaport\" is not a usable address"),
        (&["--cert", "localhost.pem", "--key", "localhost-key.pem", "--crl", "x.pem"], "--client-ca"),
    ];
    for (args, want) in cases {
        let mut full = vec!["serve"];
        if !args.contains(&"--listen") {
            full.extend_from_slice(&["--listen", "127.0.0.1:0"]);
        }
        full.extend_from_slice(args);
        let (code, out, err) = s.squirrel_out(&full, &[]);
        assert!(code == 1 || code == 2, "{args:?}: {code}");
        assert!(out.is_empty(), "nothing is served: {out}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // An encrypted key: its passphrase from the environment, wrong, or missing.
    std::fs::write(s.path("kp"), "key secret\n").unwrap();
    s.ok(&[
        "pki",
        "issue",
        "enc.example",
        "--pass-file",
        "pw",
        "--key-pass-file",
        "kp",
    ]);
    let (code, _, err) = s.squirrel_out(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            "enc.example.pem",
            "--key",
            "enc.example-key.pem",
            "--key-pass-env",
            "KP",
        ],
        &[("KP", "nope")],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("enc.example-key.pem: wrong passphrase"),
        "{err}"
    );
    let (code, _, err) = s.squirrel_out(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            "enc.example.pem",
            "--key",
            "enc.example-key.pem",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "the server key is encrypted and there is no terminal to ask for its passphrase"
        ),
        "{err}"
    );
    let server = s.serve_with_env(
        &[
            "--cert",
            "enc.example.pem",
            "--key",
            "enc.example-key.pem",
            "--key-pass-env",
            "KP",
        ],
        &[("KP", "key secret")],
    );
    assert!(
        server.banner.contains("certificate enc.example"),
        "{}",
        server.banner
    );
}

#[test]
fn the_tutorials_own_files_serve_https() {
    let s = Scratch::new();
    s.write("tutorial_pki.py", include_str!("fixtures/tutorial_pki.py"));
    let (ok, out) = s.run("python3", &["tutorial_pki.py"]);
    assert!(ok, "{out}");
    let server = s.serve_with_env(
        &[
            "--cert",
            "server-public-key.pem",
            "--key",
            "server-private-key.pem",
            "--key-pass-env",
            "SERVER_PASS",
        ],
        &[("SERVER_PASS", "serverpassword")],
    );
    assert!(
        server.banner.contains("certificate my-site.com"),
        "{}",
        server.banner
    );
    let url = server.url_for("localhost");
    // squirrel refuses the tutorial's CA by default, as OpenSSL 3 does...
    let (code, _, err) = s.squirrel_out(&["get", "--ca", "ca-public-key.pem", &url], &[]);
    assert_eq!(code, 4);
    assert!(
        err.contains("the CA my-ca.com has no extensions")
            && err.contains("invalid CA certificate"),
        "{err}"
    );
    // ... and fetches with it when told to, with a warning.
    let legacy = ["get", "--legacy-ca", "--ca", "ca-public-key.pem", &url];
    let (code, out, err) = s.squirrel_out(&legacy, &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "The secret message is: fluffy tail\n")
    );
    assert!(err.contains("because of --legacy-ca"), "{err}");
    // As a client CA too: refused unless --legacy-ca, naming the file.
    let serve = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cert",
        "server-public-key.pem",
        "--key",
        "server-private-key.pem",
        "--key-pass-env",
        "SERVER_PASS",
        "--client-ca",
        "ca-public-key.pem",
    ];
    let (code, _, err) = s.squirrel_out(&serve, &[("SERVER_PASS", "serverpassword")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("ca-public-key.pem")
            && err.contains("is not a usable client CA (invalid CA certificate)")
            && err.contains("--legacy-ca"),
        "{err}"
    );
    // Python's stack of today refuses the tutorial's CA, as the brief says.
    let (ok, py) = s.run(
        "python3",
        &[
            "-c",
            &format!("import requests; requests.get('{url}', verify='ca-public-key.pem')"),
        ],
    );
    assert!(!ok && py.contains("invalid CA certificate"), "{py}");
}

#[test]
fn squirrel_get_reads_servers_that_are_not_squirrel() {
    let s = Scratch::new();
    // The tutorial's Flask server.py.
    let port = free_port();
    s.write(
        "server.py",
        &format!(
            "from flask import Flask\n\
             SECRET_MESSAGE = 'fluffy tail'\n\
             app = Flask(__name__)\n\
             @app.route('/')\n\
             def get_secret_message():\n\
             \x20   return SECRET_MESSAGE\n\
             app.run(host='127.0.0.1', port={port})\n"
        ),
    );
    let flask = s.spawn("python3", &["server.py"]);
    let url = format!("http://127.0.0.1:{port}");
    let got = retry(|| match s.squirrel_out(&["get", &url], &[]) {
        (0, out, _) => Some(out),
        _ => None,
    });
    drop(flask);
    assert_eq!(got.as_deref(), Some("The secret message is: fluffy tail\n"));

    // openssl s_server over HTTPS, with a squirrel-issued certificate.
    s.init_ca(&[]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    s.write("secret.txt", "fluffy tail");
    let (_server, port) = s.openssl_server("localhost.pem", "localhost-key.pem", "-WWW");
    let url = format!("https://localhost:{port}/secret.txt");
    let got = retry(
        || match s.squirrel_out(&["get", "--ca", "ca/ca.pem", &url], &[]) {
            (0, out, _) => Some(out),
            _ => None,
        },
    );
    assert_eq!(got.as_deref(), Some("The secret message is: fluffy tail\n"));
}

#[test]
fn connections_beyond_the_limit_wait_their_turn() {
    let s = Scratch::new();
    let server = s.serve(&["--max-connections", "1", "--header-timeout", "30"]);
    // One client holds the only slot without sending anything.
    // (Half a request: the server only takes connections that have spoken.)
    let mut holder = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    holder.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let client = holder.local_addr().unwrap().port();
    assert!(
        retry(|| accepted(server.port, client).then_some(())).is_some(),
        "the server never accepted the first connection"
    );
    let (code, _, err) = s.squirrel_out(&["get", "--timeout", "1", &server.url], &[]);
    assert_eq!(code, 3, "the second client waits, then gives up: {err}");
    assert!(err.contains("did not answer in time"), "{err}");
    drop(holder);
    let (code, out, _) = s.squirrel_out(&["get", &server.url], &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "The secret message is: fluffy tail\n")
    );
}

/// True once the process listening on `server` has accepted the connection
/// from local port `client`: the kernel gives the server's end a socket
/// inode then (it shows 0 while the connection waits in the accept queue).
fn accepted(server: u16, client: u16) -> bool {
    let port = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .any(|f| {
                f.len() > 9
                    && port(f[1]) == Some(server)
                    && port(f[2]) == Some(client)
                    && f[9] != "0"
            })
    })
}
