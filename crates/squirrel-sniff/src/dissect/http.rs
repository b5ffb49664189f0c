//! HTTP/1.x, reassembled across TCP segments (tutorial step 3: the spy's
//! display filter `http` and the middle pane's "Hypertext Transfer
//! Protocol": method, URI, version, headers, and the body where the secret
//! sits in clear).
//!
//! The parser is incremental and its memory is bounded: it buffers the
//! header block (at most [`MAX_HEADER_BLOCK`] bytes) and chunk-size lines,
//! streams bodies through while keeping their first [`BODY_KEEP`] bytes for
//! display, and hands out one [`Message`] when the last byte of a message
//! arrives, so the message is shown on the packet that completed it, as
//! Wireshark does.

use super::fernet::{self, FernetToken};
use std::collections::VecDeque;

/// Header blocks longer than this are not HTTP as far as the spy cares.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// How much of each body is kept for display and Fernet recognition.
pub const BODY_KEEP: usize = 16 * 1024;

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request {
        method: String,
        uri: String,
        version: String,
    },
    Response {
        version: String,
        status: u16,
        reason: String,
    },
}

/// One complete HTTP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    pub headers: Vec<(String, String)>,
    /// The first [`BODY_KEEP`] bytes of the body (de-chunked).
    pub body: Vec<u8>,
    /// The full body length.
    pub body_len: u64,
    pub chunked: bool,
    /// The connection ended or a gap appeared before the body was complete.
    pub truncated: bool,
    pub fernet: Option<FernetToken>,
}

impl Message {
    /// The value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The start line as it appeared on the wire.
    pub fn start_line(&self) -> String {
        match &self.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => format!("{method} {uri} {version}"),
            StartLine::Response {
                version,
                status,
                reason,
            } => format!("{version} {status} {reason}"),
        }
    }
}

/// What the first bytes of a stream look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detect {
    Yes,
    No,
    NeedMore,
}

const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// Does this stream start like an HTTP/1.x request or response?
pub fn detect(data: &[u8]) -> Detect {
    let mut need_more = false;
    for prefix in METHODS.iter().copied().chain([&b"HTTP/1."[..]]) {
        let n = prefix.len().min(data.len());
        if data[..n] == prefix[..n] {
            if n == prefix.len() {
                return Detect::Yes;
            }
            need_more = true;
        }
    }
    if need_more {
        Detect::NeedMore
    } else {
        Detect::No
    }
}

/// Requests whose responses have no body (HEAD), shared by both directions
/// of a connection.
#[derive(Debug, Default)]
pub struct Pairing {
    pending_head: VecDeque<bool>,
}

#[derive(Debug)]
enum State {
    Headers,
    Body {
        msg: Box<Message>,
        remaining: u64,
    },
    ChunkSize {
        msg: Box<Message>,
    },
    ChunkData {
        msg: Box<Message>,
        remaining: u64,
    },
    ChunkEnd {
        msg: Box<Message>,
    },
    Trailers {
        msg: Box<Message>,
    },
    UntilClose {
        msg: Box<Message>,
    },
    /// After `101 Switching Protocols`: no longer HTTP.
    Tunnel,
}

/// The parser of one direction of a connection.
#[derive(Debug)]
pub struct Parser {
    state: State,
    buf: Vec<u8>,
}

/// Why a stream stopped being parsed as HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotHttp;

impl Default for Parser {
    fn default() -> Self {
        Parser {
            state: State::Headers,
            buf: Vec::new(),
        }
    }
}

impl Parser {
    /// Bytes held for reassembly.
    pub fn buffered(&self) -> usize {
        self.buf.len()
            + match &self.state {
                State::Body { msg, .. }
                | State::ChunkSize { msg }
                | State::ChunkData { msg, .. }
                | State::ChunkEnd { msg }
                | State::Trailers { msg }
                | State::UntilClose { msg } => msg.body.len(),
                _ => 0,
            }
    }

    /// True when the parser is in the middle of a message.
    pub fn mid_message(&self) -> bool {
        !self.buf.is_empty() || !matches!(self.state, State::Headers | State::Tunnel)
    }

