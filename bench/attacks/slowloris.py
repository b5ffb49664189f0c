#!/usr/bin/env python3
"""slowloris: N slow connections trickling a request head, while M normal
GET / requests must all be served.

Each slow connection sends "GET / HTTP/1.1\\r\\nHost: localhost\\r\\n" and then
one more header byte every --interval seconds, never ending the head. When
the server closes one (squirrel's --header-timeout, 10 s by default, counts
from the head's first byte and answers 408), the attacker reopens it at once,
as a real slowloris does, so N connections stay open for the whole run.

Meanwhile M normal requests (`GET /`, each on a fresh connection) are spread
evenly over the attack by a pool of --workers threads. PASS if 100% of them
get 200 with the secret in the body. Figures: served %, latency p50/p99/max,
slow connections open at the peak, how many the server closed (and how many
with a 408), and how long it let them live.

Usage: slowloris.py [-n N] [-m M] [--duration S] [--interval S] [--tls]
  N (default 200; env N), M (default 200; env M), duration (default 15 s;
  env DURATION). Full size: N=1000 M=1000.
"""

import argparse
import concurrent.futures as cf
import os
import selectors
import socket
import ssl
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

HEAD_START = b"GET / HTTP/1.1\r\nHost: localhost\r\n"
TRICKLE = b"X-Slow-Loris-Header: a\r\n"


class Slow:
    def __init__(self, sock, opened):
        self.sock = sock
        self.opened = opened
        self.pos = 0
        self.got = b""


