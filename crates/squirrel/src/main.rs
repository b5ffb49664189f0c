//! `squirrel`: the command-line face of the Secret Squirrels toolkit.
//!
//! This crate only parses arguments and prints; every piece of logic lives in a
//! library crate (`squirrel-pki`, ...). Each subcommand has its own module
//! under `cli/`.

#![forbid(unsafe_code)]

mod cli;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// `squirrel --version`: the version, the commit, and the TLS stack.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SQUIRREL_COMMIT"),
    ")\nTLS: rustls 0.23 with the aws-lc-rs provider (TLS 1.3 and 1.2)"
);

/// Share a secret over HTTPS with your own certificate authority, and see
/// with your own eyes what a spy on the wire can read.
#[derive(Parser)]
#[command(
    name = "squirrel",
    version,
    long_version = LONG_VERSION,
    about,
    long_about = None,
    max_term_width = 100
)]
struct Cli {
    /// Colour the output: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "WHEN",
        hide_possible_values = true
    )]
    color: cli::style::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Your own certificate authority: keys, CA, CSRs, signing, inspection, verification.
    #[command(subcommand)]
    Pki(cli::pki::PkiCommand),
    /// Serve the secret over HTTP, HTTPS or mutual TLS (tutorial steps 1, 7, 13, 16).
    Serve(cli::serve::ServeArgs),
    /// Fetch the secret, trusting your CA, and explain any HTTPS failure (steps 2, 14).
    Get(cli::get::GetArgs),
    /// Play the whole story of the tutorial end to end on loopback.
    Demo(cli::demo::DemoArgs),
    /// Fernet, the tutorial's symmetric cipher: genkey, encrypt, decrypt, rotate (steps 6-7).
    #[command(subcommand)]
    Fernet(cli::fernet::FernetCommand),
    /// The substitution cipher of the story, and its cracking by frequency analysis (steps 4-5).
    #[command(subcommand)]
    Caesar(cli::caesar::CaesarCommand),
    /// Diffie-Hellman, the mixing of colours, with toy numbers and with X25519 (step 8).
    Dh(cli::dh::DhArgs),
    /// The spy: capture and dissect traffic, write pcap/pcapng.
    Sniff(cli::sniff::SniffArgs),
    /// Print the completion script for a shell (bash, zsh, fish, powershell, elvish).
    Completions(cli::shell::CompletionsArgs),
    /// Write the man pages (squirrel.1, squirrel-pki.1, ...) into a folder.
    Man(cli::shell::ManArgs),
}

fn main() -> ExitCode {
    cli::end_quietly_on_closed_pipe();
    let cli = Cli::parse();
    cli::style::init(cli.color);
    let result = match cli.command {
        Command::Pki(command) => cli::pki::run(command),
        Command::Serve(args) => cli::serve::run(args),
        Command::Get(args) => cli::get::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Fernet(command) => cli::fernet::run(command),
        Command::Caesar(command) => cli::caesar::run(command),
        Command::Dh(args) => cli::dh::run(args),
        Command::Sniff(args) => cli::sniff::run(args),
        Command::Completions(args) => cli::shell::completions(&args, Cli::command()),
        Command::Man(args) => cli::shell::man(&args, Cli::command()),
    };
    cli::report(result)
}
