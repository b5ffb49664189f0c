//! pcapng, Wireshark's own format (IETF draft "PCAP Next Generation"),
//! read and written without libpcap. Beyond classic pcap it can carry the
//! TLS secrets of the sessions it holds, in a Decryption Secrets Block:
//! with them Wireshark and tshark decrypt the HTTPS traffic and show the
//! HTTP inside with no further setup. That is how the tutorial's spy could
//! read the secret after all, if the client handed it the keys.

use crate::error::ReadError;
use crate::frame::{Frame, Timestamp};
use crate::pcap::{read_at, read_full, SNAPLEN};
use std::io::{self, Read, Write};

pub const SHB: u32 = 0x0A0D_0D0A;
pub const IDB: u32 = 0x0000_0001;
pub const OPB: u32 = 0x0000_0002;
pub const SPB: u32 = 0x0000_0003;
pub const EPB: u32 = 0x0000_0006;
pub const DSB: u32 = 0x0000_000A;
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Secrets type of an NSS key log ("TLSK").
pub const TLS_KEY_LOG: u32 = 0x544C_534B;
/// Blocks larger than this are refused: the file is damaged.
pub const MAX_BLOCK: u32 = 256 << 20;

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

/// One option: code, length, value, padding.
fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + pad4(value.len()), 0);
}

/// Frames a block: type, total length, body, total length.
fn block<W: Write + ?Sized>(w: &mut W, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len() + pad4(body.len())) as u32;
    w.write_all(&kind.to_le_bytes())?;
    w.write_all(&total.to_le_bytes())?;
    w.write_all(body)?;
    w.write_all(&[0u8; 3][..pad4(body.len())])?;
    w.write_all(&total.to_le_bytes())
}

/// The Section Header Block that starts every pcapng file.
pub fn write_shb<W: Write + ?Sized>(w: &mut W) -> io::Result<()> {
    let mut body = Vec::new();
    body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    option(&mut body, 4, b"squirrel sniff");
    option(&mut body, 0, &[]);
    block(w, SHB, &body)
}

/// An Interface Description Block with nanosecond timestamps.
pub fn write_idb<W: Write + ?Sized>(
    w: &mut W,
    linktype: u32,
    name: Option<&str>,
) -> io::Result<()> {
    let mut body = Vec::new();
    body.extend_from_slice(&(linktype as u16).to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&SNAPLEN.to_le_bytes());
    if let Some(name) = name {
        option(&mut body, 2, name.as_bytes());
    }
    option(&mut body, 9, &[9]);
    option(&mut body, 0, &[]);
    block(w, IDB, &body)
}

/// A Decryption Secrets Block holding an NSS key log.
pub fn write_dsb<W: Write + ?Sized>(w: &mut W, key_log: &[u8]) -> io::Result<()> {
    let mut body = Vec::with_capacity(8 + key_log.len());
    body.extend_from_slice(&TLS_KEY_LOG.to_le_bytes());
    body.extend_from_slice(&(key_log.len() as u32).to_le_bytes());
    body.extend_from_slice(key_log);
    block(w, DSB, &body)
}

/// An Enhanced Packet Block.
pub fn write_epb<W: Write + ?Sized>(w: &mut W, interface: u32, f: &Frame<'_>) -> io::Result<()> {
    let ts = f.ts.as_nanos() as u64;
    let len = f.data.len();
    let total = (12 + 20 + len + pad4(len)) as u32;
    let mut h = [0u8; 28];
    h[0..4].copy_from_slice(&EPB.to_le_bytes());
    h[4..8].copy_from_slice(&total.to_le_bytes());
    h[8..12].copy_from_slice(&interface.to_le_bytes());
    h[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
    h[20..24].copy_from_slice(&(len as u32).to_le_bytes());
    h[24..28].copy_from_slice(&f.orig_len.max(len as u32).to_le_bytes());
    w.write_all(&h)?;
    w.write_all(f.data)?;
    w.write_all(&[0u8; 3][..pad4(len)])?;
    w.write_all(&total.to_le_bytes())
}

/// What an interface says about its packets.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    units: u64,
    offset: u64,
}

