//! `squirrel serve --config FILE`: the flags of `serve` in a TOML file, one
//! key per long flag (`listen = "127.0.0.1:5683"`, `message-file = "..."`).
//! Precedence, highest first: the command line, the environment
//! (`SECRET_MESSAGE`, `SSLKEYLOGFILE`), the file, the defaults. Relative
//! paths in the file are relative to the file's folder.

use super::serve::ServeArgs;
use anyhow::{anyhow, Result};
use serde::Deserialize;
use squirrel_http::{Limits, MessageSource, DEFAULT_MESSAGE};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest configuration file read.
const MAX_CONFIG: u64 = 1 << 20;

/// The keys of the file: the long flags of `squirrel serve`.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    listen: Option<String>,
    port: Option<u16>,
    message: Option<String>,
    message_file: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    #[serde(alias = "pass-file")]
    key_pass_file: Option<PathBuf>,
    #[serde(alias = "pass-env")]
    key_pass_env: Option<String>,
    no_pass: Option<bool>,
    client_ca: Option<PathBuf>,
    crl: Option<PathBuf>,
    legacy_ca: Option<bool>,
    fernet_key_env: Option<String>,
    keylog: Option<PathBuf>,
    handshake_timeout: Option<u64>,
    header_timeout: Option<u64>,
    idle_timeout: Option<u64>,
    max_header_bytes: Option<usize>,
    max_connections: Option<usize>,
    backlog: Option<u32>,
    shutdown_grace: Option<u64>,
    threads: Option<usize>,
    quiet: Option<bool>,
    verbose: Option<u8>,
    pid_file: Option<PathBuf>,
    acme: Option<String>,
    acme_ca: Option<PathBuf>,
    domain: Option<Vec<String>>,
    acme_email: Option<String>,
    acme_eab_kid: Option<String>,
    acme_eab_hmac_env: Option<String>,
    http01_listen: Option<String>,
}

/// A mistake on the command line alone: clap's exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The HTTPS part of the settings.
pub struct TlsSettings {
    /// `--cert` and `--key`; None under `--acme`, whose files the ACME
    /// client keeps in its state folder.
    pub cert_key: Option<(PathBuf, PathBuf)>,
    pub key_pass_file: Option<PathBuf>,
    pub key_pass_env: Option<String>,
    pub no_pass: bool,
    pub client_ca: Option<PathBuf>,
    pub crl: Option<PathBuf>,
    pub legacy_ca: bool,
}

/// `--acme`: where the certificate comes from instead of --cert/--key.
#[derive(Clone, Debug, PartialEq)]
pub struct AcmeSettings {
    pub directory: String,
    pub ca: PathBuf,
    pub domains: Vec<String>,
    pub email: Option<String>,
    /// Key id and the variable holding the HMAC key.
    pub eab: Option<(String, String)>,
    pub http01_listen: Option<String>,
}

/// Command line, environment and file, merged.
pub struct Settings {
    pub listen: String,
    pub message: MessageSource,
    pub tls: Option<TlsSettings>,
    pub acme: Option<AcmeSettings>,
    pub fernet_key_env: Option<String>,
    pub keylog: Option<PathBuf>,
    pub limits: Limits,
    pub threads: Option<usize>,
    pub quiet: bool,
    pub verbose: u8,
    pub pid_file: Option<PathBuf>,
}

/// `--listen`: an address, or a port alone (`5684`, `:5684`), which means
/// every IPv4 interface, as nginx's `listen 5684` and Go's `:5684`.
pub fn parse_listen(text: &str) -> Result<String, String> {
    let port = text.strip_prefix(':').unwrap_or(text);
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        return match port.parse::<u16>() {
            Ok(port) => Ok(format!("0.0.0.0:{port}")),
            Err(_) => Err(format!("{port} is not a port (0 to 65535)")),
        };
    }
    if text.starts_with(':') {
        return Err("write a port after ':', e.g. :5683".into());
    }
    Ok(text.to_string())
}

