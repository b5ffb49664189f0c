//! The harness of `acme_clients.rs`: an ACME CA (Pebble, Let's Encrypt's
//! test CA, or `squirrel pki ca serve`) on loopback ports of its own, and
//! the real clients (certbot, lego) pointed at it.
//!
//! Every test starts its own CA on free ports: tests run in parallel. A
//! server is ready when it says so (a line of its output), never after a
//! sleep; servers are stopped when their guard drops, and their logs are
//! printed if the test failed (always, with `SQUIRREL_ACME_TEST_LOGS=1`).
//! Each client's output is printed as it ends: see it all with
//! `cargo test -p squirrel --test cli acme_clients -- --nocapture`.

mod webroot;

use crate::common::{free_port, require_tool, retry, Scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The name every scenario certifies; Pebble (through challtestsrv) and
/// squirrel (`--resolve`) send its validations to 127.0.0.1.
pub const SITE: &str = "my-site.test";

/// How long a server may take to say it is ready.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// How long one client run may take before `timeout` ends it.
const CLIENT_TIMEOUT_SECS: &str = "240";

/// Which ACME server a scenario runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Pebble with pebble-challtestsrv as its DNS (every name: 127.0.0.1).
    Pebble,
    /// `squirrel pki ca serve` on a fresh `squirrel pki ca init` CA.
    Squirrel,
}

/// How the CA is started.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Accounts need an external account binding (RFC 8555 §7.3.4).
    pub require_eab: bool,
    /// Names whose validations go to 127.0.0.1 besides [`SITE`]
    /// (squirrel: `--resolve NAME=127.0.0.1`; Pebble resolves every name so).
    pub extra_names: Vec<String>,
    /// squirrel only: refuse every Nth nonce with badNonce
    /// (`--reject-every-nth-nonce`), to see the clients retry.
    pub reject_every_nth_nonce: Option<u32>,
    /// Certificates live this many minutes (squirrel's `--cert-minutes`,
    /// Pebble's `certificateValidityPeriod`), for renewals within a test.
    pub cert_minutes: Option<u32>,
}

/// An external account binding: key id and HMAC key (base64url).
#[derive(Clone, Debug)]
pub struct Eab {
    pub kid: String,
    pub hmac: String,
}

/// The one key Pebble's EAB configuration holds (any base64url will do).
const PEBBLE_EAB_KID: &str = "kid-1";
const PEBBLE_EAB_HMAC: &str = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

/// A running ACME CA and the scratch directory of the test.
pub struct Ca {
    // First: the servers stop before the scratch directory goes.
    pub(crate) _daemons: Vec<Daemon>,
    pub kind: Kind,
    pub scratch: Scratch,
    /// The ACME directory URL.
    pub directory: String,
    /// The CA bundle clients trust for the ACME server's own HTTPS.
    pub bundle: PathBuf,
    /// The root that issued certificates chain to.
    pub root: PathBuf,
    /// Where the CA connects for http-01 and tls-alpn-01 validations.
    pub http01_port: u16,
    pub tlsalpn01_port: u16,
    /// squirrel: the CA directory (ca.pem, ca-key.pem, ledger.sqlite3).
    pub ca_dir: Option<PathBuf>,
    /// Pebble: its management interface (roots, certificate status).
    pub(crate) management: Option<String>,
    /// squirrel: how to start the server again ([`Ca::restart_server`]):
    /// its listening port and options.
    pub(crate) restart: Option<(u16, Options)>,
}

impl Ca {
    /// Starts a CA of `kind`; fails the test, with the logs, if it does not
    /// come up.
    pub fn start(kind: Kind, options: Options) -> Ca {
        match kind {
            Kind::Pebble => start_pebble(options),
            Kind::Squirrel => start_squirrel(options),
        }
    }

