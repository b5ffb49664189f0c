//! `squirrel sniff` live on loopback (tutorial step 3 and its proof for
//! steps 13-14): a plain HTTP fetch shows the secret to the spy, an HTTPS
//! fetch does not but shows the server's name, and the files written open
//! in tshark with the same packets, decrypted when the key log is embedded.
//! These tests capture with AF_PACKET, so they need root (as in CI).

use crate::common::{require_root, NobodyDir, Scratch};
use crate::sniff_common::{
    self, curl, http_server, https_server, tshark, tshark_count, Spy, SECRET,
};

/// Why the capture tests are ignored unless asked for.
const CAPTURE: &str = "AF_PACKET capture on lo";

#[test]
#[ignore = "needs root (AF_PACKET capture on lo)"]
fn plain_http_fetch_shows_the_secret_and_tshark_reads_the_pcap() {
    require_root(CAPTURE);
    let s = Scratch::new();
    let server = http_server(s.dir.path());
    let port = server.port.to_string();
    let spy = Spy::start(
        s.dir.path(),
        &["--port", &port, "--secret", SECRET, "--write", "plain.pcap"],
        "Capturing on 'lo', port ",
    );
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(curl(s.dir.path(), &[&url], &[]), SECRET);
    drop(server);
    let seen = spy.stop();
    assert_eq!(seen.code, Some(0), "{}", seen.stderr);
    let n = seen.packets();
    assert!(n >= 10, "a whole HTTP exchange: {}", seen.stdout);
    // One line per packet, tshark-style.
    assert_eq!(seen.stdout.lines().count() as u64, n, "{}", seen.stdout);
    let first = seen.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("   1  0.000000  127.0.0.1:")
            && first.contains(&format!(" -> 127.0.0.1:{port}  TCP 74  [SYN] Seq=0 ")),
        "{first}"
    );
    let get = seen
        .stdout
        .lines()
        .find(|l| l.ends_with("  GET / HTTP/1.1"))
        .unwrap_or_else(|| panic!("no GET line: {}", seen.stdout));
    assert!(
        get.contains(&format!(" -> 127.0.0.1:{port}  HTTP ")),
        "{get}"
    );
    let answer: Vec<&str> = seen
        .stdout
        .lines()
        .filter(|l| l.ends_with("  HTTP/1.1 200 OK  (text/plain)"))
        .collect();
    assert_eq!(answer.len(), 1, "{}", seen.stdout);
    let answer_number = answer[0].split_whitespace().next().unwrap();
    // The verdict names that very packet.
    let verdict = format!(
        "Verdict: the secret \"fluffy tail\" crossed the wire in clear in 1 of {n} packets:\n  packet {answer_number}  127.0.0.1:{port} -> 127.0.0.1:"
    );
    assert!(seen.stderr.contains(&verdict), "{}", seen.stderr);
    assert!(
        seen.stderr
            .contains(&format!("Wrote {n} packets to plain.pcap\n")),
        "{}",
        seen.stderr
    );
    assert!(seen.stderr.contains("Protocols: TCP "), "{}", seen.stderr);
    assert!(seen.stderr.contains(", HTTP 2\n"), "{}", seen.stderr);

    // tshark reads the file: same count, and the same two HTTP packets.
    assert_eq!(tshark_count(s.dir.path(), "plain.pcap"), n);
    let decode = format!("tcp.port=={port},http");
    let http = tshark(
        s.dir.path(),
        &[
            "-r",
            "plain.pcap",
            "-d",
            &decode,
            "-Y",
            "http",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
    );
    let ours: Vec<&str> = seen
        .stdout
        .lines()
        .filter(|l| l.contains("  HTTP "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(http.lines().collect::<Vec<_>>(), ours);
}

#[test]
#[ignore = "needs root (AF_PACKET capture on lo)"]
fn https_fetch_hides_the_secret_but_shows_the_sni_and_the_key_log_decrypts() {
    require_root(CAPTURE);
    let s = Scratch::new();
    let server = localhost_https_server(&s);
    let port = server.port.to_string();
    let spy = Spy::start(
        s.dir.path(),
        &[
            "--port",
            &port,
            "--secret",
            SECRET,
            "--write",
            "tls.pcapng",
            "--keylog",
            "keys.log",
        ],
        "Capturing on 'lo', port ",
    );
    let url = format!("https://localhost:{port}/");
    let keys = s.path("keys.log");
    let body = curl(
        s.dir.path(),
        // HTTP/1.1 as the tutorial's requests speaks it (curl would pick h2).
        &["--http1.1", "--cacert", "ca/ca.pem", &url],
        &[("SSLKEYLOGFILE", &keys)],
    );
    assert_eq!(body, SECRET);
    drop(server);
    let seen = spy.stop();
    assert_eq!(seen.code, Some(0), "{}", seen.stderr);
    let n = seen.packets();
    assert!(
        seen.stderr.contains(&format!(
            "Verdict: the secret \"fluffy tail\" never appeared in clear in {n} packets.\n"
        )),
        "{}",
        seen.stderr
    );
    let hello = seen
        .stdout
        .lines()
        .find(|l| l.ends_with("  Client Hello (SNI=localhost)"))
        .unwrap_or_else(|| panic!("no ClientHello: {}", seen.stdout));
    assert!(
        hello.contains(&format!(" -> 127.0.0.1:{port}  TLSv1 ")),
        "{hello}"
    );
    // How the server's flight is cut into segments varies; its records do not.
    assert!(
        seen.stdout
            .lines()
            .any(|l| l.contains("  TLSv1.3 ") && l.contains("  Server Hello")),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stdout
            .lines()
            .any(|l| l.contains("  TLSv1.3 ") && l.contains("Application Data (")),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stderr.contains(&format!(
            "Wrote {n} packets to tls.pcapng, with the TLS secrets of 1 session ("
        )),
        "{}",
        seen.stderr
    );

    // tshark: same count; with the embedded secrets it decrypts the HTTP.
    assert_eq!(tshark_count(s.dir.path(), "tls.pcapng"), n);
    let decode = format!("tcp.port=={port},tls");
    let http = tshark(
        s.dir.path(),
        &[
            "-r",
            "tls.pcapng",
            "-d",
            &decode,
            "-Y",
            "http",
            "-T",
            "fields",
            "-e",
            "http.request.method",
            "-e",
            "http.request.uri",
            "-e",
            "http.file_data",
        ],
    );
    assert_eq!(http, "GET\t/\t\n\t\tfluffy tail\n");
}

#[test]
#[ignore = "needs root (AF_PACKET capture on lo)"]
fn count_stops_after_the_handshake() {
    require_root(CAPTURE);
    let s = Scratch::new();
    let server = http_server(s.dir.path());
    let port = server.port.to_string();
    let spy = Spy::start(
        s.dir.path(),
        &["--port", &port, "--count", "3", "--display", "tcp"],
        "Capturing on 'lo', port ",
    );
    curl(s.dir.path(), &[&format!("http://127.0.0.1:{port}/")], &[]);
    let seen = spy.finish();
    assert_eq!(seen.code, Some(0), "{}", seen.stderr);
    let flags: Vec<&str> = seen
        .stdout
        .lines()
        .map(|l| {
            l.split_once("  [")
                .map_or("", |(_, r)| r.split(']').next().unwrap())
        })
        .collect();
    assert_eq!(flags, ["SYN", "SYN, ACK", "ACK"], "{}", seen.stdout);
    assert!(
        seen.stderr.contains("Summary: 3 packets, 214 bytes in "),
        "{}",
        seen.stderr
    );
    assert!(
        seen.stderr
            .contains("\nProtocols: TCP 3\nDisplay filter tcp: 3 of 3 packets shown\n"),
        "{}",
        seen.stderr
    );
}

#[test]
#[ignore = "needs root (drops to nobody with setpriv)"]
fn without_privileges_the_error_names_both_remedies() {
    require_root("drops to nobody with setpriv");
    let s = Scratch::new();
    let nobody = NobodyDir::new();
    let bin = nobody.squirrel();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(bin)
        .args(["sniff", "--count", "1"])
        .current_dir(s.dir.path())
        .output()
        .expect("setpriv (util-linux)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("squirrel: error: cannot open a raw packet socket on lo: permission denied. Capturing needs root or the CAP_NET_RAW capability: run the command as root (sudo squirrel sniff ...), or give the binary the capability once with `sudo setcap cap_net_raw+ep $(command -v squirrel)`."),
        "{err}"
    );
}

#[test]
fn an_unknown_interface_lists_the_real_ones() {
    let s = Scratch::new();
    let err = s.fails(&["sniff", "-i", "nosuch0"], 1);
    assert!(
        err.starts_with("squirrel: error: there is no network interface named \"nosuch0\" (-i/--interface). The interfaces of this machine are: "),
        "{err}"
    );
    assert!(err.contains("lo"), "{err}");
}

#[test]
#[ignore = "needs root (AF_PACKET capture on lo)"]
fn tls12_shows_the_certificate_in_clear() {
    require_root(CAPTURE);
    let s = Scratch::new();
    let server = localhost_https_server(&s);
    let port = server.port.to_string();
    let spy = Spy::start(
        s.dir.path(),
        &[
            "--port",
            &port,
            "-V",
            "--display",
            "tls",
            "--secret",
            SECRET,
        ],
        "Capturing on 'lo', port ",
    );
    let url = format!("https://localhost:{port}/");
    let body = curl(
        s.dir.path(),
        &["--tls-max", "1.2", "--cacert", "ca/ca.pem", &url],
        &[],
    );
    assert_eq!(body, SECRET);
    drop(server);
    let seen = spy.stop();
    assert_eq!(seen.code, Some(0), "{}", seen.stderr);
    assert!(
        seen.stdout.contains(
            "Transport Layer Security: TLSv1.2 Record Layer: Server Hello, Certificate, \
             Server Key Exchange, Server Hello Done\n    Content Type: 22\n    \
             Version: TLSv1.2 (0x0303)\n"
        ),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stdout
            .contains("    Handshake Protocol: Certificate (1 certificates)\n"),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stdout
            .contains("            Subject: CN=localhost\n            Issuer: CN=my-ca.com\n"),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stdout
            .contains(", I am CN=localhost according to CN=my-ca.com]\n"),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stdout.contains("Server Hello\n")
            && seen.stdout.contains("Encrypted Handshake Message\n"),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stderr.contains("never appeared in clear"),
        "{}",
        seen.stderr
    );
}

/// A CA (my-ca.com), a certificate for localhost, and `squirrel serve`
/// with it.
fn localhost_https_server(s: &Scratch) -> sniff_common::Server {
    s.init_ca(&["--cn", "my-ca.com"]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    https_server(
        s.dir.path(),
        &s.path("localhost.pem"),
        &s.path("localhost-key.pem"),
    )
}