/// Reads pcapng files: any byte order, several sections and interfaces.
pub struct PcapngReader<R: Read> {
    r: R,
    big_endian: bool,
    interfaces: Vec<Interface>,
    buf: Vec<u8>,
    /// Decryption secrets found in the file (NSS key log text).
    pub secrets: Vec<u8>,
}

impl<R: Read> PcapngReader<R> {
    /// `first` holds the first 12 bytes of the file (the SHB's type,
    /// length and byte-order magic).
    pub fn new(r: R, first: &[u8; 12]) -> Result<Self, ReadError> {
        let mut reader = PcapngReader {
            r,
            big_endian: false,
            interfaces: Vec::new(),
            buf: Vec::with_capacity(65_536),
            secrets: Vec::new(),
        };
        reader.section(first)?;
        Ok(reader)
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn u16(&self, b: &[u8]) -> u16 {
        if self.big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        }
    }

    /// Starts a section: byte order from the magic, then skips the rest.
    fn section(&mut self, head: &[u8; 12]) -> Result<(), ReadError> {
        let magic = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        self.big_endian = match magic {
            BYTE_ORDER_MAGIC => false,
            m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
            _ => return Err(ReadError::BadByteOrderMagic),
        };
        self.interfaces.clear();
        let total = self.u32(&head[4..8]);
        if !(28..=MAX_BLOCK).contains(&total) || total % 4 != 0 {
            return Err(ReadError::BadSectionLength);
        }
        self.body(0, total as usize - 12)?;
        Ok(())
    }

    /// Reads the next `n` bytes of the file, the rest of a block, into
    /// `buf` from `start` on.
    fn body(&mut self, start: usize, n: usize) -> Result<(), ReadError> {
        match read_at(&mut self.r, &mut self.buf, start, n) {
            Ok(got) if got == n => Ok(()),
            Ok(_) => Err(ReadError::CutInBlock),
            Err(e) => Err(ReadError::Io(e)),
        }
    }

    /// The link type of the first interface, once seen.
    pub fn linktype(&self) -> Option<u32> {
        self.interfaces.first().map(|i| i.linktype)
    }

