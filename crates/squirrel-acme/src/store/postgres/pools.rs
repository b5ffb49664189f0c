//! The two connection pools of a [`PostgresStore`](super::PostgresStore).
//!
//! Every request spends a nonce: one row, one commit. Those commits go
//! through a pool of their own whose sessions set `synchronous_commit =
//! off`: the commit returns before its WAL reaches the disk (PostgreSQL
//! writes it within a fraction of a second). A crash of PostgreSQL may
//! then forget the last spent nonces, so a request captured in that window
//! could be replayed once, as long as its nonce is otherwise valid; the
//! database is never corrupted. That is the trade the SQLite store makes
//! with `synchronous = NORMAL`. Everything else (certificates, orders,
//! accounts) commits durably, on the main pool.

use crate::store::{StoreError, StoreResult};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::{Config, NoTls};

/// At most this many connections per replica, for all but nonces.
const POOL_SIZE: usize = 16;

/// At most this many for nonce spends (one short statement each).
const NONCE_POOL_SIZE: usize = 8;

/// How long to wait for the database before failing a request.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The main pool and the nonce pool for `config`; `shown` names the
/// database in errors (no password).
pub(super) fn build(mut config: Config, shown: &str) -> StoreResult<(Pool, Pool)> {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let mut nonces = config.clone();
    let options = match config.get_options() {
        Some(given) => format!("{given} -c synchronous_commit=off"),
        None => "-c synchronous_commit=off".to_string(),
    };
    nonces.options(&options);
    Ok((
        pool(config, POOL_SIZE, shown)?,
        pool(nonces, NONCE_POOL_SIZE, shown)?,
    ))
}

fn pool(config: Config, size: usize, shown: &str) -> StoreResult<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Database(format!("cannot make a pool for {shown}: {e}")))
}
