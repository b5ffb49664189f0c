//! The engine: every frame from every source goes through the same steps.
//! Capture filter, numbering, writing to a file, dissection, reassembly,
//! the secret search, the display filter, and display. Its counters make
//! the summary printed at the end (tutorial step 3's "Statistics" menu in
//! short: how many packets, how many bytes, which protocols).

use crate::display::{self, View};
use crate::dissect::tls::{Content, Handshake};
use crate::dissect::{dissect, Network, Transport};
use crate::error::SniffError;
use crate::file::Writer;
use crate::filter::{CaptureFilter, DisplayFilter};
use crate::frame::{Frame, Timestamp};
use crate::keylog::KeyLog;
use crate::reassembly::{AppPdu, Limits, Streams};
use crate::report::{KeyLogReport, Report};
use crate::secret::{find, Sighting, Verdict};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

/// How packets are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One line per packet, as tshark prints.
    #[default]
    Summary,
    /// The layer tree (`-V`).
    Verbose,
    /// One JSON object per line (`--json`).
    Json,
    /// Nothing per packet: only the summary.
    Quiet,
}

/// Everything that shapes a run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub format: Format,
    /// Add the hex and ASCII dump (`-x`).
    pub hex: bool,
    pub display: DisplayFilter,
    pub filter: CaptureFilter,
    pub secret: Option<String>,
    /// Stop after this many packets (`--count`).
    pub count: Option<u64>,
    pub limits: Limits,
    /// The key log to embed in the pcapng output (`--keylog`).
    pub keylog: Option<PathBuf>,
}

/// Packets and bytes taken so far, readable from another thread (the
/// CLI's progress line during a long capture).
#[derive(Debug, Default)]
pub struct Progress {
    pub packets: std::sync::atomic::AtomicU64,
    pub bytes: std::sync::atomic::AtomicU64,
}

/// The pipeline of one run.
pub struct Engine<W: Write> {
    out: W,
    progress: Option<std::sync::Arc<Progress>>,
    opts: Options,
    streams: Streams,
    writer: Option<Writer>,
    number: u64,
    bytes: u64,
    shown: u64,
    first: Option<Timestamp>,
    last: Timestamp,
    protocols: Vec<(&'static str, u64)>,
    verdict: Option<Verdict>,
    randoms: HashSet<[u8; 32]>,
    hellos: u64,
    pdus: Vec<AppPdu>,
    scratch: String,
}

impl<W: Write> Engine<W> {
    pub fn new(out: W, opts: Options) -> Self {
        let secret_len = opts.secret.as_ref().map_or(0, |s| s.len());
        Engine {
            out,
            progress: None,
            streams: Streams::new(opts.limits, secret_len),
            verdict: opts.secret.as_deref().map(Verdict::new),
            opts,
            writer: None,
            number: 0,
            bytes: 0,
            shown: 0,
            first: None,
            last: Timestamp::default(),
            protocols: Vec::new(),
            randoms: HashSet::new(),
            hellos: 0,
            pdus: Vec::new(),
            scratch: String::with_capacity(256),
        }
    }

    /// Writes every captured packet (those passing the capture filter).
    pub fn set_writer(&mut self, writer: Writer) {
        self.writer = Some(writer);
    }

    /// Sends buffered display output on (live sources call this when
    /// idle, so that lines appear as packets arrive).
    pub fn flush(&mut self) -> Result<(), SniffError> {
        self.out.flush().map_err(SniffError::Output)
    }

    /// The counters another thread may watch while the engine runs.
    pub fn progress(&mut self) -> std::sync::Arc<Progress> {
        self.progress.get_or_insert_with(Default::default).clone()
    }

    /// Packets taken so far.
    pub fn packets(&self) -> u64 {
        self.number
    }

    /// True once `--count` packets were taken.
    pub fn done(&self) -> bool {
        self.opts.count.is_some_and(|c| self.number >= c)
    }

