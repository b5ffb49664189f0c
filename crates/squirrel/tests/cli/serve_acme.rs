//! `squirrel serve --acme`: the secret server gets its own certificate
//! from an ACME CA (squirrel's `pki ca serve`, and Pebble), answers the
//! tls-alpn-01 validation on its own listener, reuses the certificate
//! after a restart, renews it in place under load, and keeps serving while
//! the CA is down.
//!
//! How it is set up (http-01, EAB, `--config`, bad flags) is in
//! `serve_acme_options.rs`. Run both with
//! `cargo test -p squirrel --test cli serve_acme -- --nocapture`.

use crate::acme_common::{normal_serial, Ca, Kind, Options, SITE};
use crate::common::{require_tool, ServerProcess};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a renewal of a one-minute certificate may take to come: its
/// ARI window starts 40 s after issuance.
const RENEWAL_DEADLINE: Duration = Duration::from_secs(120);

/// A squirrel CA whose validations of `localhost` go to 127.0.0.1, with
/// certificates of `cert_minutes`.
pub(crate) fn squirrel_ca(cert_minutes: Option<u32>) -> Ca {
    Ca::start(
        Kind::Squirrel,
        Options {
            extra_names: vec!["localhost".into()],
            cert_minutes,
            ..Options::default()
        },
    )
}

/// `squirrel serve --acme` for `domain`, listening where the CA sends
/// tls-alpn-01 validations.
pub(crate) fn serve_acme(ca: &Ca, domain: &str, extra: &[&str]) -> ServerProcess {
    let listen = format!("127.0.0.1:{}", ca.tlsalpn01_port);
    let bundle = ca.bundle.to_str().unwrap();
    let mut args = vec![
        "--listen",
        &listen,
        "--acme",
        &ca.directory,
        "--acme-ca",
        bundle,
        "--domain",
        domain,
    ];
    args.extend_from_slice(extra);
    ca.scratch.serve(&args)
}

/// `squirrel get --json` of the server: the secret and the serial of the
/// certificate it presented (normalised).
pub(crate) fn get_serial(ca: &Ca, port: u16) -> (String, String) {
    let url = format!("https://localhost:{port}/");
    let out = ca
        .scratch
        .ok(&["get", "--json", "--ca", ca.root.to_str().unwrap(), &url]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        json["body"].as_str().unwrap().to_string(),
        normal_serial(json["tls"]["serial"].as_str().unwrap()),
    )
}

/// The serial of the last "renewed the certificate: serial X" (or
/// "obtained ...") line of `log`, normalised.
pub(crate) fn logged_serial(log: &str, what: &str) -> String {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no {what:?} in the log:\n{log}"));
    let serial = line
        .split("serial ")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .unwrap_or_else(|| panic!("no serial in {line:?}"));
    normal_serial(serial)
}

#[test]
fn serve_acme_obtains_then_reuses_its_certificate_after_a_restart() {
    let ca = squirrel_ca(None);
    let server = serve_acme(&ca, "localhost", &[]);
    assert!(
        server.banner.contains("certificate localhost"),
        "{}",
        server.banner
    );
    let log = server.wait_for_log(0, "obtained a certificate");
    let first = logged_serial(&log, "obtained a certificate");
    let (body, served) = get_serial(&ca, server.port);
    assert_eq!(body, "fluffy tail");
    assert_eq!(
        served, first,
        "the server presents the certificate it obtained"
    );
    let row = ca.ledger_row(&first);
    assert_eq!(row["status"], "valid", "{row}");

    // The state folder: the account and the key are the owner's alone.
    let state = ca.scratch.home().join("acme");
    let server_dir = std::fs::read_dir(&state)
        .unwrap()
        .next()
        .expect("a folder per CA")
        .unwrap()
        .path();
    use std::os::unix::fs::PermissionsExt;
    for file in ["account.json", "localhost/key.pem"] {
        let mode = std::fs::metadata(server_dir.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));

    // A restart serves the saved certificate: no new order.
    let again = serve_acme(&ca, "localhost", &[]);
    let log = again.wait_for_log(0, "serving the certificate saved in");
    assert_eq!(
        logged_serial(&log, "serving the certificate saved in"),
        first
    );
    assert_eq!(get_serial(&ca, again.port).1, first);
    let (_, log) = again.stop();
    assert!(!log.contains("obtained a certificate"), "{log}");
    // The CA's ledger: its own HTTPS certificate, and one for the server.
    let ordered: Vec<_> = ca
        .ledger()
        .into_iter()
        .filter(|row| row["alt_names"] == serde_json::json!(["localhost"]))
        .collect();
    assert_eq!(ordered.len(), 1, "one certificate ordered: {ordered:#?}");
}

