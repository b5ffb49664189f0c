//! `squirrel fernet`: the symmetric cipher of tutorial steps 6 and 7 on the
//! command line, interoperable with Python's `cryptography.fernet`.
//! Arguments and I/O here; the cipher lives in `squirrel_cipher::fernet`.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use squirrel_cipher::fernet::{self, Fernet, Key, TtlCheck};
use squirrel_pki::files::{self, PRIVATE_MODE};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum FernetCommand {
    /// Print a new random key: 32 bytes in URL-safe base64, like Python's `Fernet.generate_key()`.
    Genkey(GenkeyArgs),
    /// Encrypt a message given as arguments, stdin or --in FILE into a Fernet token.
    Encrypt(EncryptArgs),
    /// Decrypt a Fernet token read from stdin (or --in FILE).
    Decrypt(DecryptArgs),
    /// Re-encrypt tokens (one per line) under the first key, keeping their timestamps.
    Rotate(RotateArgs),
    /// Show what anyone, the spy included, reads in a token without the key.
    Inspect(InspectArgs),
}

#[derive(Args)]
pub struct GenkeyArgs {
    /// Write the key to FILE (mode 0600) instead of stdout.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists (its old key is lost).
    #[arg(long)]
    pub force: bool,
}

/// Where the keys come from. Without --key or --key-file, the environment
/// variable SECRET_KEY is used, as by the tutorial's server and client.
#[derive(Args)]
pub struct KeyArgs {
    /// A Fernet key (URL-safe base64). Repeat it to rotate keys: the first encrypts, all are
    /// tried to decrypt. Prefer --key-file or SECRET_KEY: arguments are visible to other users.
    #[arg(long = "key", value_name = "KEY", allow_hyphen_values = true)]
    pub keys: Vec<String>,
    /// Read keys from FILE, one per line (repeatable); they come after the --key keys.
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_files: Vec<PathBuf>,
    /// Read the keys from environment variable VAR (comma-separated; default SECRET_KEY).
    #[arg(long = "key-env", value_name = "VAR")]
    pub key_env: Option<String>,
}

#[derive(Args)]
pub struct IoArgs {
    /// Read from FILE instead of stdin.
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Write to FILE (mode 0600) instead of stdout.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace --out FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args)]
pub struct EncryptArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub io: IoArgs,
    /// Stamp the token with this Unix time instead of now (to reproduce the spec's vectors).
    #[arg(long, value_name = "UNIX_SECONDS", hide = true)]
    pub now: Option<u64>,
    /// Use this IV (32 hex digits) instead of a random one: never reuse an IV with a real key.
    #[arg(long, value_name = "HEX", hide = true)]
    pub iv: Option<String>,
    /// The message, as `caesar encrypt` takes it (several words are joined by spaces); stdin
    /// or --in FILE when absent.
    #[arg(value_name = "TEXT", conflicts_with = "input")]
    pub text: Vec<String>,
}

#[derive(Args)]
pub struct DecryptArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub io: IoArgs,
    /// Refuse tokens older than SECONDS, and tokens dated more than 60 s in the future.
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u64>,
    /// Check the age as of this Unix time instead of now.
    #[arg(long, value_name = "UNIX_SECONDS", requires = "ttl")]
    pub now: Option<u64>,
}

