//! `squirrel sniff`: the spy of tutorial step 3. It captures loopback
//! traffic (or relays it, or reads a capture file), shows it as tshark and
//! Wireshark do, says whether the secret crossed the wire in clear, and
//! writes pcap/pcapng files that Wireshark opens, with the TLS secrets
//! embedded when given a key log. All the work is in `squirrel-sniff`; this
//! module only turns flags into options and prints.

use super::progress::CaptureTicker;
use anyhow::{bail, Context, Result};
use clap::Args;
use squirrel_sniff::capture::{self, LiveCapture};
use squirrel_sniff::file::{self, Reader, Writer};
use squirrel_sniff::filter::{CaptureFilter, DisplayFilter};
use squirrel_sniff::reassembly::Limits;
use squirrel_sniff::{relay, signal, Engine, Format, Options, SniffError};
use std::io::IsTerminal;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
#[command(
    after_help = "Examples (the tutorial's spy, on the server's port 5683):\n  \
    sudo squirrel sniff --port 5683 --display http -v\n  \
    sudo squirrel sniff --port 5683 --secret 'fluffy tail' --write spy.pcapng --keylog keys.log\n  \
    squirrel sniff --relay 127.0.0.1:8000 --to 127.0.0.1:5683 --secret 'fluffy tail'\n  \
    squirrel sniff --read spy.pcapng --display tls"
)]
pub struct SniffArgs {
    /// The interface to capture on (needs root or CAP_NET_RAW).
    #[arg(short, long, default_value = "lo", value_name = "NAME")]
    pub interface: String,
    /// Keep only packets from or to this TCP/UDP port (the tutorial's capture filter `port 5683`).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Keep only packets from or to this IP address.
    #[arg(long, value_name = "ADDR")]
    pub host: Option<IpAddr>,
    /// Stop after N packets.
    #[arg(short = 'c', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after this many seconds (decimals allowed).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<Duration>,
    /// Show only packets of these protocols: http, tls, tcp, udp, comma-separated (the tutorial's display filter `http`).
    #[arg(long, value_name = "PROTOS")]
    pub display: Option<DisplayFilter>,
    /// Show the layers of each packet, as Wireshark's middle pane (-V too, as tshark spells it).
    #[arg(short = 'v', short_alias = 'V', long)]
    pub verbose: bool,
    /// Add a hex and ASCII dump of each packet, as Wireshark's bottom pane.
    #[arg(short = 'x', long)]
    pub hex: bool,
    /// Print one JSON object per packet instead of text.
    #[arg(long, conflicts_with_all = ["verbose", "hex"])]
    pub json: bool,
    /// Print nothing per packet, only the summary.
    #[arg(short, long, conflicts_with_all = ["verbose", "hex", "json"])]
    pub quiet: bool,
    /// Say at the end whether this secret crossed the wire in clear, and in which packets.
    #[arg(long, value_name = "TEXT")]
    pub secret: Option<String>,
    /// Save the captured packets: FILE.pcapng for pcapng, any other name for classic pcap.
    #[arg(short, long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Embed the TLS secrets of this NSS key log (SSLKEYLOGFILE) in the pcapng file, for Wireshark to decrypt.
    #[arg(long, value_name = "FILE", requires = "write")]
    pub keylog: Option<PathBuf>,
    /// Read packets from a pcap or pcapng file instead of capturing.
    #[arg(short, long, value_name = "FILE", conflicts_with_all = ["relay", "duration"])]
    pub read: Option<PathBuf>,
    /// Without root: listen here, forward each connection to --to, and show what passes.
    #[arg(long, value_name = "LISTEN", requires = "to")]
    pub relay: Option<String>,
    /// The server the relay forwards to (HOST:PORT).
    #[arg(long, value_name = "UPSTREAM", requires = "relay")]
    pub to: Option<String>,
    /// Reassembly: most bytes held for one direction of one TCP stream.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().per_stream)]
    pub max_stream_bytes: usize,
    /// Reassembly: most bytes held for all streams (the oldest are dropped first).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().total)]
    pub max_reassembly_bytes: usize,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v < 1e9 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!(
            "{s:?} is not a number of seconds greater than 0 (for example 5 or 0.5)"
        )),
    }
}