/// `--fernet-key-env VAR` for serve: VAR must be a variable's name.
pub(crate) fn fernet_var(var: &str, origin: &str) -> Result<String> {
    if super::fernet::is_env_var_name(var) {
        Ok(var.to_string())
    } else {
        Err(anyhow!(
            "{origin} {var:?} is not the name of an environment variable; give a name such as \
             SECRET_KEY (letters, digits and '_')"
        ))
    }
}

/// The configuration file, parsed; paths made relative to its folder.
struct Loaded {
    path: PathBuf,
    config: FileConfig,
}

impl Loaded {
    fn read(path: &Path) -> Result<Loaded> {
        let bytes = squirrel_pki::files::read_at_most(path, MAX_CONFIG)
            .map_err(|e| anyhow!("--config {}: {}", path.display(), e.root()))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            anyhow!(
                "--config {}: the file is not UTF-8 text; write it in TOML",
                path.display()
            )
        })?;
        let config: FileConfig = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(" line {}", text[..s.start].matches('\n').count() + 1))
                .unwrap_or_default();
            let message = e.message().trim_end();
            let fix = if message.starts_with("unknown field") {
                "remove or rename the key: the keys are the long flags of `squirrel serve` \
                 (see squirrel serve --help)"
            } else {
                "write it as TOML: key = \"text\", key = 10, key = true"
            };
            anyhow!(
                "--config {}{line}: {}; {fix}",
                path.display(),
                message.replace("field", "key")
            )
        })?;
        let folder = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut loaded = Loaded {
            path: path.to_path_buf(),
            config,
        };
        let c = &mut loaded.config;
        for p in [
            &mut c.message_file,
            &mut c.cert,
            &mut c.key,
            &mut c.key_pass_file,
            &mut c.client_ca,
            &mut c.crl,
            &mut c.keylog,
            &mut c.pid_file,
            &mut c.acme_ca,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = folder.join(&*p);
            }
        }
        Ok(loaded)
    }

    /// An error in the file, naming it, the key, and the fix.
    fn error(&self, what: String) -> anyhow::Error {
        anyhow!("--config {}: {what}", self.path.display())
    }
}