    /// Feeds in-order stream bytes; completed messages go to `out`.
    pub fn feed(
        &mut self,
        data: &[u8],
        pairing: &mut Pairing,
        out: &mut Vec<Message>,
    ) -> Result<(), NotHttp> {
        if self.buf.is_empty() {
            let used = self.parse(data, pairing, out)?;
            self.buf.extend_from_slice(&data[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.extend_from_slice(data);
            let used = self.parse(&buf, pairing, out);
            buf.drain(..*used.as_ref().unwrap_or(&0));
            self.buf = buf;
            used?;
        }
        if self.buf.len() > MAX_HEADER_BLOCK {
            return Err(NotHttp);
        }
        Ok(())
    }

    /// The connection closed in this direction: a body that runs to the
    /// close is complete now; any other unfinished message is truncated.
    pub fn close(&mut self, out: &mut Vec<Message>) {
        match std::mem::replace(&mut self.state, State::Headers) {
            State::UntilClose { msg } => out.push(finish(msg)),
            State::Body { mut msg, .. }
            | State::ChunkSize { mut msg }
            | State::ChunkData { mut msg, .. }
            | State::ChunkEnd { mut msg }
            | State::Trailers { mut msg } => {
                msg.truncated = true;
                out.push(finish(msg));
            }
            State::Headers | State::Tunnel => {}
        }
        self.buf.clear();
    }

    /// Parses as much of `data` as possible; returns the bytes consumed.
    fn parse(
        &mut self,
        data: &[u8],
        pairing: &mut Pairing,
        out: &mut Vec<Message>,
    ) -> Result<usize, NotHttp> {
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            let state = std::mem::replace(&mut self.state, State::Headers);
            match state {
                State::Headers => {
                    if rest.is_empty() {
                        return Ok(pos);
                    }
                    if detect(rest) == Detect::No {
                        return Err(NotHttp);
                    }
                    let Some(end) = header_end(rest) else {
                        return Ok(pos);
                    };
                    let msg = parse_head(&rest[..end]).ok_or(NotHttp)?;
                    pos += end;
                    self.state = body_state(Box::new(msg), pairing, out);
                }
                State::Body { mut msg, remaining } => {
                    let take = remaining.min(rest.len() as u64) as usize;
                    keep(&mut msg, &rest[..take]);
                    pos += take;
                    if remaining - take as u64 == 0 {
                        out.push(finish(msg));
                    } else {
                        self.state = State::Body {
                            msg,
                            remaining: remaining - take as u64,
                        };
                        return Ok(pos);
                    }
                }
                State::ChunkSize { msg } => {
                    let Some(nl) = memchr::memchr(b'\n', rest) else {
                        self.state = State::ChunkSize { msg };
                        return Ok(pos);
                    };
                    let line = std::str::from_utf8(&rest[..nl]).map_err(|_| NotHttp)?;
                    let hex = line.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(hex, 16).map_err(|_| NotHttp)?;
                    pos += nl + 1;
                    self.state = if size == 0 {
                        State::Trailers { msg }
                    } else {
                        State::ChunkData {
                            msg,
                            remaining: size,
                        }
                    };
                }
                State::ChunkData { mut msg, remaining } => {
                    let take = remaining.min(rest.len() as u64) as usize;
                    keep(&mut msg, &rest[..take]);
                    pos += take;
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::ChunkEnd { msg }
                    } else {
                        State::ChunkData {
                            msg,
                            remaining: left,
                        }
                    };
                    if left != 0 {
                        return Ok(pos);
                    }
                }
                State::ChunkEnd { msg } => {
                    let Some(nl) = memchr::memchr(b'\n', rest) else {
                        self.state = State::ChunkEnd { msg };
                        return Ok(pos);
                    };
                    pos += nl + 1;
                    self.state = State::ChunkSize { msg };
                }
                State::Trailers { msg } => {
                    let Some(nl) = memchr::memchr(b'\n', rest) else {
                        self.state = State::Trailers { msg };
                        return Ok(pos);
                    };
                    let blank = rest[..nl].iter().all(|&b| b == b'\r');
                    pos += nl + 1;
                    if blank {
                        out.push(finish(msg));
                    } else {
                        self.state = State::Trailers { msg };
                    }
                }
                State::UntilClose { mut msg } => {
                    keep(&mut msg, rest);
                    self.state = State::UntilClose { msg };
                    return Ok(data.len());
                }
                State::Tunnel => {
                    self.state = State::Tunnel;
                    return Ok(data.len());
                }
            }
        }
    }
}

fn keep(msg: &mut Message, bytes: &[u8]) {
    let room = BODY_KEEP.saturating_sub(msg.body.len());
    msg.body.extend_from_slice(&bytes[..room.min(bytes.len())]);
    msg.body_len += bytes.len() as u64;
}

