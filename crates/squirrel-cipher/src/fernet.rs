//! Fernet, tutorial steps 6 and 7: the symmetric cipher the Secret Squirrels
//! switch to once Caesar falls to frequency analysis.
//!
//! This is the [Fernet spec] to the letter, so that tokens interoperate with
//! Python's `cryptography.fernet` both ways:
//!
//! ```text
//! token = base64url( 0x80 | timestamp (u64 BE) | IV (16) | AES-128-CBC(PKCS7(plaintext)) | HMAC )
//! HMAC  = HMAC-SHA256(signing key, everything before it)
//! key   = base64url( signing key (16) | encryption key (16) )
//! ```
//!
//! The primitives come from aws-lc-rs (AES-128-CBC, HMAC-SHA256 verified in
//! constant time, the system random generator); this module only lays bytes
//! out, pads, and checks in the order Python does: base64, version, age and
//! clock skew, HMAC, then decryption and padding. Several keys make a
//! `MultiFernet`: the first encrypts, all are tried to decrypt, which is how
//! the tutorial's "how do you change your key?" is answered without breaking
//! tokens already handed out.
//!
//! Speed matters for a server that encrypts every response: keys are
//! expanded once, IVs come from a pooled draw of system randomness, base64
//! is SIMD, and a large message is encrypted and authenticated on two cores
//! at once (see `pipeline`).
//!
//! [Fernet spec]: https://github.com/fernet/spec/blob/master/Spec.md

use crate::b64;
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, UnboundCipherKey, AES_128,
};
use aws_lc_rs::{hmac, iv::FixedLength, rand};
use zeroize::{Zeroize, Zeroizing};

/// The only version byte the spec defines; it is why every token starts `gAAAAA`.
pub const VERSION: u8 = 0x80;
/// Seconds a token may be dated in the future before it is refused (Python's `_MAX_CLOCK_SKEW`).
pub const MAX_CLOCK_SKEW: u64 = 60;
/// Bytes in a raw key: 16 to sign, 16 to encrypt.
pub const KEY_LEN: usize = 32;
/// Bytes in the IV, one AES block.
pub const IV_LEN: usize = 16;
const BLOCK: usize = 16;
const TAG_LEN: usize = 32;
const HEADER_LEN: usize = 1 + 8 + IV_LEN;
/// The shortest possible token once decoded: header, one AES block, HMAC.
pub const MIN_TOKEN_LEN: usize = HEADER_LEN + BLOCK + TAG_LEN;

/// Everything that can go wrong with a key or a token. The messages say what
/// is wrong and, where the user can act, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FernetError {
    #[error(
        "the key is not URL-safe base64 ({0}): a Fernet key is 44 characters of A-Z, a-z, 0-9, \
         '-' and '_' ending in '=', as printed by `squirrel fernet genkey`"
    )]
    KeyEncoding(String),
    #[error(
        "the key decodes to {0} bytes, but a Fernet key is exactly 32 (16 to sign with \
         HMAC-SHA256, 16 to encrypt with AES-128): make one with `squirrel fernet genkey`"
    )]
    KeyLength(usize),
    #[error("no key was given: a Fernet needs at least one key")]
    NoKeys,
    #[error("invalid token: it is not URL-safe base64 ({0})")]
    Base64(String),
    #[error("invalid token: it is empty")]
    Empty,
    #[error(
        "invalid token: its version byte is 0x{0:02x}, but Fernet tokens start with 0x80 \
         (\"gAAAAA\" in base64)"
    )]
    Version(u8),
    #[error(
        "invalid token: it is too short, {0} bytes once decoded, where a Fernet token has at \
         least 73 (version 1, timestamp 8, IV 16, ciphertext 16 or more, HMAC 32)"
    )]
    TooShort(usize),
    #[error("invalid token: its ciphertext is {0} bytes, not a multiple of the 16-byte AES block")]
    BlockSize(usize),
    #[error(
        "invalid token: it has expired; it was made at {timestamp} (Unix time), {age} s before \
         {now}, and the TTL is {ttl} s",
        age = now.saturating_sub(*timestamp)
    )]
    Expired { timestamp: u64, ttl: u64, now: u64 },
    #[error(
        "invalid token: it is dated {ahead} s in the future (made at {timestamp}, now is {now} \
         in Unix time), beyond the 60 s of clock skew allowed; check both clocks",
        ahead = timestamp.saturating_sub(*now)
    )]
    FromFuture { timestamp: u64, now: u64 },
    #[error("{}", hmac_message(*keys))]
    Hmac { keys: usize },
    #[error(
        "invalid token: bad PKCS7 padding after decryption; the HMAC matched, so the token was \
         made with this key by a faulty encoder"
    )]
    Padding,
    #[error("aws-lc failed to {0}")]
    Crypto(&'static str),
}

