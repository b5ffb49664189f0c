//! Just enough DER to say who a certificate seen on the wire names, by
//! whom, and for how long: the tutorial's sentence of step 9, "From time A
//! to time B I am X according to Y". TLS 1.2 sends certificates in clear,
//! so the spy can read this; TLS 1.3 encrypts them.

/// What the spy reads from one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub der_len: usize,
}

impl CertSummary {
    /// "From A to B, I am X according to Y".
    pub fn sentence(&self) -> String {
        format!(
            "From {} to {}, I am {} according to {}",
            self.not_before, self.not_after, self.subject, self.issuer
        )
    }
}

/// One DER element: tag, content, rest. `None` on anything malformed,
/// including long-form lengths over 4 bytes.
fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Summarises a DER certificate; fields that cannot be read are left empty.
pub fn summarize(der: &[u8]) -> CertSummary {
    let mut s = CertSummary {
        der_len: der.len(),
        ..CertSummary::default()
    };
    let _ = fill(der, &mut s);
    s
}

fn fill(der: &[u8], s: &mut CertSummary) -> Option<()> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let (mut tag, mut field, mut rest) = tlv(tbs)?;
    if tag == 0xA0 {
        (tag, field, rest) = tlv(rest)?; // serial after the explicit version
    }
    let _ = (tag, field);
    let (_, _sig_alg, rest) = tlv(rest)?;
    let (_, issuer, rest) = tlv(rest)?;
    s.issuer = name(issuer);
    let (_, validity, rest) = tlv(rest)?;
    let (t1, before, after_rest) = tlv(validity)?;
    let (t2, after, _) = tlv(after_rest)?;
    s.not_before = time(t1, before);
    s.not_after = time(t2, after);
    let (_, subject, _) = tlv(rest)?;
    s.subject = name(subject);
    Some(())
}

/// `C=US, O=My Company, CN=localhost`.
fn name(mut rdns: &[u8]) -> String {
    let mut parts = Vec::new();
    while let Some((_, set, rest)) = tlv(rdns) {
        rdns = rest;
        let mut set = set;
        while let Some((_, atv, more)) = tlv(set) {
            set = more;
            let Some((_, oid, value_rest)) = tlv(atv) else {
                continue;
            };
            let Some((_, value, _)) = tlv(value_rest) else {
                continue;
            };
            let label = match oid {
                [0x55, 0x04, 0x03] => "CN".to_string(),
                [0x55, 0x04, 0x06] => "C".to_string(),
                [0x55, 0x04, 0x07] => "L".to_string(),
                [0x55, 0x04, 0x08] => "ST".to_string(),
                [0x55, 0x04, 0x0A] => "O".to_string(),
                [0x55, 0x04, 0x0B] => "OU".to_string(),
                other => format!("OID({})", hex::encode(other)),
            };
            parts.push(format!("{label}={}", String::from_utf8_lossy(value)));
        }
    }
    parts.join(", ")
}

/// UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ` as
/// `2024-05-01 12:00:00 UTC`.
fn time(tag: u8, value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let digits: &str = text.trim_end_matches('Z');
    let full = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy: u32 = digits[..2].parse().unwrap_or(0);
            format!("{}{}", if yy >= 50 { "19" } else { "20" }, digits)
        }
        (0x18, 14) => digits.to_string(),
        _ => return text.into_owned(),
    };
    if !full.bytes().all(|b| b.is_ascii_digit()) {
        return text.into_owned();
    }
    format!(
        "{}-{}-{} {}:{}:{} UTC",
        &full[0..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_gives_an_empty_summary() {
        let s = summarize(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 1]);
        assert_eq!(s.subject, "");
        assert_eq!(summarize(&[]).der_len, 0);
    }

    #[test]
    fn times() {
        assert_eq!(time(0x17, b"240501120000Z"), "2024-05-01 12:00:00 UTC");
        assert_eq!(time(0x18, b"20500101000000Z"), "2050-01-01 00:00:00 UTC");
        assert_eq!(time(0x17, b"bogus"), "bogus");
    }
}