    /// Takes one frame. Returns false when `--count` is reached.
    pub fn push(&mut self, frame: &Frame<'_>) -> Result<bool, SniffError> {
        if self.done() {
            return Ok(false);
        }
        let d = dissect(frame.linktype, frame.data);
        if !self.opts.filter.matches(&d) {
            return Ok(true);
        }
        self.number += 1;
        self.bytes += u64::from(frame.orig_len);
        if let Some(progress) = &self.progress {
            use std::sync::atomic::Ordering::Relaxed;
            progress.packets.store(self.number, Relaxed);
            progress.bytes.store(self.bytes, Relaxed);
        }
        let first = *self.first.get_or_insert(frame.ts);
        self.last = self.last.max(frame.ts);
        if let Some(w) = &mut self.writer {
            w.write(frame)?;
        }
        self.pdus.clear();
        let secret = self.opts.secret.as_deref().unwrap_or("").as_bytes();
        let seg = match (&d.network, &d.transport) {
            (Network::Ip(ip), Transport::Tcp(t)) => {
                Some(
                    self.streams
                        .segment(ip.src, ip.dst, t, d.payload, secret, &mut self.pdus),
                )
            }
            _ => None,
        };
        for pdu in &self.pdus {
            if let AppPdu::Tls(r) = pdu {
                if let Content::Handshake(msgs) = &r.content {
                    for m in msgs {
                        if let Handshake::ClientHello(ch) = m {
                            self.hellos += 1;
                            self.randoms.insert(ch.random);
                        }
                    }
                }
            }
        }
        let secret_at = if secret.is_empty() {
            None
        } else {
            find(d.payload, secret)
                .map(|i| i as i64)
                .or_else(|| seg.and_then(|s| s.straddle).map(|n| -(n as i64)))
        };
        let view = View {
            number: self.number,
            relative: frame.ts.since(&first),
            frame,
            d: &d,
            seg,
            pdus: &self.pdus,
            secret_at,
        };
        let protocol = view.protocol();
        match self.protocols.iter_mut().find(|(p, _)| *p == protocol) {
            Some((_, n)) => *n += 1,
            None => self.protocols.push((protocol, 1)),
        }
        if let Some(v) = &mut self.verdict {
            v.packets += 1;
            if let Some(offset) = secret_at {
                let (src, dst) = view.endpoints();
                v.record(Sighting {
                    number: self.number,
                    src,
                    dst,
                    protocol: protocol.to_string(),
                    offset,
                });
            }
        }
        if self.opts.format != Format::Quiet && self.opts.display.matches(&d, &self.pdus) {
            self.shown += 1;
            let out = &mut self.out;
            let r = match self.opts.format {
                Format::Summary => display::write_line(out, &view, &mut self.scratch),
                Format::Verbose => display::tree::write_tree(out, &view),
                Format::Json => serde_json::to_writer(&mut *out, &crate::json::packet(&view))
                    .map_err(std::io::Error::from)
                    .and_then(|_| out.write_all(b"\n")),
                Format::Quiet => Ok(()),
            };
            r.map_err(SniffError::Output)?;
            if self.opts.hex && self.opts.format != Format::Json {
                display::write_hex(out, frame.data).map_err(SniffError::Output)?;
            }
            if self.opts.format == Format::Verbose
                || self.opts.hex && self.opts.format != Format::Json
            {
                out.write_all(b"\n").map_err(SniffError::Output)?;
            }
        }
        Ok(!self.done())
    }

    /// Flushes the display, completes the output file (with the TLS
    /// secrets of the captured sessions), and returns the summary.
    pub fn finish(mut self) -> Result<Report, SniffError> {
        self.out.flush().map_err(SniffError::Output)?;
        let mut protocols = self.protocols;
        protocols.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut report = Report {
            packets: self.number,
            bytes: self.bytes,
            duration_nanos: self.first.map_or(0, |f| self.last.since(&f)),
            protocols: protocols
                .into_iter()
                .map(|(p, n)| (p.to_string(), n))
                .collect(),
            shown: self.shown,
            display_filter: (!self.opts.display.is_empty()).then(|| self.opts.display.describe()),
            drops: self.streams.drops,
            limits: self.opts.limits,
            verdict: self.verdict,
            written: None,
            keylog: None,
            kernel_drops: None,
            errors: Vec::new(),
        };
        if let Some(writer) = self.writer {
            let mut secrets = None;
            if let Some(path) = &self.opts.keylog {
                match KeyLog::read(path) {
                    Ok(log) => {
                        let (text, sessions, lines) = log.for_sessions(&self.randoms);
                        report.keylog = Some(KeyLogReport {
                            sessions_embedded: sessions,
                            lines,
                            sessions_in_log: log.sessions(),
                            hellos_seen: self.hellos,
                        });
                        secrets = Some(text);
                    }
                    Err(e) => report.errors.push(e.to_string()),
                }
            }
            report.written = Some((writer.path().to_path_buf(), writer.packets));
            writer.finish(secrets.as_deref())?;
        }
        Ok(report)
    }
}
