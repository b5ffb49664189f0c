//! Classic pcap files (the format of tcpdump and libpcap since 1988), read
//! and written without libpcap: a 24-byte file header, then for each packet
//! a 16-byte record header and the bytes. Files written here open in
//! tcpdump, tshark and Wireshark (tutorial step 3: save what the spy saw).

use crate::error::ReadError;
use crate::frame::{Frame, Timestamp};
use std::io::{self, Read, Write};

pub const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
pub const MAGIC_NANOS: u32 = 0xA1B2_3C4D;
/// Records larger than this are refused: the file is damaged.
pub const MAX_RECORD: u32 = 256 << 20;
/// The snap length written in headers: anything loopback can carry.
pub const SNAPLEN: u32 = 262_144;

/// Writes a classic pcap file with microsecond timestamps.
pub struct PcapWriter<W: Write> {
    w: W,
    linktype: u32,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut w: W, linktype: u32) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_MICROS.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&linktype.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter { w, linktype })
    }

    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    pub fn write(&mut self, f: &Frame<'_>) -> io::Result<()> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(f.ts.secs as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(f.ts.nanos / 1000).to_le_bytes());
        h[8..12].copy_from_slice(&(f.data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&f.orig_len.max(f.data.len() as u32).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(f.data)
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Reads a classic pcap file, in either byte order, micro- or nanosecond.
pub struct PcapReader<R: Read> {
    r: R,
    swapped: bool,
    nanos: bool,
    linktype: u32,
    buf: Vec<u8>,
    number: u64,
}

impl<R: Read> PcapReader<R> {
    /// `header` is the first 24 bytes of the file.
    pub fn new(r: R, header: &[u8; 24]) -> Result<Self, ReadError> {
        let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let (swapped, nanos) = match magic {
            MAGIC_MICROS => (false, false),
            MAGIC_NANOS => (false, true),
            m if m.swap_bytes() == MAGIC_MICROS => (true, false),
            m if m.swap_bytes() == MAGIC_NANOS => (true, true),
            _ => return Err(ReadError::BadMagic),
        };
        let u32_at = |i: usize| {
            let v = u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
            if swapped {
                v.swap_bytes()
            } else {
                v
            }
        };
        Ok(PcapReader {
            r,
            swapped,
            nanos,
            // The upper bits carry FCS information, not the link type.
            linktype: u32_at(20) & 0x0FFF_FFFF,
            buf: Vec::with_capacity(65_536),
            number: 0,
        })
    }

    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The next packet, `None` at the end of the file.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        let mut h = [0u8; 16];
        match read_full(&mut self.r, &mut h) {
            Ok(0) => return Ok(None),
            Ok(16) => {}
            Ok(_) => return Err(ReadError::CutInPacketHeader(self.number + 1)),
            Err(e) => return Err(ReadError::Io(e)),
        }
        self.number += 1;
        let word = |i: usize| {
            let v = u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
            if self.swapped {
                v.swap_bytes()
            } else {
                v
            }
        };
        let (secs, frac, incl, orig) = (word(0), word(4), word(8), word(12));
        if incl > MAX_RECORD {
            return Err(ReadError::PacketTooLarge {
                number: self.number,
                length: incl,
            });
        }
        match read_at(&mut self.r, &mut self.buf, 0, incl as usize) {
            Ok(n) if n == incl as usize => {}
            Ok(_) => return Err(ReadError::CutInPacket(self.number)),
            Err(e) => return Err(ReadError::Io(e)),
        }
        let nanos = if self.nanos {
            frac.min(999_999_999)
        } else {
            frac.min(999_999) * 1000
        };
        Ok(Some(Frame {
            ts: Timestamp {
                secs: u64::from(secs),
                nanos,
            },
            orig_len: orig.max(incl),
            data: &self.buf,
            linktype: self.linktype,
        }))
    }
}

/// Reads up to `n` bytes of `r` into `buf` from `start` on, and leaves
/// `buf` holding exactly what is there; returns how many came. A large
/// claim grows the buffer only as its bytes arrive, so a hostile length
/// costs no more memory than the file really holds. (The usual small
/// record reuses the buffer as it is, without clearing it first.)
pub(crate) fn read_at(
    r: &mut impl Read,
    buf: &mut Vec<u8>,
    start: usize,
    n: usize,
) -> io::Result<usize> {
    const EAGER: usize = 1 << 20;
    if n > EAGER {
        buf.truncate(start);
        return r.take(n as u64).read_to_end(buf);
    }
    buf.resize(start + n, 0);
    let got = read_full(r, &mut buf[start..])?;
    buf.truncate(start + got);
    Ok(got)
}

/// Reads until `buf` is full or the end of input; returns the bytes read.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = PcapWriter::new(Vec::new(), 1).unwrap();
        let data = [1u8, 2, 3, 4, 5];
        let f = Frame {
            ts: Timestamp {
                secs: 1_714_564_800,
                nanos: 123_456_789,
            },
            orig_len: 60,
            data: &data,
            linktype: 1,
        };
        w.write(&f).unwrap();
        let bytes = w.into_inner();
        let header: [u8; 24] = bytes[..24].try_into().unwrap();
        let mut r = PcapReader::new(&bytes[24..], &header).unwrap();
        let g = r.next_frame().unwrap().unwrap();
        assert_eq!(g.data, &data);
        assert_eq!(g.orig_len, 60);
        assert_eq!(g.ts.nanos, 123_456_000);
        assert!(r.next_frame().unwrap().is_none());
    }

    #[test]
    fn truncated_record_is_an_error() {
        let mut w = PcapWriter::new(Vec::new(), 1).unwrap();
        let f = Frame {
            ts: Timestamp::default(),
            orig_len: 5,
            data: &[0; 5],
            linktype: 1,
        };
        w.write(&f).unwrap();
        let bytes = w.into_inner();
        let header: [u8; 24] = bytes[..24].try_into().unwrap();
        let mut r = PcapReader::new(&bytes[24..bytes.len() - 1], &header).unwrap();
        let err = r.next_frame().unwrap_err();
        assert!(matches!(err, ReadError::CutInPacket(1)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the file is cut short in the middle of packet 1"
        );
    }

    #[test]
    fn a_huge_claim_costs_only_the_bytes_present() {
        let w = PcapWriter::new(Vec::new(), 1).unwrap();
        let mut bytes = w.into_inner();
        let mut record = [0u8; 16];
        record[8..12].copy_from_slice(&(200u32 << 20).to_le_bytes());
        bytes.extend_from_slice(&record);
        bytes.extend_from_slice(&[7; 10]);
        let header: [u8; 24] = bytes[..24].try_into().unwrap();
        let mut r = PcapReader::new(&bytes[24..], &header).unwrap();
        let err = r.next_frame().unwrap_err();
        assert!(matches!(err, ReadError::CutInPacket(1)), "{err:?}");
        assert!(r.buf.capacity() < 1 << 20, "{}", r.buf.capacity());
    }
}
