//! A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` in a
//! temporary folder, listening on 127.0.0.1 on a free port (and on a unix
//! socket in that folder), stopped and deleted when dropped.
//!
//! PostgreSQL refuses to run as root: as root (CI), the cluster runs as the
//! `postgres` user of Debian's package, through `runuser`; as anyone else,
//! as that user. The superuser `squirrel` has a random password, so that
//! the tests also see that the password never shows in squirrel's output.
//! Each [`PgCluster::database`] call makes a fresh, empty database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian's `postgresql` package puts the server programs.
const BIN_DIRS: &[&str] = &[
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
];

/// A running cluster.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    password: String,
    databases: AtomicU32,
}

/// Why no cluster can be started here, or `None` when one can: tests that
/// need PostgreSQL call this first and fail with the reason (the
/// programs are installed by `scripts/test.sh`).
pub fn unavailable() -> Option<String> {
    if bin_dir().is_none() {
        return Some(format!(
            "PostgreSQL's initdb is not in any of {BIN_DIRS:?}: install Debian's `postgresql` \
             (scripts/test.sh does)"
        ));
    }
    if is_root() && !Path::new("/usr/sbin/runuser").exists() && which("runuser").is_none() {
        return Some("runuser (util-linux) is needed to run PostgreSQL as root".into());
    }
    None
}

fn bin_dir() -> Option<PathBuf> {
    BIN_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("initdb").exists())
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A free TCP port on 127.0.0.1 (free when asked; PostgreSQL takes it
/// right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("random bytes");
    hex::encode(buf)
}

impl PgCluster {
    /// Makes and starts a cluster; panics with what is missing when it
    /// cannot (see [`unavailable`]).
    pub fn start() -> PgCluster {
        PgCluster::start_with(None)
    }

    /// A cluster with TLS on (`ssl = on`), presenting `cert_pem` (the
    /// certificate, then its chain) with the key `key_pem`.
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> PgCluster {
        PgCluster::start_with(Some((cert_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> PgCluster {
        if let Some(why) = unavailable() {
            panic!("cannot start PostgreSQL: {why}");
        }
        let bin = bin_dir().expect("checked");
        let dir = std::env::temp_dir().join(format!("squirrel-pg-{}", random_hex(8)));
        std::fs::create_dir(&dir).expect("a temporary folder");
        let cluster = PgCluster {
            dir,
            bin,
            port: free_port(),
            password: random_hex(16),
            databases: AtomicU32::new(0),
        };
        let pwfile = cluster.dir.join("pw");
        std::fs::write(&pwfile, &cluster.password).expect("write the password file");
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            cluster.port,
            cluster.dir.display()
        );
        if let Some((cert, key)) = tls {
            let (cert_file, key_file) = (
                cluster.dir.join("server.crt"),
                cluster.dir.join("server.key"),
            );
            std::fs::write(&cert_file, cert).expect("write the server certificate");
            std::fs::write(&key_file, key).expect("write the server key");
            // PostgreSQL refuses a key that others may read.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                .expect("chmod the server key");
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert_file.display(),
                key_file.display()
            ));
        }
        if is_root() {
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&cluster.dir)
                .status()
                .expect("chown");
            assert!(chown.success(), "chown the cluster folder to postgres");
        }
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                cluster.data().as_os_str(),
                "-U".as_ref(),
                "squirrel".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "--auth=scram-sha-256".as_ref(),
                "-N".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C.UTF-8".as_ref(),
            ],
        );
        cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                cluster.data().as_os_str(),
                "-l".as_ref(),
                cluster.dir.join("log").as_os_str(),
                "-w".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        );
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of PostgreSQL's programs as the cluster's user; panics
    /// with its output and the server's log when it fails.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        if let Err(why) = self.try_run(program, args) {
            panic!("{why}");
        }
    }

    fn try_run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
        let path = self.bin.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{program} failed: {}{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        ))
    }

    /// The superuser's password (a secret the tests look for in output).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The TCP port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the cluster's `postgres` database.
    fn admin_url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `name` in this cluster, with the password.
    pub fn url_of(&self, name: &str) -> String {
        format!(
            "postgres://squirrel:{}@127.0.0.1:{}/{name}",
            self.password, self.port
        )
    }

    /// Makes a new empty database and returns its URL (with the password).
    pub async fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("ca{n}");
        let (client, connection) =
            tokio_postgres::connect(&self.admin_url(), tokio_postgres::NoTls)
                .await
                .expect("connect to the test cluster");
        let task = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a database");
        drop(client);
        let _ = task.await;
        self.url_of(&name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Never a panic here (a failing test is unwinding through it).
        let _ = self.try_run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data().as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
