//! The clients that answer http-01 from a web root instead of a listener
//! of their own: dehydrated (bash, curl and openssl) and acme-tiny (one
//! Python file). They write the token file; a plain web server (Python's
//! `http.server`) on the port the CA validates serves it, as nginx or
//! Apache would on a real site.

use super::{timeout, Ca, ClientRun, Daemon};
use crate::common::require_tool;
use std::path::PathBuf;
use std::process::Command;

/// Where the token files go, under a web root, as RFC 8555 §8.3 reads them.
const CHALLENGE_DIR: &str = ".well-known/acme-challenge";

/// A running web server and the folder the clients write tokens into.
pub struct WebRoot {
    _server: Daemon,
    /// `ROOT/.well-known/acme-challenge`.
    pub challenges: PathBuf,
}

impl Ca {
    /// Serves the folder `dir` (under the scratch directory) over HTTP on
    /// 127.0.0.1 at the port this CA validates http-01 on.
    pub fn webroot(&self, dir: &str) -> WebRoot {
        let root = self.scratch.path(dir);
        let challenges = root.join(CHALLENGE_DIR);
        std::fs::create_dir_all(&challenges).unwrap();
        let mut cmd = Command::new("python3");
        // -u: the "Serving HTTP" line reaches the log at once.
        cmd.args(["-u", "-m", "http.server", "--bind", "127.0.0.1"])
            .arg("--directory")
            .arg(&root)
            .arg(self.http01_port.to_string());
        let server = Daemon::spawn("http.server", cmd);
        server.wait_for_line("Serving HTTP on 127.0.0.1");
        WebRoot {
            _server: server,
            challenges,
        }
    }

    /// Runs `dehydrated -f DIR/config ARGS`: its configuration (this CA,
    /// http-01 into `webroot`, its state under `DIR`) is written first, and
    /// curl trusts the CA's bundle (`CURL_CA_BUNDLE`).
    pub fn dehydrated(&self, dir: &str, webroot: &WebRoot, args: &[&str]) -> ClientRun {
        let program = require_tool("dehydrated", "dehydrated");
        let base = self.scratch.path(dir);
        std::fs::create_dir_all(&base).unwrap();
        let config = base.join("config");
        std::fs::write(
            &config,
            format!(
                "CA=\"{}\"\nCHALLENGETYPE=\"http-01\"\nWELLKNOWN=\"{}\"\nBASEDIR=\"{}\"\n\
                 CONTACT_EMAIL=\"ops@{}\"\n",
                self.directory,
                webroot.challenges.display(),
                base.display(),
                super::SITE,
            ),
        )
        .unwrap();
        let mut cmd = timeout(&program);
        cmd.arg("-f")
            .arg(&config)
            .args(args)
            .env("CURL_CA_BUNDLE", &self.bundle);
        self.client("dehydrated", args, cmd)
    }

    /// Runs `acme-tiny --directory-url URL --acme-dir WEBROOT ARGS`, its
    /// Python trusting the CA's bundle (`SSL_CERT_FILE`). Its own check of
    /// the token over port 80 is off (`--disable-check`): the CA validates
    /// on another port here.
    pub fn acme_tiny(&self, webroot: &WebRoot, args: &[&str]) -> ClientRun {
        let program = require_tool("acme-tiny", "acme-tiny");
        let mut cmd = timeout(&program);
        cmd.args(["--disable-check", "--directory-url", &self.directory])
            .arg("--acme-dir")
            .arg(&webroot.challenges)
            .args(args)
            .env("SSL_CERT_FILE", &self.bundle);
        self.client("acme-tiny", args, cmd)
    }
}
