//! Live capture through a Linux AF_PACKET socket, the mechanism libpcap
//! itself uses, without libpcap (tutorial step 3: "capture the loopback
//! interface"). It needs root or CAP_NET_RAW.
//!
//! On `lo` every frame passes the tap twice, once leaving and once
//! arriving; the copy marked PACKET_OUTGOING is skipped so each packet is
//! shown once. The socket is bound to the interface before it is given a
//! protocol, so that no frame from another interface slips in between.

use crate::engine::Engine;
use crate::error::SniffError;
use crate::frame::{Frame, Timestamp};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const ETH_P_ALL: u16 = 0x0003;
const ARPHRD_LOOPBACK: u32 = 772;
const BUFFER: usize = 256 * 1024;

/// An open capture on one interface.
pub struct LiveCapture {
    fd: OwnedFd,
    name: String,
    linktype: u32,
    loopback: bool,
    buf: Vec<u8>,
}

/// The names of this machine's interfaces, for error messages.
pub fn interfaces() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

impl LiveCapture {
    pub fn open(interface: &str) -> Result<LiveCapture, SniffError> {
        let fail = |what, source| SniffError::Capture {
            interface: interface.to_string(),
            what,
            source,
        };
        let cname = std::ffi::CString::new(interface).map_err(|_| SniffError::NoSuchInterface {
            interface: interface.to_string(),
            available: interfaces().join(", "),
        })?;
        // SAFETY: if_nametoindex reads a NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if index == 0 {
            return Err(SniffError::NoSuchInterface {
                interface: interface.to_string(),
                available: interfaces().join(", "),
            });
        }
        // Protocol 0: receive nothing until bound to the interface.
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let err = std::io::Error::last_os_error();
            return Err(match err.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => SniffError::PermissionDenied {
                    interface: interface.to_string(),
                },
                _ => fail("cannot open an AF_PACKET socket", err),
            });
        }
        // SAFETY: `raw` is a fresh descriptor that we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let size: libc::c_int = 8 << 20;
        // SAFETY: setsockopt with a pointer to a live c_int. Failure only
        // means a smaller buffer, so it is ignored.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        // SAFETY: a zeroed sockaddr_ll is valid; fields set below.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETH_P_ALL.to_be();
        addr.sll_ifindex = index as i32;
        // SAFETY: bind with a valid sockaddr_ll of the right size.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(fail(
                "cannot bind to the interface",
                std::io::Error::last_os_error(),
            ));
        }
        let hwtype: u32 = std::fs::read_to_string(format!("/sys/class/net/{interface}/type"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(1);
        // Ethernet-like devices give Ethernet frames; IP tunnels give IP.
        let linktype = match hwtype {
            1 | ARPHRD_LOOPBACK => crate::dissect::ethernet::linktype::ETHERNET,
            _ => crate::dissect::ethernet::linktype::RAW,
        };
        Ok(LiveCapture {
            fd,
            name: interface.to_string(),
            linktype,
            loopback: hwtype == ARPHRD_LOOPBACK,
            buf: vec![0; BUFFER],
        })
    }

    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits up to `timeout` for the next frame (`Ok(None)` on timeout or
    /// signal). A zero timeout only takes what is already queued.
    pub fn next_frame(&mut self, timeout: Duration) -> Result<Option<Frame<'_>>, SniffError> {
        loop {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: poll on one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    return Ok(None);
                }
                return Err(self.fail("poll failed", err));
            }
            if n == 0 {
                return Ok(None);
            }
            // SAFETY: zeroed sockaddr_ll is valid for recvfrom to fill.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: the buffer and address are valid for their lengths.
            // MSG_TRUNC makes the call return the frame's real length.
            let got = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                    (&mut from as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            if got < 0 {
                let err = std::io::Error::last_os_error();
                match err.kind() {
                    std::io::ErrorKind::WouldBlock => continue,
                    std::io::ErrorKind::Interrupted => return Ok(None),
                    _ => return Err(self.fail("cannot read a frame", err)),
                }
            }
            if self.loopback && from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let orig = got as usize;
            let captured = orig.min(self.buf.len());
            return Ok(Some(Frame {
                ts: Timestamp::now(),
                orig_len: orig as u32,
                data: &self.buf[..captured],
                linktype: self.linktype,
            }));
        }
    }

    /// Packets the kernel dropped since the last call (PACKET_STATISTICS).
    pub fn kernel_drops(&self) -> Option<u64> {
        let mut stats = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: getsockopt into a live struct of the given length.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(u64::from(stats.tp_drops))
    }

    fn fail(&self, what: &'static str, source: std::io::Error) -> SniffError {
        SniffError::Capture {
            interface: self.name.clone(),
            what,
            source,
        }
    }
}

/// Runs a live capture into the engine until Ctrl-C, `--count` or
/// `--duration`. When asked to stop, frames already queued in the socket
/// are still taken, so nothing that crossed the wire before is lost.
pub fn run<W: Write>(
    cap: &mut LiveCapture,
    engine: &mut Engine<W>,
    duration: Option<Duration>,
) -> Result<(), SniffError> {
    run_until(cap, engine, duration, &AtomicBool::new(false))
}

/// Like [`run`], and also stops when `stop` becomes true: for a program
/// that runs the spy in a thread beside its own servers (`squirrel demo`).
pub fn run_until<W: Write>(
    cap: &mut LiveCapture,
    engine: &mut Engine<W>,
    duration: Option<Duration>,
    stop: &AtomicBool,
) -> Result<(), SniffError> {
    let start = Instant::now();
    let tick = Duration::from_millis(100);
    let mut drained = 0u32;
    let mut flushed = Instant::now();
    loop {
        let left = duration.map(|d| d.saturating_sub(start.elapsed()));
        let stopping = crate::signal::stop_requested()
            || stop.load(Ordering::SeqCst)
            || left == Some(Duration::ZERO);
        let wait = if stopping {
            Duration::ZERO
        } else {
            left.map_or(tick, |l| l.min(tick))
        };
        if stopping {
            // Bounded, in case traffic never pauses.
            drained += 1;
            if drained > 100_000 {
                return Ok(());
            }
        }
        match cap.next_frame(wait)? {
            Some(frame) => {
                if !engine.push(&frame)? {
                    return Ok(());
                }
                if flushed.elapsed() >= tick {
                    engine.flush()?;
                    flushed = Instant::now();
                }
            }
            None if stopping => return Ok(()),
            None => {
                engine.flush()?;
                flushed = Instant::now();
            }
        }
    }
}
