//! `--db URL` (or `SQUIRREL_DB`): the CA's database when several replicas
//! of `pki ca serve` share one, for `serve`, `list`, `revoke`, `crl` and
//! `eab`. Without it, the ledger file beside the CA, as always.

use anyhow::{Context, Result};
use clap::Args;
use squirrel_acme::store::postgres::{self, PostgresStore};
use squirrel_acme::store::StoreError;
use squirrel_pki::{CertificateAuthority, PkiError};
use std::future::Future;

#[derive(Args, Debug, Clone, Default)]
pub struct DbArgs {
    /// The PostgreSQL database that the CA's replicas share, e.g.
    /// postgres://squirrel:PASSWORD@db.club.test:5432/ca (default: the ledger file in the CA
    /// directory). The CA's certificate and key are still read from the CA directory.
    #[arg(long, value_name = "URL", env = "SQUIRREL_DB", hide_env_values = true, value_parser = parse_db)]
    pub db: Option<String>,
}

fn parse_db(text: &str) -> Result<String, String> {
    if postgres::url::is_postgres(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{:?} is not a PostgreSQL URL; write postgres://USER:PASSWORD@HOST:5432/DATABASE, or \
             leave --db out to use the ledger file in the CA directory",
            postgres::redact(text)
        ))
    }
}

impl DbArgs {
    /// The database as it may be printed (no password).
    pub fn shown(&self) -> Option<String> {
        self.db.as_deref().map(postgres::redact)
    }

    /// The flag for advice printed to the user: ` --db URL` with the
    /// password hidden, when the URL came from the command line.
    pub fn flags(&self) -> String {
        match (&self.db, std::env::var("SQUIRREL_DB").ok()) {
            (Some(db), Some(env)) if *db == env => String::new(),
            (Some(db), _) => format!(" --db '{}'", postgres::redact(db)),
            (None, _) => String::new(),
        }
    }
}

/// `ca`, recording what it signs in the PostgreSQL database at `url`
/// (`pki sign --db`, `pki issue --db`) instead of in the ledger file.
///
/// The recorder blocks on a small runtime of its own: call it from
/// synchronous code, or from a blocking thread (`pki ca serve` issues its
/// own certificate on one). The CA may be dropped anywhere, also inside the
/// server's async runtime, at its shutdown.
pub fn record_in(ca: CertificateAuthority, url: &str) -> Result<CertificateAuthority> {
    let runtime = OwnRuntime(Some(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?,
    ));
    let db = runtime.get().block_on(connect(url))?;
    let shown = postgres::redact(url);
    Ok(ca.record_with(Box::new(move |entry| {
        runtime
            .get()
            .block_on(db.record(entry))
            .map_err(|e| {
                match e {
            StoreError::Conflict(why) => PkiError::Refused(why),
            StoreError::Database(why) => PkiError::invalid(
                format!("cannot record the certificate in {shown}: {why}"),
                "check that the database is reachable, then sign again (nothing was handed out)",
            ),
        }
            })
    })))
}

/// A runtime owned by a recorder. Dropping a runtime the usual way blocks
/// until its tasks end, which tokio forbids (a panic) inside another
/// runtime's async context; this one lets its tasks go in the background.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("taken only when dropped")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Connects to the PostgreSQL database at `url`.
pub async fn connect(url: &str) -> Result<PostgresStore> {
    Ok(PostgresStore::connect(url).await?)
}

/// Runs `work` on a small runtime: the CLI commands are synchronous, the
/// PostgreSQL client is not.
pub fn block_on<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}
