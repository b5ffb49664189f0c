//! Which CA a command uses: a squirrel CA directory, or any CA's files.
//! Signing commands (`sign`, `issue`, `revoke`, `crl`) need the CA's key;
//! `list` and `install` need only its certificate, as a member has it.

use crate::cli::passphrase::PassArgs;
use anyhow::{bail, Result};
use clap::Args;
use squirrel_pki::ca::default_ca_dir;
use squirrel_pki::{CaFiles, CertificateAuthority};
use std::path::{Path, PathBuf};

/// Which CA signs: a squirrel CA directory, or any CA's two files.
#[derive(Args, Debug, Clone, Default)]
pub struct CaArgs {
    /// The CA directory (default: $SQUIRREL_HOME, else the XDG data dir).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["ca_cert", "ca_key"])]
    pub ca_dir: Option<PathBuf>,
    /// Any CA's certificate (e.g. the tutorial's ca-public-key.pem); needs --ca-key.
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// That CA's private key (e.g. ca-private-key.pem); needs --ca-cert.
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
}

impl CaArgs {
    pub fn files(&self) -> Result<CaFiles> {
        let files = match (&self.ca_cert, &self.ca_key, &self.ca_dir) {
            (Some(cert), Some(key), _) => CaFiles::explicit(cert, key),
            (_, _, Some(dir)) => CaFiles::in_dir(dir),
            _ => CaFiles::in_dir(&default_ca_dir()?),
        };
        ensure_certificate(&files, self.ca_cert.is_some(), self.ca_key.as_deref(), true)?;
        Ok(files)
    }

    /// Opens the CA, unlocking its key with `pass`.
    pub fn open(&self, pass: &PassArgs) -> Result<CertificateAuthority> {
        let files = self.files()?;
        let key = pass.read_key(&files.key, "CA key")?;
        let ca = CertificateAuthority::open_with_key(&files, key)?;
        for warning in &ca.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(ca)
    }

    /// The flags that name this CA, as the user gave them, for a command
    /// printed as advice (empty for the default CA).
    pub fn flags(&self) -> String {
        match (&self.ca_cert, &self.ca_key, &self.ca_dir) {
            (Some(cert), Some(key), _) => {
                format!(
                    " --ca-cert {} --ca-key {}",
                    shell_word(cert),
                    shell_word(key)
                )
            }
            (_, _, Some(dir)) => format!(" --ca-dir {}", shell_word(dir)),
            _ => String::new(),
        }
    }
}

/// Which CA, when only its certificate is read (`list`, `install`): the
/// CA's private key is not needed, so a member with only `ca.pem` can
/// trust it.
#[derive(Args, Debug, Clone, Default)]
pub struct CaCertArgs {
    /// The CA directory (default: $SQUIRREL_HOME, else the XDG data dir).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["ca_cert", "ca_key"])]
    pub ca_dir: Option<PathBuf>,
    /// The CA's certificate alone (e.g. the ca.pem members have); no key is needed.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Not needed (only the certificate is read); accepted as `pki sign` takes it.
    #[arg(long, value_name = "FILE", requires = "ca_cert", hide = true)]
    pub ca_key: Option<PathBuf>,
}

impl CaCertArgs {
    /// The CA's files; only the certificate (and, for `list`, the ledger
    /// beside it) is read.
    pub fn files(&self) -> Result<CaFiles> {
        let files = match (&self.ca_cert, &self.ca_dir) {
            (Some(cert), _) => {
                let dir = cert.parent().filter(|p| !p.as_os_str().is_empty());
                let key = self
                    .ca_key
                    .clone()
                    .unwrap_or_else(|| CaFiles::in_dir(dir.unwrap_or(Path::new("."))).key);
                CaFiles::explicit(cert, &key)
            }
            (None, Some(dir)) => CaFiles::in_dir(dir),
            (None, None) => CaFiles::in_dir(&default_ca_dir()?),
        };
        ensure_certificate(&files, self.ca_cert.is_some(), None, false)?;
        Ok(files)
    }
}

/// Refuses, with the fix, when the CA certificate is not there.
/// `explicit`: it was named by --ca-cert; `key`: the --ca-key given;
/// `signing`: the command also needs the CA's key.
fn ensure_certificate(
    files: &CaFiles,
    explicit: bool,
    key: Option<&Path>,
    signing: bool,
) -> Result<()> {
    let missing = matches!(std::fs::metadata(&files.cert), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    if !missing {
        return Ok(());
    }
    if explicit {
        let make = match key {
            Some(key) => format!(
                "; to make a CA of the key {}, run `squirrel pki ca init --key {} --dir DIR` and \
                 then use --ca-dir DIR",
                key.display(),
                shell_word(key)
            ),
            None => String::new(),
        };
        bail!(
            "--ca-cert {}: no such file; check the path of the CA's certificate (e.g. ca.pem or \
             ca-public-key.pem), or give the CA's directory with --ca-dir DIR{make}",
            files.cert.display()
        );
    }
    let dir = files
        .cert
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let others = if signing {
        "--ca-dir DIR or --ca-cert FILE --ca-key FILE"
    } else {
        "--ca-dir DIR or --ca-cert FILE"
    };
    bail!(
        "no CA certificate at {}: create a CA first with `squirrel pki ca init --dir {}`, or \
         point to one with {others}",
        files.cert.display(),
        shell_word(dir)
    );
}

/// A path as one shell word: as is when it is plain, else single-quoted.
pub fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./+:@%=,-".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The CA that signs (or revokes), and the passphrase of its key.
#[derive(Args, Debug, Clone, Default)]
pub struct SigningCaArgs {
    #[command(flatten)]
    pub ca: CaArgs,
    /// Passphrase of the CA key.
    #[command(flatten)]
    pub pass: PassArgs,
}

impl SigningCaArgs {
    /// Opens the CA, unlocking its key.
    pub fn open(&self) -> Result<CertificateAuthority> {
        self.ca.open(&self.pass)
    }

    /// The flags naming this CA and its key's passphrase source, for a
    /// command printed as advice (e.g. ` --ca-dir club --pass-file pw`).
    pub fn flags(&self) -> String {
        format!("{}{}", self.ca.flags(), self.pass.flags())
    }
}
