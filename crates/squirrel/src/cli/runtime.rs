//! The async runtime of the long-running servers (`serve`, `pki ca serve`).

use anyhow::Context;

/// A runtime with `threads` worker threads (default: one per CPU this
/// process may run on). One thread gets a current-thread runtime: no
/// work-stealing bookkeeping and no cross-thread wake-ups for a process
/// that has a single CPU anyway (a container, `taskset`).
pub fn for_threads(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let threads = threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .context("cannot start the async runtime")
}
