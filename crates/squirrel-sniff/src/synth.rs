//! Frames made from scratch: Ethernet II + IPv4/IPv6 + TCP with correct
//! checksums. The relay uses them to show a relayed connection exactly as a
//! capture of it would look; tests and the benchmark use them to build
//! captures without a network.

use crate::dissect::ip::checksum;
use crate::dissect::tcp::flags::{ACK, FIN, PSH, SYN};
use std::net::{IpAddr, SocketAddr};

/// Largest TCP payload put in one synthetic segment.
pub const MSS: usize = 32_768;

/// One Ethernet II frame holding a TCP segment from `src` to `dst`.
pub fn tcp_frame(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut tcp = Vec::with_capacity(20 + payload.len());
    tcp.extend_from_slice(&src.port().to_be_bytes());
    tcp.extend_from_slice(&dst.port().to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.push(5 << 4);
    tcp.push(flags as u8);
    tcp.extend_from_slice(&65_535u16.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    let tcp_len = tcp.len() as u32;
    let mut frame = Vec::with_capacity(14 + 40 + tcp.len());
    frame.extend_from_slice(&[0u8; 12]);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let sum = checksum(&[
                &s.octets(),
                &d.octets(),
                &[0, 6],
                &(tcp_len as u16).to_be_bytes(),
                &tcp,
            ]);
            tcp[16..18].copy_from_slice(&sum.to_be_bytes());
            frame.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
            ip[6] = 0x40;
            ip[8] = 64;
            ip[9] = 6;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let sum = checksum(&[&ip]);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            frame.extend_from_slice(&ip);
        }
        (s, d) => {
            let s = to_v6(s);
            let d = to_v6(d);
            let sum = checksum(&[&s, &d, &tcp_len.to_be_bytes(), &[0, 0, 0, 6], &tcp]);
            tcp[16..18].copy_from_slice(&sum.to_be_bytes());
            frame.extend_from_slice(&0x86DDu16.to_be_bytes());
            frame.extend_from_slice(&[0x60, 0, 0, 0]);
            frame.extend_from_slice(&(tcp_len as u16).to_be_bytes());
            frame.extend_from_slice(&[6, 64]);
            frame.extend_from_slice(&s);
            frame.extend_from_slice(&d);
        }
    }
    frame.extend_from_slice(&tcp);
    frame
}

fn to_v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// A TCP connection played frame by frame, keeping sequence numbers.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub client: SocketAddr,
    pub server: SocketAddr,
    client_seq: u32,
    server_seq: u32,
}

impl Conversation {
    /// `isn` seeds both initial sequence numbers.
    pub fn new(client: SocketAddr, server: SocketAddr, isn: u32) -> Self {
        Conversation {
            client,
            server,
            client_seq: isn.wrapping_mul(2_654_435_761),
            server_seq: isn.wrapping_mul(2_246_822_519).wrapping_add(1),
        }
    }

    /// SYN, SYN-ACK, ACK.
    pub fn open(&mut self) -> Vec<Vec<u8>> {
        let (c, s) = (self.client, self.server);
        let syn = tcp_frame(c, s, self.client_seq, 0, SYN, &[]);
        self.client_seq = self.client_seq.wrapping_add(1);
        let syn_ack = tcp_frame(s, c, self.server_seq, self.client_seq, SYN | ACK, &[]);
        self.server_seq = self.server_seq.wrapping_add(1);
        let ack = tcp_frame(c, s, self.client_seq, self.server_seq, ACK, &[]);
        vec![syn, syn_ack, ack]
    }

    /// Data from one side, split into segments of at most [`MSS`] bytes.
    pub fn send(&mut self, from_client: bool, data: &[u8]) -> Vec<Vec<u8>> {
        data.chunks(MSS)
            .map(|chunk| self.segment(from_client, PSH | ACK, chunk))
            .collect()
    }

    /// A FIN from one side.
    pub fn fin(&mut self, from_client: bool) -> Vec<u8> {
        let f = self.segment(from_client, FIN | ACK, &[]);
        if from_client {
            self.client_seq = self.client_seq.wrapping_add(1);
        } else {
            self.server_seq = self.server_seq.wrapping_add(1);
        }
        f
    }

    /// A pure ACK from one side.
    pub fn ack(&mut self, from_client: bool) -> Vec<u8> {
        self.segment(from_client, ACK, &[])
    }

    fn segment(&mut self, from_client: bool, flags: u16, data: &[u8]) -> Vec<u8> {
        let n = data.len() as u32;
        if from_client {
            let f = tcp_frame(
                self.client,
                self.server,
                self.client_seq,
                self.server_seq,
                flags,
                data,
            );
            self.client_seq = self.client_seq.wrapping_add(n);
            f
        } else {
            let f = tcp_frame(
                self.server,
                self.client,
                self.server_seq,
                self.client_seq,
                flags,
                data,
            );
            self.server_seq = self.server_seq.wrapping_add(n);
            f
        }
    }
}

/// A TLS record holding a ClientHello for `sni` that offers TLS 1.3 and
/// 1.2, two suites, and ALPN h2 and http/1.1. `random` fills the random.
pub fn client_hello(sni: &str, random: u8) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut body = vec![3, 3];
    body.extend_from_slice(&[random; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02, 1, 0]);
    let mut ext = Vec::new();
    ext.extend_from_slice(&[0, 0]);
    ext.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
    ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    ext.extend_from_slice(name);
    ext.extend_from_slice(&[0, 16, 0, 14, 0, 12, 2, b'h', b'2', 8]);
    ext.extend_from_slice(b"http/1.1");
    ext.extend_from_slice(&[0, 43, 0, 5, 4, 3, 4, 3, 3]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1, 0];
    hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// A TLS 1.3 ServerHello record choosing TLS_AES_128_GCM_SHA256, then a
/// ChangeCipherSpec and one encrypted record of `encrypted` bytes.
pub fn server_flight(encrypted: usize) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x42; 32]);
    body.push(0);
    body.extend_from_slice(&[0x13, 0x01, 0]);
    body.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
    let mut hs = vec![2, 0];
    hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hs.extend_from_slice(&body);
    let mut out = vec![22, 3, 3];
    out.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    out.extend_from_slice(&hs);
    out.extend_from_slice(&[20, 3, 3, 0, 1, 1]);
    out.extend_from_slice(&application_data(encrypted));
    out
}

/// One TLS ApplicationData record of `len` opaque bytes.
pub fn application_data(len: usize) -> Vec<u8> {
    let mut out = vec![23, 3, 3];
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.resize(5 + len, 0xA5);
    out
}
