//! Fuzzes the whole spy: the first byte picks a link type, the rest is cut
//! into frames that go through dissection, reassembly (HTTP, TLS, Fernet),
//! every display format and the secret search.
//!
//! Run: cargo +nightly fuzz run dissect   (from crates/squirrel-sniff)
#![no_main]

use libfuzzer_sys::fuzz_target;
use squirrel_sniff::engine::{Engine, Format, Options};
use squirrel_sniff::reassembly::Limits;
use squirrel_sniff::{Frame, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let linktype = [1, 0, 101, 113, 276, 228, 229][usize::from(pick) % 7];
    let format = [Format::Summary, Format::Verbose, Format::Json][usize::from(pick >> 4) % 3];
    let mut engine = Engine::new(
        std::io::sink(),
        Options {
            format,
            hex: pick & 1 == 1,
            secret: Some("fluffy tail".into()),
            limits: Limits {
                per_stream: 4096,
                total: 16384,
                max_streams: 16,
            },
            ..Options::default()
        },
    );
    // Frames are separated by a two-byte length prefix.
    let mut rest = rest;
    let mut i = 0u64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let f = Frame {
            ts: Timestamp { secs: i, nanos: 0 },
            orig_len: frame.len() as u32,
            data: frame,
            linktype,
        };
        let _ = engine.push(&f);
        i += 1;
    }
    let _ = engine.finish();
});
