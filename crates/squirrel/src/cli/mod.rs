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
pub mod progress;
pub mod runtime;
pub mod serve;
pub mod serve_acme;
pub mod serve_config;
pub mod serve_reload;
pub mod shell;
pub mod sniff;
pub mod style;

use std::process::ExitCode;

/// Turns a command's result into the process exit code, printing the error
/// chain the way users of openssl or curl expect: one paragraph on stderr,
/// exit code 1.
pub fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            let message = err.to_string();
            // A cause already told in the message is not told twice.
            let causes: Vec<String> = err
                .chain()
                .skip(1)
                .map(|c| c.to_string())
                .filter(|cause| !message.contains(cause.as_str()))
                .collect();
            if json_mode() {
                let error = serde_json::json!({ "error": {
                    "message": message, "causes": causes, "exit_code": 1 }});
                println!("{error:#}");
                return ExitCode::from(1);
            }
            let prefix = style::bad(style::Stream::Stderr, "squirrel: error:");
            eprintln!("{prefix} {message}");
            for cause in causes {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}

/// `--json` was asked for: errors are JSON too, on stdout, where the
/// reader of the JSON looks (`{"error": {"message", "causes", "exit_code"}}`).
fn json_mode() -> bool {
    std::env::args_os().any(|arg| arg == "--json")
}

/// `squirrel pki list | head -1`: when the reader goes away, stop quietly,
/// as `ls | head` does, instead of panicking on the broken pipe (Rust
/// ignores SIGPIPE, so `println!` panics with "failed printing to stdout").
pub fn end_quietly_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("Broken pipe") || text.contains("BrokenPipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
