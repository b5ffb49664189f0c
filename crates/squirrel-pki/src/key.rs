//! Private keys: generate, write encrypted PKCS#8, read every common format.
//!
//! Tutorial step 10 makes an RSA 2048 key "encrypted with a passphrase". A
//! real CA needs more: the key types people use today, a modern encryption
//! (PKCS#8 with scrypt or PBKDF2 and AES-256-CBC, which openssl and Python
//! load), and the legacy formats the tutorial's Python wrote.

use crate::error::{PkiError, Result};
use crate::legacy_pem;
use crate::passphrase::Passphrase;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature as sig;
use rcgen::{KeyPair, PublicKeyData};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use std::fmt;
use std::str::FromStr;
use zeroize::Zeroizing;

/// The key types squirrel generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    #[default]
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order `--help` lists them.
    pub const ALL: [KeyAlgorithm; 6] = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "rsa2048",
            KeyAlgorithm::Rsa3072 => "rsa3072",
            KeyAlgorithm::Rsa4096 => "rsa4096",
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.to_ascii_lowercase().replace('_', "-");
        let alias = match wanted.as_str() {
            "rsa" => "rsa2048",
            "ecdsa" | "p256" | "p-256" | "ec" => "ecdsa-p256",
            "p384" | "p-384" => "ecdsa-p384",
            other => other,
        };
        KeyAlgorithm::ALL
            .into_iter()
            .find(|a| a.name() == alias)
            .ok_or_else(|| {
                let names: Vec<_> = KeyAlgorithm::ALL.iter().map(|a| a.name()).collect();
                PkiError::invalid(
                    format!("unknown key algorithm {s:?}"),
                    format!("choose one of {}", names.join(", ")),
                )
            })
    }
}

/// The password-based key derivation used to encrypt a PKCS#8 key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Kdf {
    /// scrypt (N = 2^14, r = 8, p = 1): memory-hard, and within OpenSSL 3's
    /// default memory limit.
    #[default]
    Scrypt,
    /// PBKDF2-HMAC-SHA256 with 600,000 iterations (OWASP's figure).
    Pbkdf2,
}

impl FromStr for Kdf {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "scrypt" => Ok(Kdf::Scrypt),
            "pbkdf2" | "pbkdf2-sha256" => Ok(Kdf::Pbkdf2),
            _ => Err(PkiError::invalid(
                format!("unknown key derivation {s:?}"),
                "choose scrypt or pbkdf2",
            )),
        }
    }
}

/// How a key file is protected on disk.
#[derive(Clone, Debug)]
pub enum KeyProtection {
    /// Plain PKCS#8; only ever on explicit request (`--no-pass`, or a leaf
    /// key for a server that starts unattended).
    Unencrypted,
    /// Encrypted PKCS#8 (PBES2, AES-256-CBC).
    Encrypted { passphrase: Passphrase, kdf: Kdf },
}

/// Whether `from_pem` needs a passphrase for this block: PKCS#8
/// `ENCRYPTED PRIVATE KEY`, or a legacy `Proc-Type: 4,ENCRYPTED` header on
/// the PKCS#1 and SEC1 blocks it decrypts (on a `PRIVATE KEY` block such a
/// header is ignored, as `from_pem` ignores it).
fn block_is_encrypted(block: &pem::Pem) -> bool {
    match block.tag() {
        "ENCRYPTED PRIVATE KEY" => true,
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" => legacy_pem::is_encrypted(block),
        _ => false,
    }
}

/// A private key, with its signing key pair ready for rcgen.
pub struct PrivateKey {
    key_pair: KeyPair,
    /// PKCS#8 DER (what squirrel writes): v1 when squirrel generated the
    /// key, as read (or converted from PKCS#1/SEC1) otherwise.
    pkcs8: Option<Zeroizing<Vec<u8>>>,
    /// The DER structure `key_pair.serialized_der()` holds.
    format: KeyFormat,
    /// Read from the public half when the key was made or loaded.
    info: KeyInfo,
}

/// The structure of a key's DER, for handing it to rustls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyFormat {
    Pkcs8,
    Pkcs1,
    Sec1,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.info.description)
    }
}

/// The family of a public key, as `inspect` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KeyKind {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "ECDSA")]
    Ecdsa,
    Ed25519,
    /// Any other algorithm (DSA, X25519, ...): described by its OID.
    #[serde(rename = "unknown")]
    Unknown,
}