pub fn run(args: SniffArgs) -> Result<ExitCode> {
    if args.secret.as_deref() == Some("") {
        bail!("--secret is empty: give the text to look for, for example --secret 'fluffy tail'");
    }
    let format = if args.json {
        Format::Json
    } else if args.verbose {
        Format::Verbose
    } else if args.quiet {
        Format::Quiet
    } else {
        Format::Summary
    };
    let options = Options {
        format,
        hex: args.hex,
        display: args.display.clone().unwrap_or_default(),
        filter: CaptureFilter {
            port: args.port,
            host: args.host,
        },
        secret: args.secret.clone(),
        count: args.count,
        limits: Limits {
            per_stream: args.max_stream_bytes,
            total: args.max_reassembly_bytes,
            ..Limits::default()
        },
        keylog: args.keylog.clone(),
    };
    signal::install().context("cannot install the Ctrl-C handler")?;
    let stdout = std::io::stdout();
    let mut engine = Engine::new(BufWriter::with_capacity(1 << 20, stdout.lock()), options);

    let mut kernel_drops = None;
    // Live sources can run long: their progress, on a terminal, when the
    // packets themselves are not scrolling on it.
    let packets_on_screen = std::io::stdout().is_terminal() && !args.quiet && !args.json;
    let ticker = match args.read {
        None => CaptureTicker::start(engine.progress(), packets_on_screen),
        Some(_) => None,
    };
    let outcome = if let Some(path) = &args.read {
        let mut reader = Reader::open(path)?;
        open_writer(&args, &mut engine, reader.linktype().unwrap_or(1), None)?;
        file::run(&mut reader, path, &mut engine)
    } else if let Some(listen) = &args.relay {
        let upstream = resolve(args.to.as_deref().unwrap_or_default())?;
        let listener = relay::listen(listen)?;
        let local = listener.local_addr().context("relay socket")?;
        open_writer(&args, &mut engine, 1, None)?;
        eprintln!(
            "Relaying {local} -> {upstream}: point the client at {local} instead of the server. \
             Ctrl-C to stop."
        );
        relay::run(
            listener,
            upstream,
            &mut engine,
            args.duration,
            &mut std::io::stderr(),
        )
    } else {
        let mut cap = LiveCapture::open(&args.interface)?;
        open_writer(&args, &mut engine, cap.linktype(), Some(&args.interface))?;
        let mut what = String::new();
        if let Some(p) = args.port {
            what.push_str(&format!(", port {p}"));
        }
        if let Some(h) = args.host {
            what.push_str(&format!(", host {h}"));
        }
        eprintln!("Capturing on '{}'{what}", args.interface);
        let r = capture::run(&mut cap, &mut engine, args.duration);
        kernel_drops = cap.kernel_drops();
        r
    };
    drop(ticker);
    if let Err(SniffError::Output(e)) = &outcome {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut report = engine.finish()?;
    report.kernel_drops = kernel_drops;
    eprint!("{report}");
    let _ = std::io::stderr().flush();
    outcome?;
    if let Some(first) = report.errors.first() {
        bail!("{first}");
    }
    Ok(ExitCode::SUCCESS)
}

fn open_writer<W: Write>(
    args: &SniffArgs,
    engine: &mut Engine<W>,
    linktype: u32,
    interface: Option<&str>,
) -> Result<()> {
    if let Some(path) = &args.write {
        let writer = Writer::create(path, linktype, interface, args.keylog.is_some())?;
        engine.set_writer(writer);
    }
    Ok(())
}

fn resolve(upstream: &str) -> Result<SocketAddr> {
    let mut addrs = upstream.to_socket_addrs().with_context(|| {
        format!("--to {upstream:?}: not a HOST:PORT address (for example 127.0.0.1:5683)")
    })?;
    addrs
        .next()
        .with_context(|| format!("--to {upstream:?}: the name resolves to no address"))
}