#[derive(Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub io: IoArgs,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Read the token from FILE instead of stdin.
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: FernetCommand) -> Result<ExitCode> {
    match command {
        FernetCommand::Genkey(args) => genkey(args),
        FernetCommand::Encrypt(args) => encrypt(args),
        FernetCommand::Decrypt(args) => decrypt(args),
        FernetCommand::Rotate(args) => rotate(args),
        FernetCommand::Inspect(args) => inspect(args),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn genkey(args: GenkeyArgs) -> Result<()> {
    let key = fernet::generate_key()?;
    match &args.output {
        None => println!("{key}"),
        Some(path) => write_output(Some(path), format!("{key}\n").as_bytes(), args.force, "key")?,
    }
    Ok(())
}

fn encrypt(args: EncryptArgs) -> Result<()> {
    let fernet = load_keys(&args.keys)?;
    let plaintext = match args.text.is_empty() {
        true => read_input(args.io.input.as_deref())?,
        false => args.text.join(" ").into_bytes(),
    };
    let token = match (&args.iv, args.now) {
        (None, None) => fernet.encrypt(&plaintext)?,
        (iv, now) => {
            let iv = match iv {
                Some(hex) => parse_iv(hex)?,
                None => fernet::random_iv()?,
            };
            fernet.encrypt_at(&plaintext, now.unwrap_or_else(fernet::unix_now), iv)?
        }
    };
    write_output(
        args.io.output.as_deref(),
        format!("{token}\n").as_bytes(),
        args.io.force,
        "contents",
    )
}

fn decrypt(args: DecryptArgs) -> Result<()> {
    let fernet = load_keys(&args.keys)?;
    let input = read_input(args.io.input.as_deref())?;
    let token = single_token(&input, args.io.input.as_deref())?;
    let check = args.ttl.map(|ttl| TtlCheck {
        ttl,
        now: args.now.unwrap_or_else(fernet::unix_now),
    });
    let opened = fernet.decrypt(token, check).map_err(|err| {
        anyhow!(
            "cannot decrypt the token from {}: {err}",
            source_name(args.io.input.as_deref())
        )
    })?;
    write_output(
        args.io.output.as_deref(),
        &opened.plaintext,
        args.io.force,
        "contents",
    )
}

fn rotate(args: RotateArgs) -> Result<()> {
    let fernet = load_keys(&args.keys)?;
    let input = read_input(args.io.input.as_deref())?;
    let mut out = Vec::with_capacity(input.len());
    for (number, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let token = fernet.rotate(line).map_err(|err| {
            anyhow!(
                "cannot rotate the token on line {} of {}: {err}; nothing was written",
                number + 1,
                source_name(args.io.input.as_deref())
            )
        })?;
        out.extend_from_slice(token.as_bytes());
        out.push(b'\n');
    }
    write_output(args.io.output.as_deref(), &out, args.io.force, "contents")
}

fn inspect(args: InspectArgs) -> Result<()> {
    let input = read_input(args.input.as_deref())?;
    let token = single_token(&input, args.input.as_deref())?;
    let info = fernet::inspect(token).map_err(|err| {
        anyhow!(
            "cannot read the token from {}: {err}",
            source_name(args.input.as_deref())
        )
    })?;
    if args.json {
        let json = serde_json::json!({
            "version": info.version,
            "timestamp": info.timestamp,
            "iv": hex::encode(info.iv),
            "ciphertext_len": info.ciphertext_len,
            "hmac": hex::encode(info.hmac),
        });
        println!("{json:#}");
    } else {
        println!("version:     0x{:02x}", info.version);
        println!("timestamp:   {} (Unix time, in clear)", info.timestamp);
        println!("IV:          {}", hex::encode(info.iv));
        println!(
            "ciphertext:  {} bytes (the message, padded to 16-byte blocks: unreadable without the key)",
            info.ciphertext_len
        );
        println!("HMAC-SHA256: {}", hex::encode(info.hmac));
    }
    Ok(())
}

/// The keys from --key, then --key-file, or else SECRET_KEY.
fn load_keys(args: &KeyArgs) -> Result<Fernet> {
    let mut keys = Vec::new();
    for (i, text) in args.keys.iter().enumerate() {
        keys.push(Key::from_base64(text).map_err(|err| {
            if Path::new(text).is_file() {
                anyhow!(
                    "--key {text}: that is a file, not a key; give a key file with --key-file \
                     {text}"
                )
            } else {
                anyhow!("--key #{}: {err}", i + 1)
            }
        })?);
    }
    for path in &args.key_files {
        let bytes = read_flag_file(path, MAX_KEY_FILE, "--key-file")?;
        let text = String::from_utf8(bytes).map_err(|_| {
            anyhow!(
                "--key-file {} is not text: write one key per line, as printed by `squirrel \
                 fernet genkey`",
                path.display()
            )
        })?;
        let before = keys.len();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(Key::from_base64(line).map_err(|err| {
                anyhow!("--key-file {} line {}: {err}", path.display(), number + 1)
            })?);
        }
        if keys.len() == before {
            bail!(
                "--key-file {} holds no key: write one key per line, as printed by \
                 `squirrel fernet genkey`",
                path.display()
            );
        }
    }
    if let Some(var) = &args.key_env {
        if !keys.is_empty() {
            bail!("--key-env cannot be combined with --key or --key-file: choose one source");
        }
        return keys_from_env_flag(var, "--key-env");
    }
    if keys.is_empty() {
        return keys_from_env("SECRET_KEY")?.ok_or_else(|| {
            anyhow!(
                "no key: give --key KEY, --key-file FILE or --key-env VAR, or set SECRET_KEY; \
                 make a key with `squirrel fernet genkey`"
            )
        });
    }
    Ok(Fernet::with_keys(keys)?)
}

/// The keys in the environment variable `var`, `None` when it is not set:
/// one key, or several separated by commas or spaces, the new key first (as
/// when rotating: the first encrypts, every one decrypts). The one reader
/// of keys from the environment, for `fernet`, `serve` and `get`.
pub(crate) fn keys_from_env(var: &str) -> Result<Option<Fernet>> {
    let Ok(text) = std::env::var(var) else {
        return Ok(None);
    };
    let keys = fernet::parse_keys(&text).map_err(|err| anyhow!("{var}: {err}"))?;
    Ok(Some(Fernet::with_keys(keys)?))
}

/// A name an environment variable can have: letters, digits, '_', not
/// starting with a digit. `get --fernet-key-env https://...` is told from
/// `--fernet-key-env VAR` by it.
pub(crate) fn is_env_var_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The keys named by a flag such as `--fernet-key-env VAR`, which must be set.
pub(crate) fn keys_from_env_flag(var: &str, flag: &str) -> Result<Fernet> {
    keys_from_env(var)
        .with_context(|| {
            format!(
                "{flag} {var}: the variable does not hold a Fernet key (32 bytes, URL-safe \
                 base64; several keys separated by commas when rotating); make one with \
                 `squirrel fernet genkey`"
            )
        })?
        .ok_or_else(|| {
            anyhow!(
                "{flag} {var}: the environment variable {var} is not set; make a key with \
                 `squirrel fernet genkey` and export {var}=..."
            )
        })
}

fn parse_iv(text: &str) -> Result<[u8; fernet::IV_LEN]> {
    let mut bytes = [0u8; fernet::IV_LEN];
    hex::decode_to_slice(text, &mut bytes)
        .map_err(|_| anyhow!("--iv {text:?}: an IV is 16 bytes written as 32 hex digits"))?;
    Ok(bytes)
}

/// The one token of the input, without surrounding whitespace.
fn single_token<'a>(input: &'a [u8], path: Option<&Path>) -> Result<&'a [u8]> {
    let token = input.trim_ascii();
    if token.iter().any(u8::is_ascii_whitespace) {
        bail!(
            "{} holds more than one word: decrypt takes a single token (to re-encrypt many \
             tokens, one per line, use `squirrel fernet rotate`)",
            source_name(path)
        );
    }
    Ok(token)
}

