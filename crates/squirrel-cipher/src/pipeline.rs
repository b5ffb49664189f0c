//! Encrypt-then-MAC for Fernet (tutorial step 6), on one core or two.
//!
//! AES-CBC encryption is serial, and so is HMAC-SHA256; each runs at about
//! the speed of the other (2 GB/s here), and the HMAC needs the ciphertext.
//! For a large message the two are pipelined: a second thread encrypts
//! 64 KiB chunks in place and hands each finished chunk to this thread,
//! which feeds it to the HMAC while the next chunk is being encrypted. The
//! bytes and the result are exactly those of the one-core path; only the
//! time changes, to about that of the slower of the two.

use crate::fernet::FernetError;
use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext};
use aws_lc_rs::{hmac, iv::FixedLength};
use std::sync::mpsc;

/// Messages from this size on are worth a thread (spawning one costs tens
/// of microseconds; encrypting 256 KiB costs over a hundred).
pub const PARALLEL_MIN: usize = 256 * 1024;
/// Bytes per pipelined chunk: a multiple of the AES block, small enough to
/// stay in cache between the two threads, large enough that hand-overs are few.
const CHUNK: usize = 64 * 1024;
const BLOCK: usize = 16;

/// Encrypts `buf[header_len..]` (already padded) in place with AES-128-CBC
/// from `iv`, then returns the HMAC of the whole of `buf`.
pub fn encrypt_then_mac(
    encrypting: &EncryptingKey,
    signing: &hmac::Key,
    buf: &mut [u8],
    header_len: usize,
    iv: [u8; BLOCK],
) -> Result<hmac::Tag, FernetError> {
    let (header, body) = buf.split_at_mut(header_len);
    let mut mac = hmac::Context::with_key(signing);
    mac.update(header);
    if body.len() < PARALLEL_MIN || !two_cores() {
        encrypt(encrypting, body, iv)?;
        mac.update(body);
        return Ok(mac.sign());
    }
    std::thread::scope(|scope| {
        // Room for two chunks in flight: the encrypting thread stays ahead.
        let (done, ready) = mpsc::sync_channel::<&[u8]>(2);
        let worker = scope.spawn(move || -> Result<(), FernetError> {
            let mut iv = iv;
            let mut rest: &mut [u8] = body;
            while !rest.is_empty() {
                let len = CHUNK.min(rest.len());
                let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(len);
                rest = tail;
                encrypt(encrypting, chunk, iv)?;
                // CBC: the next chunk chains from the last ciphertext block.
                iv.copy_from_slice(&chunk[chunk.len() - BLOCK..]);
                if done.send(chunk).is_err() {
                    break;
                }
            }
            Ok(())
        });
        for chunk in ready {
            mac.update(chunk);
        }
        worker
            .join()
            .map_err(|_| FernetError::Crypto("run the encrypting thread"))?
    })?;
    Ok(mac.sign())
}

fn encrypt(key: &EncryptingKey, data: &mut [u8], iv: [u8; BLOCK]) -> Result<(), FernetError> {
    key.less_safe_encrypt(data, EncryptionContext::Iv128(FixedLength::from(iv)))
        .map(|_| ())
        .map_err(|_| FernetError::Crypto("encrypt with AES-128-CBC"))
}

fn two_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::cipher::{UnboundCipherKey, AES_128};

    /// The pipelined path gives the bytes and tag of the one-core path.
    #[test]
    fn both_paths_agree_around_the_thresholds() {
        let enc =
            || EncryptingKey::cbc(UnboundCipherKey::new(&AES_128, &[3; 16]).unwrap()).unwrap();
        let mac = hmac::Key::new(hmac::HMAC_SHA256, &[5; 16]);
        let iv = [9u8; BLOCK];
        for body in [
            BLOCK,
            PARALLEL_MIN - BLOCK,
            PARALLEL_MIN,
            PARALLEL_MIN + 3 * CHUNK + BLOCK,
        ] {
            let data: Vec<u8> = (0..25 + body).map(|i| (i % 251) as u8).collect();
            let mut expected = data.clone();
            enc()
                .less_safe_encrypt(
                    &mut expected[25..],
                    EncryptionContext::Iv128(FixedLength::from(iv)),
                )
                .unwrap();
            let expected_tag = hmac::sign(&mac, &expected);
            let mut got = data.clone();
            let tag = encrypt_then_mac(&enc(), &mac, &mut got, 25, iv).unwrap();
            assert!(got == expected, "ciphertext differs at {body}");
            assert_eq!(tag.as_ref(), expected_tag.as_ref(), "tag differs at {body}");
        }
    }
}
