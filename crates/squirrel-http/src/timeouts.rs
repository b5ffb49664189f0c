//! Timeouts against slow and idle clients, enforced by the connection's own
//! I/O wrapper rather than a timer per request.
//!
//! Two limits: a request's headers must arrive within `header` from their
//! first byte (a slowloris client is cut off), and a connection on which
//! nothing moves for `idle` is closed. On HTTP/2, "moves" means frames of
//! requests, and the header clock runs while a header block is open (see
//! [`crate::h2_frames`]): PINGs keep nothing alive. Each I/O call costs one clock read
//! and a flag or two; the single timer of a connection is re-armed only
//! when it fires, so a busy keep-alive connection pays almost nothing.
//! (hyper's own header timer is reset on every request, which costs a
//! third of the throughput of a small response.)

use crate::h2_frames::FrameWatcher;
use crate::head_scan::HeadScanner;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Shared between the wrapper and the request handler: set when a
/// request's headers have been read (the handler runs); and the number of
/// the first request whose head repeats Content-Length, found in the bytes.
#[derive(Debug, Default)]
pub struct HeadersDone {
    done: AtomicBool,
    requests: AtomicU64,
    repeated_length_at: AtomicU64,
}

impl HeadersDone {
    /// Called by the request handler: the headers are in. Returns whether
    /// this request's head repeated Content-Length (HTTP/1; answer 400).
    pub fn mark(&self) -> bool {
        self.done.store(true, Ordering::Relaxed);
        let number = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        self.repeated_length_at.load(Ordering::Relaxed) == number
    }

    fn take(&self) -> bool {
        self.done.swap(false, Ordering::Relaxed)
    }

    fn repeated_length(&self, request: u64) {
        let _ = self.repeated_length_at.compare_exchange(
            0,
            request,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

/// The error a connection ends with when a request's headers came too
/// slowly (the access log shows it as a 408).
#[derive(Debug)]
pub struct HeaderTimeout;

impl fmt::Display for HeaderTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request header timeout")
    }
}

impl std::error::Error for HeaderTimeout {}

/// Wraps a connection's stream with header and idle timeouts.
pub struct Timeouts<T> {
    inner: T,
    header: Duration,
    idle: Duration,
    headers_done: Arc<HeadersDone>,
    /// When the headers of the request being received began to arrive.
    request_started: Option<Instant>,
    /// A response was written since the last request began.
    responded: bool,
    /// Bytes of the request being received have arrived (a connection
    /// that says nothing at all is closed without a log line, as nginx does).
    heard: bool,
    last_activity: Instant,
    timer: Pin<Box<Sleep>>,
    armed: bool,
    /// HTTP/2: the client's frames, followed.
    frames: Option<FrameWatcher>,
    /// HTTP/1: the request heads, followed for a repeated Content-Length.
    heads: Option<HeadScanner>,
}

impl<T> Timeouts<T> {
    /// `http2`: the stream carries HTTP/2 frames (ALPN h2). `max_head`:
    /// the largest request head allowed, in bytes.
    pub fn new(
        inner: T,
        (header, idle): (Duration, Duration),
        max_head: usize,
        headers_done: Arc<HeadersDone>,
        http2: bool,
    ) -> Self {
        let now = Instant::now();
        Timeouts {
            inner,
            header,
            idle,
            headers_done,
            // An HTTP/1 request's clock starts with the connection; an
            // HTTP/2 one with its first header block.
            request_started: (!http2).then_some(now),
            responded: false,
            heard: false,
            last_activity: now,
            timer: Box::pin(tokio::time::sleep_until(now + header.min(idle))),
            armed: false,
            frames: http2.then(FrameWatcher::new),
            heads: (!http2).then(|| HeadScanner::new(max_head)),
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    fn on_read(&mut self, read: &[u8]) {
        let now = Instant::now();
        if let Some(frames) = &mut self.frames {
            if frames.observe(read).activity {
                self.last_activity = now;
            }
            self.request_started = match frames.block_open() {
                true => self.request_started.or(Some(now)),
                false => None,
            };
            return;
        }
        if let Some(request) = self.heads.as_mut().and_then(|h| h.observe(read)) {
            self.headers_done.repeated_length(request);
        }
        let n = read.len();
        self.last_activity = now;
        if self.headers_done.take() {
            self.request_started = None;
            self.heard = false;
        }
        if n > 0 && self.request_started.is_none() && self.responded {
            self.request_started = Some(now);
            self.responded = false;
        }
        self.heard |= n > 0 && self.request_started.is_some();
    }

    fn on_write(&mut self) {
        if self.frames.is_some() {
            return; // answers, PING acks: the client's frames tell activity
        }
        self.last_activity = Instant::now();
        if self.headers_done.take() {
            self.request_started = None;
            self.heard = false;
        }
        self.responded = true;
    }

    /// The next moment a limit could be reached.
    fn deadline(&self) -> Instant {
        let idle = self.last_activity + self.idle;
        match self.request_started {
            Some(started) => idle.min(started + self.header),
            None => idle,
        }
    }

    fn poll_limits(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        // Once registered, the timer wakes this task when it fires; until
        // then there is nothing to check.
        if self.armed && !self.timer.is_elapsed() {
            return Poll::Pending;
        }
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                self.armed = true;
                return Poll::Pending;
            }
            if self.headers_done.take() {
                self.request_started = None;
            }
            let now = Instant::now();
            if let Some(started) = self.request_started {
                if now >= started + self.header {
                    if self.heard || self.frames.is_some() {
                        return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, HeaderTimeout));
                    }
                    return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "no request"));
                }
            }
            if now >= self.last_activity + self.idle {
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "idle timeout"));
            }
            let next = self.deadline();
            self.timer.as_mut().reset(next);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Timeouts<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.on_read(&buf.filled()[before..]);
                Poll::Ready(result)
            }
            Poll::Pending => match this.poll_limits(cx) {
                Poll::Ready(err) => Poll::Ready(Err(err)),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Timeouts<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if result.is_ready() {
            this.on_write();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if result.is_ready() {
            this.on_write();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
