//! URL-safe base64 with padding, the text form of Fernet keys and tokens.
//!
//! Decoding is strict (canonical padding and trailing bits): a token that
//! decodes only by being lenient was not made by a Fernet encoder.
//!
//! Base64 is a third of the work of a large Fernet token, so the hot path is
//! `base64-simd` (AVX2/SSE/NEON picked at run time, about 3 times the scalar
//! speed); when it refuses an input, the `base64` crate, which applies the
//! same rules, decodes it again to say where and why.

use base64::engine::general_purpose::URL_SAFE;
use base64::{DecodeError, Engine as _};

/// Encodes bytes as URL-safe base64 with `=` padding.
pub fn encode(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE.encode_to_string(bytes)
}

/// Decodes URL-safe base64 with `=` padding; the error says where and why.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, String> {
    match base64_simd::URL_SAFE.decode_to_vec(text) {
        Ok(bytes) => Ok(bytes),
        Err(_) => URL_SAFE.decode(text).map_err(|err| describe(text, err)),
    }
}

fn describe(text: &[u8], err: DecodeError) -> String {
    // A character outside the alphabet says more than a length or padding
    // complaint that it caused, so it is reported first.
    let foreign = text
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b"-_=".contains(&b)));
    let err = match foreign {
        Some(offset) => DecodeError::InvalidByte(offset, text[offset]),
        None if text.len() % 4 != 0 => {
            return format!(
                "{} characters, where padded base64 comes in groups of 4, ending in '=' or '==' \
                 when needed",
                text.len()
            )
        }
        None => err,
    };
    match err {
        DecodeError::InvalidByte(offset, b'=') => format!(
            "'=' at position {offset} is out of place: padding only ends the text, once or twice"
        ),
        DecodeError::InvalidByte(offset, byte) => {
            let hint = match byte {
                b'+' | b'/' => ": that is the standard alphabet, Fernet uses '-' and '_'",
                _ => "",
            };
            format!(
                "character {} at position {offset} is not in the URL-safe alphabet{hint}",
                show(byte)
            )
        }
        DecodeError::InvalidLength(len) => {
            format!("{len} characters without their padding is not a possible base64 length")
        }
        DecodeError::InvalidLastSymbol { offset, symbol, .. } => format!(
            "the last character {} at position {offset} leaves stray bits: it was not \
             produced by a base64 encoder",
            show(symbol)
        ),
        DecodeError::InvalidPadding => "the '=' padding is wrong".to_string(),
    }
}

fn show(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", byte as char)
    } else {
        format!("0x{byte:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        assert_eq!(encode(&[0xfb, 0xff]), "-_8=");
        assert_eq!(decode(b"-_8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(
            decode(b"+/8=").unwrap_err(),
            "character '+' at position 0 is not in the URL-safe alphabet: that is the standard \
             alphabet, Fernet uses '-' and '_'"
        );
        for bad in [
            "QR==", "QUJ=", "QQ=", "Q===", "====", " QUJD", "QU=D", "QUJD\n",
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert_eq!(decode(b"").unwrap(), b"");
        assert_eq!(
            decode(b"-_8").unwrap_err(),
            "3 characters, where padded base64 comes in groups of 4, ending in '=' or '==' when \
             needed"
        );
        assert_eq!(
            decode(b"QQ=A").unwrap_err(),
            "'=' at position 2 is out of place: padding only ends the text, once or twice"
        );
        assert_eq!(
            decode(b"Q===").unwrap_err(),
            "'=' at position 1 is out of place: padding only ends the text, once or twice"
        );
    }

    #[test]
    fn agrees_with_the_scalar_crate_at_every_length() {
        let data: Vec<u8> = (0..600u32).map(|i| (i * 7 + i / 3) as u8).collect();
        for len in 0..data.len() {
            let text = encode(&data[..len]);
            assert_eq!(text, URL_SAFE.encode(&data[..len]));
            assert_eq!(decode(text.as_bytes()).unwrap(), &data[..len]);
        }
    }
}
