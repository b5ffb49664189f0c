//! What the spy shows, in the three panes of Wireshark that tutorial step 3
//! walks through: the packet list (one summary line per packet, as tshark
//! prints it), the packet details (`-V`: the layer tree) and the packet
//! bytes (`-x`: hex and ASCII). The tree of each layer lives in
//! [`crate::display::tree`].

pub mod tree;

use crate::dissect::fernet::utc_date;
use crate::dissect::tls::{Content, Handshake, Record};
use crate::dissect::{ip, tcp, tls_names, Dissection, Link, Network, Transport};
use crate::frame::Frame;
use crate::reassembly::{AppPdu, Note, SegmentInfo};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Everything known about one packet, for display.
pub struct View<'a> {
    pub number: u64,
    /// Nanoseconds since the first packet.
    pub relative: u128,
    pub frame: &'a Frame<'a>,
    pub d: &'a Dissection<'a>,
    pub seg: Option<SegmentInfo>,
    pub pdus: &'a [AppPdu],
    /// Offset of the secret in the payload, if it was there.
    pub secret_at: Option<i64>,
}

impl View<'_> {
    /// The Protocol column: the highest layer decoded in this packet.
    pub fn protocol(&self) -> &'static str {
        if self.pdus.iter().any(|p| matches!(p, AppPdu::Http(_))) {
            return "HTTP";
        }
        if self.pdus.iter().any(|p| matches!(p, AppPdu::Tls(_))) {
            // Before the ServerHello, Wireshark names the record's version.
            let record = self.pdus.iter().find_map(|p| match p {
                AppPdu::Tls(r) => Some(r.version),
                _ => None,
            });
            return match self.seg.and_then(|s| s.tls_version).or(record) {
                Some(v) => tls_names::version(v),
                None => "TLS",
            };
        }
        match (&self.d.network, &self.d.transport) {
            (_, Transport::Tcp(_)) => "TCP",
            (_, Transport::Udp(_)) => "UDP",
            (_, Transport::Icmp(i)) if i.v6 => "ICMPv6",
            (_, Transport::Icmp(_)) => "ICMP",
            (Network::Ip(ip), Transport::Other { protocol, .. }) => {
                match ip::proto_name(*protocol) {
                    "IP" if ip.version == 6 => "IPv6",
                    "IP" => "IPv4",
                    name => name,
                }
            }
            (Network::Ip(ip), _) if ip.version == 6 => "IPv6",
            (Network::Ip(_), _) => "IPv4",
            (Network::Arp { .. }, _) => "ARP",
            (Network::Malformed(_), _) => "Malformed",
            _ => match self.d.link {
                Link::Ethernet { .. } => "ETH",
                _ => "Frame",
            },
        }
    }

    /// `127.0.0.1:40012` (or `[::1]:40012`, or a MAC address).
    pub fn endpoints(&self) -> (String, String) {
        let mut src = String::new();
        let mut dst = String::new();
        self.write_endpoint(&mut src, true);
        self.write_endpoint(&mut dst, false);
        (src, dst)
    }

    /// Writes the source (or destination) column.
    fn write_endpoint(&self, out: &mut String, source: bool) {
        fn pick<T>(source: bool, a: T, b: T) -> T {
            if source {
                a
            } else {
                b
            }
        }
        match (&self.d.network, self.d.ports()) {
            (Network::Ip(ip), ports) => endpoint(
                out,
                pick(source, ip.src, ip.dst),
                ports.map(|(s, d)| pick(source, s, d)),
            ),
            _ => match &self.d.link {
                Link::Ethernet { src, dst, .. } => {
                    out.push_str(&crate::dissect::ethernet::mac(pick(source, src, dst)))
                }
                _ => out.push('?'),
            },
        }
    }

    /// The Info column.
    pub fn info(&self, out: &mut String) {
        let mut first = true;
        for pdu in self.pdus {
            if let AppPdu::Http(m) = pdu {
                sep(out, &mut first);
                out.push_str(&m.start_line());
                if let crate::dissect::http::StartLine::Response { .. } = m.start {
                    if let Some(ct) = m.header("content-type") {
                        let _ = write!(out, "  ({})", ct.split(';').next().unwrap_or(ct));
                    }
                }
                if let Some(t) = &m.fernet {
                    let _ = write!(out, " [Fernet token, made {}]", utc_date(t.timestamp));
                }
            }
        }
        for pdu in self.pdus {
            if let AppPdu::Tls(r) = pdu {
                record_info(r, out, &mut first);
            }
        }
        if !first {
            return;
        }
        match &self.d.transport {
            Transport::Tcp(t) => self.tcp_info(t, out),
            Transport::Udp(u) => {
                let _ = write!(
                    out,
                    "Len={}",
                    self.d.payload.len().min(usize::from(u.length))
                );
            }
            Transport::Icmp(i) => out.push_str(&tcp::icmp_info(i)),
            Transport::Fragment => out.push_str("Fragmented IP protocol"),
            Transport::Other {
                protocol,
                malformed,
            } => {
                let _ = write!(out, "IP protocol {protocol}");
                if *malformed {
                    out.push_str(" [Malformed Packet]");
                }
            }
            Transport::None => match &self.d.network {
                Network::Arp { op, sender, target } => {
                    let s = std::net::Ipv4Addr::from(*sender);
                    let t = std::net::Ipv4Addr::from(*target);
                    if *op == 1 {
                        let _ = write!(out, "Who has {t}? Tell {s}");
                    } else {
                        let _ = write!(out, "Reply: {s} is here (to {t})");
                    }
                }
                Network::Other(et) => {
                    let _ = write!(out, "Ethernet II, type 0x{et:04x}");
                }
                Network::Malformed(_) => out.push_str("[Malformed Packet]"),
                _ => {
                    let _ = write!(out, "{} bytes", self.frame.orig_len);
                }
            },
        }
    }

    fn tcp_info(&self, t: &tcp::Tcp, out: &mut String) {
        if let Some(seg) = &self.seg {
            match seg.note {
                Note::Retransmission => out.push_str("[TCP Retransmission] "),
                Note::PreviousSegmentNotCaptured => {
                    out.push_str("[TCP Previous segment not captured] ")
                }
                Note::None => {}
            }
        }
        out.push('[');
        tcp::flag_names(t.flags, out);
        out.push(']');
        let (seq, ack) = match &self.seg {
            Some(s) => (s.rel_seq, s.rel_ack),
            None => (t.seq, t.has(tcp::flags::ACK).then_some(t.ack)),
        };
        out.push_str(" Seq=");
        push_u64(out, u64::from(seq));
        if let Some(ack) = ack {
            out.push_str(" Ack=");
            push_u64(out, u64::from(ack));
        }
        let window = self.seg.map_or(u32::from(t.window), |s| s.window);
        out.push_str(" Win=");
        push_u64(out, u64::from(window));
        out.push_str(" Len=");
        push_u64(out, self.d.payload.len() as u64);
        if let Some(mss) = t.mss {
            let _ = write!(out, " MSS={mss}");
        }
        if t.sack_permitted {
            out.push_str(" SACK_PERM");
        }
        if let Some(ws) = t.window_scale {
            let _ = write!(out, " WS={}", 1u32 << ws.min(14));
        }
        if !self.d.payload.is_empty() && self.seg.is_some_and(|s| s.mid_pdu) {
            out.push_str(" [TCP segment of a reassembled PDU]");
        }
    }
}

