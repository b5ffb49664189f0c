//! Ctrl-C: the spy stops cleanly and still prints its summary, as tshark
//! does. The handler only sets a flag (the one thing a signal handler may
//! safely do), registered through `signal-hook`; the capture, file and relay
//! loops look at it between packets. They never block for long (poll with a
//! timeout, a channel with a timeout), so a stop is seen within a tick.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() -> std::io::Result<()> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, &STOP)?;
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