fn hmac_message(keys: usize) -> String {
    let which = if keys == 1 {
        "the HMAC does not match the key".to_string()
    } else {
        format!("the HMAC matches none of the {keys} keys")
    };
    format!(
        "invalid token: {which}; the token was made with another key, or was changed on the way"
    )
}

impl FernetError {
    /// True for the errors Python reports as `InvalidToken`, false for bad
    /// keys and internal failures.
    pub fn is_invalid_token(&self) -> bool {
        !matches!(
            self,
            Self::KeyEncoding(_) | Self::KeyLength(_) | Self::NoKeys | Self::Crypto(_)
        )
    }
}

/// One Fernet key, with its AES and HMAC halves already expanded by aws-lc
/// so that encrypting many small messages costs no key setup.
pub struct Key {
    raw: Zeroizing<[u8; KEY_LEN]>,
    signing: hmac::Key,
    encrypting: EncryptingKey,
    decrypting: DecryptingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<secret>)")
    }
}

impl Key {
    /// A fresh key of 32 bytes from the system random generator, like
    /// Python's `Fernet.generate_key()`.
    pub fn generate() -> Result<Self, FernetError> {
        let mut raw = Zeroizing::new([0u8; KEY_LEN]);
        rand::fill(raw.as_mut()).map_err(|_| FernetError::Crypto("draw random bytes"))?;
        Self::from_bytes(raw.as_ref())
    }

    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FernetError> {
        let raw: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| FernetError::KeyLength(bytes.len()))?;
        let raw = Zeroizing::new(raw);
        let (sign_half, enc_half) = raw.split_at(KEY_LEN / 2);
        let unbound = || {
            UnboundCipherKey::new(&AES_128, enc_half)
                .map_err(|_| FernetError::Crypto("set up the AES-128 key"))
        };
        Ok(Key {
            signing: hmac::Key::new(hmac::HMAC_SHA256, sign_half),
            encrypting: EncryptingKey::cbc(unbound()?)
                .map_err(|_| FernetError::Crypto("set up AES-128-CBC encryption"))?,
            decrypting: DecryptingKey::cbc(unbound()?)
                .map_err(|_| FernetError::Crypto("set up AES-128-CBC decryption"))?,
            raw,
        })
    }

    /// A key from its URL-safe base64 text (surrounding whitespace ignored),
    /// as Python's `Fernet(key)` takes it.
    pub fn from_base64(text: &str) -> Result<Self, FernetError> {
        let mut bytes = b64::decode(text.trim().as_bytes()).map_err(FernetError::KeyEncoding)?;
        let key = Self::from_bytes(&bytes);
        bytes.zeroize();
        key
    }

    /// The key as URL-safe base64, 44 characters.
    pub fn to_base64(&self) -> String {
        b64::encode(self.raw.as_ref())
    }
}

/// Makes a new key and returns it as URL-safe base64.
pub fn generate_key() -> Result<String, FernetError> {
    Ok(Key::generate()?.to_base64())
}

/// Parses one or more keys separated by commas or whitespace (the form of
/// `SECRET_KEY` when rotating: new key first).
pub fn parse_keys(text: &str) -> Result<Vec<Key>, FernetError> {
    let keys = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(Key::from_base64)
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(FernetError::NoKeys);
    }
    Ok(keys)
}

/// Ask `decrypt` to refuse tokens older than `ttl` seconds, or dated more
/// than [`MAX_CLOCK_SKEW`] in the future, as of the Unix time `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlCheck {
    pub ttl: u64,
    pub now: u64,
}

/// A successful decryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    pub plaintext: Vec<u8>,
    /// When the token was made, in Unix seconds.
    pub timestamp: u64,
    /// Which key (by position) opened it.
    pub key_index: usize,
}

/// What anyone, the spy included, can read from a token without the key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    pub version: u8,
    pub timestamp: u64,
    pub iv: [u8; IV_LEN],
    pub ciphertext_len: usize,
    pub hmac: [u8; TAG_LEN],
}

/// Decodes a token and checks its layout (version, length, block size)
/// without any key: the spy's view.
pub fn inspect(token: &[u8]) -> Result<TokenInfo, FernetError> {
    let data = decode_token(token)?;
    let ciphertext_len = data.len() - HEADER_LEN - TAG_LEN;
    Ok(TokenInfo {
        version: data[0],
        timestamp: timestamp_of(&data),
        iv: iv_of(&data),
        ciphertext_len,
        hmac: data[data.len() - TAG_LEN..]
            .try_into()
            .unwrap_or([0; TAG_LEN]),
    })
}

