//! The transport layer: TCP and UDP (tutorial step 3, "Transmission Control
//! Protocol, Src Port: 40012, Dst Port: 5683, Seq: 1, Ack: 1, Len: 78").
//! The tutorial's capture filter `port 5683` selects on these ports.

/// TCP flag bits.
pub mod flags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const AE: u16 = 0x100;
}

/// A decoded TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub header_len: u8,
    pub flags: u16,
    pub window: u16,
    pub checksum: u16,
    pub urgent: u16,
    /// Maximum segment size and window scale, from the options of a SYN.
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
}

impl Tcp {
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// A decoded UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp {
    pub src_port: u16,
    pub dst_port: u16,
    pub length: u16,
    pub checksum: u16,
}

/// An ICMP or ICMPv6 message type and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp {
    pub v6: bool,
    pub kind: u8,
    pub code: u8,
}

/// Parses a TCP header; returns it and the segment's payload.
pub fn parse_tcp(data: &[u8]) -> Option<(Tcp, &[u8])> {
    if data.len() < 20 {
        return None;
    }
    let header_len = usize::from(data[12] >> 4) * 4;
    if header_len < 20 || data.len() < header_len {
        return None;
    }
    let mut tcp = Tcp {
        src_port: u16::from_be_bytes([data[0], data[1]]),
        dst_port: u16::from_be_bytes([data[2], data[3]]),
        seq: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
        ack: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
        header_len: header_len as u8,
        flags: u16::from_be_bytes([data[12] & 0x01, data[13]]),
        window: u16::from_be_bytes([data[14], data[15]]),
        checksum: u16::from_be_bytes([data[16], data[17]]),
        urgent: u16::from_be_bytes([data[18], data[19]]),
        mss: None,
        window_scale: None,
        sack_permitted: false,
    };
    if tcp.has(flags::SYN) {
        read_options(&data[20..header_len], &mut tcp);
    }
    Some((tcp, &data[header_len..]))
}

fn read_options(mut opts: &[u8], tcp: &mut Tcp) {
    while let Some((&kind, rest)) = opts.split_first() {
        match kind {
            0 => return,
            1 => opts = rest,
            _ => {
                let Some(&len) = rest.first() else { return };
                let len = usize::from(len);
                if len < 2 || opts.len() < len {
                    return;
                }
                let value = &opts[2..len];
                match (kind, value.len()) {
                    (2, 2) => tcp.mss = Some(u16::from_be_bytes([value[0], value[1]])),
                    (3, 1) => tcp.window_scale = Some(value[0]),
                    (4, 0) => tcp.sack_permitted = true,
                    _ => {}
                }
                opts = &opts[len..];
            }
        }
    }
}

/// Parses a UDP header; returns it and the datagram's payload.
pub fn parse_udp(data: &[u8]) -> Option<(Udp, &[u8])> {
    if data.len() < 8 {
        return None;
    }
    let udp = Udp {
        src_port: u16::from_be_bytes([data[0], data[1]]),
        dst_port: u16::from_be_bytes([data[2], data[3]]),
        length: u16::from_be_bytes([data[4], data[5]]),
        checksum: u16::from_be_bytes([data[6], data[7]]),
    };
    let end = usize::from(udp.length).clamp(8, data.len());
    Some((udp, &data[8..end]))
}

/// Parses the type and code of an ICMP message.
pub fn parse_icmp(data: &[u8], v6: bool) -> Option<(Icmp, &[u8])> {
    let (&kind, rest) = data.split_first()?;
    let (&code, _) = rest.split_first()?;
    Some((Icmp { v6, kind, code }, data.get(4..).unwrap_or(&[])))
}

/// `[SYN, ACK]`: the flags as Wireshark's Info column lists them.
pub fn flag_names(bits: u16, out: &mut String) {
    const NAMES: [(u16, &str); 9] = [
        (flags::FIN, "FIN"),
        (flags::SYN, "SYN"),
        (flags::RST, "RST"),
        (flags::PSH, "PSH"),
        (flags::ACK, "ACK"),
        (flags::URG, "URG"),
        (flags::ECE, "ECE"),
        (flags::CWR, "CWR"),
        (flags::AE, "AE"),
    ];
    let mut first = true;
    for (bit, name) in NAMES {
        if bits & bit != 0 {
            if !first {
                out.push_str(", ");
            }
            out.push_str(name);
            first = false;
        }
    }
}

/// What an ICMP type means, for the Info column.
pub fn icmp_info(icmp: &Icmp) -> String {
    let text = match (icmp.v6, icmp.kind) {
        (false, 0) | (true, 129) => "Echo (ping) reply",
        (false, 8) | (true, 128) => "Echo (ping) request",
        (false, 3) | (true, 1) => "Destination unreachable",
        (false, 11) | (true, 3) => "Time exceeded",
        (true, 133) => "Router Solicitation",
        (true, 134) => "Router Advertisement",
        (true, 135) => "Neighbor Solicitation",
        (true, 136) => "Neighbor Advertisement",
        _ => "",
    };
    if text.is_empty() {
        format!("type {} code {}", icmp.kind, icmp.code)
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_options_are_read() {
        let mut h = vec![0x9c, 0x4c, 0x16, 0x33, 0, 0, 0, 1, 0, 0, 0, 0, 0xA0, 0x02];
        h.extend_from_slice(&[0xff, 0xd7, 0, 0, 0, 0]);
        h.extend_from_slice(&[
            2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ]);
        let (tcp, payload) = parse_tcp(&h).unwrap();
        assert!(payload.is_empty());
        assert_eq!((tcp.src_port, tcp.dst_port), (40012, 5683));
        assert_eq!(tcp.mss, Some(65495));
        assert_eq!(tcp.window_scale, Some(7));
        assert!(tcp.sack_permitted);
        let mut s = String::new();
        flag_names(tcp.flags, &mut s);
        assert_eq!(s, "SYN");
    }

    #[test]
    fn options_running_past_the_header_stop_cleanly() {
        let mut t = Tcp {
            src_port: 0,
            dst_port: 0,
            seq: 0,
            ack: 0,
            header_len: 20,
            flags: 0,
            window: 0,
            checksum: 0,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
        };
        read_options(&[2, 40, 1], &mut t);
        read_options(&[2], &mut t);
        read_options(&[3, 0], &mut t);
        assert_eq!(t.mss, None);
    }
}
