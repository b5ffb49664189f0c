//! Reloading a running server: SIGHUP (or a [`ReloadHandle`]) loads
//! certificate, key, client CA, CRL and message again and swaps the whole
//! configuration; a message file is watched and re-read when it changes.
//! A failed reload keeps the previous configuration and says why.

use crate::site::{stamp, FileStamp, RefreshSources, Site, SiteSources};
use crate::tls::TlsShared;
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tracing::{error, info, warn};

/// Asks a running server to reload, as SIGHUP does (for programs that run
/// a server in-process, like `squirrel demo`).
#[derive(Clone)]
pub struct ReloadHandle {
    asked: Arc<tokio::sync::Notify>,
    /// Counts the reloads tried (done or failed), by SIGHUP or by asking.
    tried: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for ReloadHandle {
    fn default() -> Self {
        ReloadHandle {
            asked: Arc::default(),
            tried: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }
}

impl ReloadHandle {
    /// Asks for a reload, without waiting for it.
    pub fn reload(&self) {
        self.asked.notify_one();
    }

    /// Asks for a reload and waits until it was tried (successful or not:
    /// a failed reload keeps the previous configuration and logs why).
    pub async fn reload_and_wait(&self) {
        let mut tried = self.tried.subscribe();
        tried.mark_unchanged();
        self.reload();
        let _ = tried.changed().await;
    }
}

/// Reloads on SIGHUP and when asked through the handle: the sources made
/// again by `refresh` when there is one (else the same ones), then
/// everything loaded from them; the new site and sources replace the old
/// together, or neither does.
pub(crate) fn spawn_reloader(
    state: Arc<ArcSwap<Site>>,
    sources: Arc<ArcSwap<SiteSources>>,
    refresh: Option<RefreshSources>,
    shared: Arc<TlsShared>,
    asked: ReloadHandle,
    mut hangups: Option<tokio::signal::unix::Signal>,
) {
    tokio::spawn(async move {
        if hangups.is_none() {
            warn!("cannot listen for SIGHUP: reload by restarting");
        }
        loop {
            let why = tokio::select! {
                Some(()) = next_hangup(&mut hangups) => "SIGHUP",
                () = asked.asked.notified() => "asked",
            };
            let (current, refresh, shared) = (sources.load_full(), refresh.clone(), shared.clone());
            let loaded = tokio::task::spawn_blocking(move || {
                let sources = match refresh {
                    Some(refresh) => Arc::new(refresh()?),
                    None => current,
                };
                let site = sources.load(&shared).map_err(|e| e.to_string())?;
                Ok::<_, String>((sources, site))
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            match loaded {
                Ok((new_sources, site)) => {
                    sources.store(new_sources);
                    state.store(Arc::new(site));
                    info!("reloaded certificate, key, client CA, CRL and message ({why})");
                }
                Err(e) => error!("reload failed, keeping the previous configuration: {e}"),
            }
            asked.tried.send_modify(|n| *n += 1);
        }
    });
}

/// The next SIGHUP, or never when it cannot be listened for.
async fn next_hangup(hangups: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match hangups.as_mut() {
        Some(h) => h.recv().await,
        None => std::future::pending().await,
    }
}

/// Re-reads the message file when its stamp changes (every 250 ms); the
/// file is the one the current sources name (a reload may change it).
pub(crate) fn spawn_message_watcher(state: Arc<ArcSwap<Site>>, sources: Arc<ArcSwap<SiteSources>>) {
    tokio::spawn(async move {
        let mut watched: Option<(PathBuf, FileStamp)> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let current = sources.load_full();
            let Some(path) = current.message_file() else {
                watched = None;
                continue;
            };
            let now = stamp(path);
            match &watched {
                Some((seen, last)) if seen.as_path() == path && *last == now => continue,
                // A new file (first look, or named by a reload): loaded with
                // the reload; watched from here on.
                Some((seen, _)) if seen.as_path() == path => {}
                _ => {
                    watched = Some((path.to_path_buf(), now));
                    continue;
                }
            }
            watched = Some((path.to_path_buf(), now));
            match current.load_message() {
                Ok(message) => {
                    let site = state.load();
                    if site.message != message {
                        state.store(Arc::new(site.with_message(message)));
                        info!("the secret changed: {} was re-read", path.display());
                    }
                }
                Err(e) => error!("keeping the previous secret: {e}"),
            }
        }
    });
}
