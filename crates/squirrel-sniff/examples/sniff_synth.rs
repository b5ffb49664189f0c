//! Writes a large capture for the benchmark (bench/sniff.sh): many HTTP
//! fetches of the secret on port 80 and TLS 1.3 sessions on port 443, made
//! frame by frame, so tshark and squirrel dissect the same realistic mix.
//!
//! Usage: cargo run --release -p squirrel-sniff --example sniff_synth -- PACKETS FILE

use squirrel_sniff::file::Writer;
use squirrel_sniff::synth::{application_data, client_hello, server_flight, Conversation};
use squirrel_sniff::{Frame, Timestamp};
use std::net::SocketAddr;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(n), Some(path)) = (args.get(1).and_then(|n| n.parse::<u64>().ok()), args.get(2))
    else {
        eprintln!("usage: sniff_synth PACKETS FILE");
        std::process::exit(2);
    };
    let mut w = Writer::create(path.as_ref(), 1, Some("lo"), false).expect("create the file");
    let mut written = 0u64;
    let mut conv_id = 0u32;
    let mut nanos = 0u64;
    while written < n {
        conv_id += 1;
        let client: SocketAddr = format!("127.0.0.1:{}", 20_000 + conv_id % 40_000)
            .parse()
            .unwrap();
        let mut frames = Vec::new();
        if conv_id % 2 == 0 {
            let mut c = Conversation::new(client, "127.0.0.1:80".parse().unwrap(), conv_id);
            frames.extend(c.open());
            frames.extend(c.send(true, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"));
            frames.push(c.ack(false));
            frames.extend(c.send(false, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nfluffy tail"));
            frames.push(c.ack(true));
            frames.push(c.fin(true));
            frames.push(c.fin(false));
            frames.push(c.ack(true));
        } else {
            let mut c = Conversation::new(client, "127.0.0.1:443".parse().unwrap(), conv_id);
            frames.extend(c.open());
            frames.extend(c.send(true, &client_hello("localhost", conv_id as u8)));
            frames.extend(c.send(false, &server_flight(1200)));
            frames.extend(c.send(true, &application_data(120)));
            frames.extend(c.send(false, &application_data(300)));
            frames.push(c.ack(true));
            frames.push(c.fin(true));
            frames.push(c.fin(false));
        }
        for data in &frames {
            if written == n {
                break;
            }
            nanos += 13_000;
            let f = Frame {
                ts: Timestamp {
                    secs: 1_714_564_800 + nanos / 1_000_000_000,
                    nanos: (nanos % 1_000_000_000) as u32,
                },
                orig_len: data.len() as u32,
                data,
                linktype: 1,
            };
            w.write(&f).expect("write");
            written += 1;
        }
    }
    w.finish(None).expect("finish");
    eprintln!("wrote {written} packets to {path}");
}
