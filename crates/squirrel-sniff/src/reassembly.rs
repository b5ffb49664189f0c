//! TCP stream reassembly: turns segments back into the byte streams that
//! HTTP and TLS are written in (tutorial step 3: Wireshark's "[Reassembled
//! TCP Segments]" that let it show a whole HTTP request however the sender
//! split it).
//!
//! Each connection keeps, per direction, the next sequence number expected,
//! a short list of segments that arrived early, and the application parser.
//! Memory is bounded three ways, because a spy is fed by strangers:
//! a cap per stream (a direction that holds more is no longer reassembled),
//! a cap on the total (the oldest connections are dropped first), and a cap
//! on the number of connections. Every drop is counted for the summary.

use crate::dissect::{http, tls, Tcp};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

/// The memory bounds of reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes buffered for one direction of one connection.
    pub per_stream: usize,
    /// Bytes buffered for all connections together.
    pub total: usize,
    /// Connections tracked at once.
    pub max_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_stream: 4 << 20,
            total: 64 << 20,
            max_streams: 65_536,
        }
    }
}

/// What reassembly had to give up, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Connections dropped, oldest first, to stay under the total cap or
    /// the connection cap.
    pub streams_evicted: u64,
    /// Directions that went over the per-stream cap.
    pub streams_oversize: u64,
    /// Gaps in a stream that were skipped (segments never captured).
    pub gaps_skipped: u64,
}

/// An application-layer message completed by a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppPdu {
    Http(http::Message),
    Tls(tls::Record),
}

/// A remark on a segment, as in Wireshark's Info column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    None,
    Retransmission,
    PreviousSegmentNotCaptured,
}

/// What reassembly says about one TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The connection's index, like Wireshark's `tcp.stream`.
    pub stream: u32,
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    pub note: Note,
    /// After this segment, the direction is in the middle of a message.
    pub mid_pdu: bool,
    /// The TLS version negotiated on this connection, once known.
    pub tls_version: Option<u16>,
    /// When the secret straddles the previous segment: how many of its
    /// bytes lie before this payload.
    pub straddle: Option<usize>,
    /// The window, scaled when both SYNs agreed on window scaling.
    pub window: u32,
}

type Endpoint = (IpAddr, u16);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key(Endpoint, Endpoint);

impl Key {
    fn new(a: Endpoint, b: Endpoint) -> Key {
        if a <= b {
            Key(a, b)
        } else {
            Key(b, a)
        }
    }
}

#[derive(Debug, Default)]
enum App {
    /// Not yet recognised; holds the first few bytes while undecided.
    Unknown(Vec<u8>),
    Http(http::Parser),
    Tls(tls::Parser),
    /// Over the per-stream cap: no longer reassembled.
    #[default]
    Opaque,
}

#[derive(Debug)]
struct Dir {
    base: Option<u32>,
    next: Option<u32>,
    app: App,
    early: Vec<(u32, Vec<u8>)>,
    early_bytes: usize,
    fin: bool,
    tail: Vec<u8>,
    /// The window scale of this side's SYN: `Some(None)` for a SYN
    /// without the option, `None` while no SYN was seen.
    scale: Option<Option<u8>>,
}

impl Default for Dir {
    fn default() -> Self {
        Dir {
            base: None,
            next: None,
            app: App::Unknown(Vec::new()),
            early: Vec::new(),
            early_bytes: 0,
            fin: false,
            tail: Vec::new(),
            scale: None,
        }
    }
}

impl Dir {
    fn buffered(&self) -> usize {
        self.early_bytes
            + match &self.app {
                App::Unknown(v) => v.len(),
                App::Http(p) => p.buffered(),
                App::Tls(p) => p.buffered(),
                App::Opaque => 0,
            }
    }