/// A Fernet with one or more keys: Python's `Fernet` when there is one key,
/// `MultiFernet` when there are several.
#[derive(Debug)]
pub struct Fernet {
    keys: Vec<Key>,
}

impl Fernet {
    /// A Fernet with a single key.
    pub fn new(key: Key) -> Self {
        Fernet { keys: vec![key] }
    }

    /// A Fernet with several keys: the first encrypts, all decrypt.
    pub fn with_keys(keys: Vec<Key>) -> Result<Self, FernetError> {
        if keys.is_empty() {
            return Err(FernetError::NoKeys);
        }
        Ok(Fernet { keys })
    }

    /// The keys, the encrypting one first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Encrypts with the first key, the current time and a random IV.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, FernetError> {
        self.encrypt_at(plaintext, unix_now(), random_iv()?)
    }

    /// Encrypts with a given timestamp and IV. Reusing an IV with the same
    /// key leaks whether two messages start alike: this exists to reproduce
    /// the spec's vectors and to keep a timestamp when rotating.
    pub fn encrypt_at(
        &self,
        plaintext: &[u8],
        timestamp: u64,
        iv: [u8; IV_LEN],
    ) -> Result<String, FernetError> {
        let key = &self.keys[0];
        let pad = BLOCK - plaintext.len() % BLOCK;
        let body_len = HEADER_LEN + plaintext.len() + pad;
        let mut buf = Vec::with_capacity(body_len + TAG_LEN);
        buf.push(VERSION);
        buf.extend_from_slice(&timestamp.to_be_bytes());
        buf.extend_from_slice(&iv);
        buf.extend_from_slice(plaintext);
        // PKCS7: `pad` bytes of value `pad`, a whole block when already aligned.
        buf.resize(body_len, pad as u8);
        let tag = crate::pipeline::encrypt_then_mac(
            &key.encrypting,
            &key.signing,
            &mut buf,
            HEADER_LEN,
            iv,
        )?;
        buf.extend_from_slice(tag.as_ref());
        // Encrypted in place: `buf` now holds only what the token shows anyway.
        Ok(b64::encode(&buf))
    }

    /// Decrypts a token (surrounding whitespace ignored). With `ttl`, tokens
    /// older than the TTL or too far in the future are refused, exactly as
    /// Python's `decrypt(token, ttl)`; without it the timestamp is not looked at.
    pub fn decrypt(&self, token: &[u8], ttl: Option<TtlCheck>) -> Result<Decrypted, FernetError> {
        let mut data = decode_token(token)?;
        let timestamp = timestamp_of(&data);
        if let Some(TtlCheck { ttl, now }) = ttl {
            if u128::from(timestamp) + u128::from(ttl) < u128::from(now) {
                return Err(FernetError::Expired {
                    timestamp,
                    ttl,
                    now,
                });
            }
            if u128::from(now) + u128::from(MAX_CLOCK_SKEW) < u128::from(timestamp) {
                return Err(FernetError::FromFuture { timestamp, now });
            }
        }
        let signed_len = data.len() - TAG_LEN;
        let (signed, tag) = data.split_at(signed_len);
        let key_index = self
            .keys
            .iter()
            .position(|key| hmac::verify(&key.signing, signed, tag).is_ok())
            .ok_or(FernetError::Hmac {
                keys: self.keys.len(),
            })?;
        let iv = iv_of(&data);
        let plain = self.keys[key_index]
            .decrypting
            .decrypt(
                &mut data[HEADER_LEN..signed_len],
                DecryptionContext::Iv128(FixedLength::from(iv)),
            )
            .map_err(|_| FernetError::Crypto("decrypt with AES-128-CBC"))?;
        let plain_len = unpad(plain).ok_or(FernetError::Padding)?;
        data.copy_within(HEADER_LEN..HEADER_LEN + plain_len, 0);
        data.truncate(plain_len);
        Ok(Decrypted {
            plaintext: data,
            timestamp,
            key_index,
        })
    }

    /// Re-encrypts a token under the first key, keeping its timestamp, with a
    /// new IV (Python's `MultiFernet.rotate`). The age is not checked.
    pub fn rotate(&self, token: &[u8]) -> Result<String, FernetError> {
        let mut opened = self.decrypt(token, None)?;
        let token = self.encrypt_at(&opened.plaintext, opened.timestamp, random_iv()?);
        opened.plaintext.zeroize();
        token
    }
}

/// The current Unix time in seconds (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Bytes of system randomness kept per thread for IVs.
const IV_POOL_LEN: usize = 4096;

