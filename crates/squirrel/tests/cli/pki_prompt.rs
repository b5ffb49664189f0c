//! Passphrase prompts on a real (pseudo-)terminal: asked twice for a new
//! key, once to unlock one; never when a source is given.

use crate::common::Scratch;

const PTY: &str = include_str!("fixtures/pty_answer.py");

/// Runs squirrel on a terminal, typing `answers` at its prompts.
fn on_terminal(s: &Scratch, answers: &str, args: &[&str]) -> (i32, String) {
    s.write("pty_answer.py", PTY);
    let bin = assert_cmd::cargo::cargo_bin!("squirrel");
    let mut cmd = std::process::Command::new("python3");
    cmd.current_dir(s.dir.path())
        .env("SQUIRREL_HOME", s.home())
        // A terminal gets colour; these tests read the words.
        .env("NO_COLOR", "1")
        .arg("pty_answer.py")
        .arg(answers)
        .arg(bin)
        .args(args);
    let out = cmd.output().expect("python3");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_new_key_asks_twice_and_an_existing_key_once() {
    let s = Scratch::new();
    let (code, out) = on_terminal(&s, "hunter22|hunter22", &["pki", "key", "--out", "k.pem"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("Passphrase for the new key: <answered>\nType it again: <answered>\n"),
        "{out}"
    );
    assert!(
        !out.contains("hunter22"),
        "the passphrase is never echoed: {out}"
    );
    assert!(s
        .read("k.pem")
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    s.openssl(&["pkey", "-in", "k.pem", "-passin", "pass:hunter22", "-noout"]);

    let (code, out) = on_terminal(
        &s,
        "hunter22",
        &["pki", "csr", "--key", "k.pem", "--cn", "x.example"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with(
            "Passphrase for k.pem (key): <answered>\n-----BEGIN CERTIFICATE REQUEST-----"
        ),
        "{out}"
    );

    let (code, out) = on_terminal(
        &s,
        "wrong-one",
        &["pki", "csr", "--key", "k.pem", "--cn", "x.example"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("k.pem: wrong passphrase"), "{out}");
}

#[test]
fn mismatched_passphrases_write_nothing_and_sources_skip_the_prompt() {
    let s = Scratch::new();
    let (code, out) = on_terminal(&s, "one|two|three|four|five|six", &["pki", "ca", "init"]);
    assert_eq!(code, 1, "{out}");
    let ask = "Passphrase for the new CA key: <answered>\nType it again: <answered>\n";
    let again = "The two passphrases differ; try again.\n";
    assert!(
        out.starts_with(&format!("{ask}{again}{ask}{again}{ask}squirrel: error: the two passphrases differed 3 times; nothing was written. Run the command again, or give the passphrase with --pass-file FILE or --pass-env VAR\n")),
        "{out}"
    );
    assert!(!s.home().exists(), "no CA directory: {out}");

    s.write("pw", "from a file\n");
    let (code, out) = on_terminal(&s, "", &["pki", "ca", "init", "--pass-file", "pw"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("Passphrase"),
        "no prompt when --pass-file is given: {out}"
    );
    let (code, out) = on_terminal(&s, "", &["pki", "key", "--no-pass", "--out", "plain.pem"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("Passphrase"), "{out}");
}

#[test]
fn a_differing_confirmation_is_asked_again() {
    let s = Scratch::new();
    let (code, out) = on_terminal(
        &s,
        "hunter22|hunter23|hunter22|hunter22",
        &["pki", "key", "--out", "k.pem"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with(
            "Passphrase for the new key: <answered>\nType it again: <answered>\n\
             The two passphrases differ; try again.\n\
             Passphrase for the new key: <answered>\nType it again: <answered>\n\
             Wrote a new ECDSA P-256 key to k.pem"
        ),
        "{out}"
    );
    s.openssl(&["pkey", "-in", "k.pem", "-passin", "pass:hunter22", "-noout"]);
}
