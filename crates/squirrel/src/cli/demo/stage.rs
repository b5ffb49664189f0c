//! The stage of the demo: real servers (squirrel-http, in this process, on
//! free loopback ports), the real client, and the real spy (squirrel-sniff
//! on `lo`, or its relay when the demo is not root).

use anyhow::{anyhow, Context, Result};
use squirrel_http::client::{self, Fetched, GetOptions};
use squirrel_http::diagnose::Failure;
use squirrel_http::target::Target;
use squirrel_http::{Limits, ReloadHandle, ServeOptions, Server, SiteSources};
use squirrel_sniff::capture::{self, LiveCapture};
use squirrel_sniff::file::{Reader, Writer};
use squirrel_sniff::filter::CaptureFilter;
use squirrel_sniff::{relay, Engine, Format, Options, Report};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A `squirrel serve` running in this process; stopped when dropped.
pub struct Running {
    pub port: u16,
    reload: ReloadHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), squirrel_http::ServeError>>>,
    runtime: tokio::runtime::Handle,
}

impl Running {
    /// Reloads the server's files, as SIGHUP does, and waits until done.
    pub fn reload(&self) {
        self.runtime.block_on(self.reload.reload_and_wait());
    }
}

/// Starts a server on 127.0.0.1 with a free port.
pub fn serve(runtime: &tokio::runtime::Runtime, sources: SiteSources) -> Result<Running> {
    let options = ServeOptions {
        listen: "127.0.0.1:0".into(),
        sources,
        keylog: None,
        limits: Limits {
            shutdown_grace: Duration::from_secs(2),
            ..Limits::default()
        },
    };
    let server = runtime.block_on(Server::bind(options))?;
    let port = server.local_addr().port();
    let reload = server.reload_handle();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = runtime.spawn(server.run(async {
        let _ = rx.await;
    }));
    Ok(Running {
        port,
        reload,
        stop: Some(tx),
        task: Some(task),
        runtime: runtime.handle().clone(),
    })
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = self.runtime.block_on(task);
        }
    }
}

/// Fetches a URL as `squirrel get` does.
pub fn get(
    url: &str,
    anchors: Option<Vec<Vec<u8>>>,
    identity: Option<(Vec<Vec<u8>>, rustls_pki_types::PrivateKeyDer<'static>)>,
) -> Result<Fetched, Failure> {
    client::get(&GetOptions {
        target: Target::parse(url)?,
        anchors,
        anchor_policy: squirrel_pki::verify::AnchorPolicy::Strict,
        identity,
        insecure: false,
        timeout: Duration::from_secs(5),
        max_body: 1 << 20,
    })
}

/// How the spy watches: a capture on `lo` (root), or a relay (anyone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpyMode {
    Capture,
    Relay,
}

impl SpyMode {
    /// Capture when this process may open an AF_PACKET socket.
    pub fn detect() -> SpyMode {
        match LiveCapture::open("lo") {
            Ok(_) => SpyMode::Capture,
            Err(_) => SpyMode::Relay,
        }
    }
}

/// The spy, watching one server in a thread.
pub struct Spy {
    /// The port clients connect to: the server's (capture) or the relay's.
    pub port: u16,
    pub pcap: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Report, squirrel_sniff::SniffError>>>,
    lines: Arc<Mutex<Vec<u8>>>,
}

/// What the spy saw.
pub struct Seen {
    pub report: Report,
    /// One tshark-style line per packet.
    pub lines: Vec<String>,
    pub pcap: PathBuf,
}

/// A `Write` the spy's thread and the demo share.
#[derive(Clone)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Spy {
    /// Starts watching the server on `server_port`, writing `pcap`.
    pub fn start(mode: SpyMode, server_port: u16, secret: &str, pcap: PathBuf) -> Result<Spy> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let options = Options {
            format: Format::Summary,
            filter: CaptureFilter {
                port: Some(server_port),
                host: None,
            },
            secret: Some(secret.to_string()),
            ..Options::default()
        };
        let mut engine = Engine::new(Shared(lines.clone()), options);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (port, thread) = match mode {
            SpyMode::Capture => {
                let mut cap = LiveCapture::open("lo")?;
                engine.set_writer(Writer::create(&pcap, cap.linktype(), Some("lo"), false)?);
                let thread = std::thread::spawn(move || {
                    capture::run_until(&mut cap, &mut engine, None, &flag)?;
                    engine.finish()
                });
                (server_port, thread)
            }
            SpyMode::Relay => {
                let listener = relay::listen("127.0.0.1:0")?;
                let port = listener.local_addr().context("the relay's address")?.port();
                let upstream = ([127, 0, 0, 1], server_port).into();
                engine.set_writer(Writer::create(&pcap, 1, None, false)?);
                let thread = std::thread::spawn(move || {
                    relay::run_until(
                        listener,
                        upstream,
                        &mut engine,
                        None,
                        &mut std::io::sink(),
                        &flag,
                    )?;
                    engine.finish()
                });
                (port, thread)
            }
        };
        Ok(Spy {
            port,
            pcap,
            stop,
            thread: Some(thread),
            lines,
        })
    }

    /// Stops the spy and returns what it saw.
    pub fn stop(mut self) -> Result<Seen> {
        // Let the last packets (FIN, ACK) reach the socket.
        std::thread::sleep(Duration::from_millis(50));
        self.stop.store(true, Ordering::SeqCst);
        let report = self
            .thread
            .take()
            .expect("the spy runs until stopped")
            .join()
            .map_err(|_| anyhow!("the spy's thread failed"))??;
        let text = String::from_utf8_lossy(&self.lines.lock().map_err(|_| anyhow!("poisoned"))?)
            .into_owned();
        Ok(Seen {
            report,
            lines: text.lines().map(str::to_string).collect(),
            pcap: self.pcap.clone(),
        })
    }
}

impl Drop for Spy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The hex-dump lines of packet `number` of `pcap` that hold `secret`, as
/// Wireshark's bottom pane shows them.
pub fn hex_lines(pcap: &Path, number: u64, secret: &str) -> Result<Vec<String>> {
    let mut reader = Reader::open(pcap)?;
    let mut n = 0;
    while let Some(frame) = reader.next_frame()? {
        n += 1;
        if n != number {
            continue;
        }
        let Some(at) = squirrel_sniff::secret::find(frame.data, secret.as_bytes()) else {
            return Ok(Vec::new());
        };
        let mut dump = Vec::new();
        squirrel_sniff::display::write_hex(&mut dump, frame.data)?;
        let first = at / 16;
        let last = (at + secret.len() - 1) / 16;
        return Ok(String::from_utf8_lossy(&dump)
            .lines()
            .skip(first)
            .take(last - first + 1)
            .map(str::to_string)
            .collect());
    }
    Ok(Vec::new())
}
