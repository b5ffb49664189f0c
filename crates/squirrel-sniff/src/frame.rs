//! A frame as every source hands it to the engine: bytes, link type, the
//! time it was seen and its length on the wire.

/// A capture time: seconds and nanoseconds since 1970-01-01 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    pub secs: u64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            secs: d.as_secs(),
            nanos: d.subsec_nanos(),
        }
    }

    pub fn as_nanos(&self) -> u128 {
        u128::from(self.secs) * 1_000_000_000 + u128::from(self.nanos)
    }

    /// From a count of `units` per second (pcapng's if_tsresol).
    pub fn from_units(value: u64, units_per_sec: u64) -> Timestamp {
        let units = units_per_sec.max(1);
        let frac = u128::from(value % units) * 1_000_000_000 / u128::from(units);
        Timestamp {
            secs: value / units,
            nanos: frac as u32,
        }
    }

    /// Nanoseconds elapsed since `earlier` (0 if it is later).
    pub fn since(&self, earlier: &Timestamp) -> u128 {
        self.as_nanos().saturating_sub(earlier.as_nanos())
    }
}

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    /// The frame's length on the wire; `data` may be shorter (snap length).
    pub orig_len: u32,
    pub data: &'a [u8],
    /// pcap link type (1 = Ethernet).
    pub linktype: u32,
}