/// Merges the command line, the environment and `--config FILE`.
pub fn settings(args: &ServeArgs) -> Result<Settings> {
    let loaded = args.config.as_deref().map(Loaded::read).transpose()?;
    let file = loaded.as_ref().map(|l| &l.config);
    let empty = FileConfig::default();
    let f = file.unwrap_or(&empty);
    // A mistake: on the command line alone a usage error, else one naming the file.
    let mistake = |what: String, from_file: bool| -> anyhow::Error {
        match (&loaded, from_file) {
            (Some(l), true) => l.error(what),
            _ => UsageError(what).into(),
        }
    };
    for (a, b, both) in [
        ("listen", "port", f.listen.is_some() && f.port.is_some()),
        (
            "message",
            "message-file",
            f.message.is_some() && f.message_file.is_some(),
        ),
        (
            "key-pass-file",
            "key-pass-env",
            f.key_pass_file.is_some() && f.key_pass_env.is_some(),
        ),
    ] {
        if both {
            return Err(mistake(
                format!("{a} and {b} are both set; keep one of them"),
                true,
            ));
        }
    }
    let listen = match (&args.listen, args.port, &f.listen, f.port) {
        (Some(listen), _, _, _) => listen.clone(),
        (None, Some(port), _, _) => format!("127.0.0.1:{port}"),
        (None, None, Some(listen), _) => parse_listen(listen)
            .map_err(|why| mistake(format!("listen = {listen:?}: {why}"), true))?,
        (None, None, None, Some(port)) => format!("127.0.0.1:{port}"),
        (None, None, None, None) => "127.0.0.1:5683".to_string(),
    };
    // The command line, then SECRET_MESSAGE, then the file.
    let env_message = std::env::var("SECRET_MESSAGE").ok();
    let message = match (&args.message_file, &args.message, env_message) {
        (Some(file), _, _) => MessageSource::File(file.clone()),
        (None, Some(text), _) => MessageSource::Text(text.clone()),
        (None, None, Some(text)) => MessageSource::Text(text),
        (None, None, None) => match (&f.message_file, &f.message) {
            (Some(file), _) => MessageSource::File(file.clone()),
            (None, Some(text)) => MessageSource::Text(text.clone()),
            (None, None) => MessageSource::Text(DEFAULT_MESSAGE.to_string()),
        },
    };
    let cert = pick(&args.cert, &f.cert);
    let key = pick(&args.key, &f.key);
    let client_ca = pick(&args.client_ca, &f.client_ca);
    let crl = pick(&args.crl, &f.crl);
    let legacy_ca = args.legacy_ca || f.legacy_ca.unwrap_or(false);
    let acme = acme_settings(args, f, &mistake)?;
    if acme.is_some() && (cert.is_some() || key.is_some()) {
        return Err(mistake(
            "acme and cert/key are both set: the certificate comes from one of them; keep one"
                .into(),
            cert.in_file() || key.in_file(),
        ));
    }
    // Under --acme the certificate is there without --cert.
    let has_cert = cert.is_some() || acme.is_some();
    let requirements = [
        ("cert", cert.is_some(), "key", key.is_some(), cert.in_file()),
        ("key", key.is_some(), "cert", cert.is_some(), key.in_file()),
        (
            "client-ca",
            client_ca.is_some(),
            "cert",
            has_cert,
            client_ca.in_file(),
        ),
        (
            "crl",
            crl.is_some(),
            "client-ca",
            client_ca.is_some(),
            crl.in_file(),
        ),
        (
            "legacy-ca",
            legacy_ca,
            "client-ca",
            client_ca.is_some(),
            !args.legacy_ca,
        ),
    ];
    for (given, is_given, needed, is_there, from_file) in requirements {
        if is_given && !is_there {
            let what = match &loaded {
                Some(l) => format!(
                    "{given} is set without {needed}: give --{needed} FILE, or add {needed} = \
                     \"...\" to {}",
                    l.path.display()
                ),
                None => format!("--{given} was given without --{needed}: add --{needed} FILE"),
            };
            return Err(mistake(what, from_file));
        }
    }
    // One source of the key's passphrase: the command line's, else the file's.
    let cli_pass = args.key_pass_file.is_some() || args.key_pass_env.is_some() || args.no_pass;
    let (key_pass_file, key_pass_env, no_pass) = if cli_pass {
        (
            args.key_pass_file.clone(),
            args.key_pass_env.clone(),
            args.no_pass,
        )
    } else {
        (
            f.key_pass_file.clone(),
            f.key_pass_env.clone(),
            f.no_pass.unwrap_or(false),
        )
    };
    let cert_key = cert.value().zip(key.value());
    // HTTPS with --cert and --key, or with a certificate from --acme.
    let https = cert_key.is_some() || acme.is_some();
    let tls = https.then(|| TlsSettings {
        cert_key,
        key_pass_file,
        key_pass_env,
        no_pass,
        client_ca: client_ca.value(),
        crl: crl.value(),
        legacy_ca,
    });
    let fernet_key_env = match (&args.fernet_key_env, &f.fernet_key_env) {
        (Some(var), _) => Some(fernet_var(var, "--fernet-key-env")?),
        (None, Some(var)) => {
            Some(fernet_var(var, "fernet-key-env =").map_err(|e| mistake(format!("{e:#}"), true))?)
        }
        (None, None) => None,
    };
    let secs = |cli: Option<u64>, file: Option<u64>, default: u64| {
        Duration::from_secs(cli.or(file).unwrap_or(default))
    };
    let limits = Limits {
        handshake_timeout: secs(args.handshake_timeout, f.handshake_timeout, 10),
        header_timeout: secs(args.header_timeout, f.header_timeout, 10),
        idle_timeout: secs(args.idle_timeout, f.idle_timeout, 60),
        max_header_bytes: args
            .max_header_bytes
            .or(f.max_header_bytes)
            .unwrap_or(16 * 1024),
        max_connections: args
            .max_connections
            .or(f.max_connections)
            .unwrap_or(1024)
            .max(1),
        backlog: args.backlog.or(f.backlog).unwrap_or(511).max(1),
        shutdown_grace: secs(args.shutdown_grace, f.shutdown_grace, 10),
    };
    let quiet = args.quiet || (args.verbose == 0 && f.quiet.unwrap_or(false));
    let verbose = if args.quiet {
        0
    } else if args.verbose > 0 {
        args.verbose
    } else if quiet {
        0
    } else {
        f.verbose.unwrap_or(0)
    };
    Ok(Settings {
        listen,
        message,
        tls,
        acme,
        fernet_key_env,
        keylog: args.keylog.clone().or_else(|| f.keylog.clone()),
        limits,
        threads: args.threads.or(f.threads),
        quiet,
        verbose,
        pid_file: args.pid_file.clone().or_else(|| f.pid_file.clone()),
    })
}

