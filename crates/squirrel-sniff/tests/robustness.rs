//! The spy reads whatever strangers put on the wire: it must never panic
//! and never hold more memory than its caps. These property-style tests
//! feed it random bytes, truncated and mutated frames, and hostile streams
//! (the fuzz target under fuzz/ does the same, longer, on nightly).

use squirrel_sniff::dissect::tcp::flags::{ACK, PSH};
use squirrel_sniff::engine::{Engine, Format, Options};
use squirrel_sniff::file::Reader;
use squirrel_sniff::reassembly::Limits;
use squirrel_sniff::synth::{client_hello, server_flight, tcp_frame, Conversation};
use squirrel_sniff::{Frame, Timestamp};

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let c = "127.0.0.1:40000".parse().unwrap();
    let s = "127.0.0.1:5683".parse().unwrap();
    let mut conv = Conversation::new(c, s, 9);
    let mut frames = conv.open();
    frames.extend(conv.send(true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    frames.extend(conv.send(
        false,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfluff\r\n0\r\n\r\n",
    ));
    frames.extend(conv.send(true, &client_hello("localhost", 1)));
    frames.extend(conv.send(false, &server_flight(100)));
    let v6 = tcp_frame(
        "[::1]:1".parse().unwrap(),
        "[::1]:2".parse().unwrap(),
        1,
        1,
        PSH | ACK,
        b"HTTP/1.0 200 OK\r\n\r\nbody",
    );
    frames.push(v6);
    frames
}

fn engine(format: Format) -> Engine<std::io::Sink> {
    Engine::new(
        std::io::sink(),
        Options {
            format,
            hex: true,
            secret: Some("fluff".into()),
            limits: Limits {
                per_stream: 4096,
                total: 16 * 1024,
                max_streams: 64,
            },
            ..Options::default()
        },
    )
}

fn push(e: &mut Engine<std::io::Sink>, data: &[u8], linktype: u32, i: u32) {
    let f = Frame {
        ts: Timestamp {
            secs: u64::from(i),
            nanos: 0,
        },
        orig_len: data.len() as u32,
        data,
        linktype,
    };
    e.push(&f).unwrap();
}

#[test]
fn truncated_and_mutated_frames_never_panic() {
    let seeds = seeds();
    let mut rng = Rng(0x5EED_0F5E_C2E7);
    for format in [Format::Summary, Format::Verbose, Format::Json] {
        let mut e = engine(format);
        let mut i = 0;
        for seed in &seeds {
            for cut in 0..=seed.len() {
                push(&mut e, &seed[..cut], 1, i);
                i += 1;
            }
        }
        for _ in 0..3000 {
            let mut frame = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(8) {
                let at = rng.below(frame.len());
                frame[at] = rng.next() as u8;
            }
            frame.truncate(rng.below(frame.len() + 1));
            let linktype = [1, 0, 101, 113, 276, 228, 229, 7][rng.below(8)];
            push(&mut e, &frame, linktype, i);
            i += 1;
        }
        let report = e.finish().unwrap();
        assert_eq!(report.packets, u64::from(i));
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    let mut e = engine(Format::Summary);
    for i in 0..5000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        push(&mut e, &bytes, [1, 101, 113][i % 3], i as u32);
    }
    e.finish().unwrap();
}

#[test]
fn hostile_streams_stay_within_the_memory_caps() {
    // Many connections each sending an HTTP header block that never ends,
    // and segments far ahead of a gap: all must be bounded.
    let mut e = engine(Format::Quiet);
    let server = "127.0.0.1:80".parse().unwrap();
    let mut i = 0;
    for n in 0..200u16 {
        let client = format!("127.0.0.1:{}", 10_000 + n).parse().unwrap();
        let mut conv = Conversation::new(client, server, u32::from(n));
        for f in conv.open() {
            push(&mut e, &f, 1, i);
            i += 1;
        }
        let mut header = b"GET / HTTP/1.1\r\n".to_vec();
        header.extend(std::iter::repeat_n(b'a', 1500));
        for f in conv.send(true, &header) {
            push(&mut e, &f, 1, i);
            i += 1;
        }
        // A segment 1 MB ahead: a gap that never fills.
        let ahead = tcp_frame(client, server, 1_000_000, 1, PSH | ACK, &[b'x'; 1000]);
        push(&mut e, &ahead, 1, i);
        i += 1;
    }
    let report = e.finish().unwrap();
    assert!(report.drops.streams_evicted > 0, "{report}");
    assert!(
        report.to_string().contains("Reassembly: dropped "),
        "{report}"
    );
}

#[test]
fn random_files_are_refused_or_read_without_panic() {
    let mut rng = Rng(7);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let headers: [&[u8]; 3] = [
        &[
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
        ],
        &[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a],
        &[
            0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 1,
        ],
    ];
    for round in 0..600 {
        let mut bytes = headers[round % 3].to_vec();
        if round % 3 == 1 {
            bytes.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 28, 0, 0, 0]);
        }
        for _ in 0..rng.below(300) {
            bytes.push(if rng.below(4) == 0 {
                0
            } else {
                rng.next() as u8
            });
        }
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(mut r) = Reader::open(&path) {
            let mut n = 0;
            while let Ok(Some(_)) = r.next_frame() {
                n += 1;
                if n > 1000 {
                    break;
                }
            }
        }
    }
}