class Attacker(threading.Thread):
    def __init__(self, addr, n, interval, tls, ca, stop):
        super().__init__(daemon=True)
        self.addr, self.n, self.interval, self.tls, self.ca = addr, n, interval, tls, ca
        self.stop = stop
        self.sel = selectors.DefaultSelector()
        self.open = {}
        self.opened_total = 0
        self.open_errors = 0
        self.server_closed = 0
        self.got_408 = 0
        self.other_answers = {}
        self.lifetimes = []
        self.peak = 0
        self.ready = threading.Event()

    def open_one(self):
        try:
            s = c.connect(self.addr, 10, tls=self.tls, ca=self.ca, alpn=["http/1.1"] if self.tls else None)
            s.sendall(HEAD_START)
            s.setblocking(False)
        except OSError as e:
            self.open_errors += 1
            self.last_error = str(e)
            return
        slow = Slow(s, time.monotonic())
        self.open[s.fileno()] = slow
        self.sel.register(s, selectors.EVENT_READ, slow)
        self.opened_total += 1
        self.peak = max(self.peak, len(self.open))

    def drop(self, slow, by_server):
        try:
            self.sel.unregister(slow.sock)
        except (KeyError, ValueError):
            pass
        self.open.pop(slow.sock.fileno(), None)
        if by_server:
            self.server_closed += 1
            self.lifetimes.append(time.monotonic() - slow.opened)
            status = slow.got.split(b" ", 2)[1:2]
            if status == [b"408"]:
                self.got_408 += 1
            elif status:
                k = status[0].decode("latin-1", "replace")
                self.other_answers[k] = self.other_answers.get(k, 0) + 1
        try:
            slow.sock.close()
        except OSError:
            pass

    def read_ready(self, timeout):
        for key, _ in self.sel.select(timeout):
            slow = key.data
            try:
                data = slow.sock.recv(4096)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except OSError:
                data = b""
            if data:
                slow.got += data
                continue
            self.drop(slow, True)

    def run(self):
        while len(self.open) < self.n and not self.stop.is_set():
            self.open_one()
            if self.open_errors > self.n:
                break
        self.ready.set()
        next_tick = time.monotonic() + self.interval
        while not self.stop.is_set():
            self.read_ready(max(0.0, min(0.2, next_tick - time.monotonic())))
            # Reopen what the server closed.
            while len(self.open) < self.n and not self.stop.is_set():
                before = self.open_errors
                self.open_one()
                if self.open_errors > before:
                    break
            if time.monotonic() >= next_tick:
                next_tick += self.interval
                for slow in list(self.open.values()):
                    byte = TRICKLE[slow.pos % len(TRICKLE):slow.pos % len(TRICKLE) + 1]
                    try:
                        slow.sock.send(byte)
                        slow.pos += 1
                    except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                        pass
                    except OSError:
                        self.drop(slow, True)
        for slow in list(self.open.values()):
            self.drop(slow, False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--slow", type=int, default=c.env_int("N", 200), help="slow connections")
    ap.add_argument("-m", "--requests", type=int, default=c.env_int("M", 200), help="normal requests")
    ap.add_argument("--duration", type=float, default=c.env_float("DURATION", 15.0),
                    help="seconds over which the normal requests are spread")
    ap.add_argument("--interval", type=float, default=c.env_float("INTERVAL", 2.0),
                    help="seconds between two bytes of a slow connection")
    ap.add_argument("--workers", type=int, default=16,
                    help="threads making the normal requests")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds allowed per normal request")
    ap.add_argument("--tls", action="store_true", help="attack the HTTPS server instead")
    ap.add_argument("--addr", default=None, help="HOST:PORT (default $HTTP_ADDR, or $HTTPS_ADDR with --tls)")
    ap.add_argument("--ca", default=c.env("CA_PEM"))
    a = ap.parse_args()
    addr = a.addr or (c.env("HTTPS_ADDR", "127.0.0.1:5683") if a.tls else c.env("HTTP_ADDR", "127.0.0.1:5683"))
    name = "slowloris-tls" if a.tls else "slowloris"
    pid = c.env("HTTPS_PID" if a.tls else "HTTP_PID")

    stop = threading.Event()
    atk = Attacker(addr, a.slow, a.interval, a.tls, a.ca, stop)
    t_open = time.monotonic()
    atk.start()
    atk.ready.wait()
    open_secs = time.monotonic() - t_open
    if len(atk.open) < a.slow:
        stop.set()
        atk.join()
        c.verdict(name, False, f"could open only {atk.peak}/{a.slow} slow connections "
                  f"({atk.open_errors} errors, last: {getattr(atk, 'last_error', '')})")
    rss0 = c.rss_kib(pid)

    start = time.monotonic()
    step = a.duration / max(1, a.requests)

    def one(i):
        delay = start + i * step - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return c.get_secret(addr, timeout=a.timeout, tls=a.tls, ca=a.ca)

    with cf.ThreadPoolExecutor(a.workers) as pool:
        results = list(pool.map(one, range(a.requests)))
    took = time.monotonic() - start
    open_at_end = len(atk.open)
    rss1 = c.rss_kib(pid)
    stop.set()
    atk.join()

    ok = [r for r in results if r[0]]
    lat = [r[2] * 1000 for r in ok]
    served = 100.0 * len(ok) / max(1, len(results))
    lifetimes = sorted(atk.lifetimes)
    life = (f"held {c.percentile(lifetimes, 50):.1f}s median" if lifetimes else "none closed by server")
    figures = (f"served {len(ok)}/{len(results)} ({served:.1f}%), latency p50 {c.percentile(lat, 50):.1f} ms "
               f"p99 {c.percentile(lat, 99):.1f} ms max {max(lat) if lat else float('nan'):.1f} ms; "
               f"{a.slow} slow conns (opened in {open_secs:.1f}s, {open_at_end} open at end, "
               f"{atk.opened_total} opened in all), server closed {atk.server_closed} "
               f"({atk.got_408} got a 408 response, {life})"
               + (f", other answers {atk.other_answers}" if atk.other_answers else "")
               + (f"; RSS {rss0 // 1024}->{rss1 // 1024} MiB" if rss0 and rss1 else "")
               + f"; {took:.1f}s")
    if len(ok) != len(results):
        bad = [r for r in results if not r[0]]
        c.verdict(name, False, f"{len(bad)} normal requests failed (first: {bad[0][3]}) | {figures}")
    c.verdict(name, True, figures)


if __name__ == "__main__":
    main()
