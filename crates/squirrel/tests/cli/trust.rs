//! Trust stores and the browser (tutorial step 15): `squirrel pki install`
//! into the system store (curl and `squirrel get` then trust the CA without
//! --ca) and into Chromium's NSS database (headless Chromium then loads the
//! page); `uninstall` undoes both.

use crate::common::Scratch;
use std::path::{Path, PathBuf};

const SYSTEM_DIR: &str = "/usr/local/share/ca-certificates";

fn listing(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Puts the system store back as it was, even when the test fails.
struct RestoreSystemStore {
    before: Vec<String>,
}

impl Drop for RestoreSystemStore {
    fn drop(&mut self) {
        let extra: Vec<String> = listing(SYSTEM_DIR)
            .into_iter()
            .filter(|n| !self.before.contains(n))
            .collect();
        if !extra.is_empty() {
            for name in &extra {
                let _ = std::fs::remove_file(Path::new(SYSTEM_DIR).join(name));
            }
            let _ = std::process::Command::new("update-ca-certificates").output();
        }
    }
}

fn root_with_debian_store() -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    root && Path::new(SYSTEM_DIR).is_dir() && Path::new("/usr/sbin/update-ca-certificates").exists()
}

#[test]
fn system_store_round_trip_with_curl_and_squirrel_get() {
    if !root_with_debian_store() {
        eprintln!("skipped: needs root and a Debian system store");
        return;
    }
    let s = Scratch::new();
    s.init_ca(&["--cn", "Trust Test CA"]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let server = s.serve(&["--cert", "localhost.pem", "--key", "localhost-key.pem"]);
    let curl = || s.run("curl", &["-sS", &server.url]);
    let (ok, out) = curl();
    assert!(
        !ok && out.contains("unable to get local issuer certificate"),
        "before: {out}"
    );
    assert_eq!(s.squirrel_out(&["get", &server.url], &[]).0, 4);

    let _restore = RestoreSystemStore {
        before: listing(SYSTEM_DIR),
    };
    let dry = s.ok(&["pki", "install", "--stores", "system", "--dry-run"]);
    assert!(
        dry.contains("would install, then run update-ca-certificates"),
        "{dry}"
    );
    assert!(
        !listing(SYSTEM_DIR)
            .iter()
            .any(|n| n.starts_with("squirrel-")),
        "a dry run changes nothing"
    );
    let out = s.ok(&["pki", "install", "--stores", "system"]);
    assert!(
        out.starts_with("Installed: Trust Test CA (squirrel-"),
        "{out}"
    );
    let name = out
        .split("(squirrel-")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let file = format!("{SYSTEM_DIR}/squirrel-{name}.crt");
    assert!(
        out.contains(&format!(
            "system (Debian/Ubuntu)           installed    {file}"
        )),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), s.read("ca/ca.pem"));
    let (ok, out) = curl();
    assert!(ok, "curl trusts the CA without --cacert: {out}");
    assert_eq!(out, "fluffy tail");
    assert_eq!(
        s.ok(&["get", &server.url]),
        "The secret message is: fluffy tail\n"
    );
    let inspect = s.ok(&["pki", "inspect", &server.url]);
    assert!(
        inspect.contains("Verified: the chain is trusted by the system's trusted CAs."),
        "{inspect}"
    );
    let again = s.ok(&["pki", "install", "--stores", "system"]);
    assert!(again.contains("already installed"), "{again}");

    let out = s.ok(&["pki", "uninstall", "--stores", "system"]);
    assert!(out.contains(&format!("removed      {file}")), "{out}");
    assert!(!Path::new(&file).exists());
    let (ok, out) = curl();
    assert!(
        !ok && out.contains("unable to get local issuer certificate"),
        "after: {out}"
    );
    let again = s.ok(&["pki", "uninstall", "--stores", "system"]);
    assert!(again.contains("not installed"), "{again}");
}

#[test]
fn without_root_the_system_store_error_names_the_command() {
    let s = Scratch::new();
    let dir = "/tmp/squirrel-trust-test-ca";
    let _ = std::fs::remove_dir_all(dir);
    s.ok(&["pki", "ca", "init", "--no-pass", "--dir", dir]);
    // Let the other user read the CA certificate (the directory is 0700).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(assert_cmd::cargo::cargo_bin!("squirrel"))
        .args([
            "pki",
            "install",
            "--stores",
            "system",
            "--ca-dir",
            "/tmp/squirrel-trust-test-ca",
        ])
        .env("HOME", "/tmp")
        .output();
    let _ = std::fs::remove_dir_all(dir);
    let Ok(out) = out else { return };
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("may not be used by non-root users") || !root_with_debian_store() {
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("needs root"), "{err}");
    assert!(
        err.contains("run `sudo squirrel pki install --stores system`"),
        "{err}"
    );
}

/// Headless Chromium, as the issue asks: a fresh profile, loopback only.
fn chromium(home: &Path, profile: &Path, extra: &[&str], url: &str) -> (String, String) {
    let out = std::process::Command::new("chromium")
        .env("HOME", home)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium (installed by scripts/test.sh)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn chromium_trusts_the_ca_after_install_and_not_after_uninstall() {
    if squirrel_pki_which("chromium").is_none() || squirrel_pki_which("certutil").is_none() {
        panic!("chromium and certutil are needed: scripts/test.sh installs them (apt: chromium libnss3-tools)");
    }
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let server = s.serve(&["--cert", "localhost.pem", "--key", "localhost-key.pem"]);
    let home = s.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let page = format!("https://localhost:{}/", server.port);
    let dump = |profile: &str| chromium(&home, &s.path(profile), &["--dump-dom"], &page);

    let (dom, log) = dump("profile-before");
    assert!(log.contains("net::ERR_CERT_AUTHORITY_INVALID"), "{log}");
    assert!(!dom.contains("fluffy tail"), "{dom}");

    let out = s
        .squirrel(&["pki", "install", "--stores", "nss"])
        .env("HOME", &home)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!(
            "nss (Chromium)                   installed    {}",
            home.join(".pki/nssdb").display()
        )),
        "{text}"
    );
    let (dom, log) = dump("profile-after");
    assert!(
        dom.contains("<span id=\"secret\">fluffy tail</span>"),
        "{dom}{log}"
    );
    assert!(
        dom.contains("I am localhost (localhost) according to my-ca.com"),
        "{dom}"
    );
    let shot = artifacts().join("chromium-after-install.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &home,
        &s.path("profile-shot"),
        &[
            "--window-size=900,400",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{}", shot.display());
    eprintln!("screenshot: {}", shot.display());

    let out = s
        .squirrel(&["pki", "uninstall", "--stores", "nss"])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (dom, log) = dump("profile-uninstalled");
    assert!(log.contains("net::ERR_CERT_AUTHORITY_INVALID"), "{log}");
    assert!(!dom.contains("fluffy tail"), "{dom}");
}

fn squirrel_pki_which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
