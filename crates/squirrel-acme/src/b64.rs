//! base64url without padding, the only encoding JOSE uses (RFC 7515 §2,
//! "Base64url Encoding"; RFC 8555 §6.2 requires it for every JWS member).
//!
//! Why a module of its own: the JWS, the JWK and the nonce all decode the
//! same way, and all must refuse the same inputs. The `base64` engine used
//! here refuses `=` padding, the standard alphabet's `+` and `/`, whitespace
//! and non-zero trailing bits, so every value has exactly one accepted
//! encoding: a signed message cannot be re-encoded into another accepted
//! spelling, and a key cannot have two thumbprints.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Decodes strict base64url without padding; `None` for anything else.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Encodes base64url without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `text` is non-empty and made of base64url characters only
/// (RFC 8555 §6.5.1's ABNF for a nonce: `1*base64url`).
pub(crate) fn is_base64url_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_padding_and_the_standard_alphabet() {
        assert_eq!(decode("AQAB").as_deref(), Some(&[1u8, 0, 1][..]));
        assert_eq!(decode("AQ").as_deref(), Some(&[1u8][..]));
        assert!(decode("AQ==").is_none(), "padding");
        assert!(decode("+/8").is_none(), "standard alphabet");
        assert!(decode("AQ B").is_none(), "whitespace");
        assert!(decode("AR").is_none(), "non-zero trailing bits");
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn nonce_tokens() {
        assert!(is_base64url_token("abc-_09"));
        assert!(!is_base64url_token(""));
        assert!(!is_base64url_token("abc="));
        assert!(!is_base64url_token("a+b"));
    }
}