/// `--acme` and its companions, from the command line or the file.
fn acme_settings(
    args: &ServeArgs,
    f: &FileConfig,
    mistake: &dyn Fn(String, bool) -> anyhow::Error,
) -> Result<Option<AcmeSettings>> {
    let directory = pick(&args.acme, &f.acme);
    let ca = pick(&args.acme_ca, &f.acme_ca);
    let domains = if args.domains.is_empty() {
        pick(&None, &f.domain)
    } else {
        Picked::Flag(args.domains.clone())
    };
    let email = pick(&args.acme_email, &f.acme_email);
    let kid = pick(&args.acme_eab_kid, &f.acme_eab_kid);
    let hmac_env = pick(&args.acme_eab_hmac_env, &f.acme_eab_hmac_env);
    let http01 = pick(&args.http01_listen, &f.http01_listen);
    let Some(url) = directory.value() else {
        for (name, given, in_file) in [
            ("acme-ca", ca.is_some(), ca.in_file()),
            ("domain", domains.is_some(), domains.in_file()),
            ("acme-email", email.is_some(), email.in_file()),
            ("acme-eab-kid", kid.is_some(), kid.in_file()),
            ("http01-listen", http01.is_some(), http01.in_file()),
        ] {
            if given {
                return Err(mistake(
                    format!(
                        "--{name} was given without --acme: add --acme https://CA/acme/directory"
                    ),
                    in_file,
                ));
            }
        }
        return Ok(None);
    };
    if !url.starts_with("https://") {
        return Err(mistake(
            format!("--acme {url:?} is not an https:// URL; give the CA's directory URL, e.g. https://127.0.0.1:8443/acme/directory (squirrel pki ca serve prints it)"),
            directory.in_file(),
        ));
    }
    let Some(ca_path) = ca.value() else {
        return Err(mistake(
            "--acme needs --acme-ca FILE: the CA certificate its HTTPS chains to (squirrel pki ca serve prints 'Clients must trust: FILE')".into(),
            directory.in_file(),
        ));
    };
    let domains = domains.value().unwrap_or_default();
    if domains.is_empty() {
        return Err(mistake(
            "--acme needs at least one --domain NAME: the names to certify (e.g. --domain localhost)".into(),
            directory.in_file(),
        ));
    }
    if kid.is_some() != hmac_env.is_some() {
        return Err(mistake(
            "acme-eab-kid and acme-eab-hmac-env go together: give both, or neither".into(),
            true,
        ));
    }
    Ok(Some(AcmeSettings {
        directory: url,
        ca: ca_path,
        domains,
        email: email.value(),
        eab: kid.value().zip(hmac_env.value()),
        http01_listen: http01.value(),
    }))
}

/// A value from the command line or from the file.
enum Picked<T> {
    Flag(T),
    File(T),
    None,
}

fn pick<T: Clone>(cli: &Option<T>, file: &Option<T>) -> Picked<T> {
    match (cli, file) {
        (Some(v), _) => Picked::Flag(v.clone()),
        (None, Some(v)) => Picked::File(v.clone()),
        (None, None) => Picked::None,
    }
}

impl<T: Clone> Picked<T> {
    fn is_some(&self) -> bool {
        !matches!(self, Picked::None)
    }
    fn in_file(&self) -> bool {
        matches!(self, Picked::File(_))
    }
    fn value(&self) -> Option<T> {
        match self {
            Picked::Flag(v) | Picked::File(v) => Some(v.clone()),
            Picked::None => None,
        }
    }
}