    /// The Common Name of the issuer of the certificates this CA signs.
    pub fn issuer_cn(&self) -> &'static str {
        match self.kind {
            Kind::Pebble => "Pebble Intermediate CA",
            Kind::Squirrel => "Test CA",
        }
    }

    /// A fresh external account binding: squirrel's `pki ca eab add NAME
    /// --json` (the server is running); Pebble's configured key.
    pub fn eab(&self, name: &str) -> Eab {
        match self.kind {
            Kind::Pebble => Eab {
                kid: PEBBLE_EAB_KID.into(),
                hmac: PEBBLE_EAB_HMAC.into(),
            },
            Kind::Squirrel => {
                let dir = self.ca_dir();
                let out = self
                    .scratch
                    .ok(&["pki", "ca", "eab", "add", name, "--ca-dir", dir, "--json"]);
                let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| {
                    panic!("`pki ca eab add --json` printed no JSON ({e}): {out}")
                });
                assert_eq!(json["name"], name, "eab add: {out}");
                let field = |key: &str| {
                    json[key]
                        .as_str()
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| panic!("eab add --json: no {key:?} in {out}"))
                        .to_string()
                };
                Eab {
                    kid: field("kid"),
                    hmac: field("hmac_key"),
                }
            }
        }
    }

    /// The CA server's process (squirrel's, or Pebble's).
    pub fn server(&self) -> &Daemon {
        &self._daemons[0]
    }

    /// squirrel: the CA directory, as a string for command lines.
    pub fn ca_dir(&self) -> &str {
        self.ca_dir
            .as_deref()
            .expect("a squirrel CA")
            .to_str()
            .unwrap()
    }

    /// squirrel: the ledger (`pki list --json`).
    pub fn ledger(&self) -> Vec<serde_json::Value> {
        let out = self
            .scratch
            .ok(&["pki", "list", "--ca-dir", self.ca_dir(), "--json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("pki list --json ({e}): {out}"))
    }

    /// squirrel: the ledger row of the certificate with `serial`.
    pub fn ledger_row(&self, serial: &str) -> serde_json::Value {
        let rows = self.ledger();
        rows.iter()
            .find(|row| row["serial"].as_str().map(normal_serial) == Some(normal_serial(serial)))
            .unwrap_or_else(|| panic!("serial {serial} is not in the ledger: {rows:#?}"))
            .clone()
    }

    /// squirrel: the serials a fresh CRL (`pki crl`) lists, normalised.
    pub fn crl_serials(&self) -> Vec<String> {
        let crl = self.scratch.path("ca.crl");
        let crl = crl.to_str().unwrap();
        self.scratch.ok(&[
            "pki",
            "crl",
            "--ca-dir",
            self.ca_dir(),
            "--no-pass",
            "--out",
            crl,
            "--force",
        ]);
        let text = self
            .scratch
            .openssl(&["crl", "-in", crl, "-noout", "-text"]);
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("Serial Number:"))
            .map(normal_serial)
            .collect()
    }

    /// Pebble: the status of a certificate by serial (management interface):
    /// `{"Status": "Valid"|"Revoked", "Reason": N, ...}`.
    pub fn pebble_status(&self, serial: &str) -> serde_json::Value {
        let url = format!(
            "{}/cert-status-by-serial/{}",
            self.management.as_deref().expect("a Pebble CA"),
            normal_serial(serial)
        );
        let out = self.curl(&[&url]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{url} ({e}): {out}"))
    }

    /// curl trusting the bundle, asserting success; returns the body.
    pub fn curl(&self, args: &[&str]) -> String {
        let bundle = self.bundle.to_str().unwrap();
        let (ok, out) = self.scratch.run(
            "curl",
            &[&["-sS", "--fail", "--cacert", bundle], args].concat(),
        );
        assert!(ok, "curl {args:?}: {out}");
        out
    }

    /// Runs certbot with its three directories in `dir` (under the scratch
    /// directory) and `REQUESTS_CA_BUNDLE`; `--server` is added.
    pub fn certbot(&self, dir: &str, args: &[&str]) -> ClientRun {
        let program = require_tool("certbot", "certbot");
        let base = self.scratch.path(dir);
        let mut cmd = timeout(&program);
        cmd.args(args)
            .args(["--server", &self.directory, "--non-interactive"])
            .arg("--config-dir")
            .arg(base.join("config"))
            .arg("--work-dir")
            .arg(base.join("work"))
            .arg("--logs-dir")
            .arg(base.join("logs"))
            .env("REQUESTS_CA_BUNDLE", &self.bundle);
        let mut run = self.client("certbot", args, cmd);
        // certbot's own log holds the ACME exchange: show it on failure.
        run.extra_log = std::fs::read_to_string(base.join("logs/letsencrypt.log")).ok();
        run
    }

    /// Runs `lego --accept-tos --email a@b.test --server URL --path DIR
    /// ARGS` with `LEGO_CA_CERTIFICATES`.
    pub fn lego(&self, dir: &str, args: &[&str]) -> ClientRun {
        let program = require_tool("lego", "lego");
        let mut cmd = timeout(&program);
        cmd.args([
            "--accept-tos",
            "--email",
            "a@b.test",
            "--server",
            &self.directory,
        ])
        .arg("--path")
        .arg(self.scratch.path(dir))
        .args(args)
        .env("LEGO_CA_CERTIFICATES", &self.bundle);
        self.client("lego", args, cmd)
    }

    fn client(&self, name: &str, args: &[&str], mut cmd: Command) -> ClientRun {
        let started = Instant::now();
        let out = cmd
            .current_dir(self.scratch.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
        let run = ClientRun {
            what: format!("{name} {args:?} against {:?}", self.kind),
            code: out.status.code(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            extra_log: None,
        };
        eprintln!(
            "--- {} (exit {:?}, {:.1} s):\n{}",
            run.what,
            run.code,
            started.elapsed().as_secs_f64(),
            run.output
        );
        run
    }
}

/// One client run: exit code and output.
pub struct ClientRun {
    pub what: String,
    pub code: Option<i32>,
    pub output: String,
    extra_log: Option<String>,
}

impl ClientRun {
    /// Asserts that the client succeeded; shows its output (and certbot's
    /// log) if not.
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert!(
            self.code == Some(0),
            "{} failed (exit {:?}{}):\n{}{}",
            self.what,
            self.code,
            if self.code == Some(124) {
                ": timed out"
            } else {
                ""
            },
            self.output,
            self.extra_log
                .as_deref()
                .map(|l| format!("\n--- its log:\n{l}"))
                .unwrap_or_default()
        );
        self
    }

    /// Asserts that the client failed, not by timing out.
    #[track_caller]
    pub fn failure(&self) -> &Self {
        assert!(
            !matches!(self.code, Some(0) | Some(124) | None),
            "{} should have failed (exit {:?}):\n{}",
            self.what,
            self.code,
            self.output
        );
        self
    }
}

/// `timeout -k 5 SECS PROGRAM`: a hung client fails the test instead of
/// hanging it.
fn timeout(program: &Path) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", CLIENT_TIMEOUT_SECS]).arg(program);
    cmd
}

/// A serial as openssl prints it (`serial=0A1B`, `0a:1b`) or as a ledger
/// holds it, normalised: lowercase hex without colons or leading zeros.
pub fn normal_serial(serial: &str) -> String {
    let hex: String = serial
        .trim()
        .trim_start_matches("serial=")
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

/// What openssl says of a certificate.
#[derive(Debug)]
pub struct CertInfo {
    /// Normalised ([`normal_serial`]).
    pub serial: String,
    pub issuer: String,
    pub alt_names: String,
}

/// Reads a certificate (the first of a PEM file) with openssl.
pub fn cert_info(scratch: &Scratch, path: &Path) -> CertInfo {
    let path = path.to_str().unwrap();
    assert!(Path::new(path).is_file(), "no certificate at {path}");
    let out = scratch.openssl(&[
        "x509",
        "-in",
        path,
        "-noout",
        "-serial",
        "-issuer",
        "-ext",
        "subjectAltName",
    ]);
    let line = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in openssl's {out}"))
            .trim()
            .to_string()
    };
    CertInfo {
        serial: normal_serial(&line("serial=")),
        issuer: line("issuer="),
        alt_names: out
            .lines()
            .skip_while(|l| !l.contains("Subject Alternative Name"))
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

impl Ca {
    /// Asserts that `cert` certifies `names` (its SAN), was issued by this
    /// CA, and verifies for `names[0]` against the CA's root (with the
    /// intermediates of `chain`, if any). Returns what openssl read.
    #[track_caller]
    pub fn assert_issued(&self, cert: &Path, chain: Option<&Path>, names: &[&str]) -> CertInfo {
        let info = cert_info(&self.scratch, cert);
        for name in names {
            assert!(
                info.alt_names
                    .split(", ")
                    .any(|n| n == format!("DNS:{name}")),
                "{} does not certify {name}: {info:?}",
                cert.display()
            );
        }
        assert!(
            info.issuer.contains(&format!("CN = {}", self.issuer_cn())),
            "{} was issued by {:?}, not by {}",
            cert.display(),
            info.issuer,
            self.issuer_cn()
        );
        let mut args = vec![
            "verify".to_string(),
            "-CAfile".into(),
            self.root.to_str().unwrap().into(),
            "-purpose".into(),
            "sslserver".into(),
            "-verify_hostname".into(),
            names[0].into(),
        ];
        if let Some(chain) = chain {
            // certbot's chain.pem or lego's issuer.crt: empty when the CA
            // signs leaves itself.
            let text = std::fs::read_to_string(chain).unwrap_or_default();
            if text.contains("BEGIN CERTIFICATE") {
                args.extend(["-untrusted".into(), chain.to_str().unwrap().into()]);
            }
        }
        args.push(cert.to_str().unwrap().into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.scratch.openssl(&args);
        assert!(out.contains(": OK"), "openssl {args:?}: {out}");
        info
    }
}

fn start_pebble(options: Options) -> Ca {
    require_tool("pebble", "pebble");
    require_tool("pebble-challtestsrv", "pebble");
    require_tool("curl", "curl");
    let scratch = Scratch::new();
    // Pebble's own HTTPS: a certificate from a squirrel CA made for it.
    let tls_ca = scratch.path("pebble-tls-ca");
    let tls_ca = tls_ca.to_str().unwrap();
    scratch.ok(&[
        "pki",
        "ca",
        "init",
        "--dir",
        tls_ca,
        "--no-pass",
        "--cn",
        "Pebble TLS CA",
    ]);
    scratch.ok(&[
        "pki",
        "issue",
        "localhost",
        "127.0.0.1",
        "--ca-dir",
        tls_ca,
        "--no-pass",
        "--cert-file",
        "pebble-tls.pem",
        "--key-file",
        "pebble-tls-key.pem",
    ]);
    let bundle = scratch.path("pebble-tls-ca/ca.pem");

    // A free port can be taken by another test between our probe and the
    // server's bind: then start again on other ports.
    let mut failures = String::new();
    for _attempt in 0..3 {
        let dns = start_challtestsrv(&scratch);
        let dns = match dns {
            Ok(d) => d,
            Err(e) => {
                failures.push_str(&e);
                continue;
            }
        };
        let (listen, management) = (free_port(), free_port());
        let (http01_port, tlsalpn01_port) = (free_port(), free_port());
        let mut config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": "pebble-tls.pem",
            "privateKey": "pebble-tls-key.pem",
            "httpPort": http01_port,
            "tlsPort": tlsalpn01_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": options.require_eab,
        }});
        if options.require_eab {
            config["pebble"]["externalAccountMACKeys"] =
                serde_json::json!({ PEBBLE_EAB_KID: PEBBLE_EAB_HMAC });
        }
        if let Some(minutes) = options.cert_minutes {
            config["pebble"]["certificateValidityPeriod"] = (u64::from(minutes) * 60).into();
        }
        scratch.write("pebble-config.json", &config.to_string());
        let mut cmd = Command::new("pebble");
        cmd.current_dir(scratch.dir.path())
            .args(["-config", "pebble-config.json", "-dnsserver"])
            .arg(format!("127.0.0.1:{}", dns.1))
            // No random validation delays, no rejected nonces, no reused
            // authorizations: every run validates, quickly.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0");
        let pebble = Daemon::spawn("pebble", cmd);
        let directory = pebble.wait_for("its directory URL", |log| {
            log.lines()
                .find_map(|l| l.split("ACME directory available at: ").nth(1))
                .map(|u| u.trim().to_string())
        });
        let directory = match directory {
            Ok(d) => d,
            Err(e) => {
                failures.push_str(&e);
                continue;
            }
        };
        // The line comes just before the listeners' accept loops.
        for port in [listen, management] {
            retry(|| std::net::TcpStream::connect(("127.0.0.1", port)).ok()).unwrap_or_else(|| {
                panic!("pebble never listened on {port}: {}", pebble.log.text())
            });
        }
        let ca = Ca {
            kind: Kind::Pebble,
            directory,
            bundle,
            root: scratch.path("pebble-root.pem"),
            http01_port,
            tlsalpn01_port,
            ca_dir: None,
            restart: None,
            management: Some(format!("https://127.0.0.1:{management}")),
            _daemons: vec![pebble, dns.0],
            scratch,
        };
        // The root Pebble generated at start, which issued certificates chain to.
        let root = ca.curl(&[&format!("{}/roots/0", ca.management.as_deref().unwrap())]);
        assert!(
            root.contains("BEGIN CERTIFICATE"),
            "pebble's /roots/0: {root}"
        );
        std::fs::write(&ca.root, root).unwrap();
        return ca;
    }
    panic!("pebble did not start, three times:\n{failures}");
}

/// pebble-challtestsrv as a DNS server alone, answering 127.0.0.1 for
/// every A query (no AAAA). Returns it and its DNS port.
fn start_challtestsrv(scratch: &Scratch) -> Result<(Daemon, u16), String> {
    let (dns, management) = (free_port(), free_port());
    let mut cmd = Command::new("pebble-challtestsrv");
    cmd.current_dir(scratch.dir.path())
        .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
        .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
        .arg("-dns01")
        .arg(format!("127.0.0.1:{dns}"))
        .arg("-management")
        .arg(format!("127.0.0.1:{management}"));
    let server = Daemon::spawn("pebble-challtestsrv", cmd);
    server.wait_for("its start", |log| {
        log.contains("Starting management server").then_some(())
    })?;
    // The servers start in goroutines after that line: wait for the TCP
    // side of the DNS server (its UDP side is bound at the same time).
    if retry(|| std::net::TcpStream::connect(("127.0.0.1", dns)).ok()).is_none() {
        return Err(format!(
            "challtestsrv never listened on {dns}: {}",
            server.log.text()
        ));
    }
    Ok((server, dns))
}

fn start_squirrel(options: Options) -> Ca {
    let scratch = Scratch::new();
    let ca_dir = scratch.path("acme-ca");
    let dir = ca_dir.to_str().unwrap();
    scratch.ok(&[
        "pki",
        "ca",
        "init",
        "--dir",
        dir,
        "--no-pass",
        "--cn",
        "Test CA",
    ]);
    let mut failures = String::new();
    for _attempt in 0..3 {
        let (listen, http01_port, tlsalpn01_port) = (free_port(), free_port(), free_port());
        let cmd = squirrel_ca_command(
            &scratch,
            dir,
            (listen, http01_port, tlsalpn01_port),
            &options,
        );
        let server = Daemon::spawn("squirrel pki ca serve", cmd);
        let ready = squirrel_ready(&server);
        let (directory, trust) = match ready {
            Ok(r) => r,
            Err(e) => {
                failures.push_str(&e);
                if e.contains("in use") {
                    continue; // another test took a port first
                }
                break;
            }
        };
        assert_eq!(
            directory,
            format!("https://127.0.0.1:{listen}/acme/directory"),
            "the directory URL squirrel printed"
        );
        let bundle = PathBuf::from(trust);
        assert_eq!(
            bundle,
            ca_dir.join("ca.pem"),
            "the bundle squirrel told clients to trust"
        );
        return Ca {
            kind: Kind::Squirrel,
            directory,
            root: bundle.clone(),
            bundle,
            http01_port,
            tlsalpn01_port,
            ca_dir: Some(ca_dir),
            management: None,
            restart: Some((listen, options)),
            _daemons: vec![server],
            scratch,
        };
    }
    panic!("squirrel pki ca serve did not start (is it there yet? issue 13):\n{failures}");
}

/// `squirrel pki ca serve` on `dir` with the ports (listen, http-01,
/// tls-alpn-01) and options of a test.
fn squirrel_ca_command(
    scratch: &Scratch,
    dir: &str,
    (listen, http01_port, tlsalpn01_port): (u16, u16, u16),
    options: &Options,
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_squirrel"));
    cmd.current_dir(scratch.dir.path())
        .env("SQUIRREL_HOME", scratch.home())
        .args(["pki", "ca", "serve", "--ca-dir", dir, "--no-pass"])
        .arg("--listen")
        .arg(format!("127.0.0.1:{listen}"))
        .arg("--http01-port")
        .arg(http01_port.to_string())
        .arg("--tlsalpn01-port")
        .arg(tlsalpn01_port.to_string());
    for name in std::iter::once(SITE).chain(options.extra_names.iter().map(String::as_str)) {
        cmd.arg("--resolve").arg(format!("{name}=127.0.0.1"));
    }
    if options.require_eab {
        cmd.arg("--require-eab");
    }
    if let Some(n) = options.reject_every_nth_nonce {
        cmd.arg("--reject-every-nth-nonce").arg(n.to_string());
    }
    if let Some(minutes) = options.cert_minutes {
        cmd.arg("--cert-minutes").arg(minutes.to_string());
    }
    cmd
}

/// Waits for squirrel's two start-up lines: the directory URL and the CA
/// file to trust.
fn squirrel_ready(server: &Daemon) -> Result<(String, String), String> {
    server.wait_for(
        "'ACME directory: URL' and 'Clients must trust: FILE'",
        |log| {
            let find = |prefix: &str| {
                log.lines()
                    .find_map(|l| l.split(prefix).nth(1))
                    .map(|v| v.trim().to_string())
            };
            Some((find("ACME directory: ")?, find("Clients must trust: ")?))
        },
    )
}

impl Ca {
    /// squirrel: stops the CA's server, as a CA that is down; its files stay.
    pub fn stop_server(&mut self) {
        assert_eq!(self.kind, Kind::Squirrel, "stop_server: a squirrel CA");
        self._daemons.clear();
    }

    /// squirrel: starts the CA's server again, on the same ports with the
    /// same CA directory.
    pub fn restart_server(&mut self) {
        let (listen, options) = self.restart.clone().expect("a squirrel CA");
        let cmd = squirrel_ca_command(
            &self.scratch,
            self.ca_dir(),
            (listen, self.http01_port, self.tlsalpn01_port),
            &options,
        );
        let server = Daemon::spawn("squirrel pki ca serve (again)", cmd);
        if let Err(e) = squirrel_ready(&server) {
            panic!("the CA did not start again: {e}");
        }
        self._daemons.insert(0, server);
    }
}

/// A server process: its stdout and stderr gathered in one log as they
/// come; stopped (SIGTERM, then SIGKILL) when dropped, its log printed if
/// the test is failing or `SQUIRREL_ACME_TEST_LOGS` is set.
pub struct Daemon {
    name: String,
    child: std::process::Child,
    log: Arc<Log>,
}

/// The lines a child wrote, and how many of its two streams have closed.
#[derive(Default)]
struct Log {
    state: Mutex<(String, u8)>,
    grew: Condvar,
}

impl Log {
    fn follow(self: Arc<Self>, stream: impl std::io::Read) {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).unwrap_or(0);
            let mut state = self.state.lock().unwrap();
            state.0.push_str(&String::from_utf8_lossy(&line));
            if n == 0 {
                state.1 += 1;
            }
            self.grew.notify_all();
            if n == 0 {
                return;
            }
        }
    }

    fn text(&self) -> String {
        self.state.lock().unwrap().0.clone()
    }
}

