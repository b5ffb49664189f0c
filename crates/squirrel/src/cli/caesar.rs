//! `squirrel caesar`: the substitution cipher of tutorial step 4 and the
//! frequency analysis of step 5 that breaks it. Logic in
//! `squirrel_cipher::caesar`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use squirrel_cipher::caesar::{self, RELIABLE_LETTERS};
use std::io::Read;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CaesarCommand {
    /// Move every letter back by the shift (shift 1: A->Z, B->A, "fluffy tail" -> "ekteex szhk").
    Encrypt(ShiftArgs),
    /// Move every letter forward by the shift, undoing encrypt.
    Decrypt(ShiftArgs),
    /// Find the shift without the key, by frequency analysis.
    Crack(CrackArgs),
}

#[derive(Args)]
pub struct ShiftArgs {
    /// The key: how many places each letter moves (any integer; taken modulo 26).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub shift: i64,
    /// The text; read from stdin when absent. Several words are joined by spaces.
    #[arg(value_name = "TEXT")]
    pub text: Vec<String>,
}

#[derive(Args)]
pub struct CrackArgs {
    /// How many runner-up shifts to show.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub top: usize,
    /// Print JSON: every shift with its score, best first.
    #[arg(long)]
    pub json: bool,
    /// The ciphertext; read from stdin when absent.
    #[arg(value_name = "TEXT")]
    pub text: Vec<String>,
}

pub fn run(command: CaesarCommand) -> Result<ExitCode> {
    match command {
        CaesarCommand::Encrypt(args) => {
            let (text, newline) = text_of(&args.text)?;
            print!("{}{newline}", caesar::encrypt(&text, args.shift));
        }
        CaesarCommand::Decrypt(args) => {
            let (text, newline) = text_of(&args.text)?;
            print!("{}{newline}", caesar::decrypt(&text, args.shift));
        }
        CaesarCommand::Crack(args) => crack(args)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The text from the arguments (printed back with a newline) or stdin
/// (printed back as is).
fn text_of(words: &[String]) -> Result<(String, &'static str)> {
    if !words.is_empty() {
        return Ok((words.join(" "), "\n"));
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .context("cannot read stdin")?;
    let text = String::from_utf8(bytes).map_err(|err| {
        anyhow::anyhow!(
            "stdin is not UTF-8 text (invalid byte at offset {}): the Caesar cipher works on \
             text; for files of any kind use `squirrel fernet`",
            err.utf8_error().valid_up_to()
        )
    })?;
    Ok((text, ""))
}

fn crack(args: CrackArgs) -> Result<()> {
    let (text, _) = text_of(&args.text)?;
    let result = caesar::crack(&text).context("cannot crack the text")?;
    if args.json {
        println!("{:#}", serde_json::to_value(&result)?);
        return Ok(());
    }
    if !result.reliable {
        eprintln!(
            "squirrel: note: only {} letters; frequency analysis needs about {RELIABLE_LETTERS} \
             to be trusted",
            result.letters
        );
    }
    let best = result.best();
    println!(
        "Best shift: {} (score {:.2} = chi-squared {:.2} / (1 + {} common words))",
        best.shift, best.score, best.chi_squared, best.common_words
    );
    println!("Plaintext: {}", best.plaintext.trim_end_matches('\n'));
    let runners = &result.candidates[1..result.candidates.len().min(args.top + 1)];
    if !runners.is_empty() {
        println!();
        println!("Runners-up:");
        for c in runners {
            println!(
                "  shift {:>2}  score {:>8.2}  chi-squared {:>8.2}  common words {:>2}  {}",
                c.shift,
                c.score,
                c.chi_squared,
                c.common_words,
                preview(&c.plaintext)
            );
        }
    }
    Ok(())
}

/// The start of a candidate plaintext on one line.
fn preview(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line,
    }
}
