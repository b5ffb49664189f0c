//! The spy's verdict (tutorial steps 3, 7 and 13): did the secret cross the
//! wire in clear? Every packet's payload is searched for the exact bytes of
//! the secret, and so is the seam between consecutive segments of a TCP
//! stream, so a secret split in two by the sender is still caught.

use std::fmt;

/// Where `needle` first occurs in `hay` (never for an empty needle).
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// One packet that carried the secret in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub number: u64,
    pub src: String,
    pub dst: String,
    pub protocol: String,
    /// Offset into the packet's payload; negative when the secret started
    /// in the previous segment of the stream.
    pub offset: i64,
}

/// The verdict over a whole capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub secret: String,
    pub packets: u64,
    pub sightings: Vec<Sighting>,
    /// Sightings beyond the ones listed.
    pub more: u64,
}

/// Sightings listed in full; the rest are counted.
pub const LISTED: usize = 50;

impl Verdict {
    pub fn new(secret: &str) -> Verdict {
        Verdict {
            secret: secret.to_string(),
            packets: 0,
            sightings: Vec::new(),
            more: 0,
        }
    }

    pub fn record(&mut self, s: Sighting) {
        if self.sightings.len() < LISTED {
            self.sightings.push(s);
        } else {
            self.more += 1;
        }
    }

    pub fn seen(&self) -> u64 {
        self.sightings.len() as u64 + self.more
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.packets == 1 { "" } else { "s" };
        if self.sightings.is_empty() {
            return writeln!(
                f,
                "Verdict: the secret {:?} never appeared in clear in {} packet{plural}.",
                self.secret, self.packets
            );
        }
        writeln!(
            f,
            "Verdict: the secret {:?} crossed the wire in clear in {} of {} packet{plural}:",
            self.secret,
            self.seen(),
            self.packets
        )?;
        for s in &self.sightings {
            let place = if s.offset >= 0 {
                format!("at payload offset {}", s.offset)
            } else {
                format!(
                    "split: it starts {} bytes before this payload, in the previous segment",
                    -s.offset
                )
            };
            writeln!(
                f,
                "  packet {}  {} -> {}  {}  {place}",
                s.number, s.src, s.dst, s.protocol
            )?;
        }
        if self.more > 0 {
            writeln!(f, "  ... and {} more packets", self.more)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_works_at_edges() {
        assert_eq!(find(b"fluffy tail", b"fluffy tail"), Some(0));
        assert_eq!(find(b"xx fluffy tail", b"tail"), Some(10));
        assert_eq!(find(b"ffff", b"ff"), Some(0));
        assert_eq!(find(b"fluffy tai", b"tail"), None);
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(find(b"abc", b""), None);
    }

    #[test]
    fn verdict_lines() {
        let mut v = Verdict::new("fluffy tail");
        v.packets = 12;
        assert_eq!(
            v.to_string(),
            "Verdict: the secret \"fluffy tail\" never appeared in clear in 12 packets.\n"
        );
        v.record(Sighting {
            number: 6,
            src: "127.0.0.1:5683".into(),
            dst: "127.0.0.1:40000".into(),
            protocol: "HTTP".into(),
            offset: 163,
        });
        assert_eq!(
            v.to_string(),
            "Verdict: the secret \"fluffy tail\" crossed the wire in clear in 1 of 12 packets:\n  \
             packet 6  127.0.0.1:5683 -> 127.0.0.1:40000  HTTP  at payload offset 163\n"
        );
    }
}
