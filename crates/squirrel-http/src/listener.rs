//! The listening socket of `squirrel serve`: its backlog, address reuse,
//! and TCP_DEFER_ACCEPT, set up as nginx sets up its own.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// A listening socket on `addr` with `backlog` (tokio's `bind` has 1024),
/// SO_REUSEADDR as every server sets it, so that a restart does not wait
/// for the old connections' TIME_WAIT.
pub(crate) fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// TCP_DEFER_ACCEPT: a connection is handed to the server only once the
/// client has sent something (in HTTP and TLS the client speaks first), so
/// the server is not woken for connections that have nothing to say yet.
/// nginx offers the same as `listen ... deferred`. Best effort.
pub(crate) fn defer_accept(listener: &TcpListener, limit: Duration) {
    use std::os::fd::AsRawFd;
    let seconds: libc::c_int = limit.as_secs().clamp(1, 60) as libc::c_int;
    // SAFETY: a valid socket descriptor, an int option of the right size.
    let _ = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}
