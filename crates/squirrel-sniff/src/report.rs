//! The summary printed at the end of every run, whatever stopped it
//! (Ctrl-C, `--count`, `--duration`, the end of a file): packets, bytes,
//! protocols, what reassembly had to drop, what was written, and the spy's
//! verdict on the secret.

use crate::reassembly::{Drops, Limits};
use crate::secret::Verdict;
use std::fmt;
use std::path::PathBuf;

/// What was embedded from the key log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLogReport {
    pub sessions_embedded: usize,
    pub lines: usize,
    pub sessions_in_log: usize,
    pub hellos_seen: u64,
}

/// The summary of a run.
#[derive(Debug, Clone)]
pub struct Report {
    pub packets: u64,
    pub bytes: u64,
    pub duration_nanos: u128,
    /// Packets per protocol (the Protocol column), most frequent first.
    pub protocols: Vec<(String, u64)>,
    pub shown: u64,
    pub display_filter: Option<String>,
    pub drops: Drops,
    pub limits: Limits,
    pub verdict: Option<Verdict>,
    /// The file written and the number of packets in it.
    pub written: Option<(PathBuf, u64)>,
    pub keylog: Option<KeyLogReport>,
    /// Packets the kernel dropped because squirrel was too slow.
    pub kernel_drops: Option<u64>,
    /// Problems found at the end (the capture itself went well).
    pub errors: Vec<String>,
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn mib(bytes: usize) -> String {
    if bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Summary: {}, {} in {}.{:06} s",
            plural(self.packets, "packet"),
            plural(self.bytes, "byte"),
            self.duration_nanos / 1_000_000_000,
            self.duration_nanos % 1_000_000_000 / 1000
        )?;
        let list: Vec<String> = self
            .protocols
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        let list = if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        };
        writeln!(f, "Protocols: {list}")?;
        if let Some(filter) = &self.display_filter {
            writeln!(
                f,
                "Display filter {filter}: {} of {} shown",
                self.shown,
                plural(self.packets, "packet")
            )?;
        }
        let d = &self.drops;
        if d.streams_evicted > 0 {
            writeln!(
                f,
                "Reassembly: dropped {} (oldest first) to stay within {} in total and {} streams",
                plural(d.streams_evicted, "stream"),
                mib(self.limits.total),
                self.limits.max_streams
            )?;
        }
        if d.streams_oversize > 0 {
            writeln!(
                f,
                "Reassembly: gave up on {} that held more than {}",
                plural(d.streams_oversize, "stream direction"),
                mib(self.limits.per_stream)
            )?;
        }
        if d.gaps_skipped > 0 {
            writeln!(
                f,
                "Reassembly: skipped {} where segments were never captured",
                plural(d.gaps_skipped, "gap")
            )?;
        }
        if let Some(n) = self.kernel_drops.filter(|n| *n > 0) {
            writeln!(
                f,
                "Kernel: dropped {} (the display could not keep up)",
                plural(n, "packet")
            )?;
        }
        if let Some((path, n)) = &self.written {
            write!(f, "Wrote {} to {}", plural(*n, "packet"), path.display())?;
            match &self.keylog {
                Some(k) if k.sessions_embedded > 0 => writeln!(
                    f,
                    ", with the TLS secrets of {} ({} key log lines)",
                    plural(k.sessions_embedded as u64, "session"),
                    k.lines
                )?,
                Some(k) => writeln!(
                    f,
                    ", without TLS secrets: the key log has {} but none of the {} ClientHellos \
                     captured",
                    plural(k.sessions_in_log as u64, "session"),
                    k.hellos_seen
                )?,
                None => writeln!(f)?,
            }
        }
        if let Some(v) = &self.verdict {
            write!(f, "{v}")?;
        }
        Ok(())
    }
}
