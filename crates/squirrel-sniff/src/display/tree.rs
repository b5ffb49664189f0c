//! `-V`: the packet details pane of Wireshark, one section per layer, as
//! tutorial step 3 describes it: Frame, Ethernet II, Internet Protocol,
//! Transmission Control Protocol, Hypertext Transfer Protocol (method, URI,
//! version, headers), and below them what TLS and Fernet leave visible.

use super::View;
use crate::dissect::ethernet::{ethertype_name, mac};
use crate::dissect::fernet::{civil, utc_date, FernetToken};
use crate::dissect::http::{Message, StartLine};
use crate::dissect::tls::{Content, Handshake, Record};
use crate::dissect::{ip, tcp, tls_names, Link, Network, Transport};
use crate::reassembly::AppPdu;
use std::io::{self, Write};

/// Writes the layer tree of one packet, followed by a blank line.
pub fn write_tree(w: &mut impl Write, v: &View<'_>) -> io::Result<()> {
    let f = v.frame;
    let ts = f.ts;
    let (y, mo, d, h, mi, s) = civil(ts.secs);
    writeln!(
        w,
        "Frame {}: {} bytes on wire ({} bits), {} bytes captured ({} bits)",
        v.number,
        f.orig_len,
        u64::from(f.orig_len) * 8,
        f.data.len(),
        f.data.len() * 8
    )?;
    writeln!(
        w,
        "    Arrival Time: {y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{:09} UTC",
        ts.nanos
    )?;
    writeln!(w, "    Epoch Time: {}.{:09} seconds", ts.secs, ts.nanos)?;
    writeln!(
        w,
        "    Time since first frame: {}.{:09} seconds",
        v.relative / 1_000_000_000,
        v.relative % 1_000_000_000
    )?;
    writeln!(w, "    Frame Number: {}", v.number)?;
    writeln!(w, "    Protocols in frame: {}", protocols(v))?;
    link(w, v)?;
    network(w, v)?;
    transport(w, v)?;
    for pdu in v.pdus {
        match pdu {
            AppPdu::Http(m) => http(w, m)?,
            AppPdu::Tls(r) => tls(w, r, v)?,
        }
    }
    if let Some(at) = v.secret_at {
        writeln!(w, "[The secret is in clear here, at payload offset {at}]")?;
    }
    Ok(())
}

fn protocols(v: &View<'_>) -> String {
    let mut p: Vec<&str> = Vec::new();
    match v.d.link {
        Link::Ethernet { .. } => p.extend(["eth", "ethertype"]),
        Link::Cooked { .. } => p.push("sll"),
        Link::Null { .. } => p.push("null"),
        _ => {}
    }
    match v.d.network {
        Network::Ip(ip) if ip.version == 6 => p.push("ipv6"),
        Network::Ip(_) => p.push("ip"),
        Network::Arp { .. } => p.push("arp"),
        _ => {}
    }
    match v.d.transport {
        Transport::Tcp(_) => p.push("tcp"),
        Transport::Udp(_) => p.push("udp"),
        Transport::Icmp(i) => p.push(if i.v6 { "icmpv6" } else { "icmp" }),
        _ => {}
    }
    if v.pdus.iter().any(|x| matches!(x, AppPdu::Tls(_))) {
        p.push("tls");
    }
    if v.pdus.iter().any(|x| matches!(x, AppPdu::Http(_))) {
        p.push("http");
    }
    p.join(":")
}

fn link(w: &mut impl Write, v: &View<'_>) -> io::Result<()> {
    match v.d.link {
        Link::Ethernet {
            dst,
            src,
            ethertype,
            vlan,
        } => {
            writeln!(w, "Ethernet II, Src: {}, Dst: {}", mac(&src), mac(&dst))?;
            writeln!(w, "    Destination: {}", mac(&dst))?;
            writeln!(w, "    Source: {}", mac(&src))?;
            if let Some(id) = vlan {
                writeln!(w, "    802.1Q VLAN ID: {id}")?;
            }
            writeln!(
                w,
                "    Type: {} (0x{ethertype:04x})",
                ethertype_name(ethertype)
            )
        }
        Link::Cooked {
            version,
            packet_type,
            protocol,
        } => {
            writeln!(w, "Linux cooked capture v{version}")?;
            writeln!(w, "    Packet type: {packet_type}")?;
            writeln!(
                w,
                "    Protocol: {} (0x{protocol:04x})",
                ethertype_name(protocol)
            )
        }
        Link::Null { family } => {
            writeln!(w, "Null/Loopback")?;
            writeln!(w, "    Family: {family}")
        }
        Link::Raw => writeln!(w, "Raw packet data"),
        Link::Unknown { linktype } => {
            writeln!(w, "Link type {linktype} (not decoded, or frame too short)")
        }
    }
}

