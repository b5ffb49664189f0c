//! Progress on stderr for slow work, on a terminal only (indicatif hides
//! itself when stderr is a pipe or a file): a live capture's packets and
//! bytes so far, and a spinner while a large RSA key is made.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use squirrel_sniff::engine::Progress;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A spinner with a message, shown only on a terminal; `finish` clears it.
pub fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A spinner while a slow key is made (RSA 3072 and 4096 take seconds);
/// none for fast ones. Cleared when dropped.
pub struct MakingKey(Option<ProgressBar>);

impl MakingKey {
    pub fn start(algorithm: squirrel_pki::KeyAlgorithm) -> MakingKey {
        use squirrel_pki::KeyAlgorithm::{Rsa3072, Rsa4096};
        let bits = match algorithm {
            Rsa3072 => 3072,
            Rsa4096 => 4096,
            _ => return MakingKey(None),
        };
        MakingKey(Some(spinner(&format!("making an RSA {bits} key"))))
    }
}

impl Drop for MakingKey {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// The line "N packets, B bytes so far" under a capture, until dropped.
pub struct CaptureTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CaptureTicker {
    /// Starts the line when stderr is a terminal and the packets are not
    /// already scrolling on that same terminal (`-q`, `--json`, or stdout
    /// redirected); `None` otherwise.
    pub fn start(progress: Arc<Progress>, packets_on_screen: bool) -> Option<CaptureTicker> {
        if !std::io::stderr().is_terminal() || packets_on_screen {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let bar = spinner("capturing");
            while !stopping.load(Ordering::Relaxed) {
                let packets = progress.packets.load(Ordering::Relaxed);
                let bytes = progress.bytes.load(Ordering::Relaxed);
                bar.set_message(format!(
                    "capturing: {packets} packets, {} so far",
                    indicatif::HumanBytes(bytes)
                ));
                std::thread::sleep(Duration::from_millis(250));
            }
            bar.finish_and_clear();
        });
        Some(CaptureTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for CaptureTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
