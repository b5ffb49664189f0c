//! Fuzzes the capture file readers: the bytes are a whole pcap or pcapng
//! file (the first byte picks which reader, as the magic number would),
//! and every frame read goes through the engine.
//!
//! Run: cargo +nightly fuzz run read   (from crates/squirrel-sniff)
#![no_main]

use libfuzzer_sys::fuzz_target;
use squirrel_sniff::engine::{Engine, Options};
use squirrel_sniff::pcap::PcapReader;
use squirrel_sniff::pcapng::PcapngReader;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut engine = Engine::new(std::io::sink(), Options::default());
    if pick & 1 == 0 {
        let Some((head, body)) = rest.split_first_chunk::<24>() else {
            return;
        };
        let Ok(mut r) = PcapReader::new(body, head) else {
            return;
        };
        while let Ok(Some(frame)) = r.next_frame() {
            let _ = engine.push(&frame);
        }
    } else {
        let Some((head, body)) = rest.split_first_chunk::<12>() else {
            return;
        };
        let Ok(mut r) = PcapngReader::new(body, head) else {
            return;
        };
        while let Ok(Some(frame)) = r.next_frame() {
            let _ = engine.push(&frame);
        }
    }
    let _ = engine.finish();
});
