//! Capture files: opening pcap or pcapng by their magic number (never by
//! their name), and writing either one, chosen by the name given to
//! `--write`.
//!
//! The readers ([`crate::pcap`], [`crate::pcapng`]) are squirrel's own
//! rather than the `pcap-parser` crate's, on purpose. Safety: they are
//! about 300 lines without `unsafe`, bound every length a hostile file
//! gives (a record or block over 256 MiB is refused, and memory grows only
//! with the bytes really there), and are run by a fuzz target (`fuzz/fuzz_targets/read.rs`)
//! and the robustness tests; pcap-parser would add nom, circular and
//! rusticata-macros, and an `unsafe` block of its own. Speed: each record is read once from the `BufReader` into one
//! reused buffer, where pcap-parser's streaming reader must be driven
//! through refill/consume on a fixed circular buffer, and grown by hand for
//! any block larger than it. Features: both read Decryption Secrets Blocks,
//! but pcap-parser leaves `if_tsresol`/`if_tsoffset`, sections and
//! interfaces to the caller, which is most of what these readers do. And
//! their [`ReadError`] names the packet or block at fault, where
//! pcap-parser's errors are nom's.

use crate::error::{ReadError, SniffError};
use crate::frame::Frame;
use crate::pcap::{PcapReader, PcapWriter};
use crate::pcapng::{self, PcapngReader};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A capture file being read.
pub enum Reader {
    Pcap(PcapReader<BufReader<File>>),
    Pcapng(PcapngReader<BufReader<File>>),
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, SniffError> {
        let file = File::open(path)
            .map_err(|e| SniffError::io(path, "cannot open the capture file given to --read", e))?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        let not_capture = |problem| SniffError::NotCapture {
            path: path.to_path_buf(),
            problem,
        };
        let read_err = |e| SniffError::io(path, "cannot read the capture file", e);
        let mut first = [0u8; 12];
        if crate::pcap::read_full(&mut r, &mut first).map_err(read_err)? < 12 {
            return Err(not_capture(ReadError::NotCapture));
        }
        if u32::from_le_bytes([first[0], first[1], first[2], first[3]]) == pcapng::SHB {
            let reader = PcapngReader::new(r, &first).map_err(not_capture)?;
            return Ok(Reader::Pcapng(reader));
        }
        let mut head = [0u8; 24];
        head[..12].copy_from_slice(&first);
        if crate::pcap::read_full(&mut r, &mut head[12..]).map_err(read_err)? < 12 {
            return Err(not_capture(ReadError::NotCapture));
        }
        PcapReader::new(r, &head)
            .map(Reader::Pcap)
            .map_err(|_| not_capture(ReadError::NotCapture))
    }

    /// The next frame, `None` at the end.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        match self {
            Reader::Pcap(r) => r.next_frame(),
            Reader::Pcapng(r) => r.next_frame(),
        }
    }

    /// The link type of the first packets (for a writer opened early).
    pub fn linktype(&self) -> Option<u32> {
        match self {
            Reader::Pcap(r) => Some(r.linktype()),
            Reader::Pcapng(r) => r.linktype(),
        }
    }
}

/// A capture file being written: `.pcapng` gives pcapng, anything else
/// classic pcap.
pub struct Writer {
    path: PathBuf,
    inner: Inner,
    pub packets: u64,
}

enum Inner {
    Pcap(PcapWriter<BufWriter<File>>),
    Pcapng {
        out: BufWriter<File>,
        /// With a key log, packets go to a side file first: the secrets
        /// must come before the packets they decrypt, and are only known
        /// at the end of the capture.
        deferred: Option<(PathBuf, BufWriter<File>)>,
        interfaces: Vec<u32>,
        name: Option<String>,
    },
}

/// Creates (or truncates) a capture file readable by its owner only, as
/// dumpcap does: a capture holds what crossed the wire, the secret in
/// clear over HTTP, and TLS secrets with `--keylog`. A file that was
/// already there is made private before anything is written to it.
fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// True when the name asks for pcapng.
pub fn is_pcapng(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"))
}

