//! Trust stores, tutorial step 15: a browser warns about an unknown CA and
//! trusts the CAs its store holds. `squirrel pki install` puts the club's
//! CA into the stores of this machine, as mkcert does: the system store
//! (Debian/Ubuntu, Fedora/RHEL, Arch) and the NSS databases of Chromium and
//! Firefox. The certificate is named by its fingerprint, so two CAs never
//! clash, and `uninstall` removes exactly what `install` added.

use crate::describe;
use crate::error::{PkiError, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The stores squirrel knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    System,
    Nss,
}

impl std::str::FromStr for Store {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "system" => Ok(Store::System),
            "nss" => Ok(Store::Nss),
            other => Err(PkiError::invalid(
                format!("unknown trust store {other:?}"),
                "choose system, nss, or both: --stores system,nss",
            )),
        }
    }
}

/// What happened (or would happen, with `--dry-run`) in one store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// "system (Debian)", "nss (Chromium)", "nss (Firefox profile x)".
    pub store: String,
    /// Where: a file or a database directory.
    pub location: PathBuf,
    pub action: Action,
}

/// What was done in one store. Shown as "installed", "already installed",
/// "would install, then run update-ca-certificates", "skipped: ..." and
/// the like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Installed,
    AlreadyInstalled,
    Removed,
    NotInstalled,
    /// `--dry-run`: what would be done (`remove` or install), and the
    /// command that would then rebuild the store, if it has one.
    Would {
        remove: bool,
        then_run: Option<String>,
    },
    /// The store cannot be reached on this machine, and why.
    Skipped(&'static str),
}

impl Action {
    /// True when nothing was (or would be) done because the store is
    /// missing.
    pub fn is_skipped(&self) -> bool {
        matches!(self, Action::Skipped(_))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Action::Installed => "installed".into(),
            Action::AlreadyInstalled => "already installed".into(),
            Action::Removed => "removed".into(),
            Action::NotInstalled => "not installed".into(),
            Action::Would { remove, then_run } => {
                let verb = if *remove { "remove" } else { "install" };
                match then_run {
                    Some(command) => format!("would {verb}, then run {command}"),
                    None => format!("would {verb}"),
                }
            }
            Action::Skipped(why) => format!("skipped: {why}"),
        };
        // `pad`, so that `{:<12}` aligns the column as for a string.
        f.pad(&text)
    }
}

/// A CA certificate to install, with the name it goes by.
pub struct Anchor {
    pub pem: String,
    /// "squirrel-<first 16 hex digits of the SHA-256 fingerprint>".
    pub name: String,
    /// The CA's own name, for messages.
    pub holder: String,
}

impl Anchor {
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let cert = describe::parse_certificate(der)?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let name = format!("squirrel-{}", hex::encode(&digest.as_ref()[..8]));
        let pem = pem::encode_config(
            &pem::Pem::new("CERTIFICATE", der.to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        );
        Ok(Anchor {
            pem,
            name,
            holder: describe::short_name(cert.subject()),
        })
    }

    /// The NSS nickname: readable, and unique per CA.
    pub fn nickname(&self) -> String {
        format!("{} ({})", self.holder, self.name)
    }
}

/// How this machine's system store is managed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemStore {
    pub family: &'static str,
    pub dir: PathBuf,
    pub extension: &'static str,
    /// The command that rebuilds the bundle after adding.
    pub refresh: Vec<String>,
    /// The command that rebuilds it after removing (Debian's script prunes
    /// the removed certificate's links only with `--fresh`).
    pub refresh_removed: Vec<String>,
}