fn network(w: &mut impl Write, v: &View<'_>) -> io::Result<()> {
    match v.d.network {
        Network::Ip(ip) if ip.version == 4 => {
            writeln!(
                w,
                "Internet Protocol Version 4, Src: {}, Dst: {}",
                ip.src, ip.dst
            )?;
            writeln!(w, "    Version: 4")?;
            writeln!(w, "    Header Length: {} bytes", ip.header_len)?;
            writeln!(w, "    Differentiated Services Field: 0x{:02x}", ip.tos)?;
            writeln!(w, "    Total Length: {}", ip.total_len)?;
            writeln!(w, "    Identification: 0x{:04x} ({})", ip.id, ip.id)?;
            let flag = match ip.flags & 0b011 {
                0b010 => ", Don't fragment",
                0b001 => ", More fragments",
                0b011 => ", Don't fragment, More fragments",
                _ => "",
            };
            writeln!(w, "    Flags: 0x{:x}{flag}", ip.flags)?;
            writeln!(w, "    Fragment Offset: {}", ip.fragment_offset)?;
            writeln!(w, "    Time to Live: {}", ip.ttl)?;
            writeln!(
                w,
                "    Protocol: {} ({})",
                ip::proto_name(ip.protocol),
                ip.protocol
            )?;
            writeln!(w, "    Header Checksum: 0x{:04x}", ip.checksum)?;
            writeln!(w, "    Source Address: {}", ip.src)?;
            writeln!(w, "    Destination Address: {}", ip.dst)
        }
        Network::Ip(ip) => {
            writeln!(
                w,
                "Internet Protocol Version 6, Src: {}, Dst: {}",
                ip.src, ip.dst
            )?;
            writeln!(w, "    Version: 6")?;
            writeln!(w, "    Traffic Class: 0x{:02x}", ip.tos)?;
            writeln!(w, "    Flow Label: 0x{:05x}", ip.flow_label)?;
            writeln!(w, "    Payload Length: {}", ip.total_len.saturating_sub(40))?;
            writeln!(
                w,
                "    Next Header: {} ({})",
                ip::proto_name(ip.protocol),
                ip.protocol
            )?;
            writeln!(w, "    Hop Limit: {}", ip.ttl)?;
            writeln!(w, "    Source Address: {}", ip.src)?;
            writeln!(w, "    Destination Address: {}", ip.dst)
        }
        Network::Arp { op, sender, target } => {
            writeln!(w, "Address Resolution Protocol")?;
            writeln!(w, "    Opcode: {op}")?;
            writeln!(
                w,
                "    Sender IP address: {}",
                std::net::Ipv4Addr::from(sender)
            )?;
            writeln!(
                w,
                "    Target IP address: {}",
                std::net::Ipv4Addr::from(target)
            )
        }
        Network::Other(et) => writeln!(w, "Data (EtherType 0x{et:04x}, not decoded)"),
        Network::Malformed(et) => writeln!(w, "[Malformed Packet: {}]", ethertype_name(et)),
        Network::None => Ok(()),
    }
}

