//! Files written the way a CA must write them: atomically (a temporary file
//! in the same directory, then a rename), with the mode set before any byte
//! is written, and never over an existing file unless asked.

use crate::error::{PkiError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Mode for private keys: readable by the owner only.
pub const PRIVATE_MODE: u32 = 0o600;
/// Mode for certificates, requests and CRLs: public documents.
pub const PUBLIC_MODE: u32 = 0o644;

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| PkiError::Read {
        path: path.to_path_buf(),
        error: source,
    })
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
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<()> {
    ensure_absent(path, force)?;
    let dir = parent_dir(path);
    let write_err = |source| PkiError::Write {
        path: path.to_path_buf(),
        error: source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".squirrel-")
        .suffix(".tmp")
        .permissions(permissions(mode))
        .tempfile_in(&dir)
        .map_err(write_err)?;
    tmp.write_all(contents).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    if force {
        tmp.persist(path).map_err(|e| write_err(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                PkiError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                write_err(e.error)
            }
        })?;
    }
    Ok(())
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
}
