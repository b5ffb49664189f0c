//! Files written the way a CA must write them: atomically (a temporary file
//! in the same directory, then a rename), with the mode set before any byte
//! is written, and never over an existing file unless asked.

use crate::error::{PkiError, Result};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Mode for private keys: readable by the owner only.
pub const PRIVATE_MODE: u32 = 0o600;
/// Mode for certificates, requests and CRLs: public documents.
pub const PUBLIC_MODE: u32 = 0o644;

/// The largest certificate, chain, key, request or CRL squirrel reads:
/// 16 MiB, the CRL of a very large CA (a certificate is a few KiB). A
/// larger input (`/dev/zero`, a disk image given by mistake) is refused at
/// once, before it fills the memory.
pub const MAX_INPUT: u64 = 16 << 20;

/// Reads a whole file of at most [`MAX_INPUT`] bytes, naming it in errors.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    read_at_most(path, MAX_INPUT)
}

/// Reads a whole file of at most `limit` bytes, naming it in errors.
pub fn read_at_most(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let read_err = |source| PkiError::Read {
        path: path.to_path_buf(),
        error: source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > limit {
        return Err(PkiError::invalid(
            format!(
                "{} is larger than {}: it is not what squirrel expects here",
                path.display(),
                human_size(limit)
            ),
            "check the file name",
        ));
    }
    Ok(bytes)
}

/// 16 MiB, 4 KiB, 100 bytes.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Fails when `path` exists and `force` is not set: called before any work
/// whose result would be thrown away, so a refusal leaves nothing behind.
pub fn ensure_absent(path: &Path, force: bool) -> Result<()> {
    if !force && path.symlink_metadata().is_ok() {
        return Err(PkiError::Exists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Writes `contents` to `path` atomically with the given Unix mode.
///
/// A crash leaves either the old file or the new one, never half of either.
/// Without `force` an existing file is never replaced, even one created
/// between the check and the rename.
///
/// The bytes first go to an unnamed file in the target's directory
/// (`O_TMPFILE`), which gets a name only once complete: a process killed
/// mid-write leaves nothing behind, not even a temporary file holding half
/// a private key. Where the file system has no unnamed files, a temporary
/// file named after this process is used, and the next write in that
/// directory removes those of processes that died.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<()> {
    ensure_absent(path, force)?;
    let dir = parent_dir(path);
    remove_stale_temporaries(&dir);
    let write_err = |source| PkiError::Write {
        path: path.to_path_buf(),
        error: source,
    };
    let exists = |e: &std::io::Error| e.kind() == std::io::ErrorKind::AlreadyExists;
    let refused = || PkiError::Exists {
        path: path.to_path_buf(),
    };
    if let Some(file) = unnamed_file(&dir, contents, mode).map_err(write_err)? {
        let source = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        if !force {
            return match link(&source, path) {
                Err(e) if exists(&e) => Err(refused()),
                other => other.map_err(write_err),
            };
        }
        // Complete before it has any name; then renamed over the old file.
        let temporary = dir.join(temporary_name());
        link(&source, &temporary).map_err(write_err)?;
        return std::fs::rename(&temporary, path).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            write_err(e)
        });
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(&temporary_prefix())
        .suffix(TEMPORARY_SUFFIX)
        .permissions(permissions(mode))
        .tempfile_in(&dir)
        .map_err(write_err)?;
    tmp.write_all(contents).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    if force {
        tmp.persist(path).map_err(|e| write_err(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if exists(&e.error) {
                refused()
            } else {
                write_err(e.error)
            }
        })?;
    }
    Ok(())
}

const TEMPORARY_PREFIX: &str = ".squirrel-";
const TEMPORARY_SUFFIX: &str = ".tmp";

/// `.squirrel-PID-`: whose temporary file it is.
fn temporary_prefix() -> String {
    format!("{TEMPORARY_PREFIX}{}-", std::process::id())
}

fn temporary_name() -> String {
    format!(
        "{}{:016x}{TEMPORARY_SUFFIX}",
        temporary_prefix(),
        rand_suffix()
    )
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// A complete, synced file with no name in `dir`, or `None` where the file
/// system cannot make one.
fn unnamed_file(dir: &Path, contents: &[u8], mode: u32) -> std::io::Result<Option<std::fs::File>> {
    use rustix::fs::{fchmod, open, Mode, OFlags};
    let flags = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
    let fd = match open(dir, flags, Mode::from_raw_mode(mode)) {
        Ok(fd) => fd,
        // Kernels and file systems without O_TMPFILE.
        Err(e)
            if [
                rustix::io::Errno::OPNOTSUPP,
                rustix::io::Errno::ISDIR,
                rustix::io::Errno::INVAL,
            ]
            .contains(&e) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e.into()),
    };
    // The exact mode, whatever the umask.
    fchmod(&fd, Mode::from_raw_mode(mode))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(Some(file))
}

/// Names the unnamed file behind `/proc/self/fd/N`; fails if `to` exists.
fn link(source: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{linkat, AtFlags, CWD};
    Ok(linkat(CWD, source, CWD, to, AtFlags::SYMLINK_FOLLOW)?)
}

/// Removes the temporary files of squirrel processes that no longer run
/// (killed between writing and renaming). Best effort: a file that cannot
/// be removed is left alone.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMPORARY_PREFIX))
            .filter(|n| n.ends_with(TEMPORARY_SUFFIX))
        else {
            continue;
        };
        let owner_alive = match rest
            .split_once('-')
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        {
            Some(pid) => Path::new(&format!("/proc/{pid}")).exists(),
            // Round 1's names carry no process: stale once an hour old.
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < std::time::Duration::from_secs(3600)),
        };
        if !owner_alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn permissions(mode: u32) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_with_mode_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        write_atomic(&path, b"one", PRIVATE_MODE, false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = write_atomic(&path, b"two", PRIVATE_MODE, false).unwrap_err();
        assert!(matches!(err, PkiError::Exists { .. }));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two", PRIVATE_MODE, true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn endless_inputs_are_refused_at_once() {
        let err = read(Path::new("/dev/zero")).unwrap_err().to_string();
        assert_eq!(
            err,
            "/dev/zero is larger than 16 MiB: it is not what squirrel expects here; check the \
             file name"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("four");
        std::fs::write(&path, b"four").unwrap();
        assert_eq!(read_at_most(&path, 4).unwrap(), b"four");
        assert!(read_at_most(&path, 3).is_err());
    }

    #[test]
    fn the_temporaries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // A process id that cannot be running (above Linux's pid_max).
        let dead = dir.path().join(".squirrel-4194305-0123456789abcdef.tmp");
        let alive = dir
            .path()
            .join(format!("{}0123456789abcdef.tmp", temporary_prefix()));
        let unrelated = dir.path().join(".squirrel-notes.txt");
        for path in [&dead, &alive, &unrelated] {
            std::fs::write(path, b"-----BEGIN PRIVATE KEY-----").unwrap();
        }
        write_atomic(&dir.path().join("key.pem"), b"key", PRIVATE_MODE, false).unwrap();
        assert!(!dead.exists(), "a dead process's key must not outlive it");
        assert!(alive.exists() && unrelated.exists());
    }

    #[test]
    fn public_files_get_their_mode_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        write_atomic(&path, b"cert", PUBLIC_MODE, false).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
