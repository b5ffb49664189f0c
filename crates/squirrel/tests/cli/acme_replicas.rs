//! Several replicas of the CA, one PostgreSQL (issue 15), proven on
//! loopback with the real parts: a throwaway PostgreSQL cluster, two
//! `squirrel pki ca serve --db` processes (each with its own copy of the CA
//! key, as on two machines), nginx in front of them (round robin, TLS
//! passed through by its `stream` module, the configuration the README
//! shows), and certbot and lego through nginx.
//!
//! Run it alone, with every client's output:
//! `cargo test -p squirrel --test cli acme_replicas -- --nocapture`.

use crate::acme_common::{normal_serial, Ca, Daemon, Kind, SITE};
use crate::common::{free_port, require_tool, retry, Scratch};
use squirrel_acme::test_util::pg_cluster::PgCluster;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Orders of the first run, all through nginx to both replicas.
const FIRST_LEGO: usize = 40;
const FIRST_CERTBOT: usize = 10;
/// Orders of the second run; replica A is killed (SIGKILL) after
/// `KILL_AFTER` of them.
const SECOND_LEGO: usize = 10;
const KILL_AFTER: usize = 3;

/// Where Debian's libnginx-mod-stream puts the module (scripts/test.sh
/// installs it with nginx).
const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

/// The nginx configuration of the README's "Running the CA on more than
/// one machine": TCP round robin over the replicas, TLS passed through
/// (each replica answers with its own certificate from the same CA).
fn nginx_conf(dir: &Path, listen: u16, replicas: &[u16]) -> String {
    let servers: String = replicas
        .iter()
        .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;\n"))
        .collect();
    format!(
        "load_module {STREAM_MODULE};
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log info;
events {{ worker_connections 256; }}
stream {{
    upstream squirrel_acme {{
{servers}    }}
    server {{
        listen 127.0.0.1:{listen};
        proxy_pass squirrel_acme;
        proxy_connect_timeout 2s;
    }}
}}
",
        dir = dir.display()
    )
}

/// A replica: `pki ca serve` on the CA directory `ca_dir`, with the
/// database given by `--db` or, for `via_env`, by `SQUIRREL_DB`.
fn start_replica(
    scratch: &Scratch,
    name: &str,
    ca_dir: &Path,
    listen: u16,
    ports: (u16, u16),
    db: &str,
    via_env: bool,
) -> Daemon {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_squirrel"));
    cmd.current_dir(scratch.dir.path())
        .env("SQUIRREL_HOME", scratch.home())
        .args(["pki", "ca", "serve", "--no-pass", "--ca-dir"])
        .arg(ca_dir)
        .arg("--listen")
        .arg(format!("127.0.0.1:{listen}"))
        .args(["--http01-port", &ports.0.to_string()])
        .args(["--tlsalpn01-port", &ports.1.to_string()])
        .args(["--resolve", &format!("{SITE}=127.0.0.1")]);
    if via_env {
        cmd.env("SQUIRREL_DB", db);
    } else {
        cmd.args(["--db", db]);
    }
    let replica = Daemon::spawn(name, cmd);
    // The last of its start lines: the directory, the CA file, the database
    // (without the password).
    let said = "Database: postgres://squirrel:***@127.0.0.1:";
    if let Err(e) = replica.wait_for(said, |log| log.contains(said).then_some(())) {
        panic!("{e}");
    }
    assert!(
        replica.log().contains("ACME directory: "),
        "{}",
        replica.log()
    );
    replica
}

/// Runs lego in a fresh folder (a new account) for [`SITE`], http-01;
/// returns its certificate's serial.
fn lego_order(ca: &Ca, dir: &str) -> String {
    let port = format!("127.0.0.1:{}", ca.http01_port);
    ca.lego(
        dir,
        &["--domains", SITE, "--http", "--http.port", &port, "run"],
    )
    .success();
    let certs = ca.scratch.path(dir).join("certificates");
    let cert = certs.join(format!("{SITE}.crt"));
    ca.assert_issued(
        &cert,
        Some(&certs.join(format!("{SITE}.issuer.crt"))),
        &[SITE],
    )
    .serial
}

