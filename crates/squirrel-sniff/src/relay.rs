//! The spy for people without root: a relay that sits on the path between
//! the client and the server, forwards every byte both ways, and shows
//! them. That is exactly what an on-path spy (a Wi-Fi access point, a
//! proxy, a router) reads, so the lessons of tutorial steps 3, 7 and 13
//! hold here too: plain HTTP shows the secret, Fernet and TLS do not.
//!
//! Each relayed connection is replayed through the engine as the frames a
//! capture between client and server would hold (handshake, data segments,
//! FINs), so the display, the filters, `--secret` and `--write` all work as
//! for a live capture.

use crate::engine::Engine;
use crate::error::SniffError;
use crate::frame::{Frame, Timestamp};
use crate::synth::Conversation;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

enum Event {
    Open {
        id: u32,
        client: SocketAddr,
    },
    Data {
        id: u32,
        from_client: bool,
        bytes: Vec<u8>,
    },
    Fin {
        id: u32,
        from_client: bool,
    },
    Failed {
        id: u32,
        reason: String,
    },
}

/// Binds the relay's listening socket (done first, so that a busy port is
/// reported before anything else).
pub fn listen(addr: &str) -> Result<TcpListener, SniffError> {
    TcpListener::bind(addr).map_err(|source| SniffError::Relay {
        what: format!(
            "cannot listen on {addr} (--relay): pick a free address and port, \
             for example 127.0.0.1:8000"
        ),
        source,
    })
}

/// Relays connections from `listener` to `upstream` until Ctrl-C,
/// `--count` or `--duration`, showing everything through `engine`.
/// Connection failures are reported on `log` (stderr) and the relay goes on.
pub fn run<W: Write>(
    listener: TcpListener,
    upstream: SocketAddr,
    engine: &mut Engine<W>,
    duration: Option<Duration>,
    log: &mut dyn Write,
) -> Result<(), SniffError> {
    run_until(
        listener,
        upstream,
        engine,
        duration,
        log,
        &AtomicBool::new(false),
    )
}

/// Like [`run`], and also stops when `stop` becomes true (`squirrel demo`).
pub fn run_until<W: Write>(
    listener: TcpListener,
    upstream: SocketAddr,
    engine: &mut Engine<W>,
    duration: Option<Duration>,
    log: &mut dyn Write,
    stop: &AtomicBool,
) -> Result<(), SniffError> {
    let (tx, rx) = channel();
    let done = Arc::new(AtomicBool::new(false));
    listener
        .set_nonblocking(true)
        .map_err(|source| SniffError::Relay {
            what: "cannot configure the listening socket".into(),
            source,
        })?;
    let accept_done = done.clone();
    std::thread::spawn(move || accept_loop(listener, upstream, tx, accept_done));

    let start = Instant::now();
    let mut conns: HashMap<u32, Conversation> = HashMap::new();
    // Once asked to stop, what the relay already forwarded is still
    // recorded: each event is queued before its bytes are forwarded, so a
    // client may have its answer while the event waits here (a busy
    // machine). Those are drained, for at most DRAIN_ON_STOP.
    let mut stopping_until: Option<Instant> = None;
    let result = loop {
        if stopping_until.is_none()
            && (crate::signal::stop_requested()
                || stop.load(Ordering::SeqCst)
                || duration.is_some_and(|d| start.elapsed() >= d))
        {
            stopping_until = Some(Instant::now() + DRAIN_ON_STOP);
        }
        let event = match stopping_until {
            Some(until) => match rx.try_recv() {
                Ok(e) if Instant::now() < until => e,
                _ => break Ok(()),
            },
            None => match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    engine.flush()?;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break Ok(()),
            },
        };
        let frames = match event {
            Event::Open { id, client } => {
                let mut c = Conversation::new(client, upstream, id);
                let frames = c.open();
                conns.insert(id, c);
                frames
            }
            Event::Data {
                id,
                from_client,
                bytes,
            } => match conns.get_mut(&id) {
                Some(c) => {
                    let mut frames = c.send(from_client, &bytes);
                    frames.push(c.ack(!from_client));
                    frames
                }
                None => continue,
            },
            Event::Fin { id, from_client } => match conns.get_mut(&id) {
                Some(c) => vec![c.fin(from_client), c.ack(!from_client)],
                None => continue,
            },
            Event::Failed { id, reason } => {
                conns.remove(&id);
                let _ = writeln!(log, "squirrel: relay: {reason}");
                continue;
            }
        };
        let mut more = true;
        for data in &frames {
            let frame = Frame {
                ts: Timestamp::now(),
                orig_len: data.len() as u32,
                data,
                linktype: crate::dissect::ethernet::linktype::ETHERNET,
            };
            match engine.push(&frame) {
                Ok(true) => {}
                Ok(false) => {
                    more = false;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        engine.flush()?;
        if !more {
            break Ok(());
        }
    };
    done.store(true, Ordering::SeqCst);
    result
}

/// How long a stopping relay keeps recording the events already queued.
const DRAIN_ON_STOP: Duration = Duration::from_millis(500);

fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    tx: Sender<Event>,
    done: Arc<AtomicBool>,
) {
    let mut next_id = 1u32;
    while !done.load(Ordering::SeqCst) {
        let (client, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(_) => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let id = next_id;
        next_id = next_id.wrapping_add(1);
        let _ = client.set_nonblocking(false);
        let server = match TcpStream::connect_timeout(&upstream, Duration::from_secs(10)) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Event::Failed {
                    id,
                    reason: format!(
                        "cannot connect to the upstream {upstream} (--to): {e}; is the server running?"
                    ),
                });
                continue;
            }
        };
        if tx.send(Event::Open { id, client: peer }).is_err() {
            return;
        }
        let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
            continue;
        };
        let tx1 = tx.clone();
        let tx2 = tx.clone();
        std::thread::spawn(move || pump(id, true, client, server, tx1));
        std::thread::spawn(move || pump(id, false, s2, c2, tx2));
    }
}

/// Copies one direction. The event is sent before the bytes are forwarded,
/// so the display never shows an answer before its question.
fn pump(id: u32, from_client: bool, mut from: TcpStream, mut to: TcpStream, tx: Sender<Event>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = tx.send(Event::Fin { id, from_client });
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                let _ = tx.send(Event::Data {
                    id,
                    from_client,
                    bytes: buf[..n].to_vec(),
                });
                if to.write_all(&buf[..n]).is_err() {
                    let _ = from.shutdown(Shutdown::Read);
                    let _ = tx.send(Event::Fin { id, from_client });
                    return;
                }
            }
        }
    }
}
