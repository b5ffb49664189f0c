//! `squirrel sniff --read`, `--write`, `--relay` and the display options,
//! without root: captures made frame by frame, files rewritten by tshark,
//! and a relay on loopback. The referee is tshark, which must agree with
//! squirrel packet for packet.

use crate::common::Scratch;
use crate::sniff_common::{
    curl, http_server, sample_capture, tshark, tshark_count, Spy, SECRET, TOKEN,
};

#[test]
fn the_sample_is_dissected_line_by_line() {
    let s = Scratch::new();
    let n = sample_capture(&s.path("sample.pcap"));
    let out = s.ok(&["sniff", "--read", "sample.pcap", "--display", "http,tls"]);
    assert_eq!(
        out,
        "   4  0.003000  127.0.0.1:40000 -> 127.0.0.1:5683  HTTP 132  GET / HTTP/1.1\n   \
         7  0.006000  127.0.0.1:5683 -> 127.0.0.1:40000  HTTP 59  HTTP/1.1 200 OK  (text/plain)\n  \
         15  0.014000  127.0.0.1:40001 -> 127.0.0.1:5683  HTTP 94  GET / HTTP/1.1\n  \
         16  0.015000  127.0.0.1:5683 -> 127.0.0.1:40001  HTTP 220  HTTP/1.1 200 OK  (text/plain) [Fernet token, made 2024-05-01 12:00:00 UTC]\n  \
         20  0.019000  [::1]:40002 -> [::1]:5683  TLSv1 173  Client Hello (SNI=localhost)\n  \
         21  0.020000  [::1]:5683 -> [::1]:40002  TLSv1.3 640  Server Hello, Change Cipher Spec, Application Data (500 bytes)\n  \
         22  0.021000  [::1]:40002 -> [::1]:5683  TLSv1.3 114  Application Data (35 bytes)\n"
    );
    let all = s.ok(&["sniff", "--read", "sample.pcap"]);
    assert_eq!(all.lines().count() as u64, n);
    assert!(all.contains(
        "   6  0.005000  127.0.0.1:5683 -> 127.0.0.1:40000  TCP 125  [PSH, ACK] Seq=1 Ack=79 Win=65535 Len=71 [TCP segment of a reassembled PDU]\n"
    ), "{all}");
    let out = s
        .squirrel(&["sniff", "--read", "sample.pcap", "-q", "--secret", SECRET])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Summary: {n} packets, 2373 bytes in 0.021000 s\n\
             Protocols: TCP 15, HTTP 4, TLSv1.3 2, TLSv1 1\n\
             Verdict: the secret \"fluffy tail\" crossed the wire in clear in 1 of {n} packets:\n  \
             packet 7  127.0.0.1:5683 -> 127.0.0.1:40000  HTTP  split: it starts 6 bytes before this payload, in the previous segment\n"
        )
    );
}

#[test]
fn read_of_tshark_written_files_gives_the_same_packets() {
    let s = Scratch::new();
    let n = sample_capture(&s.path("ours.pcap"));
    let dir = s.dir.path();
    tshark(dir, &["-r", "ours.pcap", "-w", "theirs.pcapng"]);
    tshark(
        dir,
        &["-r", "ours.pcap", "-F", "nsecpcap", "-w", "theirs-ns.pcap"],
    );
    tshark(dir, &["-r", "ours.pcap", "-F", "pcap", "-w", "theirs.pcap"]);
    let ours = s.ok(&["sniff", "--read", "ours.pcap", "-v", "-x"]);
    assert_eq!(ours.matches("\nFrame ").count() as u64 + 1, n);
    for theirs in ["theirs.pcapng", "theirs-ns.pcap", "theirs.pcap"] {
        assert_eq!(tshark_count(dir, theirs), n, "{theirs}");
        assert_eq!(
            s.ok(&["sniff", "--read", theirs, "-V", "-x"]),
            ours,
            "{theirs}"
        );
    }
    // Field by field, squirrel agrees with tshark's own dissection.
    let fields = tshark(
        dir,
        &[
            "-r",
            "theirs.pcapng",
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "frame.number",
            "-e",
            "frame.len",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "tcp.len",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.ack",
            "-e",
            "tcp.stream",
        ],
    );
    let json = s.ok(&["sniff", "--read", "theirs.pcapng", "--json"]);
    let mine: Vec<String> = json
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let t = &v["tcp"];
            let ack = if t["flags"].as_str().unwrap().contains("ACK") {
                t["relative_ack"].to_string()
            } else {
                "0".into()
            };
            format!(
                "{},{},{},{},{},{},{ack},{}",
                v["number"],
                v["length"],
                t["src_port"],
                t["dst_port"],
                t["len"],
                t["relative_seq"],
                t["stream"]
            )
        })
        .collect();
    assert_eq!(fields.lines().collect::<Vec<_>>(), mine);
    // The hex dump is tshark's, byte for byte.
    let hex = tshark(dir, &["-r", "theirs.pcapng", "-x", "-c", "1"]);
    let ours_first = s.ok(&["sniff", "--read", "theirs.pcapng", "-x", "-c", "1"]);
    assert_eq!(ours_first.split_once('\n').unwrap().1, hex);
}