/// The system store of this machine, chosen by what it has.
pub fn system_store() -> Option<SystemStore> {
    let has = |cmd: &str| which(cmd).is_some();
    if Path::new("/usr/local/share/ca-certificates").is_dir() && has("update-ca-certificates") {
        return Some(SystemStore {
            family: "Debian/Ubuntu",
            dir: "/usr/local/share/ca-certificates".into(),
            extension: "crt",
            refresh: vec!["update-ca-certificates".into()],
            refresh_removed: vec!["update-ca-certificates".into(), "--fresh".into()],
        });
    }
    if Path::new("/etc/pki/ca-trust/source/anchors").is_dir() && has("update-ca-trust") {
        return Some(SystemStore {
            family: "Fedora/RHEL",
            dir: "/etc/pki/ca-trust/source/anchors".into(),
            extension: "pem",
            refresh: vec!["update-ca-trust".into(), "extract".into()],
            refresh_removed: vec!["update-ca-trust".into(), "extract".into()],
        });
    }
    if Path::new("/etc/ca-certificates/trust-source/anchors").is_dir() && has("trust") {
        return Some(SystemStore {
            family: "Arch",
            dir: "/etc/ca-certificates/trust-source/anchors".into(),
            extension: "crt",
            refresh: vec!["trust".into(), "extract-compat".into()],
            refresh_removed: vec!["trust".into(), "extract-compat".into()],
        });
    }
    None
}

/// The first `program` on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// True when this process may change the system store: its effective user
/// is root. Read from the `Uid:` line of /proc/self/status (real,
/// effective, saved, filesystem), which needs no system call of our own;
/// the owner of /proc/self would lie for a non-dumpable process, such as a
/// binary given CAP_NET_RAW with setcap for the spy.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(effective_uid)
        == Some(0)
}

/// The effective user id in the text of /proc/self/status.
fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn run(cmd: &[String]) -> Result<()> {
    let program = which(&cmd[0]).unwrap_or_else(|| PathBuf::from(&cmd[0]));
    let out = Command::new(program)
        .args(&cmd[1..])
        .output()
        .map_err(|e| {
            PkiError::invalid(
                format!("cannot run {}: {e}", cmd.join(" ")),
                "check that it is installed",
            )
        })?;
    if !out.status.success() {
        return Err(PkiError::invalid(
            format!(
                "{} failed: {}",
                cmd.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "see its message; nothing else was changed",
        ));
    }
    Ok(())
}

/// Adds (or, with `remove`, takes out) the anchor in the system store.
pub fn system(anchor: &Anchor, remove: bool, dry_run: bool) -> Result<Outcome> {
    let Some(store) = system_store() else {
        return Ok(Outcome {
            store: "system".into(),
            location: PathBuf::new(),
            action: Action::Skipped(
                "no known system store here (looked for update-ca-certificates, \
                 update-ca-trust and trust)",
            ),
        });
    };
    let file = store
        .dir
        .join(format!("{}.{}", anchor.name, store.extension));
    let store_name = format!("system ({})", store.family);
    let present = std::fs::read_to_string(&file).is_ok_and(|text| text == anchor.pem);
    let outcome = |action| Outcome {
        store: store_name.clone(),
        location: file.clone(),
        action,
    };
    match (remove, present || file.exists()) {
        (false, _) if present => return Ok(outcome(Action::AlreadyInstalled)),
        (true, false) => return Ok(outcome(Action::NotInstalled)),
        _ => {}
    }
    let refresh = if remove {
        &store.refresh_removed
    } else {
        &store.refresh
    };
    if dry_run {
        return Ok(outcome(Action::Would {
            remove,
            then_run: Some(refresh.join(" ")),
        }));
    }
    if !is_root() {
        let verb = if remove { "uninstall" } else { "install" };
        return Err(PkiError::invalid(
            format!("changing the system trust store ({}) needs root", store.dir.display()),
            format!("run `sudo squirrel pki {verb} --stores system` (or --stores nss for the browsers alone)"),
        ));
    }
    if remove {
        std::fs::remove_file(&file).map_err(|error| PkiError::Write {
            path: file.clone(),
            error,
        })?;
    } else {
        crate::files::write_atomic(
            &file,
            anchor.pem.as_bytes(),
            crate::files::PUBLIC_MODE,
            true,
        )?;
    }
    run(refresh)?;
    Ok(outcome(if remove {
        Action::Removed
    } else {
        Action::Installed
    }))
}

/// The NSS databases of this user: Chromium's (`~/.pki/nssdb`, created by
/// `install` when missing, as Chromium itself would on its first start) and
/// every Firefox profile's.
pub fn nss_databases(home: &Path) -> Vec<(String, PathBuf)> {
    let mut found = vec![("nss (Chromium)".to_string(), home.join(".pki/nssdb"))];
    for base in [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"] {
        let Ok(entries) = std::fs::read_dir(home.join(base)) else {
            continue;
        };
        let mut profiles: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("cert9.db").exists())
            .collect();
        profiles.sort();
        for profile in profiles {
            let name = profile
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.push((format!("nss (Firefox profile {name})"), profile));
        }
    }
    found
}

