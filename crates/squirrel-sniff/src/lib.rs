//! The spy of the Secret Squirrels (tutorial step 3, and the proof of steps
//! 7 and 13): capture what crosses the wire, dissect it layer by layer as
//! Wireshark does, and show that plain HTTP leaks the secret while Fernet
//! and TLS do not.
//!
//! How the pieces fit:
//!
//! ```text
//!  capture (AF_PACKET)  ─┐
//!  file (pcap, pcapng)  ─┼─▶ Frame ─▶ engine ─▶ dissect (link, IP, TCP/UDP)
//!  relay (TCP proxy)    ─┘              │      reassembly ─▶ http, tls, fernet
//!                                       ├────▶ display (line, tree, hex, JSON)
//!                                       ├────▶ secret (the spy's verdict)
//!                                       └────▶ writer (pcap, pcapng + key log)
//! ```
//!
//! Every source produces [`Frame`]s; the [`engine::Engine`] does the rest
//! the same way for all of them, so a live capture, a file written by
//! tshark and a relayed connection look alike.

// Unsafe code is confined to the AF_PACKET socket of `capture`; each block
// says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod capture;
pub mod display;
pub mod dissect;
pub mod engine;
pub mod error;
pub mod file;
pub mod filter;
pub mod frame;
pub mod json;
pub mod keylog;
pub mod pcap;
pub mod pcapng;
pub mod reassembly;
pub mod relay;
pub mod report;
pub mod secret;
pub mod signal;
pub mod synth;

pub use engine::{Engine, Format, Options};
pub use error::SniffError;
pub use frame::{Frame, Timestamp};
pub use report::Report;
