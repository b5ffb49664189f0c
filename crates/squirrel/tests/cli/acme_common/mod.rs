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

mod daemon;
mod start;
mod webroot;

pub use daemon::Daemon;
use start::*;

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
    /// squirrel only: how often the server looks whether its own
    /// certificate is due (`--identity-check-every SECS`).
    pub identity_check_every: Option<u64>,
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