impl Writer {
    /// Creates the file now, so that a bad path fails before the capture.
    pub fn create(
        path: &Path,
        linktype: u32,
        interface: Option<&str>,
        with_secrets: bool,
    ) -> Result<Writer, SniffError> {
        let io = |e| SniffError::io(path, "cannot create the file given to --write", e);
        let file = create_private(path).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let inner = if is_pcapng(path) {
            let deferred = if with_secrets {
                let side = side_path(path);
                let f = create_private(&side).map_err(io)?;
                Some((side, BufWriter::with_capacity(1 << 20, f)))
            } else {
                pcapng::write_shb(&mut out).map_err(io)?;
                pcapng::write_idb(&mut out, linktype, interface).map_err(io)?;
                None
            };
            Inner::Pcapng {
                out,
                deferred,
                interfaces: vec![linktype],
                name: interface.map(str::to_string),
            }
        } else {
            if with_secrets {
                return Err(SniffError::bad_file(
                    path,
                    "--keylog needs a pcapng file: only pcapng can carry TLS secrets (in a \
                     Decryption Secrets Block). Name the output FILE.pcapng",
                ));
            }
            Inner::Pcap(PcapWriter::new(out, linktype).map_err(io)?)
        };
        Ok(Writer {
            path: path.to_path_buf(),
            inner,
            packets: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, f: &Frame<'_>) -> Result<(), SniffError> {
        let path = &self.path;
        let io = |e| SniffError::io(path, "cannot write the capture file", e);
        match &mut self.inner {
            Inner::Pcap(w) => {
                if f.linktype != w.linktype() {
                    return Err(SniffError::bad_file(
                        path,
                        format!(
                            "packets of link type {} and {} cannot share a classic pcap file; \
                             write a .pcapng file instead",
                            w.linktype(),
                            f.linktype
                        ),
                    ));
                }
                w.write(f).map_err(io)?;
            }
            Inner::Pcapng {
                out,
                deferred,
                interfaces,
                name,
            } => {
                let id = match interfaces.iter().position(|&l| l == f.linktype) {
                    Some(id) => id,
                    None => {
                        interfaces.push(f.linktype);
                        let w: &mut dyn Write = match deferred {
                            Some((_, side)) => side,
                            None => out,
                        };
                        pcapng::write_idb(w, f.linktype, name.as_deref()).map_err(io)?;
                        interfaces.len() - 1
                    }
                };
                let w: &mut dyn Write = match deferred {
                    Some((_, side)) => side,
                    None => out,
                };
                pcapng::write_epb(w, id as u32, f).map_err(io)?;
            }
        }
        self.packets += 1;
        Ok(())
    }

    /// Finishes the file; `secrets` is embedded in a Decryption Secrets
    /// Block when the file is pcapng and was created with secrets.
    pub fn finish(self, secrets: Option<&str>) -> Result<(), SniffError> {
        let path = self.path;
        let io = |e| SniffError::io(&path, "cannot write the capture file", e);
        match self.inner {
            Inner::Pcap(w) => w.into_inner().flush().map_err(io),
            Inner::Pcapng {
                mut out,
                deferred: None,
                ..
            } => out.flush().map_err(io),
            Inner::Pcapng {
                mut out,
                deferred: Some((side, side_out)),
                interfaces,
                name,
            } => {
                let result = (|| {
                    drop(side_out.into_inner().map_err(|e| e.into_error())?);
                    pcapng::write_shb(&mut out)?;
                    // The first interface is written here; later ones are
                    // already in the side file, before their packets.
                    pcapng::write_idb(&mut out, interfaces[0], name.as_deref())?;
                    if let Some(text) = secrets.filter(|t| !t.is_empty()) {
                        pcapng::write_dsb(&mut out, text.as_bytes())?;
                    }
                    let mut side_in = File::open(&side)?;
                    std::io::copy(&mut side_in, &mut out)?;
                    out.flush()
                })();
                let _ = std::fs::remove_file(&side);
                result.map_err(io)
            }
        }
    }
}

fn side_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.part"))
}

/// Feeds every frame of a file to the engine, until its end or `--count`.
/// A damaged file stops the reading with an error; what was read before
/// is still in the engine for the summary.
pub fn run<W: Write>(
    reader: &mut Reader,
    path: &Path,
    engine: &mut crate::engine::Engine<W>,
) -> Result<(), SniffError> {
    loop {
        if crate::signal::stop_requested() {
            return Ok(());
        }
        match reader.next_frame() {
            Ok(Some(frame)) => {
                if !engine.push(&frame)? {
                    return Ok(());
                }
            }
            Ok(None) => return Ok(()),
            Err(problem) => {
                return Err(SniffError::Damaged {
                    path: path.to_path_buf(),
                    problem,
                    packets: engine.packets(),
                })
            }
        }
    }
}
