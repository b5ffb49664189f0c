//! The errors of the spy. Each one says what went wrong, with what (the
//! interface, the file, the flag) and how to fix it, because the person
//! reading it is following a tutorial, not debugging squirrel.

use std::path::PathBuf;

/// Everything that can stop `squirrel sniff`.
#[derive(Debug, thiserror::Error)]
pub enum SniffError {
    /// Opening an AF_PACKET socket needs privileges.
    #[error(
        "cannot open a raw packet socket on {interface}: permission denied. Capturing needs \
         root or the CAP_NET_RAW capability: run the command as root (sudo squirrel sniff ...), \
         or give the binary the capability once with `sudo setcap cap_net_raw+ep $(command -v squirrel)`. \
         Without either, use the relay instead: `squirrel sniff --relay 127.0.0.1:8000 --to 127.0.0.1:5683`"
    )]
    PermissionDenied { interface: String },

    /// The interface given to `-i` does not exist.
    #[error(
        "there is no network interface named {interface:?} (-i/--interface). \
         The interfaces of this machine are: {available}. The tutorial's traffic goes over \"lo\""
    )]
    NoSuchInterface {
        interface: String,
        available: String,
    },

    /// Any other failure of the operating system while capturing.
    #[error("capture on {interface} failed: {what}: {source}")]
    Capture {
        interface: String,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A capture file cannot be opened, read or written.
    #[error("{path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A capture file is not a pcap or pcapng file, or is damaged.
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },

    /// The key log file is not an NSS key log.
    #[error("{path}: {reason}")]
    BadKeyLog { path: PathBuf, reason: String },

    /// The relay cannot listen or reach its upstream.
    #[error("relay: {what}: {source}")]
    Relay {
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// Writing the packet display failed (for example a closed pipe).
    #[error("cannot write the packet display: {0}")]
    Output(#[source] std::io::Error),
}

impl SniffError {
    pub(crate) fn io(path: impl Into<PathBuf>, what: &'static str, source: std::io::Error) -> Self {
        SniffError::Io {
            path: path.into(),
            what,
            source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        SniffError::BadFile {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
