//! The link layer, the first line of Wireshark's middle pane after "Frame"
//! (tutorial step 3: "Ethernet II, Src: 00:00:00_00:00:00 ..."). On `lo`
//! Linux hands out Ethernet II frames with both addresses zero; files made
//! elsewhere may hold Linux "cooked" headers (SLL, SLL2), BSD loopback
//! headers or bare IP, so all of them are understood.

/// pcap link-layer header types (<https://www.tcpdump.org/linktypes.html>).
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// EtherTypes that the dissector follows.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86DD;
    pub const QINQ: u16 = 0x88A8;
}

/// The decoded link-layer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II, with the VLAN tag if there was one.
    Ethernet {
        dst: [u8; 6],
        src: [u8; 6],
        ethertype: u16,
        vlan: Option<u16>,
    },
    /// Linux cooked capture (v1 or v2): the packet type says whether the
    /// host sent or received it.
    Cooked {
        version: u8,
        packet_type: u16,
        protocol: u16,
    },
    /// BSD loopback: a 4-byte address family.
    Null { family: u32 },
    /// No link header: the frame starts with the IP header.
    Raw,
    /// A link type squirrel does not know, or a header cut short.
    Unknown { linktype: u32 },
}

impl Link {
    /// The EtherType of what follows, when known.
    pub fn ethertype(&self, payload: &[u8]) -> Option<u16> {
        match *self {
            Link::Ethernet { ethertype, .. } => Some(ethertype),
            Link::Cooked { protocol, .. } => Some(protocol),
            Link::Null { family } => match family {
                2 => Some(ethertype::IPV4),
                24 | 28 | 30 => Some(ethertype::IPV6),
                _ => None,
            },
            Link::Raw => match payload.first().map(|b| b >> 4) {
                Some(4) => Some(ethertype::IPV4),
                Some(6) => Some(ethertype::IPV6),
                _ => None,
            },
            Link::Unknown { .. } => None,
        }
    }
}

/// Splits a frame into its link header and the rest. Never panics: a frame
/// too short for its header gives `Link::Unknown` and an empty rest.
pub fn parse(linktype: u32, frame: &[u8]) -> (Link, &[u8], usize) {
    match linktype {
        linktype::ETHERNET => parse_ethernet(frame),
        linktype::RAW | linktype::IPV4 | linktype::IPV6 => (Link::Raw, frame, 0),
        linktype::NULL | linktype::LOOP => {
            let Some(head) = frame.get(..4) else {
                return unknown(linktype);
            };
            let head: [u8; 4] = [head[0], head[1], head[2], head[3]];
            // The family is in the writer's byte order; LOOP is always big
            // endian. A small number tells which order was used.
            let be = u32::from_be_bytes(head);
            let family = if linktype == linktype::LOOP || be < 256 {
                be
            } else {
                u32::from_le_bytes(head)
            };
            (Link::Null { family }, &frame[4..], 4)
        }
        linktype::LINUX_SLL => {
            if frame.len() < 16 {
                return unknown(linktype);
            }
            let packet_type = u16::from_be_bytes([frame[0], frame[1]]);
            let protocol = u16::from_be_bytes([frame[14], frame[15]]);
            let link = Link::Cooked {
                version: 1,
                packet_type,
                protocol,
            };
            (link, &frame[16..], 16)
        }
        linktype::LINUX_SLL2 => {
            if frame.len() < 20 {
                return unknown(linktype);
            }
            let protocol = u16::from_be_bytes([frame[0], frame[1]]);
            let link = Link::Cooked {
                version: 2,
                packet_type: u16::from(frame[10]),
                protocol,
            };
            (link, &frame[20..], 20)
        }
        other => unknown(other),
    }
}

fn unknown(linktype: u32) -> (Link, &'static [u8], usize) {
    (Link::Unknown { linktype }, &[], 0)
}

fn parse_ethernet(frame: &[u8]) -> (Link, &[u8], usize) {
    if frame.len() < 14 {
        return unknown(linktype::ETHERNET);
    }
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&frame[0..6]);
    src.copy_from_slice(&frame[6..12]);
    let mut ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let mut offset = 14;
    let mut vlan = None;
    // One or two 802.1Q tags may sit before the real EtherType.
    while (ethertype == ethertype::VLAN || ethertype == ethertype::QINQ)
        && frame.len() >= offset + 4
    {
        vlan = Some(u16::from_be_bytes([frame[offset], frame[offset + 1]]) & 0x0FFF);
        ethertype = u16::from_be_bytes([frame[offset + 2], frame[offset + 3]]);
        offset += 4;
    }
    let link = Link::Ethernet {
        dst,
        src,
        ethertype,
        vlan,
    };
    (link, &frame[offset..], offset)
}

/// `00:00:00:00:00:00`, as Wireshark writes a MAC address.
pub fn mac(addr: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        addr[0], addr[1], addr[2], addr[3], addr[4], addr[5]
    )
}

/// The name Wireshark gives an EtherType.
pub fn ethertype_name(ethertype: u16) -> &'static str {
    match ethertype {
        ethertype::IPV4 => "IPv4",
        ethertype::IPV6 => "IPv6",
        ethertype::ARP => "ARP",
        ethertype::VLAN => "802.1Q",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_a_vlan_tag() {
        let mut f = vec![0xff; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00, 0x45]);
        let (link, rest, off) = parse(linktype::ETHERNET, &f);
        assert_eq!(off, 18);
        assert_eq!(rest, &[0x45]);
        assert!(matches!(
            link,
            Link::Ethernet {
                ethertype: 0x0800,
                vlan: Some(5),
                ..
            }
        ));
    }

    #[test]
    fn short_frames_are_unknown() {
        for lt in [0, 1, 113, 276, 999] {
            let (link, rest, _) = parse(lt, &[1, 2, 3]);
            assert!(matches!(link, Link::Unknown { .. }), "{lt}");
            assert!(rest.is_empty());
        }
    }
}
