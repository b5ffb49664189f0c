//! The checkpoint thread of a [`SqliteStore`](super::SqliteStore): copies
//! the WAL into the database file (with an fsync of each) every half second
//! on its own connection, instead of inside the commit of whichever request
//! crossed SQLite's threshold (the store turns `wal_autocheckpoint` off).
//!
//! A round is a PASSIVE checkpoint: it copies the frames no reader still
//! needs and never waits for a writer. But under a steady stream of writes
//! it never catches up: frames arrive while it copies, the WAL is never
//! wholly copied, so no writer ever starts it over from the beginning, and
//! the file grows without bound (215 MB after 3000 orders of
//! `bench/acme.sh`, one minute of a busy CA), each commit landing on a new
//! stretch of it (new page-cache pages, new disk blocks). So a WAL still
//! longer than [`RESTART_AFTER_FRAMES`] after it gets a RESTART checkpoint
//! too: that one holds writers off while it copies the few frames left and
//! until the readers have left the WAL (at most [`RESTART_WAIT`]), and the
//! next commit then writes the WAL from its beginning again, over pages
//! the file already has. That commit also cuts the file down to
//! [`WAL_FILE_LIMIT`]: a WAL that grew long during a burst (or while a
//! reader held the checkpoint off) does not keep its size on disk.

use crate::store::StoreError;
use rusqlite::Connection;
use squirrel_pki::ledger::open_connection;
use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::Duration;

/// How often the WAL is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// A WAL longer than this many frames (8 MiB of 4 KiB pages) after a
/// passive checkpoint is checkpointed again with RESTART.
const RESTART_AFTER_FRAMES: i64 = 2048;

/// How long a RESTART checkpoint waits for a writer to finish or a reader
/// to leave the WAL before it gives up until the next round (writers wait
/// meanwhile, so not the 5 s of the ledger's busy timeout).
const RESTART_WAIT: Duration = Duration::from_millis(100);

/// The size the WAL file is cut down to when the writer starts it over
/// (SQLite's `journal_size_limit`): twice what a RESTART lets it reach.
const WAL_FILE_LIMIT: i64 = 16 << 20;

/// Sets up the writing connection for this thread: no checkpoint in the
/// commit of whichever request crossed SQLite's threshold (a request then
/// never waits for the disk), and the WAL file cut down when it starts over.
pub(super) fn leave_checkpoints_to_the_thread(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", WAL_FILE_LIMIT)
}

/// The checkpoint thread; it checkpoints once more and ends when dropped.
pub(super) struct Checkpointer {
    _stop: Sender<()>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        Checkpointer::start_with(path, CHECKPOINT_EVERY, RESTART_AFTER_FRAMES)
    }

    fn start_with(
        path: &Path,
        every: Duration,
        restart_after_frames: i64,
    ) -> Result<Checkpointer, StoreError> {
        let database = |e: &dyn std::fmt::Display| StoreError::Database(e.to_string());
        let conn = open_connection(path).map_err(|e| database(&e))?;
        conn.busy_timeout(RESTART_WAIT).map_err(|e| database(&e))?;
        let (stop, stopped) = channel::<()>();
        std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(move || {
                let round = || checkpoint(&conn, restart_after_frames);
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    if let Err(e) = round() {
                        tracing::warn!("ledger checkpoint: {e}");
                    }
                }
                let _ = round();
            })
            .map_err(|e| StoreError::Database(format!("cannot start a thread: {e}")))?;
        Ok(Checkpointer { _stop: stop })
    }
}

/// One round (see the module's notes). A RESTART that finds the database
/// busy past [`RESTART_WAIT`] says so in its result row, not as an error:
/// the next round tries again.
fn checkpoint(conn: &Connection, restart_after_frames: i64) -> rusqlite::Result<()> {
    let wal_frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?;
    if wal_frames > restart_after_frames {
        conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Commits every half millisecond for two seconds, far more WAL than
    /// the bound, with checkpoint rounds every 50 ms: the WAL file stays
    /// short. With passive checkpoints alone it holds every frame written.
    #[test]
    fn the_wal_stays_short_under_a_steady_stream_of_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let writer = open_connection(&path).unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer
            .execute_batch("CREATE TABLE filler (data BLOB)")
            .unwrap();
        let _checkpointer = Checkpointer::start_with(&path, Duration::from_millis(50), 64).unwrap();
        let row = vec![7u8; 3000]; // a page of its own: a frame per commit at least
        let started = Instant::now();
        let mut commits = 0u64;
        while started.elapsed() < Duration::from_secs(2) {
            writer
                .execute("INSERT INTO filler (data) VALUES (?1)", [&row])
                .unwrap();
            commits += 1;
            std::thread::sleep(Duration::from_micros(500));
        }
        let frame = 4096 + 24;
        let wal = wal_size(&path);
        assert!(
            commits >= 1500,
            "only {commits} commits: the test proves nothing"
        );
        assert!(
            wal < 800 * frame,
            "the WAL is {wal} bytes ({} frames) after {commits} commits",
            wal / frame
        );
    }

    fn wal_size(path: &Path) -> u64 {
        std::fs::metadata(path.with_extension("sqlite3-wal"))
            .unwrap()
            .len()
    }

    /// A WAL grown far past the limit in one burst is cut down to it by
    /// the first commit after a RESTART checkpoint; without the limit it
    /// keeps its size.
    #[test]
    fn a_wal_grown_in_a_burst_is_cut_down_when_it_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let writer = open_connection(&path).unwrap();
        leave_checkpoints_to_the_thread(&writer).unwrap();
        writer
            .execute_batch("CREATE TABLE filler (data BLOB)")
            .unwrap();
        let burst = 3 * WAL_FILE_LIMIT / 4096;
        writer
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO filler (data) SELECT zeroblob(3000) FROM n",
                [burst],
            )
            .unwrap();
        let grown = wal_size(&path);
        assert!(grown > 2 * WAL_FILE_LIMIT as u64, "{grown} bytes");

        let checkpointer = open_connection(&path).unwrap();
        checkpoint(&checkpointer, 0).unwrap();
        writer
            .execute("INSERT INTO filler (data) VALUES (x'07')", [])
            .unwrap();
        let after = wal_size(&path);
        assert!(
            after <= WAL_FILE_LIMIT as u64,
            "the WAL is still {after} bytes (it grew to {grown})"
        );
        let rows: i64 = checkpointer
            .query_row("SELECT count(*) FROM filler", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, burst + 1);
    }
}
