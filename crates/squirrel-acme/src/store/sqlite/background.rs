//! The writer of a [`SqliteStore`](super::SqliteStore), which keeps disk
//! work out of the requests' way (with the checkpoint thread,
//! [`super::checkpoint`]).
//!
//! - [`Writer`]: every write of the store (a nonce spent by each request,
//!   an order, an authorization, a certificate...) runs on this thread, and
//!   the writes that arrive together share one transaction (group commit):
//!   one WAL append and one set of locks for many requests, each request
//!   answered once the transaction holding its write is committed, and a
//!   write that fails undone alone (see [`run_batch`]). On a current-thread
//!   runtime (a server with one CPU) the batches run on the runtime's own
//!   thread instead, as a task (see [`Writer::write`]): with one CPU there
//!   is nothing to run in parallel, and handing each write to another
//!   thread and back cost two thread wake-ups and two context switches.
//!
//! The writer and the store's reads share one connection ([`Shared`]).
//! SQLite keeps a connection's page cache across its own commits, but a
//! connection must drop its whole cache whenever another one has written:
//! with a reader connection beside the writer's, nearly every read began
//! by reading its pages again from the file (sharing saves 5 to 8% of an
//! order's CPU in `bench/acme.sh`).

use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, ErrorCode};
use squirrel_pki::ledger::migrations::BUSY_TIMEOUT;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, RuntimeFlavor};

/// At most this many writes in one transaction.
const MAX_BATCH: usize = 256;

/// The store's one connection, used by its reads and by the [`Writer`].
pub(super) type Shared = Arc<Mutex<Connection>>;

/// Takes the shared connection, outside any transaction: a holder that
/// panicked (a poisoned lock) inside the writer's transaction left it
/// open, and it is rolled back here, so that a read never sees a write
/// that was not committed.
pub(super) fn lock(shared: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    let conn = shared.lock().unwrap_or_else(PoisonError::into_inner);
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    conn
}

/// One write, run by the writer thread inside a batch's transaction.
trait Job: Send {
    /// Runs the write's statements; whether they succeeded. A batch may
    /// run a job twice (see [`run_batch`]): only the last run counts.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the request with the last run's result, given the outcome
    /// of the batch's COMMIT.
    fn answer(self: Box<Self>, committed: Result<(), String>);
}

/// A [`Job`] for `op`, answering on `reply`.
struct Pending<T, F> {
    op: F,
    result: Option<StoreResult<T>>,
    reply: tokio::sync::oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnMut(&Connection) -> StoreResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let result = (self.op)(conn);
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn answer(self: Box<Self>, committed: Result<(), String>) {
        let gone = || StoreError::Database("the ledger writer did not run this write".into());
        let result = match (committed, self.result) {
            (_, None) => Err(gone()),
            (Ok(()), Some(result)) => result,
            // The statements ran but were not kept.
            (Err(e), Some(Ok(_))) => Err(StoreError::Database(e)),
            (Err(_), Some(failed)) => failed,
        };
        let _ = self.reply.send(result);
    }
}

/// The group-commit thread: every write of the store goes through it, so
/// writes that arrive together share one transaction; it ends when
/// dropped.
pub(super) struct Writer {
    queue: Sender<Box<dyn Job>>,
    /// The writes of a current-thread runtime waiting for its next batch.
    waiting: Arc<Mutex<Waiting>>,
    conn: Shared,
}

/// The writes queued on a current-thread runtime, and whether a task to
/// run them is already spawned.
#[derive(Default)]
struct Waiting {
    jobs: Vec<Box<dyn Job>>,
    flush_spawned: bool,
}

impl Writer {
    /// Starts the thread, writing through `conn`, which the store's reads
    /// share: a read waits at most for the batch being written, never for
    /// another process's write lock (see [`begin_write`]).
    pub(super) fn start(conn: Shared) -> Result<Writer, StoreError> {
        let (queue, jobs) = channel::<Box<dyn Job>>();
        let thread_conn = conn.clone();
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || {
                let conn = thread_conn;
                while let Ok(first) = jobs.recv() {
                    // Woken by one write while the runtime's threads have
                    // other requests ready to run (a busy core), let them
                    // run first: their writes join this batch instead of
                    // each making a commit of its own (2.6 writes per
                    // commit without this, 13 with it, in bench/acme.sh).
                    // On an idle core this returns at once.
                    std::thread::yield_now();
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match jobs.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    run_batch(&conn, batch);
                }
            })
            .map_err(|e| StoreError::Database(format!("cannot start a thread: {e}")))?;
        Ok(Writer {
            queue,
            waiting: Arc::default(),
            conn,
        })
    }

    /// Runs `op` in the writer's next transaction and returns its result
    /// once that transaction is committed. When `op` fails, what it wrote
    /// is undone and the other writes of the batch still commit; for that,
    /// `op` may be run twice (see [`run_batch`]), and must give the same
    /// result from the same database.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        op: impl FnMut(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (reply, answered) = tokio::sync::oneshot::channel();
        let job = Box::new(Pending {
            op,
            result: None,
            reply,
        });
        // A job dropped unanswered: the writer stopped.
        let gone = || StoreError::Database("the ledger writer could not run this write".into());
        let current_thread = Handle::try_current()
            .is_ok_and(|runtime| runtime.runtime_flavor() == RuntimeFlavor::CurrentThread);
        if current_thread {
            self.queue_on_this_runtime(job);
        } else {
            self.queue.send(job).map_err(|_| gone())?;
        }
        answered.await.map_err(|_| gone())?
    }

    /// Queues `job` for a batch run by a task of this (current-thread)
    /// runtime, spawning that task unless it is already waiting. The task
    /// first yields, so that the requests ready to run add their writes
    /// to its batch, as the writer thread does on a busy core.
    fn queue_on_this_runtime(&self, job: Box<dyn Job>) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.jobs.push(job);
        if waiting.flush_spawned {
            return;
        }
        waiting.flush_spawned = true;
        let mut turn = BatchTurn {
            waiting: self.waiting.clone(),
            thread: self.queue.clone(),
            taken: false,
        };
        let conn = self.conn.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            let batch = turn.take();
            run_batch_here_or_hand_over(&conn, batch, &turn.thread);
        });
    }
}

