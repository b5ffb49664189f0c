//! TLS records as a spy without the keys sees them (tutorial steps 13 and
//! 14: the same secret, now over HTTPS). What stays in clear is the
//! handshake's first messages: the ClientHello with the server's name (SNI),
//! the protocols (ALPN) and the suites offered; the ServerHello with the
//! chosen version and suite; in TLS 1.2 the server's certificate too. After
//! that, only record types and lengths: "Application Data, 35 bytes".
//!
//! Records are reassembled across TCP segments. Handshake messages are
//! reassembled across records. Application data is never buffered: its
//! bytes are counted and skipped.

use super::tls_names::HELLO_RETRY_RANDOM;
use super::x509::{self, CertSummary};

/// Largest record length allowed by RFC 8446 (2^14 + 256), with slack for
/// TLS 1.2's compression and padding (2^14 + 2048).
const MAX_RECORD: usize = 16384 + 2048;
/// A handshake message larger than this is not reassembled.
const MAX_HANDSHAKE: usize = 256 * 1024;

pub mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

/// One TLS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub content_type: u8,
    pub version: u16,
    pub length: u16,
    pub content: Content,
}

/// What a record carries, as far as can be seen without keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Handshake messages that were completed by this record.
    Handshake(Vec<Handshake>),
    /// A handshake record after ChangeCipherSpec: encrypted.
    EncryptedHandshake,
    ChangeCipherSpec,
    Alert {
        level: u8,
        description: u8,
    },
    EncryptedAlert,
    ApplicationData,
    Heartbeat,
    Unknown,
}

/// A handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    ClientHello(ClientHello),
    ServerHello(ServerHello),
    /// The certificate chain, visible in TLS 1.2 only.
    Certificate(Vec<CertSummary>),
    Other {
        kind: u8,
        length: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub version: u16,
    pub random: [u8; 32],
    pub session_id_len: u8,
    pub cipher_suites: Vec<u16>,
    pub server_name: Option<String>,
    pub alpn: Vec<String>,
    /// From the supported_versions extension (TLS 1.3 clients).
    pub supported_versions: Vec<u16>,
    pub extensions: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub version: u16,
    pub random: [u8; 32],
    pub cipher_suite: u16,
    /// TLS 1.3 servers say 1.2 in `version` and the truth here.
    pub selected_version: Option<u16>,
    pub alpn: Option<String>,
    pub hello_retry: bool,
    pub extensions: Vec<u16>,
}

impl ServerHello {
    /// The version actually negotiated.
    pub fn negotiated(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }
}

/// Does this stream start like TLS?
pub fn detect(data: &[u8]) -> super::http::Detect {
    use super::http::Detect;
    match data {
        [] => Detect::NeedMore,
        [t, ..] if !(20..=24).contains(t) => Detect::No,
        [_] => Detect::NeedMore,
        [_, 3] => Detect::NeedMore,
        [_, 3, minor, ..] if *minor <= 4 => Detect::Yes,
        _ => Detect::No,
    }
}

/// The stream is not (or no longer) TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotTls;

/// The TLS parser of one direction of a connection.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    handshake: Vec<u8>,
    encrypted: bool,
    /// A record whose body is being skipped: (record, bytes left).
    skipping: Option<(Record, usize)>,
}

