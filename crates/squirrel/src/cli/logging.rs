//! The server's log on stderr: one line per request (target
//! `squirrel::access`) and the server's own news, with UTC times.

use tracing_subscriber::EnvFilter;

/// `-q`: warnings and errors only; default: info (the access log);
/// `-v`: debug for squirrel; `-vv`: everything.
pub fn init(quiet: bool, verbose: u8) {
    let filter = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "info,squirrel_http=debug,squirrel_acme=debug",
        _ => "debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
