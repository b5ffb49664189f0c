//! A repeated Content-Length, seen in the bytes of HTTP/1 request heads.
//!
//! hyper refuses conflicting Content-Length values but keeps one of two
//! equal ones, silently, before the routes see the request (RFC 9112 6.3
//! allows that). nginx refuses them, and so does squirrel: behind a proxy
//! that frames the body by the other header, a server that guesses is open
//! to request smuggling. This scanner follows the request heads in the
//! bytes the connection reads (skipping bodies by their Content-Length)
//! and numbers the head that repeats the header, or lists values in one.
//! It stops following a connection it cannot frame (a chunked body, a
//! malformed length, a head past the size limit): hyper refuses those, or
//! frames them itself, and they carry no second Content-Length to find.

const CONTENT_LENGTH: &[u8] = b"content-length:";
const TRANSFER_ENCODING: &[u8] = b"transfer-encoding:";

#[derive(Debug)]
enum State {
    /// Reading a head.
    Head,
    /// Skipping a body: bytes left.
    Body(u64),
    /// Not following any more.
    Off,
}

/// Follows the request heads of one HTTP/1 connection.
#[derive(Debug)]
pub(crate) struct HeadScanner {
    state: State,
    /// The bytes of a head that arrived in pieces (a head read whole is
    /// judged where it lies, never copied).
    partial: Vec<u8>,
    /// Heads seen so far (the next one is number `heads + 1`).
    heads: u64,
    max_head: usize,
}

impl HeadScanner {
    /// `max_head`: the server's limit on a request head, in bytes.
    pub(crate) fn new(max_head: usize) -> Self {
        HeadScanner {
            state: State::Head,
            partial: Vec::new(),
            heads: 0,
            max_head,
        }
    }

    /// Follows `data`, the next bytes read. Returns the number (from 1) of
    /// the first head completed in `data` that repeats Content-Length.
    pub(crate) fn observe(&mut self, mut data: &[u8]) -> Option<u64> {
        let mut found = None;
        while !data.is_empty() {
            match &mut self.state {
                State::Off => return found,
                State::Body(left) => {
                    let n = (*left).min(data.len() as u64) as usize;
                    *left -= n as u64;
                    data = &data[n..];
                    if *left == 0 {
                        self.state = State::Head;
                    }
                }
                State::Head if self.partial.is_empty() => match head_end(data, 0) {
                    Some(end) => {
                        self.head_complete(&data[..end], &mut found);
                        data = &data[end..];
                    }
                    None => {
                        self.partial.extend_from_slice(data);
                        data = &[];
                    }
                },
                State::Head => {
                    let before = self.partial.len();
                    self.partial.extend_from_slice(data);
                    // The end may straddle the pieces: look a little back.
                    match head_end(&self.partial, before.saturating_sub(3)) {
                        Some(end) => {
                            let head = std::mem::take(&mut self.partial);
                            self.head_complete(&head[..end], &mut found);
                            data = &data[end - before..];
                            self.partial = head;
                            self.partial.clear();
                        }
                        None if self.partial.len() > self.max_head => {
                            self.state = State::Off;
                            self.partial = Vec::new();
                        }
                        None => return found,
                    }
                }
            }
        }
        found
    }

    fn head_complete(&mut self, head: &[u8], found: &mut Option<u64>) {
        let (next, repeated) = judge(head);
        self.heads += 1;
        if repeated && found.is_none() {
            *found = Some(self.heads);
        }
        self.state = next;
    }
}

/// Where a head ends (just after its empty line), if it has; the search
/// for the empty line starts at `from`.
fn head_end(head: &[u8], from: usize) -> Option<usize> {
    // Blank lines before a request line are ignored (RFC 9112 2.2).
    let start = head.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let from = from.max(start);
    let rest = &head[from..];
    let crlf = memchr::memmem::find(rest, b"\n\r\n").map(|i| i + 3);
    let lf = memchr::memmem::find(rest, b"\n\n").map(|i| i + 2);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(from + end)
}

/// What follows a complete head, and whether it repeats Content-Length.
fn judge(head: &[u8]) -> (State, bool) {
    let mut lengths = Vec::new();
    let mut chunked = false;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if starts_with_ignore_case(line, CONTENT_LENGTH) {
            lengths.push(line[CONTENT_LENGTH.len()..].trim_ascii());
        } else if starts_with_ignore_case(line, TRANSFER_ENCODING) {
            chunked = true;
        }
    }
    let repeated = lengths.len() > 1 || lengths.iter().any(|v| v.contains(&b','));
    if chunked || repeated {
        return (State::Off, repeated);
    }
    let next = match lengths.first() {
        None => State::Head,
        Some(value) => match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
            Some(0) => State::Head,
            Some(n) => State::Body(n),
            None => State::Off,
        },
    };
    (next, false)
}

fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<Option<u64>> {
        let mut s = HeadScanner::new(8192);
        chunks.iter().map(|c| s.observe(c)).collect()
    }

    #[test]
    fn a_repeated_length_is_found_in_the_right_head() {
        let clean = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let twice =
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc";
        let listed = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc";
        let mut pipelined = clean.to_vec();
        pipelined.extend_from_slice(twice);
        assert_eq!(scan(&[&pipelined]), vec![Some(2)]);
        assert_eq!(scan(&[listed]), vec![Some(1)]);
        // Split anywhere, the same answer.
        for cut in 1..twice.len() {
            let found = scan(&[&twice[..cut], &twice[cut..]]);
            assert!(found.contains(&Some(1)), "cut at {cut}: {found:?}");
        }
    }

    #[test]
    fn bodies_are_skipped_and_clean_heads_pass() {
        // The body holds what looks like a head with two lengths.
        let inside = "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n";
        let tricky = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{inside}GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            inside.len()
        );
        assert_eq!(scan(&[tricky.as_bytes()]), vec![None]);
        assert_eq!(scan(&[b"\r\nGET / HTTP/1.1\nHost: x\n\n"]), vec![None]);
        // A chunked body: no longer followed.
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n";
        assert_eq!(scan(&[chunked]), vec![None]);
    }
}
