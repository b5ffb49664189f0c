//! Where passphrases come from, as openssl users expect: `--pass-file`,
//! `--pass-env`, or a prompt when a terminal is attached. `--no-pass` writes
//! an unencrypted key, and only when asked for explicitly.

use anyhow::{bail, Context, Result};
use clap::Args;
use squirrel_pki::{Kdf, KeyProtection, Passphrase, PrivateKey};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Passphrase flags for a command that reads or writes an encrypted key.
///
/// `--key-pass-file` and `--key-pass-env` are aliases, as `serve` spells
/// them. A command with key flags of its own (`pki issue`, whose
/// `--key-pass-*` encrypt the new key) takes them away with
/// [`PassArgs::without_key_aliases`].
#[derive(Args, Debug, Clone, Default)]
pub struct PassArgs {
    /// Read the key's passphrase from the first line of FILE.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "pass_env",
        visible_alias = "key-pass-file"
    )]
    pub pass_file: Option<PathBuf>,
    /// Read the key's passphrase from environment variable VAR.
    #[arg(long, value_name = "VAR", visible_alias = "key-pass-env")]
    pub pass_env: Option<String>,
    /// The key is (or is to be written) unencrypted: never prompt.
    #[arg(long, conflicts_with_all = ["pass_file", "pass_env"])]
    pub no_pass: bool,
}

/// How a new key file is protected; the encryption choice.
#[derive(Args, Debug, Clone, Default)]
pub struct KdfArgs {
    /// Key derivation for the encrypted key: scrypt (default) or pbkdf2.
    #[arg(long, value_name = "KDF", default_value = "scrypt", value_parser = parse_kdf)]
    pub kdf: Kdf,
}

fn parse_kdf(s: &str) -> Result<Kdf, String> {
    s.parse().map_err(|e: squirrel_pki::PkiError| e.to_string())
}

impl PassArgs {
    /// Takes the `--key-pass-*` aliases away from a command that has flags
    /// of that name itself: `#[command(mut_args(PassArgs::without_key_aliases))]`.
    pub fn without_key_aliases(arg: clap::Arg) -> clap::Arg {
        match arg.get_id().as_str() {
            "pass_file" | "pass_env" => arg.visible_alias(None),
            _ => arg,
        }
    }

    /// These flags as the user gave them, for a command printed as advice
    /// (e.g. ` --pass-file pw`; empty when none was given).
    pub fn flags(&self) -> String {
        let word = |p: &Path| crate::cli::pki::shell_word(p);
        match (&self.pass_file, &self.pass_env, self.no_pass) {
            (Some(file), _, _) => format!(" --pass-file {}", word(file)),
            (_, Some(var), _) => format!(" --pass-env {}", word(Path::new(var))),
            (_, _, true) => " --no-pass".to_string(),
            _ => String::new(),
        }
    }

    /// The passphrase given by file or environment, if any.
    pub fn given(&self) -> Result<Option<Passphrase>> {
        if let Some(file) = &self.pass_file {
            return Ok(Some(
                Passphrase::from_file(file).context("--pass-file could not be used")?,
            ));
        }
        if let Some(var) = &self.pass_env {
            return Ok(Some(
                Passphrase::from_env(var).context("--pass-env could not be used")?,
            ));
        }
        Ok(None)
    }

    /// The protection for a key about to be written: a passphrase from
    /// file, environment or a prompt asked twice; or none with `--no-pass`.
    /// Without a terminal and without a source: an error, never a silent
    /// plain key.
    pub fn protection_for_new_key(&self, kdf: Kdf, what: &str) -> Result<KeyProtection> {
        if self.no_pass {
            return Ok(KeyProtection::Unencrypted);
        }
        let passphrase = match self.given()? {
            Some(p) => p,
            None => prompt_new(what)?,
        };
        Ok(KeyProtection::Encrypted { passphrase, kdf })
    }

    /// Reads the key at `path`, asking for its passphrase only when it is
    /// encrypted.
    pub fn read_key(&self, path: &Path, what: &str) -> Result<PrivateKey> {
        Ok(self.read_key_and_passphrase(path, what)?.0)
    }

    /// Like [`PassArgs::read_key`], also returning the passphrase that
    /// unlocked the key (`None` for a plain key), to write it again under
    /// the same passphrase.
    pub fn read_key_and_passphrase(
        &self,
        path: &Path,
        what: &str,
    ) -> Result<(PrivateKey, Option<Passphrase>)> {
        let text = squirrel_pki::files::read(path)?;
        let encrypted = PrivateKey::pem_is_encrypted(&text).map_err(|e| e.in_file(path))?;
        let passphrase = if encrypted {
            match self.given()? {
                Some(p) => Some(p),
                None if self.no_pass => bail!(
                    "{}: the key is encrypted but --no-pass was given; give its passphrase with \
                     --pass-file or --pass-env",
                    path.display()
                ),
                None => Some(prompt_existing(what, path)?),
            }
        } else {
            None
        };
        let key = PrivateKey::from_pem(&text, passphrase.as_ref()).map_err(|e| e.in_file(path))?;
        Ok((key, passphrase))
    }
}

impl PassArgs {
    /// The passphrase of an existing key, asked for only when the key is
    /// encrypted; kept by a server that must decrypt the key again on reload.
    pub fn passphrase_for(&self, path: &Path, what: &str) -> Result<Option<Passphrase>> {
        let text = squirrel_pki::files::read(path)?;
        if !PrivateKey::pem_is_encrypted(&text).map_err(|e| e.in_file(path))? {
            return Ok(None);
        }
        match self.given()? {
            Some(p) => Ok(Some(p)),
            None => Ok(Some(prompt_existing(what, path)?)),
        }
    }
}

fn terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// How many times a new passphrase is asked for when its confirmation
/// differs.
const NEW_PASSPHRASE_TRIES: u32 = 3;

fn prompt_new(what: &str) -> Result<Passphrase> {
    if !terminal() {
        bail!(
            "no passphrase for the new {what}: there is no terminal to ask on. Give one with \
             --pass-file FILE or --pass-env VAR, or pass --no-pass to write the key unencrypted"
        );
    }
    let read = |prompt: String| {
        rpassword::prompt_password(prompt)
            .map(zeroize::Zeroizing::new)
            .context("could not read the passphrase from the terminal")
    };
    for attempt in 1..=NEW_PASSPHRASE_TRIES {
        let first = read(format!("Passphrase for the new {what}: "))?;
        let again = read("Type it again: ".to_string())?;
        if *first == *again {
            return Ok(Passphrase::new(first.as_str())?);
        }
        if attempt < NEW_PASSPHRASE_TRIES {
            eprintln!("The two passphrases differ; try again.");
        }
    }
    bail!(
        "the two passphrases differed {NEW_PASSPHRASE_TRIES} times; nothing was written. Run the \
         command again, or give the passphrase with --pass-file FILE or --pass-env VAR"
    )
}

fn prompt_existing(what: &str, path: &Path) -> Result<Passphrase> {
    if !terminal() {
        bail!(
            "{}: the {what} is encrypted and there is no terminal to ask for its passphrase; \
             give it with --pass-file FILE or --pass-env VAR",
            path.display()
        );
    }
    let text = rpassword::prompt_password(format!("Passphrase for {} ({what}): ", path.display()))
        .context("could not read the passphrase from the terminal")?;
    Ok(Passphrase::new(text)?)
}
