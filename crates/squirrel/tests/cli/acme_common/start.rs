//! Starting each kind of CA of the harness: Pebble with its DNS server
//! (pebble-challtestsrv), and `squirrel pki ca serve` (also again, on the
//! same ports, for the tests of a CA that was down).

use super::*;

pub(super) fn start_pebble(options: Options) -> Ca {
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
            retry(|| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
                .unwrap_or_else(|| panic!("pebble never listened on {port}: {}", pebble.log()));
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
pub(super) fn start_challtestsrv(scratch: &Scratch) -> Result<(Daemon, u16), String> {
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
            server.log()
        ));
    }
    Ok((server, dns))
}

pub(super) fn start_squirrel(options: Options) -> Ca {
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
pub(super) fn squirrel_ca_command(
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
    if let Some(secs) = options.identity_check_every {
        cmd.arg("--identity-check-every").arg(secs.to_string());
    }
    cmd
}

/// Waits for squirrel's two start-up lines: the directory URL and the CA
/// file to trust.
pub(super) fn squirrel_ready(server: &Daemon) -> Result<(String, String), String> {
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
