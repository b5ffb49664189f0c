//! The ciphers of the Secret Squirrels story, tutorial steps 4 to 8.
//!
//! - [`caesar`]: the substitution cipher the club starts with (step 4) and
//!   the frequency analysis that breaks it (step 5);
//! - [`fernet`]: the real symmetric cipher of steps 6 and 7, to the letter of
//!   the Fernet spec and interoperable with Python's `cryptography.fernet`;
//! - [`dh`]: the key-sharing problem of step 8 and Diffie-Hellman's answer,
//!   with toy numbers and with X25519.
//!
//! The server and client use [`fernet`]; the `squirrel` binary exposes all
//! three as `squirrel caesar`, `squirrel fernet` and `squirrel dh`.

#![forbid(unsafe_code)]

pub mod b64;
pub mod caesar;
pub mod dh;
pub mod fernet;
mod pipeline;

pub use fernet::{Fernet, FernetError, Key};