/// Appends a decimal number without going through `core::fmt` (the summary
/// line is the hot path of `--read`: a dozen numbers per line, mostly ports
/// and address octets). `itoa` writes the digits into a stack buffer.
#[inline]
pub fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// `n` right-aligned in `width` columns.
fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    for _ in digits.len()..width {
        out.push(' ');
    }
    out.push_str(digits);
}

/// `n` with exactly six digits, zero-padded (n < 1_000_000).
fn push_six(out: &mut String, n: u64) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n % 1_000_000);
    out.push_str(&"000000"[digits.len()..]);
    out.push_str(digits);
}

fn sep(out: &mut String, first: &mut bool) {
    if !*first {
        out.push_str(", ");
    }
    *first = false;
}

fn endpoint(out: &mut String, addr: std::net::IpAddr, port: Option<u16>) {
    match addr {
        std::net::IpAddr::V4(a) => {
            for (i, octet) in a.octets().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u64(out, u64::from(*octet));
            }
        }
        std::net::IpAddr::V6(a) if port.is_some() => {
            let _ = write!(out, "[{a}]");
        }
        std::net::IpAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
    if let Some(p) = port {
        out.push(':');
        push_u64(out, u64::from(p));
    }
}

/// One record's part of the Info column.
pub fn record_info(r: &Record, out: &mut String, first: &mut bool) {
    match &r.content {
        Content::Handshake(msgs) => {
            for m in msgs {
                sep(out, first);
                match m {
                    Handshake::ClientHello(ch) => {
                        out.push_str("Client Hello");
                        if let Some(sni) = &ch.server_name {
                            let _ = write!(out, " (SNI={sni})");
                        }
                    }
                    Handshake::ServerHello(sh) if sh.hello_retry => {
                        out.push_str("Hello Retry Request")
                    }
                    Handshake::ServerHello(_) => out.push_str("Server Hello"),
                    Handshake::Certificate(_) => out.push_str("Certificate"),
                    Handshake::Other { kind, .. } => out.push_str(tls_names::handshake(*kind)),
                }
            }
        }
        Content::EncryptedHandshake => {
            sep(out, first);
            out.push_str("Encrypted Handshake Message");
        }
        Content::ChangeCipherSpec => {
            sep(out, first);
            out.push_str("Change Cipher Spec");
        }
        Content::Alert { level, description } => {
            sep(out, first);
            let level = if *level == 2 { "Fatal" } else { "Warning" };
            let _ = write!(
                out,
                "Alert (Level: {level}, Description: {})",
                tls_names::alert(*description)
            );
        }
        Content::EncryptedAlert => {
            sep(out, first);
            out.push_str("Encrypted Alert");
        }
        Content::ApplicationData => {
            sep(out, first);
            let _ = write!(out, "Application Data ({} bytes)", r.length);
        }
        Content::Heartbeat => {
            sep(out, first);
            out.push_str("Heartbeat");
        }
        Content::Unknown => {
            sep(out, first);
            let _ = write!(out, "Unknown record type {}", r.content_type);
        }
    }
}