/// The batch task's turn: it takes the writes queued so far. A task
/// dropped before it ran (its runtime shut down) hands them to the writer
/// thread instead, so that they are still written and the next write
/// spawns a task again.
struct BatchTurn {
    waiting: Arc<Mutex<Waiting>>,
    thread: Sender<Box<dyn Job>>,
    taken: bool,
}

impl BatchTurn {
    fn take(&mut self) -> Vec<Box<dyn Job>> {
        self.taken = true;
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.flush_spawned = false;
        std::mem::take(&mut waiting.jobs)
    }
}

impl Drop for BatchTurn {
    fn drop(&mut self) {
        if !self.taken {
            for job in self.take() {
                let _ = self.thread.send(job);
            }
        }
    }
}

/// Runs `batch` on this thread, unless another process holds the write
/// lock: waiting for it here would stall every request of the runtime, so
/// the batch goes to the writer thread, which waits (see [`begin_write`]).
fn run_batch_here_or_hand_over(
    shared: &Mutex<Connection>,
    mut batch: Vec<Box<dyn Job>>,
    thread: &Sender<Box<dyn Job>>,
) {
    let begun = {
        let conn = lock(shared);
        conn.busy_timeout(Duration::ZERO)
            .and_then(|()| {
                let begun = conn.execute_batch("BEGIN IMMEDIATE");
                conn.busy_timeout(BUSY_TIMEOUT)?;
                begun
            })
            .map(|()| conn)
    };
    let outcome = match begun {
        Ok(conn) => run_all_or_each(shared, conn, &mut batch),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DatabaseBusy => {
            for job in batch {
                // A job the thread cannot take (it stopped) is answered
                // as not run when dropped.
                let _ = thread.send(job);
            }
            return;
        }
        Err(e) => Err(e),
    };
    answer(batch, outcome);
}

/// The shared connection, inside a `BEGIN IMMEDIATE` transaction (SQLite's
/// write lock taken). While another process (the CLI, a second server)
/// holds the write lock, the connection is let go between tries, so that
/// this server's reads go on, instead of being held while SQLite's busy
/// handler waits; after [`BUSY_TIMEOUT`], "database is locked" as before.
fn begin_write(shared: &Mutex<Connection>) -> rusqlite::Result<MutexGuard<'_, Connection>> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        let conn = lock(shared);
        conn.busy_timeout(Duration::ZERO)?;
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        conn.busy_timeout(BUSY_TIMEOUT)?;
        match begun {
            Ok(()) => return Ok(conn),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                drop(conn);
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

/// One transaction for the whole batch; every job is answered with the
/// COMMIT's outcome, once the connection is let go. Whatever fails, the
/// connection leaves here outside any transaction, so a read never sees a
/// write that was not committed.
///
/// The jobs run first without savepoints: a savepoint copies every page
/// its job changes into a sub-journal, which costs more than the job's
/// own statements (about 4% of an order's CPU in `bench/acme.sh`). When
/// every job succeeds, that was all. When one fails, it may have changed
/// rows before failing: the batch is rolled back and run again, each job
/// in a savepoint of its own, so that the failed one is undone alone and
/// the others are kept, as if each had been alone.
fn run_batch(shared: &Mutex<Connection>, mut batch: Vec<Box<dyn Job>>) {
    let outcome = begin_write(shared).and_then(|conn| run_all_or_each(shared, conn, &mut batch));
    answer(batch, outcome);
}

/// Answers every job of `batch` with the outcome of its COMMIT.
fn answer(batch: Vec<Box<dyn Job>>, outcome: rusqlite::Result<()>) {
    let outcome = outcome.map_err(|e| e.to_string());
    for job in batch {
        job.answer(outcome.clone());
    }
}

/// Runs `batch` in the transaction `conn` has begun, and commits it.
fn run_all_or_each<'a>(
    shared: &'a Mutex<Connection>,
    mut conn: MutexGuard<'a, Connection>,
    batch: &mut [Box<dyn Job>],
) -> rusqlite::Result<()> {
    let all_succeeded = batch.iter_mut().all(|job| job.run(&conn));
    if !all_succeeded {
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")?;
        }
        drop(conn);
        conn = begin_write(shared)?;
        if let Err(e) = run_each_in_a_savepoint(&mut conn, batch) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    let committed = conn.execute_batch("COMMIT");
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    committed
}

/// Runs each job of `batch` in a savepoint of the open transaction: kept
/// when the job succeeded, undone when it failed.
fn run_each_in_a_savepoint(
    conn: &mut Connection,
    batch: &mut [Box<dyn Job>],
) -> rusqlite::Result<()> {
    for job in batch {
        let mut savepoint = conn.savepoint()?;
        if job.run(&savepoint) {
            savepoint.commit()?;
        } else {
            // Undoes what the failed job wrote; the batch goes on.
            savepoint.rollback()?;
            savepoint.commit()?;
        }
    }
    Ok(())
}
