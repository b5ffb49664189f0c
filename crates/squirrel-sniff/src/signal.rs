//! Ctrl-C: the spy stops cleanly and still prints its summary, as tshark
//! does. The handler only sets a flag (the one thing a signal handler may
//! safely do); the capture loops look at it between packets.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM. Without SA_RESTART, a
/// blocking read is interrupted at once instead of waiting for a packet.
pub fn install() -> std::io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler is async-signal
        // safe (one atomic store).
        let r = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// True once Ctrl-C (or SIGTERM) was received.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Asks the loops to stop, as Ctrl-C would.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}
