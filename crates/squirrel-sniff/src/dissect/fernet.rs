//! Recognising a Fernet token in an HTTP body (tutorial steps 6 and 7). The
//! spy cannot read the secret inside, but it can tell what the token is and
//! read what the Fernet spec leaves in clear: the version byte 0x80 and the
//! 64-bit timestamp of when the token was made. That is the lesson: Fernet
//! hides the secret, not the fact that a secret was sent, nor when.

/// What the spy learns from a Fernet token without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FernetToken {
    pub version: u8,
    /// Seconds since 1970-01-01 UTC, in clear in the token.
    pub timestamp: u64,
    pub iv: [u8; 16],
    pub ciphertext_len: usize,
    pub hmac: [u8; 32],
    /// Length of the base64 text.
    pub text_len: usize,
}

/// Recognises a Fernet token: URL-safe base64 of version 0x80, an 8-byte
/// timestamp, a 16-byte IV, a ciphertext that is a whole number of AES
/// blocks, and a 32-byte HMAC. Surrounding whitespace is allowed.
pub fn recognise(body: &[u8]) -> Option<FernetToken> {
    let text = body.trim_ascii();
    // "gAAAAA" is 0x80 followed by the high zero bytes of the timestamp.
    if text.len() < 98 || !text.starts_with(b"gAAAAA") {
        return None;
    }
    let raw = decode_urlsafe(text)?;
    if raw.len() < 1 + 8 + 16 + 16 + 32 || raw[0] != 0x80 || (raw.len() - 57) % 16 != 0 {
        return None;
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&raw[1..9]);
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&raw[9..25]);
    let mut hmac = [0u8; 32];
    hmac.copy_from_slice(&raw[raw.len() - 32..]);
    Some(FernetToken {
        version: raw[0],
        timestamp: u64::from_be_bytes(ts),
        iv,
        ciphertext_len: raw.len() - 57,
        hmac,
        text_len: text.len(),
    })
}

/// Decodes URL-safe base64 with or without `=` padding; `None` on any
/// character outside the alphabet.
pub fn decode_urlsafe(text: &[u8]) -> Option<Vec<u8>> {
    let text = match memchr::memchr(b'=', text) {
        Some(pad) if text[pad..].iter().all(|&c| c == b'=') && text[pad..].len() <= 2 => {
            &text[..pad]
        }
        Some(_) => return None,
        None => text,
    };
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `2024-05-01 12:00:00 UTC` for seconds since the epoch.
pub fn utc_date(secs: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// Year, month, day, hour, minute, second of a Unix time, in UTC
/// (Howard Hinnant's days-to-civil algorithm).
pub fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The token of the Fernet specification's test vector.
    const SPEC: &str = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";

    #[test]
    fn the_spec_vector_is_recognised_with_its_date() {
        let t = recognise(format!("{SPEC}\n").as_bytes()).unwrap();
        assert_eq!(t.version, 0x80);
        assert_eq!(t.timestamp, 499_162_800);
        assert_eq!(utc_date(t.timestamp), "1985-10-26 08:20:00 UTC");
        assert_eq!(t.ciphertext_len, 16);
        assert_eq!(t.iv[..4], [0, 1, 2, 3]);
    }

    #[test]
    fn non_tokens_are_not_recognised() {
        assert!(recognise(b"fluffy tail").is_none());
        assert!(recognise(&SPEC.as_bytes()[..96]).is_none(), "too short");
        let bad = "gAAAAA!".repeat(20);
        assert!(recognise(bad.as_bytes()).is_none());
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_date(1_714_564_800), "2024-05-01 12:00:00 UTC");
    }
}