/// One TLS connection, HTTP/1.1 requests on it every 200 ms until the file
/// argv[3] exists; prints the number of answers and the serial of the
/// certificate the connection began with. Any failure is an exception.
const KEEPALIVE_CLIENT: &str = r#"
import os, socket, ssl, sys, time
root, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=root)
tls = ctx.wrap_socket(socket.create_connection(("localhost", port)), server_hostname="localhost")
serial = tls.getpeercert()["serialNumber"]
reader = tls.makefile("rb")
answers = 0
while not os.path.exists(stop):
    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    status = reader.readline()
    assert status.startswith(b"HTTP/1.1 200"), status
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    assert b"fluffy tail" in reader.read(length)
    answers += 1
    time.sleep(0.2)
print(answers, serial)
"#;

#[test]
fn serve_acme_renews_twice_under_load_without_a_failed_request() {
    let ca = squirrel_ca(Some(1));
    let server = serve_acme(&ca, "localhost", &[]);
    let log = server.wait_for_log(0, "obtained a certificate");
    let first = logged_serial(&log, "obtained a certificate");
    let port = server.port;

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let root = ca.root.to_str().unwrap().to_string();
    // Requests on fresh connections: two clients, a TLS handshake each.
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (stop, ok, failed, root) = (stop.clone(), ok.clone(), failed.clone(), root.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let out = std::process::Command::new("curl")
                        .args(["-sS", "--fail", "--max-time", "10", "--cacert", &root])
                        .arg(format!("https://localhost:{port}/"))
                        .output()
                        .unwrap();
                    let body = String::from_utf8_lossy(&out.stdout);
                    if out.status.success() && body.contains("fluffy tail") {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&out.stderr).into_owned());
                    }
                }
            })
        })
        .collect();
    require_tool("curl", "curl");
    // And one connection kept open across both renewals (HTTP/1.1
    // keep-alive, a request every 200 ms), until `stop-keepalive` exists.
    let stop_file = ca.scratch.path("stop-keepalive");
    let keepalive = std::process::Command::new(require_tool("python3", "python3"))
        .args(["-c", KEEPALIVE_CLIENT, &root, &port.to_string()])
        .arg(&stop_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    let mut mark = server.log_mark();
    let mut serials = vec![first];
    for _ in 0..2 {
        let log = server.wait_for_log_within(mark, "renewed the certificate", RENEWAL_DEADLINE);
        serials.push(logged_serial(&log, "renewed the certificate"));
        mark = server.log_mark();
        let (_, served) = get_serial(&ca, port);
        assert_eq!(
            &served,
            serials.last().unwrap(),
            "squirrel get sees the new serial"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        thread.join().unwrap();
    }
    std::fs::write(&stop_file, "").unwrap();
    let kept = keepalive.wait_with_output().unwrap();
    let kept_out = String::from_utf8_lossy(&kept.stdout);
    assert!(
        kept.status.success(),
        "the kept-alive connection failed: {kept_out}{}",
        String::from_utf8_lossy(&kept.stderr)
    );
    let (answers, kept_serial) = kept_out.trim().split_once(' ').unwrap();
    assert!(answers.parse::<u32>().unwrap() > 50, "{kept_out}");
    assert_eq!(
        normal_serial(kept_serial),
        serials[0],
        "an open connection keeps the certificate it began with"
    );
    let failed = failed.lock().unwrap();
    assert!(
        failed.is_empty(),
        "{} failed requests: {failed:?}",
        failed.len()
    );
    let ok = ok.load(Ordering::Relaxed);
    eprintln!("{ok} requests during two renewals, none failed; serials {serials:?}");
    assert!(ok > 20, "only {ok} requests were made");
    serials.dedup();
    assert_eq!(serials.len(), 3, "three certificates: {serials:?}");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("renewal attempt"), "no failed attempt: {log}");
}

#[test]
fn serve_acme_keeps_serving_while_the_ca_is_down_and_renews_once_it_is_back() {
    let mut ca = squirrel_ca(Some(1));
    let server = serve_acme(&ca, "localhost", &[]);
    let log = server.wait_for_log(0, "obtained a certificate");
    let first = logged_serial(&log, "obtained a certificate");
    ca.stop_server();

    let mark = server.log_mark();
    let log = server.wait_for_log_within(mark, "renewal attempt 2 failed", RENEWAL_DEADLINE);
    assert!(log.contains("renewal attempt 1 failed"), "{log}");
    assert!(
        log.contains(&format!("still serving serial {}", first.to_uppercase()))
            || log.contains("still serving serial"),
        "{log}"
    );
    // About to expire with no renewal: said loudly.
    assert!(
        log.contains("ERROR") && log.contains("could not be renewed"),
        "{log}"
    );
    let (body, served) = get_serial(&ca, server.port);
    assert_eq!(
        (body.as_str(), served.as_str()),
        ("fluffy tail", first.as_str())
    );

    ca.restart_server();
    let log = server.wait_for_log_within(mark, "renewed the certificate", RENEWAL_DEADLINE);
    let renewed = logged_serial(&log, "renewed the certificate");
    assert_ne!(renewed, first);
    assert_eq!(get_serial(&ca, server.port).1, renewed);
}

