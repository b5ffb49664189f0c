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
    let Ok(year) = u32::try_from(t.year()) else {
        return stamp_with_format(t);
    };
    if year > 9999 {
        return stamp_with_format(t);
    }
    // Digit by digit: every ACME request stamps a few times (its nonce,
    // the rows it writes), and `format!` with seven fields showed in
    // profiles. The same text as `stamp_with_format`.
    let mut text = *b"0000-00-00T00:00:00.000000000Z";
    let fields = [
        (0..4, year),
        (5..7, u32::from(u8::from(t.month()))),
        (8..10, u32::from(t.day())),
        (11..13, u32::from(t.hour())),
        (14..16, u32::from(t.minute())),
        (17..19, u32::from(t.second())),
        (20..29, t.nanosecond()),
    ];
    for (range, mut value) in fields {
        for digit in text[range].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    text.iter().map(|&b| char::from(b)).collect()
}

/// [`stamp`] for any year, years before 0 and after 9999 included.
fn stamp_with_format(t: OffsetDateTime) -> String {
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

    #[test]
    fn stamps_written_digit_by_digit_match_the_formatted_ones() {
        let mut t = OffsetDateTime::from_unix_timestamp_nanos(-62_167_219_200_000_000_000).unwrap();
        for _ in 0..2000 {
            assert_eq!(stamp(t), stamp_with_format(t), "{t}");
            t += time::Duration::nanoseconds(123_456_789_012_345_679);
        }
        let eastern = OffsetDateTime::from_unix_timestamp(1_767_225_600)
            .unwrap()
            .to_offset(UtcOffset::from_hms(9, 30, 0).unwrap());
        assert_eq!(stamp(eastern), "2026-01-01T00:00:00.000000000Z");
        let far = time::Date::from_calendar_date(9999, time::Month::December, 31)
            .unwrap()
            .with_hms_nano(23, 59, 59, 999_999_999)
            .unwrap()
            .assume_utc();
        assert_eq!(stamp(far), "9999-12-31T23:59:59.999999999Z");
    }
}
