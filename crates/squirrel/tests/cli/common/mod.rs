//! Helpers shared by the integration tests: the real `squirrel` binary in a
//! scratch directory with its own CA home, and the real openssl and python3.

use assert_cmd::Command;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A scratch directory with `SQUIRREL_HOME` inside it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn home(&self) -> PathBuf {
        self.path("ca")
    }

    /// `squirrel ARGS` run in the scratch directory, with no terminal.
    pub fn squirrel(&self, args: &[&str]) -> Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("squirrel"));
        cmd.current_dir(self.dir.path())
            .env("SQUIRREL_HOME", self.home())
            .env_remove("SECRET_KEY")
            .stdin(Stdio::null())
            .args(args);
        Command::from_std(cmd)
    }

    /// Runs squirrel and returns stdout, asserting success.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.squirrel(args).output().expect("run squirrel");
        assert!(
            out.status.success(),
            "squirrel {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Runs squirrel expecting exit code `code`; returns stderr + stdout.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.squirrel(args).output().expect("run squirrel");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(out.status.code(), Some(code), "squirrel {args:?}: {text}");
        assert!(
            !text.contains("panicked"),
            "squirrel {args:?} panicked: {text}"
        );
        text
    }

    /// Runs squirrel with extra environment; returns (exit code, stdout, stderr).
    pub fn squirrel_out(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let out = self
            .squirrel(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Starts an external program (a reference server) in the scratch
    /// directory, quiet, killed when the guard drops.
    pub fn spawn(&self, program: &str, args: &[&str]) -> Spawned {
        let child = std::process::Command::new(program)
            .current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        Spawned(child)
    }

    /// `openssl s_server` on a free loopback port with `cert` and `key`,
    /// `mode` being `-www` (a status page) or `-WWW` (files of the scratch
    /// directory); waits until it listens. Returns the guard and the port.
    pub fn openssl_server(&self, cert: &str, key: &str, mode: &str) -> (Spawned, u16) {
        let port = free_port();
        let accept = format!("127.0.0.1:{port}");
        let server = self.spawn(
            "openssl",
            &[
                "s_server", "-quiet", "-accept", &accept, "-cert", cert, "-key", key, mode,
            ],
        );
        retry(|| std::net::TcpStream::connect(("127.0.0.1", port)).ok()).expect("s_server listens");
        (server, port)
    }

    /// `squirrel pki issue ARGS` (with the CA's pw file); returns the serial
    /// it printed.
    pub fn issue(&self, args: &[&str]) -> String {
        let mut full = vec!["pki", "issue"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--pass-file", "pw"]);
        let out = self.ok(&full);
        out.lines()
            .find_map(|l| l.strip_prefix("  serial: "))
            .unwrap_or_else(|| panic!("no serial in {out}"))
            .to_string()
    }

    /// A CA in `$SQUIRREL_HOME` with passphrase "secret_password" in `pw`.
    pub fn init_ca(&self, extra: &[&str]) {
        self.write("pw", "secret_password\n");
        let mut args = vec!["pki", "ca", "init", "--pass-file", "pw"];
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read test file")
    }

    /// Runs a program in the scratch directory; returns (success, stdout+stderr).
    pub fn run(&self, program: &str, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new(program)
            .current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// Runs `openssl ARGS`, asserting success; returns its output.
    pub fn openssl(&self, args: &[&str]) -> String {
        let (ok, out) = self.run("openssl", args);
        assert!(ok, "openssl {args:?} failed: {out}");
        out
    }

    /// Runs a Python script in the scratch directory, asserting success.
    pub fn python(&self, script: &str) -> String {
        let (ok, out) = self.run("python3", &["-c", script]);
        assert!(ok, "python failed: {out}\nscript:\n{script}");
        out
    }
}

/// A child process killed on drop.
pub struct Spawned(pub std::process::Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when the tests run as root.
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Fails the test unless it runs as root. The tests that call it are
/// `#[ignore]`d for that reason: `bash scripts/test.sh` run as root
/// includes them (`cargo test -- --include-ignored`).
#[track_caller]
pub fn require_root(why: &str) {
    assert!(
        is_root(),
        "this test needs root ({why}): run it as root, e.g. `sudo bash scripts/test.sh`"
    );
}

/// `program` on PATH (and in the sbin directories, as root has them).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Fails the test, naming the package, when `program` is not installed:
/// `scripts/test.sh` installs every tool the tests drive.
#[track_caller]
pub fn require_tool(program: &str, package: &str) -> PathBuf {
    which(program).unwrap_or_else(|| {
        panic!("{program} is not installed: scripts/test.sh installs it (apt: {package})")
    })
}

/// A fresh directory under /tmp that user `nobody` can enter, holding a
/// copy of the squirrel binary it can run (the build directory may sit in
/// a home that only root enters). Removed when dropped.
pub struct NobodyDir {
    pub dir: tempfile::TempDir,
}

/// The uid and gid of `nobody` (and `nogroup`) on Debian.
pub const NOBODY: u32 = 65534;

impl NobodyDir {
    pub fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("squirrel-nobody-")
            .tempdir_in("/tmp")
            .expect("a directory under /tmp");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.path().join("squirrel");
        std::fs::copy(assert_cmd::cargo::cargo_bin!("squirrel"), &bin)
            .expect("copy the squirrel binary");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        NobodyDir { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The copy of the binary.
    pub fn squirrel(&self) -> PathBuf {
        self.path("squirrel")
    }

    /// A subdirectory that `nobody` owns (and may write in).
    pub fn owned_by_nobody(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        path
    }
}

/// A free TCP port on 127.0.0.1 (for servers that cannot be told port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Calls `attempt` until it returns Some, for at most ~10 s.
pub fn retry<T>(mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..100 {
        if let Some(value) = attempt() {
            return Some(value);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

/// A `squirrel serve` child process, stopped (SIGTERM) when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    /// The banner: "Serving the secret on URL (...)".
    pub banner: String,
    /// The URL from the banner, with the real port.
    pub url: String,
    pub port: u16,
    /// The server's stderr (its log), as it comes.
    log: Arc<ServerLog>,
    stderr: Option<std::thread::JoinHandle<()>>,
}

/// A child's stderr, line by line as it is written; `ended` once it closed.
#[derive(Default)]
struct ServerLog {
    text: Mutex<(String, bool)>,
    grew: Condvar,
}

impl ServerLog {
    /// Reads `stderr` to its end, line by line, waking the waiters.
    fn follow(self: Arc<Self>, stderr: impl std::io::Read) {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stderr);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line).unwrap_or(0);
            let mut text = self.text.lock().unwrap();
            text.0.push_str(&line);
            text.1 = n == 0;
            self.grew.notify_all();
            if n == 0 {
                return;
            }
        }
    }

    fn text(&self) -> String {
        self.text.lock().unwrap().0.clone()
    }
}

/// How long a test waits for a server's news before it fails.
pub const LOG_DEADLINE: Duration = Duration::from_secs(30);

impl Scratch {
    /// Starts `squirrel serve --listen 127.0.0.1:0 ARGS` and waits for its banner.
    pub fn serve(&self, args: &[&str]) -> ServerProcess {
        self.serve_with_env(args, &[])
    }

    /// Like [`Scratch::serve`], with extra environment variables.
    pub fn serve_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("squirrel"));
        cmd.current_dir(self.dir.path())
            .env("SQUIRREL_HOME", self.home())
            .env_remove("SSLKEYLOGFILE")
            .env_remove("SECRET_MESSAGE")
            .arg("serve");
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn squirrel serve");
        let log = Arc::new(ServerLog::default());
        let stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn({
            let log = log.clone();
            move || log.follow(stderr)
        });
        // The banner is printed once the server listens: the readiness signal.
        let mut banner = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .expect("read the banner");
        if banner.is_empty() {
            let _ = child.wait();
            let _ = stderr.join();
            panic!("squirrel serve {args:?} did not start: {}", log.text());
        }
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("a URL in the banner")
            .to_string();
        let port = url
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .parse()
            .expect("a port");
        ServerProcess {
            child,
            banner: banner.trim_end().to_string(),
            url,
            port,
            log,
            stderr: Some(stderr),
        }
    }
}

impl ServerProcess {
    /// Sends a signal (by name, as `kill -s`).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Stops the server with SIGTERM; returns its exit code and its log.
    pub fn stop(mut self) -> (Option<i32>, String) {
        self.signal("TERM");
        let status = self.child.wait().expect("wait for squirrel serve");
        let _ = self.stderr.take().unwrap().join();
        (status.code(), self.log.text())
    }

    /// Where the log ends now: [`ServerProcess::wait_for_log`] looks at
    /// what comes after it.
    pub fn log_mark(&self) -> usize {
        self.log.text.lock().unwrap().0.len()
    }

    /// Waits until the log, after `mark`, holds `needle`; returns the log
    /// after `mark`.
    pub fn wait_for_log(&self, mark: usize, needle: &str) -> String {
        self.wait_for_log_within(mark, needle, LOG_DEADLINE)
    }

    /// [`ServerProcess::wait_for_log`] for news that takes longer (a
    /// renewal due in a minute).
    pub fn wait_for_log_within(&self, mark: usize, needle: &str, deadline: Duration) -> String {
        self.wait_in_log_within(mark, &format!("{needle:?}"), deadline, |after| {
            after.contains(needle).then(|| after.to_string())
        })
    }

    /// Sends SIGHUP and waits for the server to log the reload's outcome;
    /// returns that line: "reloaded ... (SIGHUP)" or "reload failed, ...".
    pub fn reload(&self) -> String {
        let mark = self.log_mark();
        self.signal("HUP");
        self.wait_in_log(mark, "the outcome of the SIGHUP reload", |after| {
            after
                .lines()
                .find(|l| l.contains(" reloaded ") || l.contains(" reload failed"))
                .map(str::to_string)
        })
    }

    /// Waits until `found` finds something in the log after `mark`. Fails
    /// the test, with the log, if the server exits first or nothing comes
    /// within [`LOG_DEADLINE`].
    fn wait_in_log<T>(&self, mark: usize, what: &str, found: impl Fn(&str) -> Option<T>) -> T {
        self.wait_in_log_within(mark, what, LOG_DEADLINE, found)
    }

    fn wait_in_log_within<T>(
        &self,
        mark: usize,
        what: &str,
        within: Duration,
        found: impl Fn(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        let mut text = self.log.text.lock().unwrap();
        loop {
            if let Some(value) = found(&text.0[mark..]) {
                return value;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !text.1 && !left.is_zero(),
                "the server never logged {what} ({}); its log:\n{}",
                if text.1 {
                    "it exited".to_string()
                } else {
                    format!("waited {} s", within.as_secs())
                },
                text.0
            );
            text = self.log.grew.wait_timeout(text, left).unwrap().0;
        }
    }

    /// A URL on this server with another host name (e.g. localhost vs 127.0.0.1).
    pub fn url_for(&self, host: &str) -> String {
        let scheme = if self.url.starts_with("https") {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{host}:{}", self.port)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.stderr.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
