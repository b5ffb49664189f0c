//! Helpers shared by the integration tests: the real `squirrel` binary in a
//! scratch directory with its own CA home, and the real openssl and python3.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A scratch directory with `SQUIRREL_HOME` inside it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn home(&self) -> PathBuf {
        self.path("ca")
    }

    /// `squirrel ARGS` run in the scratch directory, with no terminal.
    pub fn squirrel(&self, args: &[&str]) -> Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("squirrel"));
        cmd.current_dir(self.dir.path())
            .env("SQUIRREL_HOME", self.home())
            .env_remove("SECRET_KEY")
            .stdin(Stdio::null())
            .args(args);
        Command::from_std(cmd)
    }

    /// Runs squirrel and returns stdout, asserting success.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.squirrel(args).output().expect("run squirrel");
        assert!(
            out.status.success(),
            "squirrel {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Runs squirrel expecting exit code `code`; returns stderr + stdout.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.squirrel(args).output().expect("run squirrel");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(out.status.code(), Some(code), "squirrel {args:?}: {text}");
        assert!(
            !text.contains("panicked"),
            "squirrel {args:?} panicked: {text}"
        );
        text
    }

    /// A CA in `$SQUIRREL_HOME` with passphrase "secret_password" in `pw`.
    pub fn init_ca(&self, extra: &[&str]) {
        self.write("pw", "secret_password\n");
        let mut args = vec!["pki", "ca", "init", "--pass-file", "pw"];
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read test file")
    }

    /// Runs a program in the scratch directory; returns (success, stdout+stderr).
    pub fn run(&self, program: &str, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new(program)
            .current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// Runs `openssl ARGS`, asserting success; returns its output.
    pub fn openssl(&self, args: &[&str]) -> String {
        let (ok, out) = self.run("openssl", args);
        assert!(ok, "openssl {args:?} failed: {out}");
        out
    }

    /// Runs a Python script in the scratch directory, asserting success.
    pub fn python(&self, script: &str) -> String {
        let (ok, out) = self.run("python3", &["-c", script]);
        assert!(ok, "python failed: {out}\nscript:\n{script}");
        out
    }
}

/// True when a file exists.
pub fn exists(path: &Path) -> bool {
    path.exists()
}
