//! How a store writes a time: RFC 3339 UTC text with a fixed nine-digit
//! fraction (`2026-01-02T03:04:05.000000000Z`), so that comparing the text
//! compares the instants (the nonce and authorization expiry queries rely
//! on it) and nanoseconds survive. Both backends store times this way, so
//! a ledger moved from SQLite to PostgreSQL keeps every byte.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The stored form of a time: UTC, fixed width, so that text order is
/// time order.
pub(crate) fn stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// A stored time read back; `None` when the text is not RFC 3339.
pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// A revocation time as `squirrel pki revoke` writes it: RFC 3339 UTC,
/// whole seconds.
pub(crate) fn revocation_stamp(at: OffsetDateTime) -> Result<String, time::error::Format> {
    let at = at.to_offset(UtcOffset::UTC);
    at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_as_times_and_read_back_exactly() {
        let a = OffsetDateTime::from_unix_timestamp_nanos(1_767_225_600_000_000_000).unwrap();
        let b = a + time::Duration::nanoseconds(500_000_000);
        let (sa, sb) = (stamp(a), stamp(b));
        assert_eq!(sa, "2026-01-01T00:00:00.000000000Z");
        assert!(sa < sb);
        assert_eq!(parse(&sb), Some(b));
        assert_eq!(revocation_stamp(b).unwrap(), "2026-01-01T00:00:00Z");
    }
}
