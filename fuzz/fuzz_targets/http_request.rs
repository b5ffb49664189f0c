//! The server's request path: each input is sent as raw bytes on a fresh
//! TCP connection to a plain-HTTP `squirrel_http::Server` (127.0.0.1, port
//! chosen by the kernel) that runs for the whole process; the answer is
//! read with a short timeout. Every 16 inputs, and after any input the
//! server did not answer, a good `GET /` must still get 200.
//!
//! A panic in a server task aborts the process too (libfuzzer-sys installs
//! a panic hook that aborts), but may be reported against a later input:
//! reproduce with the artifact and, if needed, the few inputs before it.
//! Only the public `Server`/`ServeOptions`/`SiteSources`/`MessageSource`/
//! `Limits` API is used.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squirrel_http::{Limits, MessageSource, ServeOptions, Server, SiteSources};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

struct Running {
    _runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
}

fn server() -> &'static Running {
    static SERVER: OnceLock<Running> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let options = ServeOptions {
            listen: "127.0.0.1:0".into(),
            sources: SiteSources {
                message: MessageSource::Text("fluffy tail".into()),
                tls: None,
                fernet: None,
            },
            keylog: None,
            limits: Limits {
                header_timeout: Duration::from_secs(1),
                idle_timeout: Duration::from_secs(2),
                handshake_timeout: Duration::from_secs(1),
                ..Limits::default()
            },
        };
        let server = runtime.block_on(Server::bind(options)).unwrap();
        let addr = server.local_addr();
        runtime.spawn(server.run(std::future::pending::<()>()));
        Running {
            _runtime: runtime,
            addr,
        }
    })
}

/// Sends `bytes`, half-closes, and reads what comes back within `wait`.
fn exchange(addr: SocketAddr, bytes: &[u8], wait: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .expect("the server must accept connections");
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.set_write_timeout(Some(wait)).unwrap();
    // The server may answer and close before reading everything: fine.
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while answer.len() < 1 << 20 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    answer
}

fn assert_healthy(addr: SocketAddr) {
    let answer = exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "the server no longer answers GET / with 200: {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(200)])
    );
}

fuzz_target!(|data: &[u8]| {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let addr = server().addr;
    let answer = exchange(addr, data, Duration::from_millis(200));
    let runs = RUNS.fetch_add(1, Ordering::Relaxed);
    if answer.is_empty() || runs % 16 == 0 {
        assert_healthy(addr);
    }
});
