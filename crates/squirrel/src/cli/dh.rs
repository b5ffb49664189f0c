//! `squirrel dh`: tutorial step 8, the mixing of colours, with real numbers.
//! A toy exchange to follow by hand, then X25519 feeding a Fernet key. The
//! exchanges run in `squirrel_cipher::dh`; this module tells the story.

use anyhow::{ensure, Result};
use clap::Args;
use squirrel_cipher::dh::{self, DhError, ToyExchange, X25519Exchange, HKDF_INFO, TOY_G, TOY_P};
use std::process::ExitCode;

#[derive(Args)]
pub struct DhArgs {
    /// The toy's public prime modulus p (below 1000000).
    #[arg(short = 'p', long = "prime", default_value_t = TOY_P, value_name = "P")]
    pub prime: u64,
    /// The toy's public base g (2 to p - 2).
    #[arg(short = 'g', long = "base", default_value_t = TOY_G, value_name = "G")]
    pub base: u64,
    /// Your private number in the toy (2 to p - 2); random when absent.
    #[arg(long, value_name = "N")]
    pub you_private: Option<u64>,
    /// The squirrel's private number in the toy (2 to p - 2); random when absent.
    #[arg(long, value_name = "N")]
    pub squirrel_private: Option<u64>,
    /// The message the squirrel sends under the agreed key.
    #[arg(long, default_value = "fluffy tail", value_name = "TEXT")]
    pub message: String,
    /// Print JSON, grouped by who knows what: public (the spy), you, squirrel.
    #[arg(long)]
    pub json: bool,
}

const SPY: &str = "[public: the spy sees it]";
const YOURS: &str = "[private: never leaves you]";
const THEIRS: &str = "[private: never leaves the squirrel]";
const NOT_SENT: &str = "[computed on each side, never sent]";

pub fn run(args: DhArgs) -> Result<ExitCode> {
    let toy = dh::toy_exchange(
        args.prime,
        args.base,
        args.you_private,
        args.squirrel_private,
    )
    .map_err(|err| {
        let flag = match &err {
            DhError::BadPrime(_) => "--prime",
            DhError::BadBase { .. } => "--base",
            DhError::BadPrivate { who: "you", .. } => "--you-private",
            DhError::BadPrivate { .. } => "--squirrel-private",
            _ => "the toy exchange",
        };
        anyhow::anyhow!("{flag}: {err}")
    })?;
    let real = dh::x25519_exchange(&args.message)?;
    ensure!(
        toy.you.shared == toy.squirrel.shared
            && real.you.shared_secret == real.squirrel.shared_secret,
        "the two sides did not reach the same secret: this is a bug, please report it"
    );
    if args.json {
        let json = serde_json::json!({ "toy": toy, "x25519": real });
        println!("{json:#}");
    } else {
        print_toy(&toy);
        println!();
        print_x25519(&real);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_toy(toy: &ToyExchange) {
    let (p, g) = (toy.public.p, toy.public.g);
    let (a, b) = (toy.you.private, toy.squirrel.private);
    let (big_a, big_b) = (toy.public.you_mixture, toy.public.squirrel_mixture);
    println!("Diffie-Hellman: the tutorial's mixing of colours, with real numbers (step 8)");
    println!();
    println!("1. A toy exchange, small enough to follow by hand");
    row(
        "Public colour, agreed in the open",
        format!("p = {p}, g = {g}"),
        SPY,
    );
    row("You pick a private colour", format!("a = {a}"), YOURS);
    row("The squirrel picks one", format!("b = {b}"), THEIRS);
    row(
        "You send your mixture",
        format!("A = g^a mod p = {g}^{a} mod {p} = {big_a}"),
        SPY,
    );
    row(
        "The squirrel sends its mixture",
        format!("B = g^b mod p = {g}^{b} mod {p} = {big_b}"),
        SPY,
    );
    row(
        "You mix in your private colour",
        format!("B^a mod p = {big_b}^{a} mod {p} = {}", toy.you.shared),
        NOT_SENT,
    );
    row(
        "The squirrel mixes in its own",
        format!("A^b mod p = {big_a}^{b} mod {p} = {}", toy.squirrel.shared),
        NOT_SENT,
    );
    println!("   Same final colour on both sides: {}", toy.you.shared);
    println!(
        "   The spy has only p, g, A and B. With p this small it tries every exponent:\n   \
         {g}^{x} mod {p} = {big_a} = A after {tries} tries, so it mixes B^{x} mod {p} = {stolen} too.\n   \
         Real exchanges use numbers of 255 bits or more, where that search never ends.",
        x = toy.spy.found_private,
        tries = toy.spy.tries,
        stolen = toy.spy.shared,
    );
}

fn print_x25519(real: &X25519Exchange) {
    println!("2. A real exchange: X25519 (aws-lc), then a Fernet key for the message");
    row("Your private key", real.you.private_key.clone(), YOURS);
    row(
        "The squirrel's private key",
        real.squirrel.private_key.clone(),
        THEIRS,
    );
    row("Your public key", real.public.you_public_key.clone(), SPY);
    row(
        "The squirrel's public key",
        real.public.squirrel_public_key.clone(),
        SPY,
    );
    row(
        "Your shared secret",
        real.you.shared_secret.clone(),
        NOT_SENT,
    );
    row(
        "The squirrel's shared secret",
        real.squirrel.shared_secret.clone(),
        NOT_SENT,
    );
    let equal = if real.you.shared_secret == real.squirrel.shared_secret {
        "yes"
    } else {
        "NO"
    };
    println!("   Equal: {equal}");
    println!(
        "   Fernet key = HKDF-SHA256(shared secret, empty salt, info \"{}\"):",
        String::from_utf8_lossy(HKDF_INFO)
    );
    row("Yours", real.you.fernet_key.clone(), NOT_SENT);
    row("The squirrel's", real.squirrel.fernet_key.clone(), NOT_SENT);
    row(
        &format!("The squirrel sends {:?} as", real.squirrel.message),
        real.public.token.clone(),
        SPY,
    );
    row("You decrypt it", format!("{:?}", real.you.message), YOURS);
}

/// One line of the story: what happens, the value, who can see it.
fn row(label: &str, value: String, marker: &str) {
    println!("   {:<34} {value}  {marker}", format!("{label}:"));
}