#[test]
fn the_layer_tree_shows_http_and_fernet_like_wireshark() {
    let s = Scratch::new();
    sample_capture(&s.path("sample.pcapng"));
    let tree = s.ok(&[
        "sniff",
        "--read",
        "sample.pcapng",
        "-V",
        "--display",
        "http",
    ]);
    assert!(
        tree.starts_with(
            "Frame 4: 132 bytes on wire (1056 bits), 132 bytes captured (1056 bits)\n    \
        Arrival Time: 2024-05-01 12:00:00.003000000 UTC\n"
        ),
        "{tree}"
    );
    for part in [
        "    Protocols in frame: eth:ethertype:ip:tcp:http\n\
         Ethernet II, Src: 00:00:00:00:00:00, Dst: 00:00:00:00:00:00\n",
        "Internet Protocol Version 4, Src: 127.0.0.1, Dst: 127.0.0.1\n",
        "Transmission Control Protocol, Src Port: 40000, Dst Port: 5683, Seq: 1, Ack: 1, Len: 78\n",
        "Hypertext Transfer Protocol\n    GET / HTTP/1.1\\r\\n\n        Request Method: GET\n        \
         Request URI: /\n        Request Version: HTTP/1.1\n    Host: 127.0.0.1:5683\\r\\n\n    \
         User-Agent: curl/7.88.1\\r\\n\n    Accept: */*\\r\\n\n    \\r\\n\n",
        "    File Data: 11 bytes\nLine-based text data: text/plain (1 lines)\n    fluffy tail\n",
        "Fernet token (100 characters of URL-safe base64)\n    Version: 0x80\n    \
         Timestamp: 2024-05-01 12:00:00 UTC (1714564800)\n",
    ] {
        assert!(tree.contains(part), "missing {part:?} in\n{tree}");
    }
    assert!(
        !tree.contains("Frame 5:"),
        "the display filter keeps HTTP only"
    );
    let _ = TOKEN;
}

#[test]
fn the_relay_shows_what_an_on_path_spy_reads_without_root() {
    let s = Scratch::new();
    let server = http_server(s.dir.path());
    let upstream = format!("127.0.0.1:{}", server.port);
    let spy = Spy::start(
        s.dir.path(),
        &[
            "--relay",
            "127.0.0.1:0",
            "--to",
            &upstream,
            "--secret",
            SECRET,
            "--write",
            "relay.pcapng",
        ],
        "Relaying 127.0.0.1:",
    );
    let err = spy.stderr_now();
    let listen = err
        .split_once("Relaying ")
        .and_then(|(_, r)| r.split_once(' '))
        .map(|(a, _)| a.to_string())
        .unwrap();
    assert_eq!(
        curl(s.dir.path(), &[&format!("http://{listen}/")], &[]),
        SECRET
    );
    let seen = spy.stop();
    assert_eq!(seen.code, Some(0), "{}", seen.stderr);
    let n = seen.packets();
    let lines: Vec<&str> = seen.stdout.lines().collect();
    assert_eq!(lines.len() as u64, n);
    assert!(
        lines[0].contains(&format!(" -> {upstream}  TCP 74  [SYN] Seq=0 "))
            || lines[0].contains(&format!(" -> {upstream}  TCP 54  [SYN] Seq=0 ")),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stdout.contains(&format!(" -> {upstream}  HTTP ")),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stdout.contains("  HTTP/1.1 200 OK  (text/plain)\n"),
        "{}",
        seen.stdout
    );
    assert!(
        seen.stderr.contains(&format!(
            "Verdict: the secret \"fluffy tail\" crossed the wire in clear in 1 of {n} packets:\n"
        )),
        "{}",
        seen.stderr
    );
    assert_eq!(tshark_count(s.dir.path(), "relay.pcapng"), n);
}

