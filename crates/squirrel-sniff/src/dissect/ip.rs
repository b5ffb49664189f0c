//! The network layer: IPv4 and IPv6 (tutorial step 3, "Internet Protocol
//! Version 4, Src: 127.0.0.1, Dst: 127.0.0.1"). Only what a reader of the
//! tutorial needs to see and what the next layer needs to be found: the
//! addresses, the protocol, the lengths. Fragments after the first carry no
//! transport header and are shown as such.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol numbers that the dissector follows.
pub mod proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
}

/// A decoded IPv4 or IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip {
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The transport protocol (IPv6: the last "next header").
    pub protocol: u8,
    /// Bytes of IP header, extension headers included.
    pub header_len: u16,
    /// Total length as the header says (IPv6: payload length + 40).
    pub total_len: u32,
    pub ttl: u8,
    /// IPv4 only: identification, flags (3 bits) and fragment offset.
    pub id: u16,
    pub flags: u8,
    pub fragment_offset: u16,
    pub checksum: u16,
    /// IPv4 DSCP/ECN or IPv6 traffic class.
    pub tos: u8,
    /// IPv6 flow label.
    pub flow_label: u32,
}

impl Ip {
    /// True for a fragment that does not start at offset 0: its payload is
    /// the middle of a datagram and has no transport header.
    pub fn is_later_fragment(&self) -> bool {
        self.fragment_offset != 0
    }
}

/// Parses an IPv4 header. Returns the header and its payload, trimmed to
/// the total length (Ethernet pads short frames) and to what was captured.
pub fn parse_v4(data: &[u8]) -> Option<(Ip, &[u8])> {
    if data.len() < 20 || data[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(data[0] & 0x0F) * 4;
    if ihl < 20 || data.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
    // TSO on loopback may leave total length 0 for very large frames.
    let end = if total >= ihl {
        total.min(data.len())
    } else {
        data.len()
    };
    let frag = u16::from_be_bytes([data[6], data[7]]);
    let ip = Ip {
        version: 4,
        src: IpAddr::V4(Ipv4Addr::new(data[12], data[13], data[14], data[15])),
        dst: IpAddr::V4(Ipv4Addr::new(data[16], data[17], data[18], data[19])),
        protocol: data[9],
        header_len: ihl as u16,
        total_len: total as u32,
        ttl: data[8],
        id: u16::from_be_bytes([data[4], data[5]]),
        flags: (frag >> 13) as u8,
        fragment_offset: (frag & 0x1FFF) * 8,
        checksum: u16::from_be_bytes([data[10], data[11]]),
        tos: data[1],
        flow_label: 0,
    };
    Some((ip, &data[ihl..end]))
}

/// Parses an IPv6 header and walks its extension headers to the transport.
pub fn parse_v6(data: &[u8]) -> Option<(Ip, &[u8])> {
    if data.len() < 40 || data[0] >> 4 != 6 {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([data[4], data[5]]));
    let end = if payload_len == 0 {
        data.len()
    } else {
        (40 + payload_len).min(data.len())
    };
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&data[8..24]);
    dst.copy_from_slice(&data[24..40]);
    let mut next = data[6];
    let mut offset = 40usize;
    let mut fragment_offset = 0u16;
    // Hop-by-hop, routing, fragment, destination options: skip them.
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let ext = data.get(offset..offset + 2)?;
                next = ext[0];
                offset += (usize::from(ext[1]) + 1) * 8;
            }
            44 => {
                let ext = data.get(offset..offset + 8)?;
                next = ext[0];
                fragment_offset = u16::from_be_bytes([ext[2], ext[3]]) & 0xFFF8;
                offset += 8;
            }
            _ => break,
        }
    }
    if offset > end {
        return None;
    }
    let word = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let ip = Ip {
        version: 6,
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol: next,
        header_len: offset as u16,
        total_len: (payload_len + 40) as u32,
        ttl: data[7],
        id: 0,
        flags: 0,
        fragment_offset,
        checksum: 0,
        tos: ((word >> 20) & 0xFF) as u8,
        flow_label: word & 0x000F_FFFF,
    };
    Some((ip, &data[offset..end]))
}

/// The name Wireshark gives an IP protocol number.
pub fn proto_name(protocol: u8) -> &'static str {
    match protocol {
        proto::ICMP => "ICMP",
        proto::TCP => "TCP",
        proto::UDP => "UDP",
        proto::ICMPV6 => "ICMPv6",
        2 => "IGMP",
        47 => "GRE",
        50 => "ESP",
        132 => "SCTP",
        _ => "IP",
    }
}

/// The Internet checksum (RFC 1071) over `parts`, as IPv4 and TCP use it.
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    let mut odd: Option<u8> = None;
    for part in parts {
        let mut bytes = *part;
        if let Some(high) = odd.take() {
            if let Some((&low, rest)) = bytes.split_first() {
                sum += u32::from(u16::from_be_bytes([high, low]));
                bytes = rest;
            } else {
                odd = Some(high);
                continue;
            }
        }
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            odd = Some(*last);
        }
        while sum > 0xFFFF {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
    }
    if let Some(high) = odd {
        sum += u32::from(high) << 8;
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_is_read_and_padding_trimmed() {
        let mut h = vec![
            0x45, 0, 0, 24, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2,
        ];
        let sum = checksum(&[&h]);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(
            checksum(&[&h]),
            0,
            "a header with its checksum sums to zero"
        );
        h.extend_from_slice(&[1, 2, 3, 4, 0, 0, 0]);
        let (ip, payload) = parse_v4(&h).unwrap();
        assert_eq!(payload, &[1, 2, 3, 4]);
        assert_eq!(ip.flags, 2);
        assert_eq!(ip.dst.to_string(), "127.0.0.2");
    }

    #[test]
    fn checksum_of_split_odd_parts_equals_checksum_of_the_whole() {
        let whole: Vec<u8> = (0u8..=200).collect();
        let (a, b) = whole.split_at(77);
        assert_eq!(checksum(&[a, b]), checksum(&[&whole]));
    }
}