impl Parser {
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.handshake.len()
    }

    pub fn mid_record(&self) -> bool {
        !self.buf.is_empty() || self.skipping.is_some()
    }

    /// Feeds in-order stream bytes; completed records go to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Record>) -> Result<(), NotTls> {
        if self.buf.is_empty() {
            let used = self.parse(data, out)?;
            self.buf.extend_from_slice(&data[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.extend_from_slice(data);
            let used = self.parse(&buf, out);
            buf.drain(..*used.as_ref().unwrap_or(&0));
            self.buf = buf;
            used?;
        }
        Ok(())
    }

    fn parse(&mut self, data: &[u8], out: &mut Vec<Record>) -> Result<usize, NotTls> {
        let mut pos = 0;
        loop {
            if let Some((record, left)) = self.skipping.take() {
                let take = left.min(data.len() - pos);
                pos += take;
                if take < left {
                    self.skipping = Some((record, left - take));
                    return Ok(pos);
                }
                out.push(record);
                continue;
            }
            let rest = &data[pos..];
            if rest.len() < 5 {
                if detect(rest) == super::http::Detect::No && !rest.is_empty() {
                    return Err(NotTls);
                }
                return Ok(pos);
            }
            if detect(rest) != super::http::Detect::Yes {
                return Err(NotTls);
            }
            let content_type = rest[0];
            let version = u16::from_be_bytes([rest[1], rest[2]]);
            let length = u16::from_be_bytes([rest[3], rest[4]]);
            let len = usize::from(length);
            if len > MAX_RECORD {
                return Err(NotTls);
            }
            let mut record = Record {
                content_type,
                version,
                length,
                content: Content::Unknown,
            };
            // Bodies that cannot be read are skipped, not buffered.
            let opaque = match content_type {
                content::APPLICATION_DATA => Some(Content::ApplicationData),
                content::HEARTBEAT => Some(Content::Heartbeat),
                content::HANDSHAKE if self.encrypted => Some(Content::EncryptedHandshake),
                content::ALERT if self.encrypted => Some(Content::EncryptedAlert),
                _ => None,
            };
            if let Some(c) = opaque {
                record.content = c;
                pos += 5;
                self.skipping = Some((record, len));
                continue;
            }
            if rest.len() < 5 + len {
                return Ok(pos);
            }
            let body = &rest[5..5 + len];
            record.content = match content_type {
                content::CHANGE_CIPHER_SPEC => {
                    self.encrypted = true;
                    Content::ChangeCipherSpec
                }
                content::ALERT if body.len() == 2 => Content::Alert {
                    level: body[0],
                    description: body[1],
                },
                content::ALERT => Content::EncryptedAlert,
                content::HANDSHAKE => Content::Handshake(self.handshake_messages(body)),
                _ => Content::Unknown,
            };
            pos += 5 + len;
            out.push(record);
        }
    }

    /// Adds a handshake record's body and returns the messages it completes.
    fn handshake_messages(&mut self, body: &[u8]) -> Vec<Handshake> {
        let mut done = Vec::new();
        self.handshake.extend_from_slice(body);
        let mut pos = 0;
        while let Some(head) = self.handshake.get(pos..pos + 4) {
            let kind = head[0];
            let len =
                (usize::from(head[1]) << 16) | (usize::from(head[2]) << 8) | usize::from(head[3]);
            if len > MAX_HANDSHAKE {
                self.handshake.clear();
                return done;
            }
            let Some(msg) = self.handshake.get(pos + 4..pos + 4 + len) else {
                break;
            };
            done.push(parse_handshake(kind, msg));
            pos += 4 + len;
        }
        self.handshake.drain(..pos);
        done
    }
}

fn parse_handshake(kind: u8, msg: &[u8]) -> Handshake {
    let parsed = match kind {
        1 => parse_client_hello(msg).map(Handshake::ClientHello),
        2 => parse_server_hello(msg).map(Handshake::ServerHello),
        11 => parse_certificate(msg).map(Handshake::Certificate),
        _ => None,
    };
    parsed.unwrap_or(Handshake::Other {
        kind,
        length: msg.len() as u32,
    })
}

/// A tiny cursor over a handshake message; every read checks bounds.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        self.bytes(3)
            .map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.bytes(usize::from(n))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }
    fn random(&mut self) -> Option<[u8; 32]> {
        let mut r = [0u8; 32];
        r.copy_from_slice(self.bytes(32)?);
        Some(r)
    }
}

fn extensions(r: &mut Reader<'_>) -> Vec<(u16, Vec<u8>)> {
    let mut list = Vec::new();
    let Some(block) = r.vec16() else { return list };
    let mut e = Reader(block);
    while let (Some(kind), Some(data)) = (e.u16(), e.vec16()) {
        list.push((kind, data.to_vec()));
    }
    list
}

fn alpn_list(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut r = Reader(data);
    if let Some(list) = r.vec16() {
        let mut l = Reader(list);
        while let Some(p) = l.vec8() {
            out.push(String::from_utf8_lossy(p).into_owned());
        }
    }
    out
}