/// The summary line: `   6  0.000412  127.0.0.1:5683 -> 127.0.0.1:40012  HTTP 171  HTTP/1.0 200 OK`.
/// `scratch` is reused between packets to avoid allocations.
pub fn write_line(w: &mut impl Write, v: &View<'_>, scratch: &mut String) -> io::Result<()> {
    scratch.clear();
    push_padded(scratch, v.number, 4);
    scratch.push_str("  ");
    let micros = (v.relative / 1000).min(u128::from(u64::MAX)) as u64;
    push_u64(scratch, micros / 1_000_000);
    scratch.push('.');
    push_six(scratch, micros % 1_000_000);
    scratch.push_str("  ");
    v.write_endpoint(scratch, true);
    scratch.push_str(" -> ");
    v.write_endpoint(scratch, false);
    scratch.push_str("  ");
    scratch.push_str(v.protocol());
    scratch.push(' ');
    push_u64(scratch, u64::from(v.frame.orig_len));
    scratch.push_str("  ");
    v.info(scratch);
    scratch.push('\n');
    w.write_all(scratch.as_bytes())
}

/// The packet bytes pane: `0000  45 00 00 3c ...   E..<` as tshark -x prints it.
pub fn write_hex(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let mut line = String::with_capacity(80);
    for (i, chunk) in bytes.chunks(16).enumerate() {
        line.clear();
        let _ = write!(line, "{:04x}  ", i * 16);
        for b in chunk {
            let _ = write!(line, "{b:02x} ");
        }
        for _ in chunk.len()..16 {
            line.push_str("   ");
        }
        line.push_str("  ");
        for &b in chunk {
            line.push(if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            });
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::push_u64;

    #[test]
    fn padded_numbers() {
        let mut out = String::new();
        super::push_padded(&mut out, 7, 4);
        super::push_padded(&mut out, 12345, 4);
        super::push_six(&mut out, 42);
        super::push_six(&mut out, 999_999);
        assert_eq!(out, "   712345000042999999");
    }

    #[test]
    fn numbers_are_written_as_format_would() {
        let values = [
            0,
            7,
            9,
            10,
            42,
            99,
            100,
            255,
            999,
            1000,
            5683,
            65535,
            1_000_000,
            123_456_789_012,
            u64::MAX,
        ];
        let mut out = String::from("x");
        for n in values {
            push_u64(&mut out, n);
            out.push(' ');
        }
        let expected: Vec<String> = values.iter().map(u64::to_string).collect();
        assert_eq!(out, format!("x{} ", expected.join(" ")));
    }
}
