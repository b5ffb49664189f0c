//! `squirrel serve --config FILE`: a reload (SIGHUP, `systemctl reload`)
//! reads the file again, as nginx does with its own. What a running server
//! can take (message, certificate, key, client CA, CRL) is taken; what
//! needs a new socket or a new process (the address, the limits, the
//! threads, the key log, the pid file, Fernet, the ACME settings) is named
//! in a warning and waits for a restart. A file that no longer reads keeps
//! the running configuration, and the log says why. Under `--acme` the
//! certificate stays the ACME client's (a renewal reloads too, and reads
//! the file again like a SIGHUP).

use super::serve::ServeArgs;
use super::serve_config::{self, AcmeSettings, Settings};
use squirrel_http::acme::AcmeConfig;
use squirrel_http::live_cert::LiveCert;
use squirrel_http::{RefreshSources, TlsFiles};
use std::path::PathBuf;
use std::sync::Arc;

/// What a reload cannot change, as it was at start.
#[derive(Debug, PartialEq)]
struct RestartOnly {
    listen: String,
    https: bool,
    keylog: Option<PathBuf>,
    limits: String,
    threads: Option<usize>,
    pid_file: Option<PathBuf>,
    fernet_key_env: Option<String>,
    acme: Option<AcmeSettings>,
}

impl RestartOnly {
    fn of(settings: &Settings) -> RestartOnly {
        RestartOnly {
            listen: settings.listen.clone(),
            https: settings.tls.is_some(),
            keylog: settings.keylog.clone(),
            limits: format!("{:?}", settings.limits),
            threads: settings.threads,
            pid_file: settings.pid_file.clone(),
            fernet_key_env: settings.fernet_key_env.clone(),
            acme: settings.acme.clone(),
        }
    }

    /// The names of what differs in `now` (HTTPS on or off is refused
    /// before this is asked).
    fn changed(&self, now: &RestartOnly) -> Vec<&'static str> {
        [
            ("listen", self.listen != now.listen),
            ("keylog", self.keylog != now.keylog),
            ("a limit", self.limits != now.limits),
            ("threads", self.threads != now.threads),
            ("pid-file", self.pid_file != now.pid_file),
            ("fernet-key-env", self.fernet_key_env != now.fernet_key_env),
            ("an ACME setting", self.acme != now.acme),
        ]
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect()
    }
}

/// The sources of a reload: `args` read again with its `--config` file
/// (the command line still wins over the file), the key's passphrase from
/// `started` when the same key file has no passphrase source; under
/// `--acme`, the certificate of `acme`'s client, as at start.
pub fn refresher(
    args: ServeArgs,
    started: &Settings,
    tls: Option<TlsFiles>,
    acme: Option<(AcmeConfig, Arc<LiveCert>)>,
) -> RefreshSources {
    let at_start = RestartOnly::of(started);
    let file = args
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Arc::new(move || {
        let settings = serve_config::settings(&args).map_err(|e| format!("{e:#}"))?;
        // HTTPS turned on or off keeps the running choice: the rest of the
        // new settings would not fit the listening socket's.
        if at_start.https != settings.tls.is_some() {
            return Err(format!(
                "{file}: HTTPS was turned {} in the file: restart the server for that",
                if settings.tls.is_some() { "on" } else { "off" }
            ));
        }
        let changed = at_start.changed(&RestartOnly::of(&settings));
        if !changed.is_empty() {
            tracing::warn!(
                "{file}: {} changed: that takes a restart (systemctl restart squirrel); the rest is \
                 reloaded",
                changed.join(", ")
            );
        }
        let acme = acme.as_ref().map(|(config, live)| (config, live));
        let options =
            super::serve::options(&settings, acme, tls.as_ref()).map_err(|e| format!("{e:#}"))?;
        Ok(options.sources)
    })
}