fn finish(mut msg: Box<Message>) -> Message {
    if msg.body_len == msg.body.len() as u64 {
        msg.fernet = fernet::recognise(&msg.body);
    }
    *msg
}

/// Decides how the body of a freshly parsed head is delimited (RFC 9112
/// section 6.3).
fn body_state(msg: Box<Message>, pairing: &mut Pairing, out: &mut Vec<Message>) -> State {
    let chunked = msg
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let length = msg
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let (no_body, tunnel, is_response) = match &msg.start {
        StartLine::Request { method, .. } => {
            pairing.pending_head.push_back(method == "HEAD");
            (false, false, false)
        }
        StartLine::Response { status, .. } => {
            let informational = (100..200).contains(status);
            let head = if informational {
                false
            } else {
                pairing.pending_head.pop_front().unwrap_or(false)
            };
            (
                informational || *status == 204 || *status == 304 || head,
                *status == 101,
                true,
            )
        }
    };
    let mut msg = msg;
    if no_body {
        out.push(finish(msg));
        return if tunnel {
            State::Tunnel
        } else {
            State::Headers
        };
    }
    if chunked {
        msg.chunked = true;
        return State::ChunkSize { msg };
    }
    match length {
        Some(0) => {
            out.push(finish(msg));
            State::Headers
        }
        Some(n) => State::Body { msg, remaining: n },
        None if is_response => State::UntilClose { msg },
        None => {
            out.push(finish(msg));
            State::Headers
        }
    }
}

/// The length of the header block, blank line included, if complete.
fn header_end(data: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', &data[from..]) {
        let nl = from + i;
        match data.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if data.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            None => return None,
            _ => from = nl + 1,
        }
    }
    None
}

/// Parses a complete header block.
fn parse_head(block: &[u8]) -> Option<Message> {
    let text = String::from_utf8_lossy(block);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next()?;
    let mut parts = first.splitn(3, ' ');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    let start = if a.starts_with("HTTP/1.") {
        StartLine::Response {
            version: a.to_string(),
            status: b.parse().ok()?,
            reason: c.to_string(),
        }
    } else if c.starts_with("HTTP/") {
        StartLine::Request {
            method: a.to_string(),
            uri: b.to_string(),
            version: c.to_string(),
        }
    } else {
        return None;
    };
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Some(Message {
        start,
        headers,
        body: Vec::new(),
        body_len: 0,
        chunked: false,
        truncated: false,
        fernet: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(parts: &[&[u8]]) -> Vec<Message> {
        let mut p = Parser::default();
        let mut pairing = Pairing::default();
        let mut out = Vec::new();
        for part in parts {
            p.feed(part, &mut pairing, &mut out).unwrap();
        }
        p.close(&mut out);
        out
    }

    #[test]
    fn a_request_split_byte_by_byte_is_reassembled() {
        let req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:5683\r\nUser-Agent: curl/7.88.1\r\n\r\n";
        let parts: Vec<&[u8]> = req.chunks(1).collect();
        let msgs = feed_all(&parts);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].start_line(), "GET / HTTP/1.1");
        assert_eq!(msgs[0].header("host"), Some("127.0.0.1:5683"));
    }

    #[test]
    fn content_length_chunked_and_until_close_bodies() {
        let msgs = feed_all(&[
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nfluffy",
            b" tailHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfluffy\r\n5;x=1\r\n tail\r\n0\r\n\r\n",
            b"HTTP/1.0 200 OK\r\n\r\nfluffy tail",
        ]);
        assert_eq!(msgs.len(), 3);
        for m in &msgs {
            assert_eq!(m.body, b"fluffy tail");
            assert!(!m.truncated);
        }
        assert!(msgs[1].chunked);
    }

    #[test]
    fn head_responses_have_no_body() {
        let mut pairing = Pairing::default();
        let (mut req, mut resp) = (Parser::default(), Parser::default());
        let mut out = Vec::new();
        req.feed(b"HEAD / HTTP/1.1\r\n\r\n", &mut pairing, &mut out)
            .unwrap();
        resp.feed(
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            &mut pairing,
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].body_len, 0);
    }

    #[test]
    fn not_http_is_refused() {
        let mut p = Parser::default();
        let mut out = Vec::new();
        let r = p.feed(b"SSH-2.0-OpenSSH\r\n", &mut Pairing::default(), &mut out);
        assert_eq!(r, Err(NotHttp));
        assert_eq!(detect(b"GE"), Detect::NeedMore);
        assert_eq!(detect(b"HTTP/1.1 200"), Detect::Yes);
    }
}
