//! What every command-line tool has: `--version` with the commit and the
//! TLS stack, shell completions, man pages, and a quiet end when the
//! reader of its output goes away (`squirrel ... | head -1`).

use crate::common::Scratch;
use std::io::Read;
use std::process::Stdio;

#[test]
fn version_names_the_commit_and_the_tls_stack() {
    let s = Scratch::new();
    let out = s.ok(&["--version"]);
    let mut lines = out.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("squirrel {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert_eq!(
        lines.next(),
        Some("TLS: rustls 0.23 with the aws-lc-rs provider (TLS 1.3 and 1.2)")
    );
}

#[test]
fn completions_for_each_shell_know_the_commands() {
    let s = Scratch::new();
    for (shell, marker) in [
        ("bash", "_squirrel()"),
        ("zsh", "#compdef squirrel"),
        ("fish", "complete -c squirrel"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[squirrel]"),
    ] {
        let script = s.ok(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("legacy-ca"), "{shell} knows the flags");
    }
    // bash accepts the script.
    let binary = assert_cmd::cargo::cargo_bin!("squirrel");
    let script = format!(
        "source <({} completions bash) && complete -p squirrel",
        binary.display()
    );
    let (ok, out) = s.run("bash", &["-c", &script]);
    assert!(ok && out.contains("_squirrel"), "{out}");
    let out = s.fails(&["completions", "tcsh"], 2);
    assert!(out.contains("invalid value 'tcsh'"), "{out}");
}

#[test]
fn man_pages_are_written_for_every_command() {
    let s = Scratch::new();
    let out = s.ok(&["man", "pages"]);
    assert!(
        out.starts_with("wrote ") && out.ends_with(" man pages in pages\n"),
        "{out}"
    );
    for page in [
        "squirrel.1",
        "squirrel-pki-verify.1",
        "squirrel-serve.1",
        "squirrel-sniff.1",
    ] {
        let text = s.read(&format!("pages/{page}"));
        assert!(text.starts_with(".ie \\n(.g .ds Aq"), "{page}: {text}");
        assert!(text.contains(".TH "), "{page}");
    }
    let verify = s.read("pages/squirrel-pki-verify.1");
    assert!(verify.contains("max\\-depth"), "{verify}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let s = Scratch::new();
    // The reader is gone before squirrel writes: every write fails with
    // EPIPE, which must end the run, not panic it.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("squirrel"))
        .current_dir(s.dir.path())
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn colour_on_terminals_only() {
    let s = Scratch::new();
    let args = ["pki", "verify", "--ca", "missing.pem", "leaf.pem"];
    // Piped (as here): plain text, whatever the flag says unless "always".
    let plain = s.fails(&args, 1);
    assert!(
        plain.starts_with("squirrel: error: cannot read missing.pem"),
        "{plain}"
    );
    let mut always = vec!["--color", "always"];
    always.extend(args);
    let painted = s.fails(&always, 1);
    assert!(
        painted.starts_with("\x1b[1;31msquirrel: error:\x1b[0m cannot read"),
        "{painted:?}"
    );
    // On a terminal (script(1) gives one): colour, unless NO_COLOR.
    let binary = assert_cmd::cargo::cargo_bin!("squirrel");
    let command = format!("{} {}", binary.display(), args.join(" "));
    let (_, on_tty) = s.run("script", &["-qec", &command, "/dev/null"]);
    assert!(on_tty.contains("\x1b[1;31msquirrel: error:"), "{on_tty:?}");
    let no_color = format!("NO_COLOR=1 {command}");
    let (_, plain_tty) = s.run("script", &["-qec", &no_color, "/dev/null"]);
    assert!(
        plain_tty.contains("squirrel: error:") && !plain_tty.contains('\x1b'),
        "{plain_tty:?}"
    );
    let never = format!("{} --color never {}", binary.display(), args.join(" "));
    let (_, never_tty) = s.run("script", &["-qec", &never, "/dev/null"]);
    assert!(!never_tty.contains('\x1b'), "{never_tty:?}");
}

#[test]
fn errors_in_json_mode_are_json() {
    let s = Scratch::new();
    let (code, out, err) = s.squirrel_out(
        &["pki", "verify", "--json", "--ca", "missing.pem", "leaf.pem"],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.is_empty(), "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["error"]["exit_code"], 1);
    assert!(json["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("cannot read missing.pem"));
}

#[test]
fn long_captures_show_progress_on_a_terminal_only() {
    let s = Scratch::new();
    let listen = format!("127.0.0.1:{}", crate::common::free_port());
    let to = format!("127.0.0.1:{}", crate::common::free_port());
    let args = [
        "sniff",
        "--relay",
        &listen,
        "--to",
        &to,
        "-q",
        "--duration",
        "1",
    ];
    let binary = assert_cmd::cargo::cargo_bin!("squirrel");
    let command = format!("{} {}", binary.display(), args.join(" "));
    let (ok, on_tty) = s.run("script", &["-qec", &command, "/dev/null"]);
    assert!(ok, "{on_tty}");
    assert!(
        on_tty.contains("capturing: 0 packets, 0 B so far"),
        "{on_tty:?}"
    );
    assert!(on_tty.contains("Summary: 0 packets"), "{on_tty:?}");
    let (_, _, piped) = s.squirrel_out(&args, &[]);
    assert!(!piped.contains("capturing"), "{piped}");
    assert!(piped.contains("Summary: 0 packets"), "{piped}");
}

#[test]
fn a_slow_key_shows_a_spinner_on_a_terminal_only() {
    let s = Scratch::new();
    let args = ["pki", "key", "--algo", "rsa4096", "--no-pass", "--out"];
    let binary = assert_cmd::cargo::cargo_bin!("squirrel");
    let command = format!("{} {} tty.pem", binary.display(), args.join(" "));
    let (ok, on_tty) = s.run("script", &["-qec", &command, "/dev/null"]);
    assert!(ok, "{on_tty}");
    assert!(on_tty.contains("making an RSA 4096 key"), "{on_tty:?}");
    let mut piped = args.to_vec();
    piped.push("piped.pem");
    let (code, _, err) = s.squirrel_out(&piped, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("making"), "{err}");
}