fn transport(w: &mut impl Write, v: &View<'_>) -> io::Result<()> {
    let len = v.d.payload.len();
    match v.d.transport {
        Transport::Tcp(t) => {
            let (seq, ack) = match v.seg {
                Some(s) => (s.rel_seq, s.rel_ack),
                None => (t.seq, t.has(tcp::flags::ACK).then_some(t.ack)),
            };
            write!(
                w,
                "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {seq}",
                t.src_port, t.dst_port
            )?;
            if let Some(ack) = ack {
                write!(w, ", Ack: {ack}")?;
            }
            writeln!(w, ", Len: {len}")?;
            writeln!(w, "    Source Port: {}", t.src_port)?;
            writeln!(w, "    Destination Port: {}", t.dst_port)?;
            if let Some(s) = v.seg {
                writeln!(w, "    [Stream index: {}]", s.stream)?;
            }
            writeln!(
                w,
                "    Sequence Number: {seq}    (relative sequence number)"
            )?;
            writeln!(w, "    Sequence Number (raw): {}", t.seq)?;
            if let Some(ack) = ack {
                writeln!(
                    w,
                    "    Acknowledgment Number: {ack}    (relative ack number)"
                )?;
                writeln!(w, "    Acknowledgment number (raw): {}", t.ack)?;
            }
            writeln!(w, "    Header Length: {} bytes", t.header_len)?;
            let mut names = String::new();
            tcp::flag_names(t.flags, &mut names);
            writeln!(w, "    Flags: 0x{:03x} ({names})", t.flags)?;
            writeln!(w, "    Window: {}", t.window)?;
            if let Some(s) = v.seg.filter(|s| s.window != u32::from(t.window)) {
                writeln!(w, "    [Calculated window size: {}]", s.window)?;
            }
            writeln!(w, "    Checksum: 0x{:04x}", t.checksum)?;
            writeln!(w, "    Urgent Pointer: {}", t.urgent)?;
            if let Some(mss) = t.mss {
                writeln!(w, "    Options: Maximum segment size: {mss} bytes")?;
            }
            if len > 0 {
                writeln!(w, "    TCP payload ({len} bytes)")?;
            }
        }
        Transport::Udp(u) => {
            writeln!(
                w,
                "User Datagram Protocol, Src Port: {}, Dst Port: {}",
                u.src_port, u.dst_port
            )?;
            writeln!(w, "    Source Port: {}", u.src_port)?;
            writeln!(w, "    Destination Port: {}", u.dst_port)?;
            writeln!(w, "    Length: {}", u.length)?;
            writeln!(w, "    Checksum: 0x{:04x}", u.checksum)?;
            writeln!(w, "    UDP payload ({len} bytes)")?;
        }
        Transport::Icmp(i) => {
            let name = if i.v6 {
                "Internet Control Message Protocol v6"
            } else {
                "Internet Control Message Protocol"
            };
            writeln!(w, "{name}")?;
            writeln!(w, "    Type: {} ({})", i.kind, tcp::icmp_info(&i))?;
            writeln!(w, "    Code: {}", i.code)?;
        }
        Transport::Fragment => writeln!(w, "Fragmented IP protocol ({len} bytes)")?,
        Transport::Other {
            protocol,
            malformed,
        } => {
            let m = if malformed { " [Malformed Packet]" } else { "" };
            writeln!(w, "Data: IP protocol {protocol}, {len} bytes{m}")?
        }
        Transport::None => {}
    }
    Ok(())
}

fn http(w: &mut impl Write, m: &Message) -> io::Result<()> {
    writeln!(w, "Hypertext Transfer Protocol")?;
    writeln!(w, "    {}\\r\\n", m.start_line())?;
    match &m.start {
        StartLine::Request {
            method,
            uri,
            version,
        } => {
            writeln!(w, "        Request Method: {method}")?;
            writeln!(w, "        Request URI: {uri}")?;
            writeln!(w, "        Request Version: {version}")?;
        }
        StartLine::Response {
            version,
            status,
            reason,
        } => {
            writeln!(w, "        Response Version: {version}")?;
            writeln!(w, "        Status Code: {status}")?;
            writeln!(w, "        Response Phrase: {reason}")?;
        }
    }
    for (name, value) in &m.headers {
        writeln!(w, "    {name}: {value}\\r\\n")?;
    }
    writeln!(w, "    \\r\\n")?;
    if m.body_len > 0 {
        let chunked = if m.chunked { ", chunked" } else { "" };
        let cut = if m.truncated { ", truncated" } else { "" };
        writeln!(w, "    File Data: {} bytes{chunked}{cut}", m.body_len)?;
        match &m.fernet {
            Some(t) => fernet(w, t)?,
            None => body(w, m)?,
        }
    }
    Ok(())
}

fn body(w: &mut impl Write, m: &Message) -> io::Result<()> {
    let text = String::from_utf8_lossy(&m.body);
    let kind = m.header("content-type").unwrap_or("data");
    let lines: Vec<&str> = text.lines().collect();
    writeln!(w, "Line-based text data: {kind} ({} lines)", lines.len())?;
    for line in lines.iter().take(40) {
        let shown: String = line.chars().take(200).collect();
        writeln!(w, "    {}", shown.escape_debug())?;
    }
    if lines.len() > 40 || m.body_len > m.body.len() as u64 {
        writeln!(w, "    [...]")?;
    }
    Ok(())
}