    /// The next packet, `None` at the end of the file.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        loop {
            let mut head = [0u8; 12];
            match read_full(&mut self.r, &mut head) {
                Ok(0) => return Ok(None),
                Ok(12) => {}
                Ok(_) => return Err(ReadError::CutInBlockHeader),
                Err(e) => return Err(ReadError::Io(e)),
            }
            if u32::from_le_bytes([head[0], head[1], head[2], head[3]]) == SHB {
                self.section(&head)?;
                continue;
            }
            let kind = self.u32(&head[0..4]);
            let total = self.u32(&head[4..8]);
            if !(12..=MAX_BLOCK).contains(&total) || total % 4 != 0 {
                return Err(ReadError::BadBlockLength {
                    kind,
                    length: total,
                });
            }
            // The first 4 bytes of the body are already in `head`; the
            // block ends with its length repeated.
            let n = total as usize - 8;
            if self.buf.len() < 4 {
                self.buf.resize(4, 0);
            }
            self.buf[..4].copy_from_slice(&head[8..12]);
            self.body(4, n - 4)?;
            let body = std::mem::take(&mut self.buf);
            let result = self.block(kind, &body[..n - 4]);
            self.buf = body;
            match result? {
                Some((iface, ts, cap, orig, start)) => {
                    let data = &self.buf[start..start + cap];
                    return Ok(Some(Frame {
                        ts,
                        orig_len: orig,
                        data,
                        linktype: iface,
                    }));
                }
                None => continue,
            }
        }
    }

    /// Handles one block; for packets returns (linktype, time, caplen,
    /// origlen, data offset in the body).
    #[allow(clippy::type_complexity)]
    fn block(
        &mut self,
        kind: u32,
        body: &[u8],
    ) -> Result<Option<(u32, Timestamp, usize, u32, usize)>, ReadError> {
        match kind {
            IDB => {
                if body.len() < 8 {
                    return Err(ReadError::ShortInterfaceBlock);
                }
                let mut iface = Interface {
                    linktype: u32::from(self.u16(&body[0..2])),
                    units: 1_000_000,
                    offset: 0,
                };
                let mut opts = &body[8..];
                while opts.len() >= 4 {
                    let code = self.u16(&opts[0..2]);
                    let len = usize::from(self.u16(&opts[2..4]));
                    let Some(value) = opts.get(4..4 + len) else {
                        break;
                    };
                    match (code, len) {
                        (0, _) => break,
                        (9, 1) => {
                            let v = u32::from(value[0] & 0x7F);
                            iface.units = if value[0] & 0x80 == 0 {
                                10u64.checked_pow(v).unwrap_or(1_000_000)
                            } else {
                                1u64.checked_shl(v).unwrap_or(1_000_000)
                            };
                        }
                        (14, 8) => {
                            let b: [u8; 8] = value.try_into().unwrap_or([0; 8]);
                            iface.offset = if self.big_endian {
                                u64::from_be_bytes(b)
                            } else {
                                u64::from_le_bytes(b)
                            };
                        }
                        _ => {}
                    }
                    opts = &opts[(4 + len + pad4(len)).min(opts.len())..];
                }
                self.interfaces.push(iface);
                Ok(None)
            }
            EPB | OPB => {
                if body.len() < 20 {
                    return Err(ReadError::ShortPacketBlock);
                }
                let id = if kind == EPB {
                    self.u32(&body[0..4]) as usize
                } else {
                    usize::from(self.u16(&body[0..2]))
                };
                let iface = *self
                    .interfaces
                    .get(id)
                    .ok_or(ReadError::UnknownInterface(id))?;
                let ts =
                    (u64::from(self.u32(&body[4..8])) << 32) | u64::from(self.u32(&body[8..12]));
                let cap = self.u32(&body[12..16]) as usize;
                let orig = self.u32(&body[16..20]);
                if 20 + cap > body.len() {
                    return Err(ReadError::PacketOverflowsBlock);
                }
                let mut t = Timestamp::from_units(ts, iface.units);
                t.secs = t.secs.saturating_add(iface.offset);
                Ok(Some((iface.linktype, t, cap, orig.max(cap as u32), 20)))
            }
            SPB => {
                if body.len() < 4 {
                    return Err(ReadError::ShortSimplePacketBlock);
                }
                let iface = *self.interfaces.first().ok_or(ReadError::NoInterface)?;
                let orig = self.u32(&body[0..4]);
                let cap = (orig as usize).min(body.len() - 4);
                Ok(Some((iface.linktype, Timestamp::default(), cap, orig, 4)))
            }
            DSB => {
                if body.len() >= 8 && self.u32(&body[0..4]) == TLS_KEY_LOG {
                    let len = (self.u32(&body[4..8]) as usize).min(body.len() - 8);
                    self.secrets.extend_from_slice(&body[8..8 + len]);
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_secrets() {
        let mut out = Vec::new();
        write_shb(&mut out).unwrap();
        write_idb(&mut out, 1, Some("lo")).unwrap();
        write_dsb(&mut out, b"CLIENT_RANDOM aa bb\n").unwrap();
        let data = [9u8; 61];
        let f = Frame {
            ts: Timestamp {
                secs: 1_714_564_800,
                nanos: 123_456_789,
            },
            orig_len: 61,
            data: &data,
            linktype: 1,
        };
        write_epb(&mut out, 0, &f).unwrap();
        assert_eq!(out.len() % 4, 0);
        let first: [u8; 12] = out[..12].try_into().unwrap();
        let mut r = PcapngReader::new(&out[12..], &first).unwrap();
        let g = r.next_frame().unwrap().unwrap();
        assert_eq!(g.data, &data);
        assert_eq!(g.ts, f.ts);
        assert_eq!(g.linktype, 1);
        assert!(r.next_frame().unwrap().is_none());
        assert_eq!(r.secrets, b"CLIENT_RANDOM aa bb\n");
    }
}