/// A per-thread pool of system-random bytes that IVs are cut from. Each call
/// to aws-lc's generator costs about half a microsecond whatever its size,
/// a third of the time of a whole 1 KiB token, so the pool draws 4 KiB at a
/// time. Every IV is still fresh output of the system CSPRNG, used once and
/// wiped from the pool; a forked child (new process id) starts a new pool,
/// so parent and child never hand out the same IV.
struct IvPool {
    pid: u32,
    used: usize,
    bytes: [u8; IV_POOL_LEN],
}

thread_local! {
    static IV_POOL: std::cell::RefCell<IvPool> = const {
        std::cell::RefCell::new(IvPool { pid: 0, used: IV_POOL_LEN, bytes: [0; IV_POOL_LEN] })
    };
}

/// A fresh random IV.
pub fn random_iv() -> Result<[u8; IV_LEN], FernetError> {
    IV_POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let pid = std::process::id();
        if pool.used + IV_LEN > IV_POOL_LEN || pool.pid != pid {
            rand::fill(&mut pool.bytes).map_err(|_| FernetError::Crypto("draw a random IV"))?;
            pool.used = 0;
            pool.pid = pid;
        }
        let start = pool.used;
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&pool.bytes[start..start + IV_LEN]);
        pool.bytes[start..start + IV_LEN].zeroize();
        pool.used += IV_LEN;
        Ok(iv)
    })
}

/// Base64-decodes a token and checks the layout that needs no key.
fn decode_token(token: &[u8]) -> Result<Vec<u8>, FernetError> {
    let data = b64::decode(token.trim_ascii()).map_err(FernetError::Base64)?;
    match data.first() {
        None => return Err(FernetError::Empty),
        Some(&VERSION) => {}
        Some(&other) => return Err(FernetError::Version(other)),
    }
    if data.len() < HEADER_LEN + TAG_LEN {
        return Err(FernetError::TooShort(data.len()));
    }
    let ciphertext_len = data.len() - HEADER_LEN - TAG_LEN;
    if ciphertext_len % BLOCK != 0 {
        return Err(FernetError::BlockSize(ciphertext_len));
    }
    if ciphertext_len == 0 {
        return Err(FernetError::TooShort(data.len()));
    }
    Ok(data)
}

fn timestamp_of(data: &[u8]) -> u64 {
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&data[1..9]);
    u64::from_be_bytes(ts)
}

fn iv_of(data: &[u8]) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    iv.copy_from_slice(&data[9..HEADER_LEN]);
    iv
}

/// Checks PKCS7 padding and returns the unpadded length.
fn unpad(block_aligned: &[u8]) -> Option<usize> {
    let pad = usize::from(*block_aligned.last()?);
    if pad == 0 || pad > BLOCK || pad > block_aligned.len() {
        return None;
    }
    let body = block_aligned.len() - pad;
    block_aligned[body..]
        .iter()
        .all(|&b| usize::from(b) == pad)
        .then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fernet_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Fernet>();
    }

    #[test]
    fn unpad_accepts_only_pkcs7() {
        let mut block = [7u8; 16];
        assert_eq!(unpad(&block), Some(9));
        block[15] = 16;
        assert_eq!(unpad(&block), None);
        assert_eq!(unpad(&[16u8; 16]), Some(0));
        assert_eq!(unpad(&[0u8; 16]), None);
        assert_eq!(unpad(&[17u8; 16]), None);
    }

    #[test]
    fn round_trip_all_lengths_around_blocks() {
        let fernet = Fernet::new(Key::generate().unwrap());
        for len in 0..50 {
            let plain: Vec<u8> = (0..len as u8).collect();
            let token = fernet.encrypt(&plain).unwrap();
            assert!(token.starts_with("gAAAAA"));
            assert_eq!(
                fernet.decrypt(token.as_bytes(), None).unwrap().plaintext,
                plain
            );
        }
    }

    #[test]
    fn ivs_are_never_repeated_across_pool_refills() {
        let ivs: std::collections::HashSet<[u8; IV_LEN]> = (0..3 * IV_POOL_LEN / IV_LEN)
            .map(|_| random_iv().unwrap())
            .collect();
        assert_eq!(ivs.len(), 3 * IV_POOL_LEN / IV_LEN);
    }

    #[test]
    fn key_errors_say_why() {
        assert_eq!(
            Key::from_base64(&"A".repeat(52)).unwrap_err(),
            FernetError::KeyLength(39)
        );
        assert!(matches!(
            Key::from_base64("not a key!").unwrap_err(),
            FernetError::KeyEncoding(_)
        ));
        assert_eq!(parse_keys(" , ").unwrap_err(), FernetError::NoKeys);
    }
}
