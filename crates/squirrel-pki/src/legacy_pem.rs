//! Reading the "traditional" OpenSSL encrypted PEM keys that the tutorial's
//! Python writes (`PrivateFormat.TraditionalOpenSSL` with
//! `BestAvailableEncryption`):
//!
//! ```text
//! -----BEGIN RSA PRIVATE KEY-----
//! Proc-Type: 4,ENCRYPTED
//! DEK-Info: AES-256-CBC,<16-byte IV in hex>
//! ```
//!
//! The cipher key comes from OpenSSL's `EVP_BytesToKey` with MD5, one
//! iteration and the first 8 bytes of the IV as salt. It is a weak KDF, which
//! is why squirrel only reads this format and writes PKCS#8 instead.

use crate::error::{PkiError, Result};
use crate::passphrase::Passphrase;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use md5::{Digest, Md5};
use zeroize::Zeroizing;

/// The ciphers OpenSSL names in `DEK-Info`, all in CBC mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DekCipher {
    Aes128,
    Aes192,
    Aes256,
    DesEde3,
}

impl DekCipher {
    fn parse(name: &str) -> Result<Self> {
        Ok(match name.to_ascii_uppercase().as_str() {
            "AES-128-CBC" => DekCipher::Aes128,
            "AES-192-CBC" => DekCipher::Aes192,
            "AES-256-CBC" => DekCipher::Aes256,
            "DES-EDE3-CBC" => DekCipher::DesEde3,
            other => {
                return Err(PkiError::invalid(
                    format!("the key is encrypted with {other}, which squirrel does not read"),
                    "convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc` first",
                ))
            }
        })
    }

    fn key_len(self) -> usize {
        match self {
            DekCipher::Aes128 => 16,
            DekCipher::Aes192 | DekCipher::DesEde3 => 24,
            DekCipher::Aes256 => 32,
        }
    }

    fn iv_len(self) -> usize {
        match self {
            DekCipher::DesEde3 => 8,
            _ => 16,
        }
    }
}

/// True when the PEM block carries `Proc-Type: 4,ENCRYPTED`.
pub fn is_encrypted(block: &pem::Pem) -> bool {
    block
        .headers()
        .get("Proc-Type")
        .is_some_and(|v| v.replace(' ', "").eq_ignore_ascii_case("4,ENCRYPTED"))
}

/// Decrypts the body of a legacy encrypted PEM block, returning the DER of
/// the PKCS#1 or SEC1 key inside.
pub fn decrypt(block: &pem::Pem, passphrase: &Passphrase) -> Result<Zeroizing<Vec<u8>>> {
    let dek = block.headers().get("DEK-Info").ok_or_else(|| {
        PkiError::invalid(
            "the key says Proc-Type: 4,ENCRYPTED but has no DEK-Info header",
            "the file is damaged; export the key again",
        )
    })?;
    let (name, iv_hex) = dek.split_once(',').ok_or_else(|| {
        PkiError::invalid(
            format!("malformed DEK-Info header {dek:?}"),
            "expected `DEK-Info: AES-256-CBC,<hex IV>`",
        )
    })?;
    let cipher = DekCipher::parse(name.trim())?;
    let iv = hex::decode(iv_hex.trim())
        .ok()
        .filter(|iv| iv.len() == cipher.iv_len())
        .ok_or_else(|| {
            PkiError::invalid(
                format!(
                    "the IV in DEK-Info ({iv_hex}) is not {} hex bytes",
                    cipher.iv_len()
                ),
                "the file is damaged; export the key again",
            )
        })?;
    let key = bytes_to_key(passphrase.as_bytes(), &iv[..8], cipher.key_len());
    let body = block.contents();
    let plain = match cipher {
        DekCipher::Aes128 => cbc_decrypt::<aes::Aes128>(&key, &iv, body),
        DekCipher::Aes192 => cbc_decrypt::<aes::Aes192>(&key, &iv, body),
        DekCipher::Aes256 => cbc_decrypt::<aes::Aes256>(&key, &iv, body),
        DekCipher::DesEde3 => cbc_decrypt::<des::TdesEde3>(&key, &iv, body),
    };
    // A bad padding is how a wrong passphrase shows itself in CBC mode.
    plain.ok_or(PkiError::WrongPassphrase)
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], body: &[u8]) -> Option<Zeroizing<Vec<u8>>>
where
    C: cbc::cipher::BlockCipherDecrypt,
    cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    decryptor
        .decrypt_padded_vec::<cbc::cipher::block_padding::Pkcs7>(body)
        .ok()
        .map(Zeroizing::new)
}

/// OpenSSL's `EVP_BytesToKey(cipher, md5, salt, pass, count = 1)`:
/// `D_i = MD5(D_{i-1} || pass || salt)`, concatenated until long enough.
fn bytes_to_key(pass: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut previous: Vec<u8> = Vec::new();
    while out.len() < len {
        let mut md5 = Md5::new();
        md5.update(&previous);
        md5.update(pass);
        md5.update(salt);
        previous = md5.finalize().to_vec();
        out.extend_from_slice(&previous);
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_to_key_matches_openssl() {
        // `openssl enc -aes-256-cbc -P -md md5 -S 0102030405060708 -pass pass:secret_password`
        // prints this key.
        let key = bytes_to_key(b"secret_password", &[1, 2, 3, 4, 5, 6, 7, 8], 32);
        assert_eq!(
            hex::encode_upper(&*key),
            "B70CA034AC9AA7550A0D54A32B061A273BA513B2F5A43FB49CE921046E0DE68E"
        );
    }
}
