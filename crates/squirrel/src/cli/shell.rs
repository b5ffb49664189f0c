//! What every command-line tool ships: shell completions (clap_complete)
//! and man pages (clap_mangen), both made from the same clap definitions
//! as `--help`, so they cannot disagree with it.

use anyhow::{Context, Result};
use clap::{Args, Command, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: ShellArg,
}

#[derive(Args)]
pub struct ManArgs {
    /// The folder to write the pages in (squirrel.1, squirrel-pki.1, ...).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Prints the completion script for `shell` on stdout.
pub fn completions(args: &CompletionsArgs, mut command: Command) -> Result<ExitCode> {
    use clap_complete::Shell;
    let shell = match args.shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
        ShellArg::Powershell => Shell::PowerShell,
        ShellArg::Elvish => Shell::Elvish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "squirrel", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
    Ok(ExitCode::SUCCESS)
}

/// Writes one man page per command and subcommand into `dir`.
pub fn man(args: &ManArgs, command: Command) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create the folder {}", args.dir.display()))?;
    let mut written = 0;
    write_pages(&args.dir, command, "squirrel", &mut written)?;
    println!("wrote {written} man pages in {}", args.dir.display());
    Ok(ExitCode::SUCCESS)
}

fn write_pages(dir: &Path, command: Command, name: &str, written: &mut usize) -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .title(name)
        .render(&mut page)
        .with_context(|| format!("cannot render the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    squirrel_pki::files::write_atomic(&path, &page, 0o644, true)
        .with_context(|| format!("cannot write {}", path.display()))?;
    *written += 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let sub_name = format!("{name}-{}", sub.get_name());
        write_pages(dir, sub.clone(), &sub_name, written)?;
    }
    Ok(())
}