impl KeyKind {
    /// "RSA", "ECDSA", "Ed25519" or "unknown" (also its JSON form).
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::Ecdsa => "ECDSA",
            KeyKind::Ed25519 => "Ed25519",
            KeyKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What may be said of a key in public: never private material.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyInfo {
    pub kind: KeyKind,
    /// Bits of the modulus or of the curve.
    pub bits: u32,
    /// "RSA 2048 bits", "ECDSA P-256", "Ed25519".
    pub description: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo, hex with colons.
    pub spki_sha256: String,
}

impl PrivateKey {
    /// Generates a new key with the system's secure random generator.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        let fail = |_| PkiError::Crypto(format!("could not generate an {algorithm} key"));
        let der: Vec<u8> = match algorithm {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let size = match algorithm {
                    KeyAlgorithm::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
                    KeyAlgorithm::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
                    _ => aws_lc_rs::rsa::KeySize::Rsa4096,
                };
                let pair = sig::RsaKeyPair::generate(size).map_err(fail)?;
                pair.as_der().map_err(fail)?.as_ref().to_vec()
            }
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let alg = if algorithm == KeyAlgorithm::EcdsaP256 {
                    &sig::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &sig::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let pair = sig::EcdsaKeyPair::generate(alg).map_err(fail)?;
                pair.to_pkcs8v1().map_err(fail)?.as_ref().to_vec()
            }
            // PKCS#8 v1: aws-lc-rs's default v2 is refused by OpenSSL 3.0
            // and Python.
            KeyAlgorithm::Ed25519 => {
                let pair = sig::Ed25519KeyPair::generate().map_err(fail)?;
                pair.to_pkcs8v1().map_err(fail)?.as_ref().to_vec()
            }
        };
        let der = Zeroizing::new(der);
        let key_pair = KeyPair::try_from(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            der.as_slice(),
        )))?;
        Ok(PrivateKey {
            info: info_of(&key_pair)?,
            key_pair,
            pkcs8: Some(der),
            format: KeyFormat::Pkcs8,
        })
    }

    /// Reads a PEM private key in any common format: PKCS#8 (plain or
    /// encrypted with PBES2), PKCS#1 `RSA PRIVATE KEY` and SEC1
    /// `EC PRIVATE KEY` (plain or legacy `Proc-Type: 4,ENCRYPTED`).
    ///
    /// `passphrase` is only consulted when the key is encrypted.
    pub fn from_pem(text: &[u8], passphrase: Option<&Passphrase>) -> Result<Self> {
        let block = crate::pem_file::single_key_block(text)?;
        Self::from_pem_block(&block, passphrase)
    }

    /// True when the PEM key needs a passphrase to be read.
    pub fn pem_is_encrypted(text: &[u8]) -> Result<bool> {
        let block = crate::pem_file::single_key_block(text)?;
        Ok(block_is_encrypted(&block))
    }

    fn from_pem_block(block: &pem::Pem, passphrase: Option<&Passphrase>) -> Result<Self> {
        let need = || passphrase.ok_or(PkiError::PassphraseNeeded);
        let der: Zeroizing<Vec<u8>>;
        let key = match block.tag() {
            "PRIVATE KEY" => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(block.contents())),
            "ENCRYPTED PRIVATE KEY" => {
                der = decrypt_pkcs8(block.contents(), need()?)?;
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.as_slice()))
            }
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                let body: &[u8] = if legacy_pem::is_encrypted(block) {
                    der = legacy_pem::decrypt(block, need()?)?;
                    &der
                } else {
                    block.contents()
                };
                if block.tag() == "RSA PRIVATE KEY" {
                    PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(body))
                } else {
                    PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(body))
                }
            }
            other => return Err(crate::pem_file::wrong_type(other, "a private key")),
        };
        let encrypted = passphrase.is_some() && block_is_encrypted(block);
        let format = match key {
            PrivateKeyDer::Pkcs1(_) => KeyFormat::Pkcs1,
            PrivateKeyDer::Sec1(_) => KeyFormat::Sec1,
            _ => KeyFormat::Pkcs8,
        };
        let key_pair = KeyPair::try_from(&key).map_err(|_| {
            if encrypted {
                // The padding happened to check out, but the DER inside is
                // garbage: still a wrong passphrase.
                PkiError::WrongPassphrase
            } else {
                PkiError::invalid(
                    format!("the {} block is not a key squirrel can use", block.tag()),
                    "squirrel reads RSA, ECDSA P-256/P-384 and Ed25519 keys",
                )
            }
        })?;
        let info = info_of(&key_pair)?;
        let pkcs8 = pkcs8_of(format, key_pair.serialized_der(), &info);
        Ok(PrivateKey {
            info,
            key_pair,
            pkcs8,
            format,
        })
    }

    /// Writes the key as PEM: `PRIVATE KEY` or `ENCRYPTED PRIVATE KEY`.
    pub fn to_pem(&self, protection: &KeyProtection) -> Result<Zeroizing<String>> {
        let der = self.pkcs8.as_ref().ok_or_else(|| {
            PkiError::invalid(
                "this key cannot be converted to PKCS#8 to be written out",
                "convert it with `openssl pkcs8 -topk8 -in KEY -out KEY8.pem` and give that file",
            )
        })?;
        match protection {
            KeyProtection::Unencrypted => Ok(Zeroizing::new(pem::encode_config(
                &pem::Pem::new("PRIVATE KEY", der.to_vec()),
                pem_config(),
            ))),
            KeyProtection::Encrypted { passphrase, kdf } => {
                let encrypted = encrypt_pkcs8(der, passphrase, *kdf)?;
                Ok(Zeroizing::new(pem::encode_config(
                    &pem::Pem::new("ENCRYPTED PRIVATE KEY", encrypted),
                    pem_config(),
                )))
            }
        }
    }

    /// The key as rustls takes it, for a TLS server or client.
    pub fn to_rustls(&self) -> PrivateKeyDer<'static> {
        let der = self.key_pair.serialized_der().to_vec();
        match self.format {
            KeyFormat::Pkcs8 => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
            KeyFormat::Pkcs1 => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
            KeyFormat::Sec1 => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
        }
    }

    /// The key pair, for signing with rcgen.
    pub fn key_pair(&self) -> &KeyPair {
        &self.key_pair
    }

    /// The DER SubjectPublicKeyInfo of the public half.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.key_pair.subject_public_key_info()
    }

    /// True for RSA keys (which also get keyEncipherment in a leaf).
    pub fn is_rsa(&self) -> bool {
        self.info.kind == KeyKind::Rsa
    }

    /// Type, size and fingerprint of the public half.
    pub fn info(&self) -> KeyInfo {
        self.info.clone()
    }
}