/// A Fernet key (base64url of 32 bytes).
const FERNET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[test]
fn serve_acme_with_members_only_and_fernet_bodies() {
    let ca = squirrel_ca(None);
    let s = &ca.scratch;
    // The members' CA, and one member.
    s.ok(&[
        "pki",
        "ca",
        "init",
        "--dir",
        "members",
        "--no-pass",
        "--cn",
        "Members",
    ]);
    s.ok(&[
        "pki",
        "issue",
        "alice",
        "--client",
        "--ca-dir",
        "members",
        "--no-pass",
    ]);
    let listen = format!("127.0.0.1:{}", ca.tlsalpn01_port);
    let server = s.serve_with_env(
        &[
            "--listen",
            &listen,
            "--acme",
            &ca.directory,
            "--acme-ca",
            ca.bundle.to_str().unwrap(),
            "--domain",
            "localhost",
            "--client-ca",
            "members/ca.pem",
            "--fernet-key-env",
        ],
        &[("SECRET_KEY", FERNET_KEY)],
    );
    assert!(
        server.banner.contains("members only") && server.banner.contains("Fernet"),
        "{}",
        server.banner
    );
    let url = format!("https://localhost:{}/", server.port);
    let root = ca.root.to_str().unwrap();
    let (code, out, err) = s.squirrel_out(
        &[
            "get",
            "--ca",
            root,
            "--cert",
            "alice-client.pem",
            "--key",
            "alice-client-key.pem",
            "--fernet-key-env",
            &url,
        ],
        &[("SECRET_KEY", FERNET_KEY)],
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "The secret message is: fluffy tail\n"),
        "{err}"
    );
    let (code, _, err) = s.squirrel_out(&["get", "--ca", root, &url], &[]);
    assert_eq!(code, 4, "a stranger got in: {err}");
}

#[test]
fn serve_acme_gets_its_certificate_from_pebble() {
    let ca = Ca::start(Kind::Pebble, Options::default());
    let server = serve_acme(&ca, SITE, &["--acme-email", "leader@club.test"]);
    let log = server.wait_for_log(0, "obtained a certificate");
    let serial = logged_serial(&log, "obtained a certificate");
    let status = ca.pebble_status(&serial);
    assert_eq!(status["Status"], "Valid", "{status}");
    let resolve = format!("{SITE}:{}:127.0.0.1", server.port);
    let body = ca.scratch.run(
        "curl",
        &[
            "-sS",
            "--fail",
            "--cacert",
            ca.root.to_str().unwrap(),
            "--resolve",
            &resolve,
            &format!("https://{SITE}:{}/", server.port),
        ],
    );
    assert!(body.0 && body.1.contains("fluffy tail"), "{}", body.1);
}

/// Pebble 2.4 has no renewal information (ARI): the server renews at two
/// thirds of the lifetime, and its renewal orders go without "replaces".
#[test]
fn serve_acme_renews_at_two_thirds_against_pebble_which_has_no_ari() {
    let ca = Ca::start(
        Kind::Pebble,
        Options {
            cert_minutes: Some(1),
            ..Options::default()
        },
    );
    let server = serve_acme(&ca, SITE, &[]);
    let log = server.wait_for_log(0, "obtained a certificate");
    let first = logged_serial(&log, "obtained a certificate");
    let log = server.wait_for_log_within(0, "renewed the certificate", RENEWAL_DEADLINE);
    assert!(
        log.contains("two thirds of the certificate's lifetime"),
        "{log}"
    );
    let renewed = logged_serial(&log, "renewed the certificate");
    assert_ne!(renewed, first);
    assert_eq!(ca.pebble_status(&renewed)["Status"], "Valid");
    // What a client is shown now: the new certificate.
    let connect = format!("127.0.0.1:{}", server.port);
    let (ok, out) = ca.scratch.run(
        "sh",
        &[
            "-c",
            &format!(
                "openssl s_client -connect {connect} -servername {SITE} </dev/null 2>/dev/null \
                 | openssl x509 -noout -serial"
            ),
        ],
    );
    assert!(ok, "{out}");
    assert_eq!(normal_serial(&out), renewed);
}
