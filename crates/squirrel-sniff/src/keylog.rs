//! NSS key log files, the `SSLKEYLOGFILE` that curl, browsers and
//! `squirrel serve`/`get` write: one line per TLS secret,
//! `LABEL <client random, 64 hex digits> <secret in hex>`. With them a spy
//! that was handed the keys decrypts the HTTPS of tutorial step 13; without
//! them it sees only the handshake and lengths.
//!
//! Only the lines of sessions present in the capture are embedded in a
//! pcapng file: a browser's key log holds the secrets of every site it
//! visited, and sharing a capture must not share those.

use crate::error::SniffError;
use std::collections::HashSet;
use std::path::Path;

/// One secret of the key log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub label: String,
    pub client_random: [u8; 32],
    pub line: String,
}

/// A parsed key log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLog {
    pub entries: Vec<Entry>,
}

const LABELS: [&str; 9] = [
    "CLIENT_RANDOM",
    "CLIENT_EARLY_TRAFFIC_SECRET",
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EARLY_EXPORTER_SECRET",
    "EXPORTER_SECRET",
    "RSA",
];

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

impl KeyLog {
    /// Parses key log text; returns the log and the first bad line, if any.
    pub fn parse(text: &str) -> (KeyLog, Option<(usize, String)>) {
        let mut log = KeyLog::default();
        let mut bad = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let ok = parts.len() == 3
                && LABELS.contains(&parts[0])
                && parts[2].len() >= 2
                && parts[2].bytes().all(|b| b.is_ascii_hexdigit());
            // RSA lines carry an encrypted pre-master secret prefix, not a
            // client random; they cannot be matched to a session.
            match (ok, unhex32(parts.get(1).copied().unwrap_or(""))) {
                (true, Some(client_random)) if parts[0] != "RSA" => log.entries.push(Entry {
                    label: parts[0].to_string(),
                    client_random,
                    line: line.to_string(),
                }),
                _ => {
                    if bad.is_none() {
                        bad = Some((i + 1, line.chars().take(60).collect()));
                    }
                }
            }
        }
        (log, bad)
    }

    /// Reads and checks a key log file named by `--keylog`.
    pub fn read(path: &Path) -> Result<KeyLog, SniffError> {
        let text = std::fs::read_to_string(path).map_err(|e| SniffError::BadKeyLog {
            path: path.into(),
            reason: format!(
                "cannot read the key log given to --keylog ({e}). Set SSLKEYLOGFILE to this \
                 path for the client (curl, a browser, squirrel get) before it connects, so \
                 that it writes its TLS secrets there"
            ),
        })?;
        let (log, bad) = KeyLog::parse(&text);
        if log.entries.is_empty() {
            let why = match bad {
                Some((n, line)) => format!("line {n} ({line:?}) is not a key log line"),
                None => "the file is empty".to_string(),
            };
            return Err(SniffError::BadKeyLog {
                path: path.into(),
                reason: format!(
                    "no TLS secrets in the key log given to --keylog: {why}. An NSS key log \
                     has lines like `CLIENT_RANDOM <64 hex digits> <hex>`, as written by \
                     clients run with SSLKEYLOGFILE set"
                ),
            });
        }
        Ok(log)
    }

    /// The number of distinct sessions (client randoms) in the log.
    pub fn sessions(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.client_random)
            .collect::<HashSet<_>>()
            .len()
    }

    /// The key log text for the sessions whose client random was seen,
    /// with the number of sessions and lines kept.
    pub fn for_sessions(&self, seen: &HashSet<[u8; 32]>) -> (String, usize, usize) {
        let mut text = String::new();
        let mut sessions = HashSet::new();
        let mut lines = 0;
        for e in &self.entries {
            if seen.contains(&e.client_random) {
                text.push_str(&e.line);
                text.push('\n');
                sessions.insert(e.client_random);
                lines += 1;
            }
        }
        (text, sessions.len(), lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_kept_for_seen_sessions_only() {
        let a = "aa".repeat(32);
        let b = "bb".repeat(32);
        let text = format!(
            "# comment\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {a} 0102\nSERVER_TRAFFIC_SECRET_0 {a} 0304\n\
             CLIENT_RANDOM {b} 0506\nnonsense here\n"
        );
        let (log, bad) = KeyLog::parse(&text);
        assert_eq!(log.entries.len(), 3);
        assert_eq!(bad, Some((5, "nonsense here".into())));
        assert_eq!(log.sessions(), 2);
        let seen = HashSet::from([[0xaa; 32]]);
        let (kept, sessions, lines) = log.for_sessions(&seen);
        assert_eq!((sessions, lines), (1, 2));
        assert!(kept.starts_with("CLIENT_HANDSHAKE_TRAFFIC_SECRET aaaa"));
        assert!(!kept.contains(&b));
    }
}