impl Daemon {
    pub fn spawn(name: &str, mut cmd: Command) -> Daemon {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
        let log = Arc::new(Log::default());
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        std::thread::spawn({
            let log = log.clone();
            move || log.follow(out)
        });
        std::thread::spawn({
            let log = log.clone();
            move || log.follow(err)
        });
        Daemon {
            name: name.into(),
            child,
            log,
        }
    }

    /// Everything it wrote so far.
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Sends signal `name` (HUP, TERM...) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits until the log contains `needle`; panics with the log otherwise.
    pub fn wait_for_line(&self, needle: &str) {
        if let Err(e) = self.wait_for(needle, |log| log.contains(needle).then_some(())) {
            panic!("{e}");
        }
    }

    /// Waits until `found` finds something in the log; Err (with the log)
    /// if the process closes its output (exits) first, or after
    /// [`READY_DEADLINE`].
    pub fn wait_for<T>(&self, what: &str, found: impl Fn(&str) -> Option<T>) -> Result<T, String> {
        let deadline = Instant::now() + READY_DEADLINE;
        let mut state = self.log.state.lock().unwrap();
        loop {
            if let Some(value) = found(&state.0) {
                return Ok(value);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.1 == 2 || left.is_zero() {
                return Err(format!(
                    "{} never printed {what} ({}); its output:\n{}\n",
                    self.name,
                    if state.1 == 2 {
                        "it exited"
                    } else {
                        "timed out"
                    },
                    state.0
                ));
            }
            state = self.log.grew.wait_timeout(state, left).unwrap().0;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("SQUIRREL_ACME_TEST_LOGS").is_some() {
            eprintln!("--- {} log:\n{}", self.name, self.log.text());
        }
    }
}