    fn mid_pdu(&self) -> bool {
        match &self.app {
            App::Http(p) => p.mid_message(),
            App::Tls(p) => p.mid_record(),
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Conn {
    index: u32,
    first: Endpoint,
    dirs: [Dir; 2],
    pairing: http::Pairing,
    tls_version: Option<u16>,
    mem: usize,
    closed: bool,
}

/// Every TCP connection seen, and the parsers of their streams.
pub struct Streams {
    limits: Limits,
    /// Boxed: growing the table then moves pointers, not whole states.
    /// FxHash: fast, and good enough for keys an attacker cannot choose
    /// freely at scale (the table's size is capped anyway).
    conns: FxHashMap<Key, Box<Conn>>,
    order: VecDeque<(Key, u32)>,
    next_index: u32,
    total: usize,
    secret_len: usize,
    pub drops: Drops,
    http_out: Vec<http::Message>,
    tls_out: Vec<tls::Record>,
}

impl Streams {
    /// `secret_len` > 0 keeps the last bytes of each stream so that a secret
    /// split across two segments is still found.
    pub fn new(limits: Limits, secret_len: usize) -> Self {
        Streams {
            limits,
            conns: FxHashMap::default(),
            order: VecDeque::new(),
            next_index: 0,
            total: 0,
            secret_len,
            drops: Drops::default(),
            http_out: Vec::new(),
            tls_out: Vec::new(),
        }
    }

    /// Bytes held for reassembly right now.
    pub fn buffered(&self) -> usize {
        self.total
    }

    /// Takes one TCP segment; pushes completed messages to `out`.
    pub fn segment(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        tcp: &Tcp,
        payload: &[u8],
        secret: &[u8],
        out: &mut Vec<AppPdu>,
    ) -> SegmentInfo {
        use crate::dissect::tcp::flags::{ACK, FIN, RST, SYN};
        let from = (src, tcp.src_port);
        let key = Key::new(from, (dst, tcp.dst_port));
        let fresh_syn = tcp.has(SYN) && !tcp.has(ACK);
        // A SYN with a new initial sequence number on a known 4-tuple is a
        // new connection (port reuse); a retransmitted SYN is not.
        let reuse = fresh_syn
            && self.conns.get(&key).is_some_and(|c| {
                c.closed
                    || c.dirs[usize::from(c.first != from)]
                        .base
                        .is_some_and(|base| base != tcp.seq)
            });
        if reuse {
            if let Some(old) = self.conns.remove(&key) {
                self.total -= old.mem;
            }
        }
        if !self.conns.contains_key(&key) {
            self.make_room();
        }
        let limits = self.limits;
        let secret_len = self.secret_len;
        let (next_index, order) = (&mut self.next_index, &mut self.order);
        let conn = self.conns.entry(key).or_insert_with(|| {
            let index = *next_index;
            *next_index = index.wrapping_add(1);
            order.push_back((key, index));
            Box::new(Conn {
                index,
                first: from,
                dirs: [Dir::default(), Dir::default()],
                pairing: http::Pairing::default(),
                tls_version: None,
                mem: 0,
                closed: false,
            })
        });
        let d = usize::from(conn.first != from);
        let mut info = SegmentInfo {
            stream: conn.index,
            rel_seq: 0,
            rel_ack: None,
            note: Note::None,
            mid_pdu: false,
            tls_version: None,
            straddle: None,
            window: u32::from(tcp.window),
        };
        if tcp.has(SYN) {
            conn.dirs[d].scale = Some(tcp.window_scale);
        } else if let (Some(Some(mine)), Some(Some(_))) =
            (conn.dirs[d].scale, conn.dirs[1 - d].scale)
        {
            info.window = u32::from(tcp.window) << mine.min(14);
        }

        // Sequence numbers relative to the start, as Wireshark shows them.
        {
            let dir = &mut conn.dirs[d];
            if dir.base.is_none() || tcp.has(SYN) && dir.next.is_none() {
                let base = if tcp.has(SYN) {
                    tcp.seq
                } else {
                    tcp.seq.wrapping_sub(1)
                };
                dir.base = Some(base);
                dir.next = Some(if tcp.has(SYN) {
                    tcp.seq.wrapping_add(1)
                } else {
                    tcp.seq
                });
            }
            info.rel_seq = tcp.seq.wrapping_sub(dir.base.unwrap_or(tcp.seq));
        }
        if tcp.has(ACK) {
            info.rel_ack = Some(match conn.dirs[1 - d].base {
                Some(base) => tcp.ack.wrapping_sub(base),
                None => tcp.ack,
            });
        }

        let start = out.len();
        let data_seq = if tcp.has(SYN) {
            tcp.seq.wrapping_add(1)
        } else {
            tcp.seq
        };
        let (dir, other) = split(&mut conn.dirs, d);
        let next = dir.next.unwrap_or(data_seq);
        let diff = data_seq.wrapping_sub(next) as i32;
        let http_out = &mut self.http_out;
        let tls_out = &mut self.tls_out;
        let mut ctx = Feed {
            pairing: &mut conn.pairing,
            http_out,
            tls_out,
            out: &mut *out,
            secret,
            secret_len,
        };
        if !payload.is_empty() {
            if diff > 0 {
                info.note = Note::PreviousSegmentNotCaptured;
                if dir.early.len() < 64 && dir.early_bytes + payload.len() <= limits.per_stream {
                    dir.early.push((data_seq, payload.to_vec()));
                    dir.early_bytes += payload.len();
                } else {
                    // The hole will not be filled: skip it and start over.
                    self.drops.gaps_skipped += 1;
                    dir.app = App::Unknown(Vec::new());
                    dir.next = Some(data_seq);
                    info.straddle = deliver(dir, payload, &mut ctx);
                    drain_early(dir, &mut ctx);
                }
            } else {
                let skip = (-(diff as i64)) as usize;
                if skip >= payload.len() {
                    info.note = Note::Retransmission;
                } else {
                    info.straddle = deliver(dir, &payload[skip..], &mut ctx);
                    drain_early(dir, &mut ctx);
                }
            }
        }
        if tcp.has(FIN) && dir.next == Some(data_seq.wrapping_add(payload.len() as u32)) {
            dir.next = dir.next.map(|n| n.wrapping_add(1));
            dir.fin = true;
            close(dir, &mut ctx);
        }
        if tcp.has(RST) {
            close(dir, &mut ctx);
            close(other, &mut ctx);
            dir.fin = true;
            other.fin = true;
        }
        // Track the negotiated TLS version for the Protocol column.
        for pdu in &out[start..] {
            if let AppPdu::Tls(tls::Record {
                content: tls::Content::Handshake(msgs),
                ..
            }) = pdu
            {
                for m in msgs {
                    if let tls::Handshake::ServerHello(sh) = m {
                        if !sh.hello_retry {
                            conn.tls_version = Some(sh.negotiated());
                        }
                    }
                }
            }
        }
        info.tls_version = conn.tls_version;
        info.mid_pdu = conn.dirs[d].mid_pdu();
        if conn.dirs[d].buffered() > limits.per_stream {
            self.drops.streams_oversize += 1;
            let dir = &mut conn.dirs[d];
            dir.app = App::Opaque;
            dir.early.clear();
            dir.early_bytes = 0;
        }
        conn.closed = conn.dirs[0].fin && conn.dirs[1].fin;
        let mem = conn.dirs[0].buffered() + conn.dirs[1].buffered();
        self.total = self.total + mem - conn.mem;
        conn.mem = mem;
        let current = conn.index;
        while self.total > limits.total {
            if !self.evict_oldest(Some(current)) {
                break;
            }
        }
        info
    }

    /// Drops the oldest connections while the table is full.
    fn make_room(&mut self) {
        while self.conns.len() >= self.limits.max_streams.max(1) {
            if !self.evict_oldest(None) {
                break;
            }
        }
    }

    /// Drops the oldest live connection (except `keep`); false if none.
    fn evict_oldest(&mut self, keep: Option<u32>) -> bool {
        while let Some((key, index)) = self.order.pop_front() {
            if Some(index) == keep {
                self.order.push_back((key, index));
                if self.order.len() == 1 {
                    return false;
                }
                continue;
            }
            if self.conns.get(&key).is_some_and(|c| c.index == index) {
                if let Some(conn) = self.conns.remove(&key) {
                    self.total -= conn.mem;
                }
                self.drops.streams_evicted += 1;
                return true;
            }
        }
        false
    }
}

fn split(dirs: &mut [Dir; 2], d: usize) -> (&mut Dir, &mut Dir) {
    let (a, b) = dirs.split_at_mut(1);
    if d == 0 {
        (&mut a[0], &mut b[0])
    } else {
        (&mut b[0], &mut a[0])
    }
}

struct Feed<'a> {
    pairing: &'a mut http::Pairing,
    http_out: &'a mut Vec<http::Message>,
    tls_out: &'a mut Vec<tls::Record>,
    out: &'a mut Vec<AppPdu>,
    secret: &'a [u8],
    secret_len: usize,
}

/// Gives in-order bytes to the direction's parser, choosing the parser on
/// the first bytes. Returns where a split secret started, if one did.
fn deliver(dir: &mut Dir, data: &[u8], ctx: &mut Feed<'_>) -> Option<usize> {
    dir.next = dir.next.map(|n| n.wrapping_add(data.len() as u32));
    let straddle = if ctx.secret_len > 0 {
        straddled(&mut dir.tail, data, ctx.secret)
    } else {
        None
    };
    if let App::Unknown(pending) = &mut dir.app {
        // Bytes held from earlier segments while the protocol was unclear.
        let mut head = std::mem::take(pending);
        let held = head.len();
        head.extend_from_slice(&data[..data.len().min(16)]);
        use http::Detect::{NeedMore, Yes};
        dir.app = match (http::detect(&head), tls::detect(&head)) {
            (Yes, _) => App::Http(http::Parser::default()),
            (_, Yes) => App::Tls(tls::Parser::default()),
            (NeedMore, _) | (_, NeedMore) if held + data.len() < 16 => {
                dir.app = App::Unknown(head);
                return straddle;
            }
            _ => {
                dir.app = App::Unknown(Vec::new());
                return straddle;
            }
        };
        if held > 0 {
            feed(dir, &head[..held], ctx);
        }
    }
    feed(dir, data, ctx);
    straddle
}

fn feed(dir: &mut Dir, data: &[u8], ctx: &mut Feed<'_>) {
    let ok = match &mut dir.app {
        App::Http(p) => {
            let r = p.feed(data, ctx.pairing, ctx.http_out).is_ok();
            ctx.out.extend(ctx.http_out.drain(..).map(AppPdu::Http));
            r
        }
        App::Tls(p) => {
            let r = p.feed(data, ctx.tls_out).is_ok();
            ctx.out.extend(ctx.tls_out.drain(..).map(AppPdu::Tls));
            r
        }
        _ => true,
    };
    if !ok {
        dir.app = App::Unknown(Vec::new());
    }
}

fn close(dir: &mut Dir, ctx: &mut Feed<'_>) {
    if let App::Http(p) = &mut dir.app {
        p.close(ctx.http_out);
        ctx.out.extend(ctx.http_out.drain(..).map(AppPdu::Http));
    }
    dir.early.clear();
    dir.early_bytes = 0;
}

/// Delivers early segments that now fit.
fn drain_early(dir: &mut Dir, ctx: &mut Feed<'_>) {
    loop {
        let Some(next) = dir.next else { return };
        let Some(i) = dir
            .early
            .iter()
            .position(|(seq, _)| next.wrapping_sub(*seq) as i32 >= 0)
        else {
            return;
        };
        let (seq, bytes) = dir.early.swap_remove(i);
        dir.early_bytes -= bytes.len();
        let skip = next.wrapping_sub(seq) as usize;
        if skip < bytes.len() {
            deliver(dir, &bytes[skip..], ctx);
        }
    }
}

/// Looks for the secret starting in the kept tail and ending in `data`;
/// then keeps the new tail.
fn straddled(tail: &mut Vec<u8>, data: &[u8], secret: &[u8]) -> Option<usize> {
    let keep = secret.len().saturating_sub(1);
    let mut found = None;
    if !tail.is_empty() && keep > 0 {
        let mut joint = tail.clone();
        joint.extend_from_slice(&data[..data.len().min(keep)]);
        if let Some(at) = crate::secret::find(&joint, secret) {
            if at < tail.len() {
                found = Some(tail.len() - at);
            }
        }
    }
    if data.len() >= keep {
        tail.clear();
        tail.extend_from_slice(&data[data.len() - keep..]);
    } else {
        tail.extend_from_slice(data);
        let excess = tail.len().saturating_sub(keep);
        tail.drain(..excess);
    }
    found
}
