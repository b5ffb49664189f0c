//! Colour for people at a terminal, never for pipes and files: headings,
//! verdicts and warnings, as `ls`, `git` and `cargo` do. `--color
//! auto|always|never` (auto by default); `NO_COLOR` (no-color.org) and
//! `TERM=dumb` turn auto off.

use clap::ValueEnum;
use std::io::IsTerminal;
use std::sync::OnceLock;

/// When to colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM is dumb.
    #[default]
    Auto,
    Always,
    Never,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Called once by `main` with the `--color` flag.
pub fn init(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

/// Where the text goes.
#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

fn enabled(stream: Stream) -> bool {
    match CHOICE.get().copied().unwrap_or_default() {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            let terminal = match stream {
                Stream::Stdout => std::io::stdout().is_terminal(),
                Stream::Stderr => std::io::stderr().is_terminal(),
            };
            terminal && !no_color && !dumb
        }
    }
}

fn paint(stream: Stream, code: &str, text: &str) -> String {
    match enabled(stream) {
        true => format!("\x1b[{code}m{text}\x1b[0m"),
        false => text.to_string(),
    }
}

/// A heading (bold).
pub fn heading(stream: Stream, text: &str) -> String {
    paint(stream, "1", text)
}

/// A good verdict (green).
pub fn good(stream: Stream, text: &str) -> String {
    paint(stream, "32", text)
}

/// A bad verdict or an error (bold red).
pub fn bad(stream: Stream, text: &str) -> String {
    paint(stream, "1;31", text)
}

/// A warning (yellow).
pub fn warning(stream: Stream, text: &str) -> String {
    paint(stream, "33", text)
}
