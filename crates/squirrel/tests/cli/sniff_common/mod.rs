//! Helpers of the `sniff_*` tests: real servers on loopback (the helper
//! functions are the only place that knows which server plays the part),
//! the spy running in the background, and tshark as the referee.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The body every test server returns: the tutorial's secret.
pub const SECRET: &str = "fluffy tail";

/// A server process killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `squirrel serve` on a free loopback port: the port comes from its
/// start-up line, "Serving the secret on http://127.0.0.1:PORT (...)".
fn squirrel_server(dir: &Path, extra: &[&Path]) -> Server {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("squirrel"));
    cmd.current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--message", SECRET]);
    if let [cert, key] = extra {
        cmd.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    let mut child = cmd
        .env_remove("SSLKEYLOGFILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .expect("squirrel serve");
    let mut out = child.stdout.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line).into_owned();
    let port = line
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .and_then(|url| url.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in the start-up line {line:?}"));
    Server { child, port }
}

/// The tutorial's step 1 server: the secret over plain HTTP on 127.0.0.1.
pub fn http_server(dir: &Path) -> Server {
    squirrel_server(dir, &[])
}

/// The tutorial's step 13 server: the secret over HTTPS with `cert`/`key`.
pub fn https_server(dir: &Path, cert: &Path, key: &Path) -> Server {
    squirrel_server(dir, &[cert, key])
}

/// `squirrel sniff ARGS` running in the background, output to files.
pub struct Spy {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// What the spy printed, and how it ended.
pub struct Seen {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Seen {
    /// N of the summary's "Summary: N packets".
    pub fn packets(&self) -> u64 {
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("Summary: "))
            .unwrap_or_else(|| panic!("no summary in {}", self.stderr));
        line["Summary: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
}

impl Spy {
    /// Starts the spy and waits until it says it is listening (`ready`
    /// is the start of the line it prints on stderr once ready).
    pub fn start(dir: &Path, args: &[&str], ready: &str) -> Spy {
        let stdout = dir.join(format!("spy-{}.out", args.len()));
        let stderr = dir.join(format!("spy-{}.err", args.len()));
        let child = Command::new(assert_cmd::cargo::cargo_bin!("squirrel"))
            .current_dir(dir)
            .arg("sniff")
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("squirrel sniff");
        let spy = Spy {
            child,
            stdout,
            stderr,
        };
        // A bound, not a timing assertion: the spy says when it is ready.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let err = std::fs::read_to_string(&spy.stderr).unwrap_or_default();
            if err.lines().any(|l| l.starts_with(ready)) {
                return spy;
            }
            assert!(Instant::now() < deadline, "the spy never got ready: {err}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The spy's stderr so far.
    pub fn stderr_now(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Ctrl-C, then what it printed.
    pub fn stop(self) -> Seen {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -INT {pid}");
        self.finish()
    }

    /// Waits for the spy to end by itself (--count).
    pub fn finish(mut self) -> Seen {
        let status = self.child.wait().unwrap();
        Seen {
            code: status.code(),
            stdout: std::fs::read_to_string(&self.stdout).unwrap(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap(),
        }
    }
}

/// Runs curl with `args`, asserting success; returns its output.
pub fn curl(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> String {
    let out = Command::new("curl")
        .current_dir(dir)
        .arg("-sS")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .stdin(Stdio::null())
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs tshark, asserting success; returns stdout.
pub fn tshark(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tshark is installed by scripts/test.sh");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number of packets tshark counts in a file.
pub fn tshark_count(dir: &Path, file: &str) -> u64 {
    tshark(dir, &["-r", file, "-T", "fields", "-e", "frame.number"])
        .lines()
        .count() as u64
}

/// A Fernet token of "fluffy tail" made by Python's `cryptography` at
/// 2024-05-01 12:00:00 UTC (its key is long gone: the spy cannot read it).
pub const TOKEN: &str = "gAAAAABmMi7AKr_AHRsMIDVIf4e1yLRU891FOdBSzzRIj9mfgSwppYC_eWo_A8l5R_gjYv3ysglDsc4TxPaIi7OibBmqp42iGw==";

/// Writes a capture of three conversations on port 5683, made frame by
/// frame: a plain HTTP fetch of the secret whose response is split across
/// two segments, a fetch of a Fernet token, and the first flights of a TLS
/// handshake for "localhost". Timestamps start at 2024-05-01 12:00:00 UTC,
/// one millisecond apart.
pub fn sample_capture(path: &Path) -> u64 {
    use squirrel_sniff::synth::{application_data, client_hello, server_flight, Conversation};
    let server: std::net::SocketAddr = "127.0.0.1:5683".parse().unwrap();
    let mut frames = Vec::new();
    let mut plain = Conversation::new("127.0.0.1:40000".parse().unwrap(), server, 1);
    frames.extend(plain.open());
    frames.extend(plain.send(
        true,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:5683\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    ));
    frames.push(plain.ack(false));
    frames.extend(plain.send(
        false,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nfluffy",
    ));
    frames.extend(plain.send(false, b" tail"));
    frames.push(plain.ack(true));
    frames.push(plain.fin(true));
    frames.push(plain.fin(false));
    frames.push(plain.ack(true));
    let mut fernet = Conversation::new("127.0.0.1:40001".parse().unwrap(), server, 2);
    frames.extend(fernet.open());
    frames.extend(fernet.send(true, b"GET / HTTP/1.1\r\nHost: 127.0.0.1:5683\r\n\r\n"));
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{TOKEN}",
        TOKEN.len()
    );
    frames.extend(fernet.send(false, resp.as_bytes()));
    let mut tls = Conversation::new(
        "[::1]:40002".parse().unwrap(),
        "[::1]:5683".parse().unwrap(),
        3,
    );
    frames.extend(tls.open());
    frames.extend(tls.send(true, &client_hello("localhost", 7)));
    frames.extend(tls.send(false, &server_flight(500)));
    frames.extend(tls.send(true, &application_data(35)));
    let mut w = squirrel_sniff::file::Writer::create(path, 1, Some("lo"), false).unwrap();
    for (i, data) in frames.iter().enumerate() {
        let ts = squirrel_sniff::Timestamp {
            secs: 1_714_564_800,
            nanos: i as u32 * 1_000_000,
        };
        w.write(&squirrel_sniff::Frame {
            ts,
            orig_len: data.len() as u32,
            data,
            linktype: 1,
        })
        .unwrap();
    }
    w.finish(None).unwrap();
    frames.len() as u64
}