fn source_name(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!("--in {}", path.display()),
        None => "stdin".to_string(),
    }
}

/// A key file holds keys, one a line: 64 KiB is a thousand of them.
const MAX_KEY_FILE: u64 = 64 << 10;
/// The largest message or token read: a Fernet token is held whole in
/// memory (by Python's `cryptography` too); larger data wants streaming.
const MAX_INPUT: u64 = 256 << 20;

/// Reads the file given to `flag`, refusing more than `limit` bytes.
fn read_flag_file(path: &Path, limit: u64, flag: &str) -> Result<Vec<u8>> {
    files::read_at_most(path, limit).map_err(|e| match e {
        squirrel_pki::PkiError::Read { error, .. } => {
            anyhow::Error::new(error).context(format!("cannot read {flag} {}", path.display()))
        }
        too_large => anyhow!("{flag}: {too_large}"),
    })
}

/// Reads `--in FILE` or stdin, refusing more than [`MAX_INPUT`] bytes.
pub(crate) fn read_input(path: Option<&Path>) -> Result<Vec<u8>> {
    match path {
        Some(path) => read_flag_file(path, MAX_INPUT, "--in"),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .take(MAX_INPUT + 1)
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            if buf.len() as u64 > MAX_INPUT {
                bail!(
                    "stdin is larger than {}: fernet holds a message whole in memory; split \
                     the data, or encrypt it with a streaming tool",
                    files::human_size(MAX_INPUT)
                );
            }
            Ok(buf)
        }
    }
}

/// Writes to `--out FILE` (atomically, mode 0600 whatever the umask: a
/// plaintext or a token may be the secret, never over an existing file
/// without `--force`), or else to stdout.
/// `holds` names what a file there would hold, for the refusal.
pub(crate) fn write_output(
    path: Option<&Path>,
    bytes: &[u8],
    force: bool,
    holds: &str,
) -> Result<()> {
    match path {
        Some(path) => files::write_atomic(path, bytes, PRIVATE_MODE, force).map_err(|e| match e {
            squirrel_pki::PkiError::Exists { .. } => anyhow!(
                "--out {} already exists: keep its {holds}, or give --force to replace it",
                path.display()
            ),
            other => anyhow!("--out {}: {other}", path.display()),
        }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .context("cannot write to stdout")
        }
    }
}
