//! `squirrel demo`: the whole story, end to end, as a newcomer runs it.

use crate::common::{require_root, require_tool, NobodyDir, Scratch};
use std::io::{BufRead, Read};

const CHAPTERS: [&str; 8] = [
    "Chapter 1: Plain HTTP: the spy reads the secret",
    "Chapter 2: Caesar: a cipher a child can break",
    "Chapter 3: Fernet: a real cipher, and a shared key",
    "Chapter 4: Diffie-Hellman: agreeing on a key in public",
    "Chapter 5: Your own certificate authority",
    "Chapter 6: HTTPS: trust your CA, hide the secret",
    "Chapter 7: Members only: client certificates and revocation",
    "Chapter 8: The CA makes you prove it",
];

/// squirrel demo with TMPDIR inside the scratch directory, so that what it
/// leaves behind can be seen.
fn demo(s: &Scratch, args: &[&str]) -> (i32, String, String) {
    std::fs::create_dir_all(s.path("tmp")).unwrap();
    let mut full = vec!["demo"];
    full.extend_from_slice(args);
    let tmp = s.path("tmp");
    s.squirrel_out(&full, &[("TMPDIR", tmp.to_str().unwrap())])
}

fn leftovers(s: &Scratch) -> Vec<String> {
    std::fs::read_dir(s.path("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_whole_story_plays_and_cleans_up() {
    let s = Scratch::new();
    let (code, out, err) = demo(&s, &[]);
    assert_eq!(code, 0, "{out}{err}");
    for title in CHAPTERS {
        assert!(out.contains(&format!("{title}\n")), "{title}: {out}");
        let number = &title[..9];
        assert!(out.contains(&format!("{number}: OK\n")), "{number}: {out}");
    }
    assert!(
        out.contains("  The member prints: The secret message is: fluffy tail\n"),
        "{out}"
    );
    assert!(
        out.contains("fluffy tail\n") && out.contains("66 6c 75 66 66 79"),
        "the hex lines that hold the secret: {out}"
    );
    assert!(
        out.contains("  \"fluffy tail\" -> \"ekteex szhk\" -> \"fluffy tail\"\n"),
        "{out}"
    );
    assert!(
        out.contains("Frequency analysis over 89 letters finds the key 7"),
        "{out}"
    );
    assert!(
        out.contains("A client with the wrong key gets InvalidToken"),
        "{out}"
    );
    assert!(
        out.contains("I am my-site.com (my-site.com, localhost, 127.0.0.1) according to my-ca.com"),
        "{out}"
    );
    assert!(out.contains("Without the CA the client refuses: \"certificate verify failed: unable to get local issuer certificate\""), "{out}");
    assert!(out.contains("Client Hello (SNI=localhost)"), "{out}");
    assert!(
        out.contains("alice again: refused (\"sslv3 alert certificate revoked\")"),
        "{out}"
    );
    assert!(
        out.contains("the server answers with a\n  certificate holding the proof (tls-alpn-01)"),
        "{out}"
    );
    assert!(
        out.contains(
            "The spy saw 2 handshakes for localhost (the CA's proof and the member's fetch)"
        ),
        "{out}"
    );
    assert!(
        out.contains("Every server was stopped and every temporary file removed.\n"),
        "{out}"
    );
    assert!(
        leftovers(&s).is_empty(),
        "the temporary directory is gone: {:?}",
        leftovers(&s)
    );
}

#[test]
fn json_summary_and_a_single_chapter() {
    let s = Scratch::new();
    let (code, out, err) = demo(&s, &["--json", "--chapter", "6"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["chapters"].as_array().unwrap().len(), 1);
    assert_eq!(v["chapters"][0]["chapter"], 6);
    assert_eq!(
        v["chapters"][0]["facts"]["refusal"],
        "certificate verify failed: unable to get local issuer certificate"
    );
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
    let (code, _, err) = demo(&s, &["--chapter", "9"]);
    assert_eq!(code, 2, "{err}");
    // The ACME chapter: the certificate the member saw is the one the CA signed.
    let (code, out, err) = demo(&s, &["--json", "--chapter", "8"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let facts = &v["chapters"][0]["facts"];
    assert_eq!(facts["handshakes"], 2, "{v}");
    assert_eq!(facts["serial"].as_str().unwrap().len(), 32, "{v}");
}

#[test]
fn kept_files_are_real_and_the_captures_open_in_the_spy() {
    let s = Scratch::new();
    let (code, out, err) = demo(&s, &["--keep", "story"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Every file is kept in story.\n"), "{out}");
    for file in [
        "ca/ca.pem",
        "ca/ca-key.pem",
        "ca/ledger.sqlite3",
        "server.pem",
        "server-key.pem",
        "alice.pem",
        "crl.pem",
        "1-plain-http.pcap",
        "6-https.pcap",
    ] {
        assert!(s.path("story").join(file).exists(), "{file}");
    }
    s.openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        "story/ca/ca.pem",
        "story/server.pem",
    ]);
    s.openssl(&[
        "pkey",
        "-in",
        "story/ca/ca-key.pem",
        "-passin",
        "pass:secret_password",
        "-noout",
    ]);
    let seen = s
        .squirrel(&[
            "sniff",
            "--read",
            "story/1-plain-http.pcap",
            "--secret",
            "fluffy tail",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(seen.status.success());
    let report = String::from_utf8_lossy(&seen.stderr);
    assert!(
        report.contains("Verdict: the secret \"fluffy tail\" crossed the wire in clear"),
        "{report}"
    );
    // A second run refuses to write into a story that is already there.
    let (code, _, err) = demo(&s, &["--keep", "story"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--keep story: the directory is not empty"),
        "{err}"
    );
}

#[test]
#[ignore = "needs root (runs the demo as nobody with runuser)"]
fn without_root_the_spy_relays() {
    require_root("runs the demo as nobody with runuser");
    let runuser = require_tool("runuser", "util-linux");
    let nobody = NobodyDir::new();
    let tmp = nobody.owned_by_nobody("tmp");
    let out = std::process::Command::new(runuser)
        .args(["-u", "nobody", "--"])
        .arg(nobody.squirrel())
        .args(["demo", "--chapter", "1"])
        .env("TMPDIR", &tmp)
        .current_dir(&tmp)
        .output()
        .expect("runuser");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Not root: the spy sits on the path as a relay"),
        "{text}"
    );
    assert!(
        text.contains("the secret crossed in clear in packet"),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn ctrl_c_stops_everything_and_removes_the_files() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("tmp")).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("squirrel"))
        .arg("demo")
        .env("TMPDIR", s.path("tmp"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C once chapter 1 has begun: the handler is in place by then,
    // and the spy and a server are running.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains(CHAPTERS[0]) {
        let mut line = String::new();
        let n = stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "the demo ended before chapter 1 began: {seen}");
        seen.push_str(&line);
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stdout.read_to_string(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{seen}{err}");
    assert!(
        err.contains("interrupted during chapter 1; every server was stopped"),
        "{err}"
    );
    assert!(leftovers(&s).is_empty(), "left behind: {:?}", leftovers(&s));
}