fn parse_client_hello(msg: &[u8]) -> Option<ClientHello> {
    let mut r = Reader(msg);
    let version = r.u16()?;
    let random = r.random()?;
    let session_id_len = r.vec8()?.len() as u8;
    let suites = r.vec16()?;
    let cipher_suites = suites
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    r.vec8()?;
    let mut hello = ClientHello {
        version,
        random,
        session_id_len,
        cipher_suites,
        server_name: None,
        alpn: Vec::new(),
        supported_versions: Vec::new(),
        extensions: Vec::new(),
    };
    for (kind, data) in extensions(&mut r) {
        hello.extensions.push(kind);
        match kind {
            0 => {
                let mut e = Reader(&data);
                if let Some(list) = e.vec16() {
                    let mut l = Reader(list);
                    while let (Some(t), Some(name)) = (l.u8(), l.vec16()) {
                        if t == 0 {
                            hello.server_name = Some(String::from_utf8_lossy(name).into_owned());
                        }
                    }
                }
            }
            16 => hello.alpn = alpn_list(&data),
            43 => {
                if let Some(list) = Reader(&data).vec8() {
                    hello.supported_versions = list
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                }
            }
            _ => {}
        }
    }
    Some(hello)
}

fn parse_server_hello(msg: &[u8]) -> Option<ServerHello> {
    let mut r = Reader(msg);
    let version = r.u16()?;
    let random = r.random()?;
    r.vec8()?;
    let cipher_suite = r.u16()?;
    r.u8()?;
    let mut hello = ServerHello {
        version,
        random,
        cipher_suite,
        selected_version: None,
        alpn: None,
        hello_retry: random == HELLO_RETRY_RANDOM,
        extensions: Vec::new(),
    };
    for (kind, data) in extensions(&mut r) {
        hello.extensions.push(kind);
        match kind {
            16 => hello.alpn = alpn_list(&data).into_iter().next(),
            43 => hello.selected_version = Reader(&data).u16(),
            _ => {}
        }
    }
    Some(hello)
}

fn parse_certificate(msg: &[u8]) -> Option<Vec<CertSummary>> {
    let mut r = Reader(msg);
    let total = r.u24()?;
    let mut list = Reader(r.bytes(total)?);
    let mut certs = Vec::new();
    while let Some(len) = list.u24() {
        let der = list.bytes(len)?;
        certs.push(x509::summarize(der));
    }
    Some(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_across_segments() {
        let rec = crate::synth::client_hello("localhost", 7);
        let mut p = Parser::default();
        let mut out = Vec::new();
        for chunk in rec.chunks(7) {
            p.feed(chunk, &mut out).unwrap();
        }
        assert_eq!(out.len(), 1);
        let Content::Handshake(msgs) = &out[0].content else {
            panic!("{out:?}")
        };
        let Handshake::ClientHello(ch) = &msgs[0] else {
            panic!("{msgs:?}")
        };
        assert_eq!(ch.server_name.as_deref(), Some("localhost"));
        assert_eq!(ch.alpn, ["h2", "http/1.1"]);
        assert_eq!(ch.supported_versions, [0x0304, 0x0303]);
        assert_eq!(ch.cipher_suites, [0x1301, 0x1302]);
    }

    #[test]
    fn application_data_is_skipped_not_buffered() {
        let mut p = Parser::default();
        let mut out = Vec::new();
        p.feed(&[23, 3, 3, 0x10, 0], &mut out).unwrap();
        p.feed(&[0u8; 4000], &mut out).unwrap();
        assert_eq!(p.buffered(), 0);
        assert!(out.is_empty());
        p.feed(&[0u8; 96], &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].length, 4096);
        assert_eq!(out[0].content, Content::ApplicationData);
    }

    #[test]
    fn garbage_is_not_tls() {
        let mut p = Parser::default();
        assert_eq!(p.feed(b"GET / HTTP/1.1\r\n", &mut Vec::new()), Err(NotTls));
        let mut p = Parser::default();
        assert_eq!(
            p.feed(&[22, 3, 3, 0xff, 0xff], &mut Vec::new()),
            Err(NotTls)
        );
    }
}
