//! The dissector: from raw bytes to the layers Wireshark shows in its middle
//! pane (tutorial step 3). Every parser here works on borrowed slices of
//! the frame, copies nothing, and returns `None` or a partial result on
//! bytes that are short or hostile: a spy reads whatever the wire carries
//! and must never crash on it.
//!
//! Packet-level layers (link, IP, TCP/UDP) are decoded here, one frame at a
//! time. Application layers (HTTP, TLS) need the bytes of a whole TCP
//! stream and are decoded by [`crate::reassembly`] with the parsers of
//! [`http`] and [`tls`].

pub mod ethernet;
pub mod fernet;
pub mod http;
pub mod ip;
pub mod tcp;
pub mod tls;
pub mod tls_names;
pub mod x509;

pub use ethernet::Link;
pub use ip::Ip;
pub use tcp::{Icmp, Tcp, Udp};

/// The network layer of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    None,
    Ip(Ip),
    /// ARP: operation, sender and target protocol addresses.
    Arp {
        op: u16,
        sender: [u8; 4],
        target: [u8; 4],
    },
    /// An EtherType squirrel does not decode.
    Other(u16),
    /// The EtherType said IP but the header is broken or cut short.
    Malformed(u16),
}

/// The transport layer of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    None,
    Tcp(Tcp),
    Udp(Udp),
    Icmp(Icmp),
    /// A later IP fragment: no transport header in this frame.
    Fragment,
    /// A protocol squirrel does not decode, or a header cut short.
    Other {
        protocol: u8,
        malformed: bool,
    },
}

/// The layers of one frame, all borrowing from it.
#[derive(Debug, Clone, Copy)]
pub struct Dissection<'a> {
    pub link: Link,
    pub network: Network,
    pub transport: Transport,
    /// The bytes after the last decoded header (TCP/UDP payload, ...).
    pub payload: &'a [u8],
    /// Where `payload` starts in the frame.
    pub payload_offset: usize,
}

impl Dissection<'_> {
    pub fn ip(&self) -> Option<&Ip> {
        match &self.network {
            Network::Ip(ip) => Some(ip),
            _ => None,
        }
    }

    pub fn tcp(&self) -> Option<&Tcp> {
        match &self.transport {
            Transport::Tcp(tcp) => Some(tcp),
            _ => None,
        }
    }

    /// Source and destination ports, for TCP and UDP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match &self.transport {
            Transport::Tcp(t) => Some((t.src_port, t.dst_port)),
            Transport::Udp(u) => Some((u.src_port, u.dst_port)),
            _ => None,
        }
    }
}

/// Dissects one frame of the given pcap link type. Never panics.
pub fn dissect(linktype: u32, frame: &[u8]) -> Dissection<'_> {
    let (link, rest, link_len) = ethernet::parse(linktype, frame);
    let mut d = Dissection {
        link,
        network: Network::None,
        transport: Transport::None,
        payload: rest,
        payload_offset: link_len,
    };
    let Some(ethertype) = link.ethertype(rest) else {
        return d;
    };
    let parsed = match ethertype {
        ethernet::ethertype::IPV4 => ip::parse_v4(rest),
        ethernet::ethertype::IPV6 => ip::parse_v6(rest),
        ethernet::ethertype::ARP => {
            d.network = parse_arp(rest).unwrap_or(Network::Malformed(ethertype));
            return d;
        }
        other => {
            d.network = Network::Other(other);
            return d;
        }
    };
    let Some((ip, ip_payload)) = parsed else {
        d.network = Network::Malformed(ethertype);
        return d;
    };
    d.network = Network::Ip(ip);
    d.payload = ip_payload;
    d.payload_offset = link_len + usize::from(ip.header_len);
    if ip.is_later_fragment() {
        d.transport = Transport::Fragment;
        return d;
    }
    let transport = match ip.protocol {
        ip::proto::TCP => tcp::parse_tcp(ip_payload).map(|(t, p)| (Transport::Tcp(t), p)),
        ip::proto::UDP => tcp::parse_udp(ip_payload).map(|(u, p)| (Transport::Udp(u), p)),
        ip::proto::ICMP => tcp::parse_icmp(ip_payload, false).map(|(i, p)| (Transport::Icmp(i), p)),
        ip::proto::ICMPV6 => {
            tcp::parse_icmp(ip_payload, true).map(|(i, p)| (Transport::Icmp(i), p))
        }
        protocol => {
            d.transport = Transport::Other {
                protocol,
                malformed: false,
            };
            return d;
        }
    };
    match transport {
        Some((t, payload)) => {
            d.transport = t;
            d.payload_offset += ip_payload.len() - payload.len();
            d.payload = payload;
        }
        None => {
            d.transport = Transport::Other {
                protocol: ip.protocol,
                malformed: true,
            }
        }
    }
    d
}

fn parse_arp(data: &[u8]) -> Option<Network> {
    // Ethernet/IPv4 ARP only: hardware length 6, protocol length 4.
    if data.len() < 28 || data[4] != 6 || data[5] != 4 {
        return None;
    }
    let op = u16::from_be_bytes([data[6], data[7]]);
    let sender = [data[14], data[15], data[16], data[17]];
    let target = [data[24], data[25], data[26], data[27]];
    Some(Network::Arp { op, sender, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_of_a_frame_dissects_without_panic() {
        let frame = crate::synth::tcp_frame(
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:5683".parse().unwrap(),
            1,
            1,
            tcp::flags::PSH | tcp::flags::ACK,
            b"GET / HTTP/1.1\r\n\r\n",
        );
        let full = dissect(ethernet::linktype::ETHERNET, &frame);
        assert_eq!(full.payload, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(full.payload_offset, 54);
        for n in 0..frame.len() {
            let _ = dissect(ethernet::linktype::ETHERNET, &frame[..n]);
        }
    }
}