/// Adds (or takes out) the anchor in every NSS database of `home`.
pub fn nss(anchor: &Anchor, home: &Path, remove: bool, dry_run: bool) -> Result<Vec<Outcome>> {
    let Some(certutil) = which("certutil") else {
        return Ok(vec![Outcome {
            store: "nss".into(),
            location: home.join(".pki/nssdb"),
            action: Action::Skipped(
                "certutil is not installed; install libnss3-tools (Debian/Ubuntu) or \
                 nss-tools (Fedora) to reach Chromium and Firefox",
            ),
        }]);
    };
    let nickname = anchor.nickname();
    let mut outcomes = Vec::new();
    for (store, dir) in nss_databases(home) {
        let db = format!("sql:{}", dir.display());
        let exists = dir.join("cert9.db").exists();
        let present = exists
            && Command::new(&certutil)
                .args(["-L", "-d", &db, "-n", &nickname])
                .output()
                .is_ok_and(|o| o.status.success());
        let action = match (remove, present) {
            (false, true) => Action::AlreadyInstalled,
            (true, false) => Action::NotInstalled,
            _ if dry_run => Action::Would {
                remove,
                then_run: None,
            },
            (false, false) => {
                if !exists {
                    std::fs::create_dir_all(&dir).map_err(|error| PkiError::Write {
                        path: dir.clone(),
                        error,
                    })?;
                    certutil_run(&certutil, &["-N", "--empty-password", "-d", &db])?;
                }
                let pem_file = tempfile::NamedTempFile::new().map_err(|error| PkiError::Write {
                    path: std::env::temp_dir(),
                    error,
                })?;
                std::fs::write(pem_file.path(), &anchor.pem).map_err(|error| PkiError::Write {
                    path: pem_file.path().to_path_buf(),
                    error,
                })?;
                let input = pem_file.path().to_string_lossy().into_owned();
                certutil_run(
                    &certutil,
                    &["-A", "-d", &db, "-t", "C,,", "-n", &nickname, "-i", &input],
                )?;
                Action::Installed
            }
            (true, true) => {
                certutil_run(&certutil, &["-D", "-d", &db, "-n", &nickname])?;
                Action::Removed
            }
        };
        outcomes.push(Outcome {
            store,
            location: dir,
            action,
        });
    }
    Ok(outcomes)
}

fn certutil_run(certutil: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new(certutil).args(args).output().map_err(|e| {
        PkiError::invalid(
            format!("cannot run certutil: {e}"),
            "check that libnss3-tools is installed",
        )
    })?;
    if !out.status.success() {
        return Err(PkiError::invalid(
            format!(
                "certutil {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "close the browser (it may lock its database) and try again",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_as_before() {
        let shown = |a: Action| format!("{a:<12}|");
        assert_eq!(shown(Action::Installed), "installed   |");
        assert_eq!(shown(Action::AlreadyInstalled), "already installed|");
        assert_eq!(shown(Action::NotInstalled), "not installed|");
        assert_eq!(shown(Action::Removed), "removed     |");
        let would = |remove, then_run: Option<&str>| Action::Would {
            remove,
            then_run: then_run.map(str::to_string),
        };
        assert_eq!(shown(would(true, None)), "would remove|");
        assert_eq!(shown(would(false, None)), "would install|");
        assert_eq!(
            would(false, Some("update-ca-certificates")).to_string(),
            "would install, then run update-ca-certificates"
        );
        let skipped = Action::Skipped("certutil is not installed");
        assert!(skipped.is_skipped() && !Action::Installed.is_skipped());
        assert_eq!(skipped.to_string(), "skipped: certutil is not installed");
    }

    #[test]
    fn effective_uid_is_the_second_field() {
        let status =
            "Name:\tsquirrel\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Uid:\t1000\t1001\t0\t0\n"), Some(1001));
        assert_eq!(effective_uid("Name:\tx\n"), None);
        assert_eq!(effective_uid("Uid:\t1000\n"), None);
    }
}
