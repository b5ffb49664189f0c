//! `squirrel-pki`: the private certificate authority of the Secret
//! Squirrels (tutorial steps 9 to 12), usable as a library.
//!
//! - [`key`]: generate, encrypt and read private keys in every common format;
//! - [`ca`]: create and open a CA directory;
//! - [`csr`]: build and read certificate signing requests;
//! - [`sign`]: turn requests into certificates under the CA's policy;
//! - [`ledger`]: the SQLite record of every certificate issued;
//! - [`revoke`]: revocation and CRLs;
//! - [`describe`]: tutorial step 9's sentence and the details;
//! - [`inspect`]: what each block of a PEM file is, described;
//! - [`verify`]: chain verification with the engine of squirrel's TLS client.

#![forbid(unsafe_code)]

pub mod ca;
pub mod csr;
pub mod describe;
pub mod error;
pub mod files;
pub mod inspect;
pub mod issue;
pub mod key;
pub mod ledger;
mod legacy_pem;
pub mod names;
pub mod passphrase;
pub mod pem_file;
pub mod renew;
pub mod revoke;
pub mod sign;
pub mod strict;
pub mod truststore;
pub mod verify;

pub use ca::{CaFiles, CaOptions, CertificateAuthority};
pub use error::{PkiError, Result};
pub use key::{Kdf, KeyAlgorithm, KeyProtection, PrivateKey};
pub use names::{AltName, Subject};
pub use passphrase::Passphrase;
pub use sign::{Profile, SignOptions};
