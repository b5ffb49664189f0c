//! Trust stores and the browser (tutorial step 15): `squirrel pki install`
//! into the system store (curl and `squirrel get` then trust the CA without
//! --ca) and into Chromium's NSS database (headless Chromium then loads the
//! page); `uninstall` undoes both.

use crate::common::{require_root, require_tool, NobodyDir, Scratch};
use std::path::{Path, PathBuf};

/// Where `pki install` puts the CA on Debian (as `squirrel-<fp>.crt`), and
/// where update-ca-certificates links it (`squirrel-<fp>.pem` and a hash).
const SYSTEM_DIR: &str = "/usr/local/share/ca-certificates";
const LINKS_DIR: &str = "/etc/ssl/certs";

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

/// The symlinks of /etc/ssl/certs for the CA files of
/// /usr/local/share/ca-certificates whose names start with `prefix`
/// (`squirrel-<fp>.pem`, and the `<hash>.0` links to those), whether or
/// not the file is still there.
fn links(prefix: &str) -> Vec<String> {
    listing(LINKS_DIR)
        .into_iter()
        .filter(|name| {
            let target = std::fs::read_link(Path::new(LINKS_DIR).join(name)).unwrap_or_default();
            let target = target.to_string_lossy();
            name.starts_with(prefix)
                || target.starts_with(&format!("{SYSTEM_DIR}/{prefix}"))
                || target.starts_with(prefix)
        })
        .collect()
}

/// Puts the system store back as it was, even when the test fails or
/// panics: removes the CA files the test added, then rebuilds the links
/// with `update-ca-certificates --fresh` (a plain run does not remove the
/// links of a removed file: they would dangle in /etc/ssl/certs).
struct RestoreSystemStore {
    before: Vec<String>,
}

impl RestoreSystemStore {
    fn new() -> Self {
        RestoreSystemStore {
            before: listing(SYSTEM_DIR),
        }
    }
}

impl Drop for RestoreSystemStore {
    fn drop(&mut self) {
        let extra: Vec<String> = listing(SYSTEM_DIR)
            .into_iter()
            .filter(|n| !self.before.contains(n))
            .collect();
        for name in &extra {
            let _ = std::fs::remove_file(Path::new(SYSTEM_DIR).join(name));
        }
        let dangling = links("squirrel-")
            .iter()
            .any(|name| !Path::new(LINKS_DIR).join(name).exists());
        if !extra.is_empty() || dangling {
            let out = std::process::Command::new("update-ca-certificates")
                .arg("--fresh")
                .output();
            match out {
                Ok(out) if out.status.success() => {}
                Ok(out) => eprintln!(
                    "update-ca-certificates --fresh failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
                Err(e) => eprintln!("cannot run update-ca-certificates --fresh: {e}"),
            }
        }
    }
}

/// Fails the test unless this is a Debian-style system store that root
/// may change.
fn require_debian_store(why: &str) {
    require_root(why);
    require_tool("update-ca-certificates", "ca-certificates");
    assert!(
        Path::new(SYSTEM_DIR).is_dir(),
        "{SYSTEM_DIR} is missing: this test needs a Debian/Ubuntu system store (apt: ca-certificates)"
    );
}

#[test]
#[ignore = "needs root (changes the system trust store)"]
fn system_store_round_trip_with_curl_and_squirrel_get() {
    require_debian_store("changes the system trust store");
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

    let restore = RestoreSystemStore::new();
    let dry = s.ok(&["pki", "install", "--stores", "system", "--dry-run"]);
    assert!(
        dry.contains("would install, then run update-ca-certificates"),
        "{dry}"
    );
    assert_eq!(
        listing(SYSTEM_DIR),
        restore.before,
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
    // `uninstall` itself leaves nothing behind: no file, no link, dangling
    // or not (before the guard's own clean-up).
    assert!(!Path::new(&file).exists());
    assert_eq!(
        links(&format!("squirrel-{name}")),
        Vec::<String>::new(),
        "in {LINKS_DIR} after uninstall"
    );
    drop(restore);
}

#[test]
#[ignore = "needs root (runs squirrel as nobody with runuser)"]
fn without_root_the_system_store_error_names_the_command() {
    require_debian_store("runs squirrel as nobody with runuser");
    let runuser = require_tool("runuser", "util-linux");
    let s = Scratch::new();
    // A CA that nobody can read (`ca init` makes the directory 0700: open
    // it), beside a copy of the binary that nobody can run.
    let nobody = NobodyDir::new();
    let ca = nobody.path("ca");
    let ca = ca.to_str().unwrap();
    s.ok(&["pki", "ca", "init", "--no-pass", "--dir", ca]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(ca, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(runuser)
        .args(["-u", "nobody", "--"])
        .arg(nobody.squirrel())
        .args(["pki", "install", "--stores", "system", "--ca-dir", ca])
        .env("HOME", nobody.dir.path())
        .output()
        .expect("runuser");
    let err = String::from_utf8_lossy(&out.stderr);
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

/// Chromium's log says it refused the page for an unknown CA: by name
/// (`net::ERR_CERT_AUTHORITY_INVALID`), or, as Chromium 148 does, by
/// number (`net_error -202`).
fn refused_for_unknown_ca(log: &str) -> bool {
    log.contains("ERR_CERT_AUTHORITY_INVALID") || log.contains("net_error -202")
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn chromium_trusts_the_ca_after_install_and_not_after_uninstall() {
    require_tool("chromium", "chromium");
    require_tool("certutil", "libnss3-tools");
    let s = Scratch::new();
    s.init_ca(&["--cn", "my-ca.com"]);
    s.ok(&["pki", "issue", "localhost", "--pass-file", "pw"]);
    let server = s.serve(&["--cert", "localhost.pem", "--key", "localhost-key.pem"]);
    let home = s.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let page = format!("https://localhost:{}/", server.port);
    let dump = |profile: &str| chromium(&home, &s.path(profile), &["--dump-dom"], &page);

    let (dom, log) = dump("profile-before");
    assert!(refused_for_unknown_ca(&log), "{log}");
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
    // Only the browsers: curl, Python and squirrel get read the system store.
    assert!(
        text.ends_with(
            "Chromium and Firefox started from now on trust it; curl, Python and `squirrel get` \
             read the system store: `sudo squirrel pki install --stores system` for them.\n"
        ),
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
    assert!(refused_for_unknown_ca(&log), "{log}");
    assert!(!dom.contains("fluffy tail"), "{dom}");
}