/// The PKCS#8 form of a key read from a file, to write it out again
/// (`squirrel pki ca init --key` copies a key into the CA directory):
/// PKCS#1 and SEC1 keys are converted; `None` when that fails.
fn pkcs8_of(format: KeyFormat, der: &[u8], info: &KeyInfo) -> Option<Zeroizing<Vec<u8>>> {
    let converted = match format {
        KeyFormat::Pkcs8 => return Some(Zeroizing::new(der.to_vec())),
        KeyFormat::Pkcs1 => sig::RsaKeyPair::from_der(der)
            .ok()?
            .as_der()
            .ok()?
            .as_ref()
            .to_vec(),
        KeyFormat::Sec1 => {
            let alg = match info.bits {
                256 => &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
                384 => &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
                _ => return None,
            };
            sig::EcdsaKeyPair::from_private_key_der(alg, der)
                .ok()?
                .to_pkcs8v1()
                .ok()?
                .as_ref()
                .to_vec()
        }
    };
    Some(Zeroizing::new(converted))
}

/// What may be said of a key pair's public half; an error, never a panic,
/// when x509-parser cannot read what rcgen made of the key.
fn info_of(key_pair: &KeyPair) -> Result<KeyInfo> {
    crate::describe::public_key_info(&key_pair.subject_public_key_info())
}

fn pem_config() -> pem::EncodeConfig {
    pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF)
}

fn encrypt_pkcs8(der: &[u8], passphrase: &Passphrase, kdf: Kdf) -> Result<Vec<u8>> {
    use pkcs8::pkcs5::pbes2;
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    let rng_fail = |_| PkiError::Crypto("the system random generator failed".into());
    rng.fill(&mut salt).map_err(rng_fail)?;
    rng.fill(&mut iv).map_err(rng_fail)?;
    let params = match kdf {
        Kdf::Scrypt => {
            let scrypt = pkcs8::pkcs5::scrypt::Params::new(14, 8, 1)
                .map_err(|e| PkiError::Crypto(format!("scrypt parameters: {e}")))?;
            pbes2::Parameters::generate_scrypt_aes256cbc(scrypt, &salt, iv)
        }
        Kdf::Pbkdf2 => pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(600_000, &salt, iv),
    }
    .map_err(|e| PkiError::Crypto(format!("PBES2 parameters: {e}")))?;
    let info = pkcs8::PrivateKeyInfoRef::try_from(der)
        .map_err(|e| PkiError::Crypto(format!("PKCS#8: {e}")))?;
    let doc = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| PkiError::Crypto(format!("PKCS#8 encryption: {e}")))?;
    Ok(doc.as_bytes().to_vec())
}

