//! Fuzzes the capture file readers on hostile files. The first byte picks
//! the reader and the magic number (pcap: either byte order, micro- or
//! nanoseconds; pcapng: either byte order), so that every input gets past
//! the magic; the rest is the file after it. What the frames hold is the
//! `dissect` target's business.
//!
//! Run: cargo +nightly fuzz run read   (from crates/squirrel-sniff)
#![no_main]

use libfuzzer_sys::fuzz_target;
use squirrel_sniff::pcap::{PcapReader, MAGIC_MICROS, MAGIC_NANOS};
use squirrel_sniff::pcapng::{PcapngReader, BYTE_ORDER_MAGIC, SHB};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let big_endian = pick & 2 != 0;
    let order = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut seen = 0usize;
    if pick & 1 == 0 {
        let Some((tail, body)) = rest.split_first_chunk::<20>() else {
            return;
        };
        let mut head = [0u8; 24];
        let magic = if pick & 4 == 0 { MAGIC_MICROS } else { MAGIC_NANOS };
        head[..4].copy_from_slice(&order(magic));
        head[4..].copy_from_slice(tail);
        let Ok(mut r) = PcapReader::new(body, &head) else {
            return;
        };
        while let Ok(Some(frame)) = r.next_frame() {
            seen = seen.wrapping_add(frame.data.len());
        }
    } else {
        let Some((length, body)) = rest.split_first_chunk::<4>() else {
            return;
        };
        let mut head = [0u8; 12];
        head[..4].copy_from_slice(&SHB.to_le_bytes());
        head[4..8].copy_from_slice(length);
        head[8..].copy_from_slice(&order(BYTE_ORDER_MAGIC));
        let Ok(mut r) = PcapngReader::new(body, &head) else {
            return;
        };
        while let Ok(Some(frame)) = r.next_frame() {
            seen = seen.wrapping_add(frame.data.len());
        }
        seen = seen.wrapping_add(r.secrets.len());
    }
    std::hint::black_box(seen);
});
