//! `squirrel serve --pid-file`: the server's process id, for
//! `kill -HUP $(cat squirrel.pid)`. Written atomically (mode 0644) once the
//! server listens, removed when it stops; a file naming a running process
//! stops a second server from starting, a stale one is replaced.

use crate::error::ServeError;
use std::path::{Path, PathBuf};

/// What was in the pid file before this server.
#[derive(Debug, PartialEq, Eq)]
pub enum Previous {
    /// No file.
    Absent,
    /// A file left by a process that is gone (or unreadable content).
    Stale(String),
}

/// Refuses when the file names a running process other than this one.
pub fn check(path: &Path) -> Result<Previous, ServeError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Previous::Absent),
        Err(e) => {
            return Err(ServeError::File {
                path: path.to_path_buf(),
                problem: format!("cannot read the pid file ({e}); check --pid-file"),
            })
        }
    };
    let content = text.trim().to_string();
    if let Ok(pid) = content.parse::<u32>() {
        let running = pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists();
        if pid > 0 && running {
            return Err(ServeError::File {
                path: path.to_path_buf(),
                problem: format!(
                    "process {pid} is running and holds this pid file: a server already runs; \
                     stop it first (kill {pid}), reload it with kill -HUP {pid}, or give \
                     another --pid-file"
                ),
            });
        }
    }
    Ok(Previous::Stale(content))
}

/// The written pid file; removed when dropped, if it still holds our pid.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    content: String,
}

impl PidFile {
    /// Writes this process's id to `path` (atomically, mode 0644).
    pub fn write(path: &Path) -> Result<PidFile, ServeError> {
        let content = format!("{}\n", std::process::id());
        squirrel_pki::files::write_atomic(path, content.as_bytes(), 0o644, true).map_err(|e| {
            ServeError::File {
                path: path.to_path_buf(),
                problem: format!("cannot write the pid file ({}); check --pid-file", e.root()),
            }
        })?;
        Ok(PidFile {
            path: path.to_path_buf(),
            content,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Another server may have replaced a file it judged stale: only our
        // own pid is removed.
        if std::fs::read_to_string(&self.path).is_ok_and(|text| text == self.content) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
