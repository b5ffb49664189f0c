//! Making room at `--max-connections`, as nginx does: a new client should
//! not wait behind keep-alive connections that only sit there. When every
//! slot is taken, the connection that has been idle the longest (between
//! requests, after at least one answer) is closed to free its slot.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Every open connection, and which of them are idle since when.
#[derive(Default)]
pub(crate) struct IdleConnections {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Tracked>>>,
}

/// One connection's entry.
pub(crate) struct Tracked {
    id: u64,
    /// 0 while a request is being answered or before the first; else the
    /// order in which the connection became idle.
    idle_since: AtomicU64,
    /// Notified when the connection must close to make room.
    pub(crate) close: Notify,
}

impl IdleConnections {
    /// Registers a new connection (not idle until it has answered).
    pub(crate) fn register(&self) -> Arc<Tracked> {
        let tracked = Arc::new(Tracked {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            idle_since: AtomicU64::new(0),
            close: Notify::new(),
        });
        if let Ok(mut open) = self.open.lock() {
            open.insert(tracked.id, tracked.clone());
        }
        tracked
    }

    /// Forgets a connection that ended.
    pub(crate) fn unregister(&self, tracked: &Tracked) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&tracked.id);
        }
    }

    /// A request arrived on the connection.
    pub(crate) fn busy(&self, tracked: &Tracked) {
        tracked.idle_since.store(0, Ordering::Relaxed);
    }

    /// The connection answered and waits for its next request.
    pub(crate) fn idle(&self, tracked: &Tracked) {
        let order = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        tracked.idle_since.store(order, Ordering::Relaxed);
    }

    /// Asks the connection idle the longest to close; false when none is.
    pub(crate) fn close_oldest(&self) -> bool {
        let Ok(open) = self.open.lock() else {
            return false;
        };
        let oldest = open
            .values()
            .filter(|t| t.idle_since.load(Ordering::Relaxed) != 0)
            .min_by_key(|t| t.idle_since.load(Ordering::Relaxed));
        match oldest {
            Some(tracked) => {
                tracked.idle_since.store(0, Ordering::Relaxed);
                tracked.close.notify_one();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_idle_the_longest_goes_first() {
        let all = IdleConnections::default();
        let (a, b, c) = (all.register(), all.register(), all.register());
        assert!(!all.close_oldest(), "nobody has answered yet");
        all.idle(&b);
        all.idle(&a);
        all.idle(&c);
        all.busy(&c);
        assert!(all.close_oldest());
        assert_eq!(b.idle_since.load(Ordering::Relaxed), 0, "b was idle first");
        assert_ne!(a.idle_since.load(Ordering::Relaxed), 0);
        all.unregister(&a);
        assert!(!all.close_oldest(), "c is busy, a is gone");
    }
}
