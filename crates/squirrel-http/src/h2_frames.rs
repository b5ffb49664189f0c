//! What an HTTP/2 client sends, seen frame by frame, for the timeouts.
//!
//! On HTTP/1 every byte read belongs to a request. On HTTP/2 a client can
//! keep a connection busy with frames that ask nothing: PINGs, SETTINGS,
//! PRIORITY, connection-level WINDOW_UPDATEs. Those must not count as
//! activity, or a PING every few seconds holds a connection forever. And a
//! request's header block may be split over a HEADERS frame and
//! CONTINUATION frames: a block left open (no END_HEADERS) is a request
//! whose headers have not all arrived, which the header timeout must cut.
//!
//! Only the 9-byte frame headers are read (RFC 9113 4.1); payloads are
//! skipped, never copied.

/// The client's connection preface (RFC 9113 3.4), which precedes frames.
const PREFACE_LEN: usize = 24;
const FRAME_HEADER_LEN: usize = 9;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;
const END_HEADERS: u8 = 0x4;

/// Follows the frames of one HTTP/2 connection, as the client sends them.
#[derive(Debug)]
pub(crate) struct FrameWatcher {
    preface_left: usize,
    header: [u8; FRAME_HEADER_LEN],
    header_len: usize,
    payload_left: usize,
    /// A header block was opened and has not ended.
    block_open: bool,
}

/// What a read brought.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// A frame that makes or feeds a request (HEADERS, CONTINUATION, DATA,
    /// a stream's WINDOW_UPDATE).
    pub activity: bool,
}

impl FrameWatcher {
    pub(crate) fn new() -> Self {
        FrameWatcher {
            preface_left: PREFACE_LEN,
            header: [0; FRAME_HEADER_LEN],
            header_len: 0,
            payload_left: 0,
            block_open: false,
        }
    }

    /// A header block is open: the headers of a request are arriving.
    pub(crate) fn block_open(&self) -> bool {
        self.block_open
    }

    /// Follows `data`, the next bytes read from the client.
    pub(crate) fn observe(&mut self, mut data: &[u8]) -> Seen {
        let mut seen = Seen::default();
        while !data.is_empty() {
            if self.preface_left > 0 {
                let n = self.preface_left.min(data.len());
                self.preface_left -= n;
                data = &data[n..];
            } else if self.payload_left > 0 {
                let n = self.payload_left.min(data.len());
                self.payload_left -= n;
                data = &data[n..];
            } else {
                let n = (FRAME_HEADER_LEN - self.header_len).min(data.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
                self.header_len += n;
                data = &data[n..];
                if self.header_len == FRAME_HEADER_LEN {
                    self.header_len = 0;
                    seen.activity |= self.frame();
                }
            }
        }
        seen
    }

    /// One whole frame header: is it activity?
    fn frame(&mut self) -> bool {
        let h = self.header;
        self.payload_left = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
        let (kind, flags) = (h[3], h[4]);
        let stream = u32::from_be_bytes([h[5] & 0x7f, h[6], h[7], h[8]]);
        match kind {
            HEADERS | CONTINUATION => {
                self.block_open = flags & END_HEADERS == 0;
                true
            }
            DATA => true,
            WINDOW_UPDATE => stream != 0,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn pings_and_settings_are_not_activity_requests_are() {
        let mut w = FrameWatcher::new();
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(0x4, 0, 0, &[0; 6])); // SETTINGS
        bytes.extend(frame(0x6, 0, 0, &[7; 8])); // PING
        bytes.extend(frame(WINDOW_UPDATE, 0, 0, &[0, 0, 1, 0]));
        assert_eq!(w.observe(&bytes), Seen { activity: false });
        assert!(!w.block_open());
        let headers = frame(HEADERS, END_HEADERS | 0x1, 1, b"\x82\x84");
        assert_eq!(w.observe(&headers), Seen { activity: true });
        assert!(!w.block_open());
        assert!(
            w.observe(&frame(WINDOW_UPDATE, 0, 1, &[0, 0, 1, 0]))
                .activity
        );
    }

    #[test]
    fn a_header_block_stays_open_until_end_headers_even_split_byte_by_byte() {
        let mut w = FrameWatcher::new();
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(HEADERS, 0, 1, &[0x82; 10]));
        bytes.extend(frame(CONTINUATION, 0, 1, &[0x84; 300]));
        for b in &bytes {
            w.observe(std::slice::from_ref(b));
        }
        assert!(
            w.block_open(),
            "HEADERS and CONTINUATION without END_HEADERS"
        );
        assert!(
            w.observe(&frame(CONTINUATION, END_HEADERS, 1, &[0x86]))
                .activity
        );
        assert!(!w.block_open());
        // A payload that looks like frames is skipped as payload.
        let ping_inside = frame(0x6, 0, 0, &frame(HEADERS, 0, 3, &[])[..8]);
        w.observe(&ping_inside);
        assert!(!w.block_open());
    }
}
