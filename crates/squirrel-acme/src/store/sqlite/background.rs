//! The two threads of a [`SqliteStore`](super::SqliteStore) that keep disk
//! work out of the requests' way.
//!
//! - [`Checkpointer`]: copies the WAL into the database file (with an fsync
//!   of each) every half second on its own connection, instead of inside
//!   the commit of whichever request crossed SQLite's threshold.
//! - [`Writer`]: every write of the store (a nonce spent by each request,
//!   an order, an authorization, a certificate...) runs on this thread, and
//!   the writes that arrive together share one transaction (group commit):
//!   one WAL append and one set of locks for many requests, each request
//!   answered once the transaction holding its write is committed, and a
//!   write that fails undone alone (one savepoint each).

use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};
use squirrel_pki::ledger::open_connection;
use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::Duration;

/// How often the WAL is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// At most this many writes in one transaction.
const MAX_BATCH: usize = 256;

/// The checkpoint thread; it checkpoints once more and ends when dropped.
pub(super) struct Checkpointer {
    _stop: Sender<()>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = open_connection(path).map_err(|e| StoreError::Database(e.to_string()))?;
        let (stop, stopped) = channel::<()>();
        std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(move || {
                // PASSIVE: copies what no reader still needs and never waits
                // for a writer; the next round does the rest.
                let checkpoint =
                    || conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    if let Err(e) = checkpoint() {
                        tracing::warn!("ledger checkpoint: {e}");
                    }
                }
                let _ = checkpoint();
            })
            .map_err(|e| StoreError::Database(format!("cannot start a thread: {e}")))?;
        Ok(Checkpointer { _stop: stop })
    }
}

/// What a job hands back after its statements ran: called with the
/// outcome of the batch's COMMIT, it answers the request that asked.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// One write, run by the writer thread inside the batch's transaction:
/// whether it succeeded (what it wrote is kept), and its answer.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Answer) + Send>;

/// The group-commit thread: every write of the store goes through it, so
/// writes that arrive together share one transaction; it ends when
/// dropped.
pub(super) struct Writer {
    queue: Sender<Job>,
}

impl Writer {
    /// Starts the thread with its own connection to the ledger at `path`
    /// (reads go through the store's other connection and, in WAL mode,
    /// never wait for this one).
    pub(super) fn start(path: &Path) -> Result<Writer, StoreError> {
        let mut conn = open_connection(path).map_err(|e| StoreError::Database(e.to_string()))?;
        conn.set_prepared_statement_cache_capacity(64);
        // The checkpointer copies the WAL; a commit never does.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let (queue, jobs) = channel::<Job>();
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || {
                while let Ok(first) = jobs.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match jobs.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    run_batch(&mut conn, batch);
                }
            })
            .map_err(|e| StoreError::Database(format!("cannot start a thread: {e}")))?;
        Ok(Writer { queue })
    }

    /// Runs `op` in the writer's next transaction and returns its result
    /// once that transaction is committed. `op` runs inside a savepoint:
    /// when it fails, what it wrote is undone and the other writes of the
    /// batch still commit.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = op(conn);
            let succeeded = result.is_ok();
            let answer: Answer = Box::new(move |committed: Result<(), String>| {
                let result = match committed {
                    Ok(()) => result,
                    // The statements ran but were not kept.
                    Err(e) if result.is_ok() => Err(StoreError::Database(e)),
                    Err(_) => result,
                };
                let _ = answer.send(result);
            });
            (succeeded, answer)
        });
        // A job dropped unanswered: the writer stopped, or its batch
        // failed before this job's turn.
        let gone = || StoreError::Database("the ledger writer could not run this write".into());
        self.queue.send(job).map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// One transaction for the whole batch, one savepoint per job; every job
/// is answered with the COMMIT's outcome.
fn run_batch(conn: &mut Connection, batch: Vec<Job>) {
    let mut answers = Vec::with_capacity(batch.len());
    let committed = (|| {
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in batch {
            let mut savepoint = tx.savepoint()?;
            let (succeeded, answer) = job(&savepoint);
            answers.push(answer);
            if succeeded {
                savepoint.commit()?;
            } else {
                // Undoes what the failed job wrote; the batch goes on.
                savepoint.rollback()?;
                savepoint.commit()?;
            }
        }
        tx.commit()
    })();
    let outcome = committed.map_err(|e| e.to_string());
    for answer in answers {
        answer(outcome.clone());
    }
}
