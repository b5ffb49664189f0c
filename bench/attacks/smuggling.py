#!/usr/bin/env python3
"""smuggling: HTTP/1 request smuggling probes over plain-HTTP keep-alive.

Every probe is one connection carrying an outer request whose framing is
ambiguous or hostile (CL.TE, TE.CL, TE.TE with obfuscated Transfer-Encoding,
CL+CL equal or different, a body that holds a whole request), where under
one reading of the framing a second request `GET /nope` follows. Some
probes then pipeline a legitimate `GET /healthz`. All responses on the
connection are counted (until the server closes it or is quiet for
--quiet seconds).

FAIL if any probe gets a response to the smuggled request (a 404: only
/nope is not found), more responses than it sent legitimate requests, a
5xx other than 501 (RFC 9112's answer to an unknown transfer coding), or
if a repeated Content-Length (equal or different) does not get 400
followed by a close. The server must still answer a normal GET after.

Usage: smuggling.py [--addr HOST:PORT] [--quiet S] [--table]
"""

import argparse
import concurrent.futures as cf
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

SMUGGLED = b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
HOST = b"Host: localhost\r\n"


def chunk(data):
    return b"%x\r\n" % len(data) + data + b"\r\n"


def post(headers, body):
    return b"POST / HTTP/1.1\r\n" + HOST + headers + b"\r\n" + body


