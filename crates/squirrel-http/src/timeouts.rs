//! Timeouts against slow and idle clients, enforced by the connection's own
//! I/O wrapper rather than a timer per request.
//!
//! Two limits: a request's headers must arrive within `header` from their
//! first byte (a slowloris client is cut off), and a connection on which
//! nothing moves for `idle` is closed. Each I/O call costs one clock read
//! and a flag or two; the single timer of a connection is re-armed only
//! when it fires, so a busy keep-alive connection pays almost nothing.
//! (hyper's own header timer is reset on every request, which costs a
//! third of the throughput of a small response.)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Shared between the wrapper and the request handler: set when a
/// request's headers have been read (the handler runs).
#[derive(Debug, Default)]
pub struct HeadersDone(AtomicBool);

impl HeadersDone {
    /// Called by the request handler: the headers are in.
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn take(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }
}

/// Wraps a connection's stream with header and idle timeouts.
pub struct Timeouts<T> {
    inner: T,
    header: Option<Duration>,
    idle: Duration,
    headers_done: Arc<HeadersDone>,
    /// When the headers of the request being received began to arrive.
    request_started: Option<Instant>,
    /// A response was written since the last request began.
    responded: bool,
    last_activity: Instant,
    timer: Pin<Box<Sleep>>,
    armed: bool,
}

impl<T> Timeouts<T> {
    /// `header: None` turns the header timeout off (HTTP/2, where requests
    /// interleave).
    pub fn new(
        inner: T,
        header: Option<Duration>,
        idle: Duration,
        headers_done: Arc<HeadersDone>,
    ) -> Self {
        let now = Instant::now();
        let first = header.map_or(idle, |h| h.min(idle));
        Timeouts {
            inner,
            header,
            idle,
            headers_done,
            // The first request's clock starts with the connection.
            request_started: Some(now),
            responded: false,
            last_activity: now,
            timer: Box::pin(tokio::time::sleep_until(now + first)),
            armed: false,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    fn on_read(&mut self, n: usize) {
        let now = Instant::now();
        self.last_activity = now;
        if self.headers_done.take() {
            self.request_started = None;
        }
        if n > 0 && self.request_started.is_none() && self.responded {
            self.request_started = Some(now);
            self.responded = false;
        }
    }

    fn on_write(&mut self) {
        self.last_activity = Instant::now();
        if self.headers_done.take() {
            self.request_started = None;
        }
        self.responded = true;
    }

    /// The next moment a limit could be reached.
    fn deadline(&self) -> Instant {
        let idle = self.last_activity + self.idle;
        match (self.header, self.request_started) {
            (Some(h), Some(started)) => idle.min(started + h),
            _ => idle,
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
            if let (Some(limit), Some(started)) = (self.header, self.request_started) {
                if now >= started + limit {
                    return Poll::Ready(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request header timeout",
                    ));
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
                this.on_read(buf.filled().len() - before);
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
