//! Helpers shared by `cipher_cli.rs` and `cipher_interop.rs`: the real
//! `squirrel` binary with stdin, and the spec's key and token.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The spec's key, token ("hello" at 1985-10-26T08:20:00Z, IV 00..0f).
pub const KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
pub const TOKEN: &str = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
pub const TOKEN_TIME: u64 = 499_162_800;
/// Another valid key, the one in the tutorial.
pub const TUTORIAL_KEY: &str = "8jtTR9QcD-k3R09Pcd5ePgmTu_itJQt9WKQPzqjrcoM=";

pub fn squirrel(args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("squirrel"));
    cmd.env_remove("SECRET_KEY").args(args);
    cmd
}

/// Runs squirrel with `stdin`; asserts success; returns stdout.
pub fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = squirrel(args).write_stdin(stdin).output().unwrap();
    assert!(
        out.status.success(),
        "squirrel {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn ok_text(args: &[&str], stdin: &str) -> String {
    String::from_utf8(ok(args, stdin.as_bytes())).unwrap()
}

/// Runs squirrel expecting exit `code`, no stdout and no panic; returns stderr.
pub fn fails(args: &[&str], stdin: &str, code: i32) -> String {
    let out = squirrel(args).write_stdin(stdin).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "squirrel {args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A file of the Fernet spec's test vectors, vendored in squirrel-cipher
/// (`crates/squirrel-cipher/tests/data/fernet`).
pub fn fernet_vectors(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../squirrel-cipher/tests/data/fernet")
        .join(name)
}
