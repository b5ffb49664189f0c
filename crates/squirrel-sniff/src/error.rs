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

    /// A capture file cannot be opened as pcap or pcapng.
    #[error("{path}: {problem}")]
    NotCapture { path: PathBuf, problem: ReadError },

    /// A capture file is damaged after `packets` good packets.
    #[error("{path}: {problem} (after {packets} packets); the packets before it were read")]
    Damaged {
        path: PathBuf,
        problem: ReadError,
        packets: u64,
    },

    /// A capture file cannot be written as asked.
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

/// What is wrong with a capture file being read (pcap or pcapng). The
/// messages name the packet or block at fault; the file's path and the
/// packets read before it are added by [`SniffError`]. The read error of
/// the operating system is part of the message (not a `source`), so that
/// it is printed once.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Neither magic number matched.
    #[error(
        "not a pcap or pcapng capture file (--read). squirrel reads the files that \
         tcpdump, tshark, Wireshark and `squirrel sniff --write` make"
    )]
    NotCapture,
    #[error("not a pcap file (bad magic number)")]
    BadMagic,
    #[error("not a pcapng file (bad byte-order magic)")]
    BadByteOrderMagic,
    #[error("read error: {0}")]
    Io(std::io::Error),
    /// pcap: the 16-byte header of packet `n` is incomplete.
    #[error("the file is cut short in the header of packet {0}")]
    CutInPacketHeader(u64),
    /// pcap: the bytes of packet `n` are incomplete.
    #[error("the file is cut short in the middle of packet {0}")]
    CutInPacket(u64),
    /// pcap: a record larger than [`crate::pcap::MAX_RECORD`].
    #[error(
        "packet {number} claims {length} bytes, more than any real packet: the file is damaged"
    )]
    PacketTooLarge { number: u64, length: u32 },
    #[error("the section header block has a bad length: the file is damaged")]
    BadSectionLength,
    #[error("the file is cut short in a block header")]
    CutInBlockHeader,
    #[error("the file is cut short in the middle of a block")]
    CutInBlock,
    /// pcapng: a length below 12, not a multiple of 4, or over
    /// [`crate::pcapng::MAX_BLOCK`].
    #[error("a block of type {kind:#x} has a bad length ({length}): the file is damaged")]
    BadBlockLength { kind: u32, length: u32 },
    #[error("an interface description block is too short")]
    ShortInterfaceBlock,
    #[error("a packet block is too short: the file is damaged")]
    ShortPacketBlock,
    #[error("a packet block is shorter than its packet: the file is damaged")]
    PacketOverflowsBlock,
    #[error("a simple packet block is too short")]
    ShortSimplePacketBlock,
    #[error("a packet refers to interface {0}, which the file never described")]
    UnknownInterface(usize),
    #[error("a packet comes before any interface")]
    NoInterface,
}