#[test]
fn bad_input_gets_one_clear_error() {
    let s = Scratch::new();
    s.write("notes.txt", "fluffy tail, but not a capture\n");
    let err = s.fails(&["sniff", "--read", "notes.txt"], 1);
    assert_eq!(
        err,
        "squirrel: error: notes.txt: not a pcap or pcapng capture file (--read). squirrel reads the \
         files that tcpdump, tshark, Wireshark and `squirrel sniff --write` make\n"
    );
    let err = s.fails(&["sniff", "--read", "missing.pcap"], 1);
    assert!(err.starts_with("squirrel: error: missing.pcap: cannot open the capture file given to --read: No such file"), "{err}");

    // A file cut short: the packets before the cut are shown and counted.
    let n = sample_capture(&s.path("whole.pcap"));
    let bytes = std::fs::read(s.path("whole.pcap")).unwrap();
    std::fs::write(s.path("cut.pcap"), &bytes[..bytes.len() - 10]).unwrap();
    let out = s
        .squirrel(&["sniff", "--read", "cut.pcap", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("Summary: {} packets, ", n - 1)),
        "{err}"
    );
    assert!(err.ends_with(&format!(
        "squirrel: error: cut.pcap: the file is cut short in the middle of packet {n} (after {} packets); the packets before it were read\n",
        n - 1
    )), "{err}");

    let err = s.fails(
        &[
            "sniff",
            "--read",
            "whole.pcap",
            "--write",
            "out.pcap",
            "--keylog",
            "k.log",
        ],
        1,
    );
    assert!(err.starts_with("squirrel: error: out.pcap: --keylog needs a pcapng file: only pcapng can carry TLS secrets"), "{err}");
    let err = s.fails(&["sniff", "--read", "whole.pcap", "--display", "quic"], 2);
    assert!(
        err.contains("unknown protocol \"quic\" in --display: use http, tls, tcp or udp"),
        "{err}"
    );
    let err = s.fails(&["sniff", "--read", "whole.pcap", "--secret", ""], 1);
    assert!(
        err.starts_with("squirrel: error: --secret is empty"),
        "{err}"
    );
    s.fails(&["sniff", "--keylog", "k.log"], 2);
    s.fails(&["sniff", "--relay", "127.0.0.1:0"], 2);

    // A key log that is not one: the capture is written, the error said.
    s.write("bad.log", "hello\n");
    let out = s
        .squirrel(&[
            "sniff",
            "--read",
            "whole.pcap",
            "-q",
            "--write",
            "k.pcapng",
            "--keylog",
            "bad.log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("Wrote {n} packets to k.pcapng\n")),
        "{err}"
    );
    assert!(err.contains("squirrel: error: bad.log: no TLS secrets in the key log given to --keylog: line 1 (\"hello\") is not a key log line."), "{err}");
    assert_eq!(tshark_count(s.dir.path(), "k.pcapng"), n);
}

#[test]
fn key_log_lines_of_other_sessions_are_not_embedded() {
    let s = Scratch::new();
    let n = sample_capture(&s.path("sample.pcap"));
    // The sample's ClientHello random is 32 bytes of 0x07.
    let mine = "07".repeat(32);
    let other = "ab".repeat(32);
    s.write(
        "keys.log",
        &format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {mine} 0011\nCLIENT_TRAFFIC_SECRET_0 {other} 2233\n"
        ),
    );
    // A file already there, readable by all: it will hold TLS secrets.
    s.write("k.pcapng", "old");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(s.path("k.pcapng"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    let out = s
        .squirrel(&[
            "sniff",
            "--read",
            "sample.pcap",
            "-q",
            "--write",
            "k.pcapng",
            "--keylog",
            "keys.log",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "Wrote {n} packets to k.pcapng, with the TLS secrets of 1 session (1 key log lines)\n"
        )),
        "{err}"
    );
    let pcapng = std::fs::read(s.path("k.pcapng")).unwrap();
    let text = String::from_utf8_lossy(&pcapng);
    assert!(text.contains(&format!("CLIENT_HANDSHAKE_TRAFFIC_SECRET {mine} 0011\n")));
    assert!(!text.contains(&other), "another session's secret leaked");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path("k.pcapng"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "a capture with TLS secrets is private");
    }
    assert_eq!(tshark_count(s.dir.path(), "k.pcapng"), n);
}

#[test]
fn capture_filters_select_by_host_and_port() {
    let s = Scratch::new();
    sample_capture(&s.path("sample.pcap"));
    let summary = |args: &[&str]| {
        let out = s.squirrel(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        err.lines().take(2).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(
        summary(&["sniff", "-r", "sample.pcap", "-q", "--host", "::1"]),
        "Summary: 6 packets, 1149 bytes in 0.005000 s\nProtocols: TCP 3, TLSv1.3 2, TLSv1 1"
    );
    assert_eq!(
        summary(&["sniff", "-r", "sample.pcap", "-q", "--port", "40001"]),
        "Summary: 5 packets, 476 bytes in 0.004000 s\nProtocols: TCP 3, HTTP 2"
    );
    assert_eq!(
        summary(&[
            "sniff",
            "-r",
            "sample.pcap",
            "-q",
            "--port",
            "40001",
            "--host",
            "::1"
        ]),
        "Summary: 0 packets, 0 bytes in 0.000000 s\nProtocols: none"
    );
    let out = s.ok(&["sniff", "-r", "sample.pcap", "--port", "5683", "-c", "2"]);
    assert_eq!(out.lines().count(), 2);
}
