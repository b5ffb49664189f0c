//! The two threads of a [`SqliteStore`](super::SqliteStore) that keep disk
//! work out of the requests' way.
//!
//! - [`Checkpointer`]: copies the WAL into the database file (with an fsync
//!   of each) every half second on its own connection, instead of inside
//!   the commit of whichever request crossed SQLite's threshold.
//! - [`NonceSpender`]: every request spends a nonce, one row each. Spends
//!   that arrive together are written in one transaction (group commit):
//!   one WAL append and one set of locks for many requests, each still
//!   told whether its nonce was fresh.

use super::columns::stamp;
use crate::store::{StoreError, StoreResult};
use rusqlite::{params, Connection, TransactionBehavior};
use squirrel_pki::ledger::open_connection;
use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// How often the WAL is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// At most this many spends in one transaction.
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

/// One nonce to spend, and where to say whether it was fresh.
struct Spend {
    nonce: String,
    expires: String,
    purge: bool,
    answer: tokio::sync::oneshot::Sender<StoreResult<bool>>,
}

/// The group-commit thread for nonce spends; it ends when dropped.
pub(super) struct NonceSpender {
    queue: Sender<Spend>,
}

impl NonceSpender {
    pub(super) fn start(conn: Arc<Mutex<Connection>>) -> Result<NonceSpender, StoreError> {
        let (queue, spends) = channel::<Spend>();
        std::thread::Builder::new()
            .name("nonce-spender".into())
            .spawn(move || {
                while let Ok(first) = spends.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match spends.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                    match write(&mut conn, &batch) {
                        Ok(fresh) => {
                            for (spend, fresh) in batch.into_iter().zip(fresh) {
                                let _ = spend.answer.send(Ok(fresh));
                            }
                        }
                        Err(e) => {
                            for spend in batch {
                                let _ = spend.answer.send(Err(StoreError::Database(e.to_string())));
                            }
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Database(format!("cannot start a thread: {e}")))?;
        Ok(NonceSpender { queue })
    }

    /// Spends `nonce` (remembered until `expires`, a stored time); true
    /// when it was not spent before. `purge` also forgets expired ones.
    pub(super) async fn spend(
        &self,
        nonce: &str,
        expires: String,
        purge: bool,
    ) -> StoreResult<bool> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let spend = Spend {
            nonce: nonce.to_string(),
            expires,
            purge,
            answer,
        };
        let gone = || StoreError::Database("the nonce writer stopped".into());
        self.queue.send(spend).map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// Writes a batch in one transaction; whether each nonce was fresh.
fn write(conn: &mut Connection, batch: &[Spend]) -> rusqlite::Result<Vec<bool>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if batch.iter().any(|s| s.purge) {
        tx.prepare_cached("DELETE FROM nonces WHERE expires <= ?1")?
            .execute([stamp(OffsetDateTime::now_utc())])?;
    }
    let mut fresh = Vec::with_capacity(batch.len());
    {
        let mut insert =
            tx.prepare_cached("INSERT OR IGNORE INTO nonces (nonce, expires) VALUES (?1, ?2)")?;
        for spend in batch {
            fresh.push(insert.execute(params![spend.nonce, spend.expires])? == 1);
        }
    }
    tx.commit()?;
    Ok(fresh)
}
