//! One module per subcommand. Each exposes clap argument types and a `run`
//! function returning `anyhow::Result<ExitCode>`.

pub mod caesar;
pub mod demo;
pub mod dh;
pub mod fernet;
pub mod get;
pub mod logging;
pub mod passphrase;
pub mod pki;
pub mod serve;
pub mod serve_config;
pub mod sniff;

use std::process::ExitCode;

/// Turns a command's result into the process exit code, printing the error
/// chain the way users of openssl or curl expect: one paragraph on stderr,
/// exit code 1.
pub fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            let message = err.to_string();
            eprintln!("squirrel: error: {message}");
            // A cause already told in the message is not told twice.
            for cause in err.chain().skip(1).map(|c| c.to_string()) {
                if !message.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                }
            }
            ExitCode::from(1)
        }
    }
}
