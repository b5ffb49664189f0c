//! Work that a stopped replica left half done. Several `pki ca serve`
//! processes may share one database (PostgreSQL, issue 15); one killed
//! while it validates a challenge or signs an order leaves that challenge
//! or order `processing`, and a client polling through another replica
//! would wait for it forever. [`Acme::resume`] covers a restart of the same
//! server; this covers a replica that does not come back.
//!
//! Every server checks, every [`AcmeOptions::stalled_after`]
//! (`super::AcmeOptions`), what is `processing` in the database, and takes
//! over what it saw in the previous check too and is not working on
//! itself: signing takes milliseconds and a validation at most its
//! timeouts, so work still there after a whole interval has nobody.

use super::authz::Validation;
use super::Acme;
use crate::problem::Problem;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// The ids of the orders this server is signing and the challenges it is
/// validating.
#[derive(Default)]
pub(crate) struct Busy(Arc<Mutex<HashSet<String>>>);

/// An id marked busy until the guard drops.
pub(crate) struct BusyGuard {
    ids: Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl Busy {
    pub(crate) fn mark(&self, id: &str) -> BusyGuard {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_string());
        BusyGuard {
            ids: self.0.clone(),
            id: id.to_string(),
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl Acme {
    /// Starts the periodic check for stalled work; it ends when the server
    /// is dropped.
    pub fn watch_stalled(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let server = Arc::downgrade(self);
        let every = self.options.stalled_after;
        tokio::spawn(async move {
            let mut seen = HashSet::new();
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await; // the first tick is immediate
            loop {
                ticks.tick().await;
                let Some(acme) = server.upgrade() else {
                    return;
                };
                match acme.take_over_stalled(&mut seen).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("took over {n} challenges and orders a replica left"),
                    Err(problem) => tracing::warn!("checking for stalled work: {}", problem.detail),
                }
            }
        })
    }

    /// One check: takes over what is `processing` now and was in `seen`
    /// (the previous check), and is not this server's; `seen` becomes what
    /// this check saw. Returns how many it took over.
    async fn take_over_stalled(
        self: &Arc<Self>,
        seen: &mut HashSet<String>,
    ) -> Result<usize, Problem> {
        let mut now = HashSet::new();
        let mut taken = 0;
        for challenge in self.store.processing_challenges().await? {
            if self.busy.contains(&challenge.id) {
                continue;
            }
            let key = format!("challenge {}", challenge.id);
            if seen.contains(&key) {
                tracing::warn!(challenge = %challenge.id, "validating a challenge another replica left processing");
                drop(self.spawn_validation(Validation {
                    challenge_id: challenge.id,
                    known: None,
                }));
                taken += 1;
            } else {
                now.insert(key);
            }
        }
        for order in self.store.processing_orders().await? {
            if self.busy.contains(&order.id) {
                continue;
            }
            let key = format!("order {}", order.id);
            if seen.contains(&key) {
                tracing::warn!(order = %order.id, "signing an order another replica left processing");
                self.finish_processing(order, None).await;
                taken += 1;
            } else {
                now.insert(key);
            }
        }
        *seen = now;
        Ok(taken)
    }
}
