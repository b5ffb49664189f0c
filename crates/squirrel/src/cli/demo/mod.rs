//! `squirrel demo`: the tutorial's story played for real on this machine,
//! chapter by chapter, on loopback and free ports, in a temporary
//! directory. Each chapter tells what it does, does it with the real
//! server, client, spy and CA, and checks what the tutorial says should
//! happen. It doubles as the project's end-to-end smoke test.

mod acme_chapter;
mod chapters;
mod stage;

use crate::cli::style::{self, Stream};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use stage::SpyMode;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct DemoArgs {
    /// Keep every file the demo makes (keys, certificates, captures) in DIR.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Play only chapter N (1 to 8).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=8))]
    pub chapter: Option<u8>,
    /// Print a machine-readable summary instead of the story.
    #[arg(long)]
    pub json: bool,
}

/// The titles of the chapters, in order.
pub const CHAPTERS: [&str; 8] = [
    "Plain HTTP: the spy reads the secret",
    "Caesar: a cipher a child can break",
    "Fernet: a real cipher, and a shared key",
    "Diffie-Hellman: agreeing on a key in public",
    "Your own certificate authority",
    "HTTPS: trust your CA, hide the secret",
    "Members only: client certificates and revocation",
    "The CA makes you prove it",
];

/// What a chapter established, or why it failed.
pub type Verdict = Result<Vec<(String, serde_json::Value)>, String>;

/// Everything the chapters share.
pub struct Story {
    pub dir: PathBuf,
    pub runtime: tokio::runtime::Runtime,
    pub secret: String,
    pub spy: SpyMode,
    pub quiet: bool,
    pub pki: Option<chapters::Pki>,
}

impl Story {
    /// Prints a line of the story (unless `--json`).
    pub fn say(&self, line: impl AsRef<str>) {
        if !self.quiet {
            println!("{}", line.as_ref());
        }
    }

    /// Fails when the user pressed Ctrl-C: everything is then cleaned up by
    /// the guards as the error unwinds.
    pub fn check_interrupted(&self) -> Result<()> {
        if squirrel_sniff::signal::stop_requested() {
            bail!("interrupted");
        }
        Ok(())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let started = Instant::now();
    squirrel_sniff::signal::install().context("cannot install the Ctrl-C handler")?;
    let temp;
    let dir = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("--keep {}: cannot create the directory", dir.display())
            })?;
            if std::fs::read_dir(dir)?.next().is_some() {
                bail!(
                    "--keep {}: the directory is not empty; give a new or empty directory",
                    dir.display()
                );
            }
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("squirrel-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut story = Story {
        dir: dir.clone(),
        runtime,
        secret: "fluffy tail".into(),
        spy: SpyMode::detect(),
        quiet: args.json,
        pki: None,
    };
    story.say("The Secret Squirrels, played for real on this machine.");
    story.say(match story.spy {
        SpyMode::Capture => {
            "The spy captures the loopback interface, as Wireshark does in the tutorial."
        }
        SpyMode::Relay => {
            "Not root: the spy sits on the path as a relay (run as root to capture `lo`)."
        }
    });
    let numbers: Vec<u8> = match args.chapter {
        Some(n) => vec![n],
        None => (1..=8).collect(),
    };
    let mut results = Vec::new();
    for n in numbers {
        story.say("");
        let title = format!("Chapter {n}: {}", CHAPTERS[usize::from(n) - 1]);
        story.say(style::heading(Stream::Stdout, &title));
        let verdict = chapters::play(&mut story, n);
        if squirrel_sniff::signal::stop_requested() {
            bail!("interrupted during chapter {n}; every server was stopped and the temporary files removed");
        }
        match &verdict {
            Ok(_) => story.say(style::good(Stream::Stdout, &format!("Chapter {n}: OK"))),
            Err(why) => story.say(style::bad(
                Stream::Stdout,
                &format!("Chapter {n}: FAILED: {why}"),
            )),
        }
        results.push((n, verdict));
    }
    let seconds = started.elapsed().as_secs_f64();
    let failed: Vec<&(u8, Verdict)> = results.iter().filter(|(_, v)| v.is_err()).collect();
    if args.json {
        let chapters: Vec<_> = results
            .iter()
            .map(|(n, v)| {
                let mut entry = json!({ "chapter": n, "title": CHAPTERS[usize::from(*n) - 1], "ok": v.is_ok() });
                match v {
                    Ok(facts) => entry["facts"] = facts.iter().cloned().collect::<serde_json::Map<_, _>>().into(),
                    Err(why) => entry["failure"] = json!(why),
                }
                entry
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "ok": failed.is_empty(),
                "spy": story.spy,
                "seconds": (seconds * 1000.0).round() / 1000.0,
                "kept": args.keep.as_deref().map(Path::display).map(|d| d.to_string()),
                "chapters": chapters,
            }))?
        );
    } else {
        story.say("");
        match &args.keep {
            Some(dir) => story.say(format!("Every file is kept in {}.", dir.display())),
            None => story.say("Every server was stopped and every temporary file removed."),
        }
        story.say(format!("The story took {seconds:.1} s."));
    }
    drop(story);
    if let Some((n, Err(why))) = failed.first().map(|r| (r.0, &r.1)) {
        bail!(
            "chapter {n} ({}) failed: {why}",
            CHAPTERS[usize::from(n) - 1]
        );
    }
    Ok(ExitCode::SUCCESS)
}