def probes():
    """(name, bytes, legitimate requests in it, must_be_400_close)."""
    out = []
    # CL.TE: Content-Length covers everything; chunked ends early, leaving /nope.
    clte_body = b"0\r\n\r\n" + SMUGGLED
    # TE.CL: chunked covers everything; Content-Length 4 ends early, leaving /nope.
    tecl_body = chunk(SMUGGLED) + b"0\r\n\r\n"
    tecl_cl = b"Content-Length: %d\r\n" % len(b"%x\r\n" % len(SMUGGLED))

    def clte(te_line):
        return post(b"Content-Length: %d\r\n" % len(clte_body) + te_line, clte_body)

    def tecl(te_line):
        return post(tecl_cl + te_line, tecl_body)

    out.append(("CL.TE", clte(b"Transfer-Encoding: chunked\r\n"), 1, False))
    out.append(("TE.CL", tecl(b"Transfer-Encoding: chunked\r\n"), 1, False))
    # TE.TE: obfuscated Transfer-Encoding, in both framings.
    obfuscations = [
        ("xchunked", b"Transfer-Encoding: xchunked\r\n"),
        ("space-chunked", b"Transfer-Encoding:  chunked\r\n"),
        ("chunked, identity", b"Transfer-Encoding: chunked, identity\r\n"),
        ("identity, chunked", b"Transfer-Encoding: identity, chunked\r\n"),
        ("tab", b"Transfer-Encoding:\tchunked\r\n"),
        ("trailing space", b"Transfer-Encoding: chunked \r\n"),
        ("upper-case", b"Transfer-Encoding: CHUNKED\r\n"),
        ("space before colon", b"Transfer-Encoding : chunked\r\n"),
        ("obs-fold", b"Transfer-Encoding:\r\n chunked\r\n"),
        ("two TE headers", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n"),
        ("quoted", b'Transfer-Encoding: "chunked"\r\n'),
        ("NUL", b"Transfer-Encoding: chunked\x00\r\n"),
        ("vertical tab", b"Transfer-Encoding:\x0bchunked\r\n"),
    ]
    for name, line in obfuscations:
        out.append((f"TE.TE CL.TE {name}", clte(line), 1, False))
        out.append((f"TE.TE TE.CL {name}", tecl(line), 1, False))
    # CL+CL.
    body = b"abc"
    out.append(("CL+CL equal", post(b"Content-Length: 3\r\nContent-Length: 3\r\n", body) + HEALTHZ, 2, True))
    out.append(("CL+CL equal, different case", post(b"Content-Length: 3\r\ncontent-length: 3\r\n", body) + HEALTHZ, 2, True))
    out.append(("CL+CL equal on 2nd pipelined request", HEALTHZ + post(b"Content-Length: 3\r\nContent-Length: 3\r\n", body) + HEALTHZ, 3, True))
    out.append(("CL+CL different (0 then N)", post(b"Content-Length: 0\r\nContent-Length: %d\r\n" % len(SMUGGLED), SMUGGLED), 1, True))
    out.append(("CL+CL different (N then 0)", post(b"Content-Length: %d\r\nContent-Length: 0\r\n" % len(SMUGGLED), SMUGGLED), 1, True))
    out.append(("CL list 0, N", post(b"Content-Length: 0, %d\r\n" % len(SMUGGLED), SMUGGLED), 1, False))
    # Bodies that hold a whole request, followed by a legitimate one.
    out.append(("POST body holds GET /nope", post(b"Content-Length: %d\r\n" % len(SMUGGLED), SMUGGLED) + HEALTHZ, 2, False))
    out.append(("GET body holds GET /nope",
                b"GET / HTTP/1.1\r\n" + HOST + b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED + HEALTHZ, 2, False))
    out.append(("chunked body holds GET /nope", post(b"Transfer-Encoding: chunked\r\n", tecl_body) + HEALTHZ, 2, False))
    out.append(("chunk extension hides GET /nope",
                post(b"Transfer-Encoding: chunked\r\n", b"3;x=\"\r\n0\r\n\r\n" + SMUGGLED + b"\"\r\nabc\r\n0\r\n\r\n") + HEALTHZ, 2, False))
    out.append(("bare-LF chunk lines",
                post(b"Transfer-Encoding: chunked\r\n", b"3\nabc\n0\n\n" + SMUGGLED) + HEALTHZ, 2, False))
    out.append(("chunk trailer holds request line",
                post(b"Transfer-Encoding: chunked\r\n", b"0\r\nX: y\r\n" + SMUGGLED) + HEALTHZ, 2, False))
    out.append(("HTTP/1.0 TE + CL",
                b"POST / HTTP/1.0\r\n" + HOST + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(clte_body) + clte_body, 1, False))
    out.append(("Expect 100-continue body holds GET /nope",
                post(b"Expect: 100-continue\r\nContent-Length: %d\r\n" % len(SMUGGLED), SMUGGLED) + HEALTHZ, 2, False))
    # Controls: a clean pipeline must get both answers (the counting works).
    out.append(("control: 3 pipelined GETs", HEALTHZ + HEALTHZ + HEALTHZ, 3, False))
    return out


def run(addr, probe, quiet, total):
    name, data, legit, must_400_close = probe
    try:
        s = c.connect(addr, 10)
    except OSError as e:
        return name, legit, must_400_close, None, False, f"connect: {e}"
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        rs, closed = c.Reader(s).all_responses(quiet, total)
        # 1xx interim answers (100 Continue) are not answers to requests.
        rs = [r for r in rs if r.status is None or r.status >= 200]
        return name, legit, must_400_close, rs, closed, ""
    except (ValueError, OSError) as e:
        return name, legit, must_400_close, None, False, f"{type(e).__name__}: {e}"
    finally:
        s.close()


def judge(legit, must_400_close, rs, closed, control):
    if rs is None:
        return "error"
    statuses = [r.status for r in rs]
    if 404 in statuses:
        return "smuggled /nope answered"
    # 501 is RFC 9112's answer to a transfer coding the server does not know.
    if any(s is None or (s >= 500 and s != 501) for s in statuses):
        return "5xx or garbage"
    if len(rs) > legit:
        return f"{len(rs)} responses for {legit} request(s)"
    if must_400_close:
        # Only clean requests before the bad one may be answered; then 400, then a close.
        if not statuses or statuses[-1] != 400 or any(x != 200 for x in statuses[:-1]) or not closed:
            return "repeated Content-Length not answered 400 + close"
    if control and len(rs) != legit:
        return "control pipeline not fully answered"
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addr", default=c.env("HTTP_ADDR", "127.0.0.1:5683"))
    ap.add_argument("--quiet", type=float, default=2.0,
                    help="seconds of silence after which a connection's answers are complete")
    ap.add_argument("--total", type=float, default=15.0, help="most seconds spent on one probe")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--table", action="store_true", default=c.env("TABLE") == "1")
    a = ap.parse_args()

    ps = probes()
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(a.workers) as pool:
        results = list(pool.map(lambda p: run(a.addr, p, a.quiet, a.total), ps))
    took = time.monotonic() - t0

    fails = []
    n_resp = 0
    n_closed = 0
    for (name, legit, must, rs, closed, err) in results:
        why = err or judge(legit, must, rs, closed, name.startswith("control"))
        n_resp += len(rs or [])
        n_closed += bool(closed)
        shown = " ".join(str(r.status) for r in (rs or [])) or "-"
        if a.table or why:
            print(f"  {'BAD ' if why else 'ok  '} {name:42} sent {legit}  got [{shown}]"
                  f"{' closed' if closed else ' open'}{'  <- ' + why if why else ''}", flush=True)
        if why:
            fails.append(f"{name}: [{shown}] {why}")

    after_ok, after_status, _, why = c.get_secret(a.addr, timeout=10)
    dup = [r for r in results if r[2]]
    dup_ok = sum(1 for r in dup if r[3] and 400 in [x.status for x in r[3]] and r[4])
    figures = (f"{len(ps)} probes in {took:.1f}s, {n_resp} responses, "
               f"{sum('smuggled' in f for f in fails)} smuggled answers, "
               f"repeated Content-Length 400+close {dup_ok}/{len(dup)}, "
               f"{n_closed} connections closed by server; GET after: {after_status}")
    if fails:
        c.verdict("smuggling", False, "; ".join(fails[:4]) + f" | {figures}")
    if not after_ok:
        c.verdict("smuggling", False, f"normal GET failed afterwards: {why} | {figures}")
    c.verdict("smuggling", True, figures)


if __name__ == "__main__":
    main()