/// Runs certbot (standalone, http-01) in a fresh folder; returns its
/// certificate's serial.
fn certbot_order(ca: &Ca, dir: &str) -> String {
    let port = ca.http01_port.to_string();
    ca.certbot(
        dir,
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
    let live = ca.scratch.path(dir).join("config/live").join(SITE);
    ca.assert_issued(
        &live.join("cert.pem"),
        Some(&live.join("chain.pem")),
        &[SITE],
    )
    .serial
}

/// How many certificates a replica's log says it issued.
fn issued_by(replica: &Daemon) -> usize {
    replica.log().matches("certificate issued").count()
}

/// The serials a CRL that `pki crl --db` writes with the CA directory
/// `ca_dir` lists, normalised.
fn crl_serials(scratch: &Scratch, ca_dir: &Path, db: &str, out: &str) -> Vec<String> {
    let ca_dir = ca_dir.to_str().unwrap();
    scratch.ok(&[
        "pki",
        "crl",
        "--ca-dir",
        ca_dir,
        "--no-pass",
        "--db",
        db,
        "--out",
        out,
        "--force",
    ]);
    let text = scratch.openssl(&["crl", "-in", out, "-noout", "-text"]);
    let mut serials: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number:"))
        .map(normal_serial)
        .collect();
    serials.sort();
    serials
}

#[test]
fn two_replicas_behind_nginx_share_one_postgres() {
    require_tool("nginx", "nginx");
    require_tool("lego", "lego");
    require_tool("certbot", "certbot");
    assert!(
        Path::new(STREAM_MODULE).is_file(),
        "no {STREAM_MODULE}: install Debian's libnginx-mod-stream (scripts/test.sh does)"
    );
    let cluster = PgCluster::start();
    let db = cluster.url_of("postgres");
    let scratch = Scratch::new();

    // A CA with one certificate signed by hand, moved into PostgreSQL.
    let dir_a = scratch.path("replica-a");
    let a = dir_a.to_str().unwrap();
    scratch.ok(&[
        "pki",
        "ca",
        "init",
        "--dir",
        a,
        "--no-pass",
        "--cn",
        "Test CA",
    ]);
    scratch.ok(&["pki", "issue", "by-hand.test", "--ca-dir", a, "--no-pass"]);
    let moved = scratch.ok(&["pki", "ca", "migrate", "--ca-dir", a, "--to", &db]);
    assert!(
        moved.lines().any(
            |l| l.split_whitespace().collect::<Vec<_>>()[..].starts_with(&[
                "certificates",
                "1",
                "1"
            ])
        ),
        "{moved}"
    );
    // The second machine: its own copy of the CA's certificate and key.
    let dir_b: PathBuf = scratch.path("replica-b");
    std::fs::create_dir(&dir_b).unwrap();
    for file in ["ca.pem", "ca-key.pem"] {
        std::fs::copy(dir_a.join(file), dir_b.join(file)).unwrap();
    }

    let ports = (free_port(), free_port());
    let (port_a, port_b, port_nginx) = (free_port(), free_port(), free_port());
    let replica_a = start_replica(&scratch, "replica A", &dir_a, port_a, ports, &db, false);
    let replica_b = start_replica(&scratch, "replica B", &dir_b, port_b, ports, &db, true);
    let nginx_dir = scratch.path("nginx");
    std::fs::create_dir(&nginx_dir).unwrap();
    let conf = nginx_dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(&nginx_dir, port_nginx, &[port_a, port_b])).unwrap();
    let mut cmd = Command::new("nginx");
    cmd.arg("-e")
        .arg(nginx_dir.join("nginx-startup.log"))
        .arg("-p")
        .arg(&nginx_dir)
        .arg("-c")
        .arg(&conf);
    let nginx = Daemon::spawn("nginx", cmd);
    retry(|| std::net::TcpStream::connect(("127.0.0.1", port_nginx)).ok())
        .unwrap_or_else(|| panic!("nginx never listened: {}", nginx.log()));

    let mut ca = Ca {
        _daemons: vec![nginx, replica_b, replica_a],
        kind: Kind::Squirrel,
        directory: format!("https://127.0.0.1:{port_nginx}/acme/directory"),
        bundle: dir_a.join("ca.pem"),
        root: dir_a.join("ca.pem"),
        http01_port: ports.0,
        tlsalpn01_port: ports.1,
        ca_dir: Some(dir_a.clone()),
        management: None,
        restart: None,
        scratch,
    };
    // The directory names nginx's address, whichever replica answers.
    for _ in 0..2 {
        let directory = ca.curl(&[&ca.directory]);
        assert!(
            directory.contains(&format!(
                "\"https://127.0.0.1:{port_nginx}/acme/new-order\""
            )),
            "{directory}"
        );
    }

    // First run: 50 orders, every one valid, served by both replicas.
    let mut issued = Vec::new();
    for i in 0..FIRST_LEGO {
        issued.push(lego_order(&ca, &format!("lego-{i}")));
    }
    for i in 0..FIRST_CERTBOT {
        issued.push(certbot_order(&ca, &format!("certbot-{i}")));
    }
    let (by_a, by_b) = (issued_by(&ca._daemons[2]), issued_by(&ca._daemons[1]));
    eprintln!("first run: replica A issued {by_a}, replica B {by_b}");
    assert_eq!(by_a + by_b, FIRST_LEGO + FIRST_CERTBOT);
    assert!(by_a > 0 && by_b > 0, "round robin: A {by_a}, B {by_b}");

    // Second run: replica A is killed (SIGKILL) part-way; the clients
    // finish through replica B.
    for i in 0..SECOND_LEGO {
        if i == KILL_AFTER {
            ca._daemons[2].signal("KILL");
        }
        issued.push(lego_order(&ca, &format!("lego-second-{i}")));
    }

    // Every certificate is in the ledger exactly once; no serial repeats.
    let a = dir_a.to_str().unwrap();
    let out = ca
        .scratch
        .ok(&["pki", "list", "--ca-dir", a, "--db", &db, "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let mut times: HashMap<String, usize> = HashMap::new();
    for row in &rows {
        *times
            .entry(normal_serial(row["serial"].as_str().unwrap()))
            .or_default() += 1;
    }
    assert!(
        times.values().all(|&n| n == 1),
        "a serial repeats: {times:?}"
    );
    for serial in &issued {
        assert_eq!(
            times.get(serial),
            Some(&1),
            "{serial} is not in the ledger once"
        );
    }
    let acme_rows = rows.iter().filter(|r| r["account"].is_string()).count();
    assert_eq!(acme_rows, issued.len(), "ACME rows in the ledger");
    // Each replica's own HTTPS certificate is in the shared ledger too.
    let identities = rows
        .iter()
        .filter(|r| r["account"].is_null() && r["alt_names"][0] == "localhost")
        .count();
    assert_eq!(identities, 2, "the replicas' own certificates: {out}");
    assert_eq!(
        rows.len(),
        issued.len() + 2 + 1,
        "and the one signed by hand"
    );

    // Revocations through nginx (lego, to the surviving replica) and by
    // hand: the CRL each replica's CA directory makes lists all of them.
    for dir in ["lego-0", "lego-1"] {
        ca.lego(dir, &["--domains", SITE, "revoke"]).success();
    }
    let by_hand = &issued[FIRST_LEGO];
    ca.scratch.ok(&[
        "pki",
        "revoke",
        by_hand,
        "--ca-dir",
        a,
        "--no-pass",
        "--db",
        &db,
    ]);
    let mut revoked = vec![issued[0].clone(), issued[1].clone(), by_hand.clone()];
    revoked.sort();
    assert_eq!(crl_serials(&ca.scratch, &dir_a, &db, "a.crl"), revoked);
    assert_eq!(crl_serials(&ca.scratch, &dir_b, &db, "b.crl"), revoked);
    // Replica B's own certificate issued again (its file gone) on SIGHUP,
    // while it runs: recorded in the shared ledger too.
    std::fs::remove_file(dir_b.join("acme-server.pem")).unwrap();
    ca._daemons[1].signal("HUP");
    ca._daemons[1].wait_for_line("SIGHUP: reloaded (issued");
    let out = ca
        .scratch
        .ok(&["pki", "list", "--ca-dir", a, "--db", &db, "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let identities = rows
        .iter()
        .filter(|r| r["account"].is_null() && r["alt_names"][0] == "localhost")
        .count();
    assert_eq!(identities, 3, "{out}");
    // SIGTERM: replica B stops cleanly (its CA, which records through the
    // database, is dropped inside the server's runtime).
    ca._daemons[1].signal("TERM");
    let (status, log) = ca._daemons[1].wait_exit();
    assert!(status.success(), "{status}: {log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        !log.contains(cluster.password()),
        "the password is in a log"
    );
}