fn fernet(w: &mut impl Write, t: &FernetToken) -> io::Result<()> {
    writeln!(
        w,
        "Fernet token ({} characters of URL-safe base64)",
        t.text_len
    )?;
    writeln!(w, "    Version: 0x{:02x}", t.version)?;
    writeln!(
        w,
        "    Timestamp: {} ({})",
        utc_date(t.timestamp),
        t.timestamp
    )?;
    writeln!(w, "    IV: {}", hex::encode(t.iv))?;
    writeln!(
        w,
        "    Ciphertext: {} bytes (AES-128-CBC; the spy cannot read it)",
        t.ciphertext_len
    )?;
    writeln!(w, "    HMAC-SHA256: {}", hex::encode(t.hmac))
}

fn tls(w: &mut impl Write, r: &Record, v: &View<'_>) -> io::Result<()> {
    let version = v.seg.and_then(|s| s.tls_version).unwrap_or(r.version);
    let mut what = String::new();
    super::record_info(r, &mut what, &mut true);
    writeln!(
        w,
        "Transport Layer Security: {} Record Layer: {what}",
        tls_names::version(version)
    )?;
    writeln!(w, "    Content Type: {}", r.content_type)?;
    writeln!(
        w,
        "    Version: {} (0x{:04x})",
        tls_names::version(r.version),
        r.version
    )?;
    writeln!(w, "    Length: {}", r.length)?;
    if let Content::Handshake(msgs) = &r.content {
        for m in msgs {
            handshake(w, m)?;
        }
    }
    Ok(())
}

fn handshake(w: &mut impl Write, m: &Handshake) -> io::Result<()> {
    match m {
        Handshake::ClientHello(ch) => {
            writeln!(w, "    Handshake Protocol: Client Hello")?;
            writeln!(
                w,
                "        Version: {} (0x{:04x})",
                tls_names::version(ch.version),
                ch.version
            )?;
            writeln!(w, "        Random: {}", hex::encode(ch.random))?;
            writeln!(w, "        Session ID Length: {}", ch.session_id_len)?;
            if let Some(sni) = &ch.server_name {
                writeln!(w, "        Server Name Indication: {sni}")?;
            }
            if !ch.alpn.is_empty() {
                writeln!(w, "        ALPN: {}", ch.alpn.join(", "))?;
            }
            if !ch.supported_versions.is_empty() {
                let list: Vec<&str> = ch
                    .supported_versions
                    .iter()
                    .map(|v| tls_names::version(*v))
                    .collect();
                writeln!(w, "        Supported Versions: {}", list.join(", "))?;
            }
            writeln!(
                w,
                "        Cipher Suites ({} suites)",
                ch.cipher_suites.len()
            )?;
            for s in &ch.cipher_suites {
                writeln!(
                    w,
                    "            Cipher Suite: {}",
                    tls_names::cipher_suite_label(*s)
                )?;
            }
            let ext: Vec<&str> = ch
                .extensions
                .iter()
                .map(|e| tls_names::extension(*e))
                .collect();
            writeln!(w, "        Extensions: {}", ext.join(", "))?;
        }
        Handshake::ServerHello(sh) => {
            let name = if sh.hello_retry {
                "Hello Retry Request"
            } else {
                "Server Hello"
            };
            writeln!(w, "    Handshake Protocol: {name}")?;
            writeln!(
                w,
                "        Version: {} (0x{:04x})",
                tls_names::version(sh.version),
                sh.version
            )?;
            if let Some(v) = sh.selected_version {
                writeln!(
                    w,
                    "        Supported Version: {} (0x{v:04x})",
                    tls_names::version(v)
                )?;
            }
            writeln!(w, "        Random: {}", hex::encode(sh.random))?;
            writeln!(
                w,
                "        Cipher Suite: {}",
                tls_names::cipher_suite_label(sh.cipher_suite)
            )?;
            if let Some(a) = &sh.alpn {
                writeln!(w, "        ALPN: {a}")?;
            }
        }
        Handshake::Certificate(certs) => {
            writeln!(
                w,
                "    Handshake Protocol: Certificate ({} certificates)",
                certs.len()
            )?;
            for c in certs {
                writeln!(w, "        Certificate ({} bytes)", c.der_len)?;
                writeln!(w, "            Subject: {}", c.subject)?;
                writeln!(w, "            Issuer: {}", c.issuer)?;
                writeln!(w, "            Not Before: {}", c.not_before)?;
                writeln!(w, "            Not After: {}", c.not_after)?;
                writeln!(w, "            [{}]", c.sentence())?;
            }
        }
        Handshake::Other { kind, length } => {
            writeln!(
                w,
                "    Handshake Protocol: {} ({length} bytes)",
                tls_names::handshake(*kind)
            )?;
        }
    }
    Ok(())
}