fn decrypt_pkcs8(der: &[u8], passphrase: &Passphrase) -> Result<Zeroizing<Vec<u8>>> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der).map_err(|e| {
        PkiError::invalid(
            format!("the ENCRYPTED PRIVATE KEY block is malformed ({e})"),
            "the file is damaged or truncated; export the key again",
        )
    })?;
    match info.decrypt(passphrase.as_bytes()) {
        Ok(doc) => Ok(Zeroizing::new(doc.as_bytes().to_vec())),
        Err(pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::DecryptFailed)) => {
            Err(PkiError::WrongPassphrase)
        }
        Err(pkcs8::Error::EncryptedPrivateKey(e)) => Err(PkiError::invalid(
            format!("the key's encryption is not supported ({e})"),
            "re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`",
        )),
        Err(_) => Err(PkiError::WrongPassphrase),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip() {
        for alg in KeyAlgorithm::ALL {
            assert_eq!(alg.name().parse::<KeyAlgorithm>().unwrap(), alg);
        }
        let err = "dsa1024".parse::<KeyAlgorithm>().unwrap_err().to_string();
        assert!(err.contains("unknown key algorithm \"dsa1024\""), "{err}");
        assert!(err.contains("ecdsa-p256"), "{err}");
    }

    #[test]
    fn every_algorithm_round_trips_encrypted_and_plain() {
        let pass = Passphrase::new("correct horse").unwrap();
        for alg in KeyAlgorithm::ALL {
            let key = PrivateKey::generate(alg).unwrap();
            let plain = key.to_pem(&KeyProtection::Unencrypted).unwrap();
            let back = PrivateKey::from_pem(plain.as_bytes(), None).unwrap();
            assert_eq!(back.public_key_der(), key.public_key_der(), "{alg}");
            if alg == KeyAlgorithm::EcdsaP256 || alg == KeyAlgorithm::Ed25519 {
                let enc = key
                    .to_pem(&KeyProtection::Encrypted {
                        passphrase: pass.clone(),
                        kdf: Kdf::Scrypt,
                    })
                    .unwrap();
                assert!(enc.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
                let back = PrivateKey::from_pem(enc.as_bytes(), Some(&pass)).unwrap();
                assert_eq!(back.public_key_der(), key.public_key_der());
                let wrong = Passphrase::new("wrong").unwrap();
                let err = PrivateKey::from_pem(enc.as_bytes(), Some(&wrong)).unwrap_err();
                assert!(matches!(err, PkiError::WrongPassphrase), "{err}");
                let err = PrivateKey::from_pem(enc.as_bytes(), None).unwrap_err();
                assert!(matches!(err, PkiError::PassphraseNeeded), "{err}");
            }
        }
    }

    #[test]
    fn key_kinds_serialize_as_before() {
        let json = |k: KeyKind| serde_json::to_string(&k).unwrap();
        assert_eq!(json(KeyKind::Rsa), "\"RSA\"");
        assert_eq!(json(KeyKind::Ecdsa), "\"ECDSA\"");
        assert_eq!(json(KeyKind::Ed25519), "\"Ed25519\"");
        assert_eq!(json(KeyKind::Unknown), "\"unknown\"");
        for k in [
            KeyKind::Rsa,
            KeyKind::Ecdsa,
            KeyKind::Ed25519,
            KeyKind::Unknown,
        ] {
            assert_eq!(json(k), format!("\"{k}\""));
        }
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert_eq!(key.info().kind, KeyKind::Ecdsa);
        assert!(!key.is_rsa());
    }

    #[test]
    fn ed25519_is_written_as_pkcs8_v1() {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let der = key.pkcs8.as_ref().unwrap();
        // SEQUENCE (46 bytes) { INTEGER 0, ... }: version 0 is v1.
        assert_eq!(&der[..5], &[0x30, 0x2e, 0x02, 0x01, 0x00]);
    }
}
