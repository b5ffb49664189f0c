#!/usr/bin/env python3
"""malformed: hostile and malformed HTTP/1 requests over plain HTTP.

Each case is sent on its own fresh connection (several cases in parallel);
the first response's status line, or "closed" (the server closed without
answering), is recorded. Cases are of three kinds:

  bad     malformed: a 4xx (400 404 405 408 413 414 431 501) or a clean close
  valid   a valid, if unusual, request: must be 200 with the secret ("expected-200")
  either  legal but odd (RFC latitude): 200 or one of the 4xx above

Whatever the kind, a 5xx, an unparseable answer or no answer within
--timeout (which must exceed the server's --header-timeout, 10 s by default)
is a FAIL. Afterwards a normal GET / must still get 200 with the secret.

Usage: malformed.py [--addr HOST:PORT] [--timeout S] [--workers N] [--table]
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

ACCEPTED = {400, 404, 405, 408, 413, 414, 431, 501}
H = b"Host: localhost\r\n"


def req(line, headers=H, body=b"", end=b"\r\n"):
    return line + b"\r\n" + headers + end + body


def client_hello():
    """A real TLS ClientHello, taken from python's ssl module via a memory BIO."""
    import ssl

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def cases():
    big = b"a" * (20 * 1024)
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
    n99 = b"".join(b"X-H%d: v\r\n" % i for i in range(60))
    out = [
        # --- request line
        ("empty request (CRLFs only)", b"\r\n\r\n", "bad"),
        ("no target", b"GET\r\n" + H + b"\r\n", "bad"),
        ("HTTP/0.9 style", b"GET /\r\n\r\n", "bad"),
        ("extra token in request line", req(b"GET / HTTP/1.1 extra"), "bad"),
        ("double space in request line", req(b"GET  / HTTP/1.1"), "bad"),
        ("leading space before method", req(b" GET / HTTP/1.1"), "bad"),
        ("tab as separator", req(b"GET\t/\tHTTP/1.1"), "bad"),
        ("version HTTP/2.0 in HTTP/1 syntax", req(b"GET / HTTP/2.0"), "bad"),
        ("version HTTP/1.2", req(b"GET / HTTP/1.2"), "bad"),
        ("version HTTP/9.9", req(b"GET / HTTP/9.9"), "bad"),
        ("version HTTP/1", req(b"GET / HTTP/1"), "bad"),
        ("version lower-case http/1.1", req(b"GET / http/1.1"), "bad"),
        ("version FOO/1.1", req(b"GET / FOO/1.1"), "bad"),
        ("version HTTP/01.1", req(b"GET / HTTP/01.1"), "bad"),
        ("NUL in method", req(b"G\x00ET / HTTP/1.1"), "bad"),
        ("NUL in target", req(b"GET /\x00 HTTP/1.1"), "bad"),
        ("NUL in version", req(b"GET / HTTP/1.1\x00"), "bad"),
        ("bare CR in request line", req(b"GET /\r HTTP/1.1"), "bad"),
        ("bare CR line ending", b"GET / HTTP/1.1\rHost: localhost\r\r", "bad"),
        ("invalid method G(T", req(b"G(T / HTTP/1.1"), "bad"),
        ("invalid method with @", req(b"GE@T / HTTP/1.1"), "bad"),
        ("method with UTF-8", req("GÉT / HTTP/1.1".encode()), "bad"),
        ("method 8 KiB long", req(b"A" * 8192 + b" / HTTP/1.1"), "bad"),
        ("lower-case method get", req(b"get / HTTP/1.1"), "bad"),
        ("unknown method FOO", req(b"FOO / HTTP/1.1"), "bad"),
        ("POST /", req(b"POST / HTTP/1.1", H + b"Content-Length: 0\r\n"), "bad"),
        ("PUT / with body", req(b"PUT / HTTP/1.1", H + b"Content-Length: 3\r\n", b"abc"), "bad"),
        ("DELETE /", req(b"DELETE / HTTP/1.1"), "bad"),
        ("TRACE /", req(b"TRACE / HTTP/1.1"), "bad"),
        ("CONNECT authority-form", req(b"CONNECT localhost:443 HTTP/1.1"), "bad"),
        ("OPTIONS *", req(b"OPTIONS * HTTP/1.1"), "bad"),
        ("GET * (asterisk-form with GET)", req(b"GET * HTTP/1.1"), "bad"),
        ("target without slash", req(b"GET foo HTTP/1.1"), "bad"),
        ("dot-dot traversal", req(b"GET /../../etc/passwd HTTP/1.1"), "bad"),
        ("encoded traversal", req(b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1"), "bad"),
        ("raw UTF-8 in target", req("GET /é HTTP/1.1".encode()), "bad"),
        ("target 20 KiB long", req(b"GET /" + big + b" HTTP/1.1"), "bad"),
        ("target 70 KiB long", req(b"GET /" + b"a" * 70000 + b" HTTP/1.1"), "bad"),
        # --- absolute-form and odd schemes
        ("absolute-form http", req(b"GET http://localhost/ HTTP/1.1"), "valid"),
        ("absolute-form ftp scheme", req(b"GET ftp://localhost/ HTTP/1.1"), "either"),
        ("absolute-form file scheme", req(b"GET file:///etc/passwd HTTP/1.1"), "either"),
        ("absolute-form gopher with port", req(b"GET gopher://localhost:70/ HTTP/1.1"), "either"),
        ("javascript: target", req(b"GET javascript:alert(1) HTTP/1.1"), "bad"),
        ("absolute-form with userinfo", req(b"GET http://u:p@localhost/ HTTP/1.1"), "either"),
        ("absolute-form bad port", req(b"GET http://localhost:99999/ HTTP/1.1"), "either"),
        # --- header syntax
        ("NUL in header value", req(b"GET / HTTP/1.1", H + b"X-A: a\x00b\r\n"), "bad"),
        ("NUL in header name", req(b"GET / HTTP/1.1", H + b"X\x00A: b\r\n"), "bad"),
        ("bare CR in header value", req(b"GET / HTTP/1.1", H + b"X-A: a\rb\r\n"), "bad"),
        ("control 0x01 in header value", req(b"GET / HTTP/1.1", H + b"X-A: a\x01b\r\n"), "bad"),
        ("obs-fold continuation", req(b"GET / HTTP/1.1", H + b"X-A: a\r\n b\r\n"), "bad"),
        ("obs-fold with tab", req(b"GET / HTTP/1.1", H + b"X-A: a\r\n\tb\r\n"), "bad"),
        ("continuation as first header", req(b"GET / HTTP/1.1", b" X: y\r\n" + H), "bad"),
        ("space in header name", req(b"GET / HTTP/1.1", H + b"Bad Header: x\r\n"), "bad"),
        ("space before colon", req(b"GET / HTTP/1.1", H + b"X-A : x\r\n"), "bad"),
        ("header without colon", req(b"GET / HTTP/1.1", H + b"NoColonHere\r\n"), "bad"),
        ("empty header name", req(b"GET / HTTP/1.1", H + b": value\r\n"), "bad"),
        ("header name with (", req(b"GET / HTTP/1.1", H + b"X(y): z\r\n"), "bad"),
        ("header name with UTF-8", req(b"GET / HTTP/1.1", H + "X-É: z\r\n".encode()), "bad"),
        ("header value 20 KiB (>16 KiB)", req(b"GET / HTTP/1.1", H + b"X-Big: " + big + b"\r\n"), "bad"),
        ("header name 20 KiB", req(b"GET / HTTP/1.1", H + big + b": x\r\n"), "bad"),
        ("header block 1 MiB", req(b"GET / HTTP/1.1", H + b"X-Big: " + b"b" * (1 << 20) + b"\r\n"), "bad"),
        ("200 headers (too many)", req(b"GET / HTTP/1.1", H + many), "bad"),
        ("1 MiB of CRLF", b"\r\n" * (1 << 19), "bad"),
        ("1 KiB of binary garbage", bytes((i * 37 + 11) % 256 for i in range(1024)), "bad"),
        ("TLS ClientHello to plain port", client_hello(), "bad"),
        # --- Host
        ("HTTP/1.1 without Host", req(b"GET / HTTP/1.1", b""), "bad"),
        ("HTTP/1.1 with two Host", req(b"GET / HTTP/1.1", H + b"Host: evil\r\n"), "bad"),
        ("HTTP/1.0 with two Host", req(b"GET / HTTP/1.0", H + b"Host: evil\r\n"), "bad"),
        ("HTTP/1.0 without Host", req(b"GET / HTTP/1.0", b""), "valid"),
        ("empty Host", req(b"GET / HTTP/1.1", b"Host:\r\n"), "either"),
        ("Host with space and junk", req(b"GET / HTTP/1.1", b"Host: a b/c?d\r\n"), "either"),
        # --- Content-Length
        ("Content-Length signed +3", req(b"POST / HTTP/1.1", H + b"Content-Length: +3\r\n", b"abc"), "bad"),
        ("Content-Length negative -1", req(b"POST / HTTP/1.1", H + b"Content-Length: -1\r\n"), "bad"),
        ("Content-Length hex 0x3", req(b"POST / HTTP/1.1", H + b"Content-Length: 0x3\r\n", b"abc"), "bad"),
        ("Content-Length overflow 2^70", req(b"POST / HTTP/1.1", H + b"Content-Length: 1180591620717411303424\r\n"), "bad"),
        ("Content-Length empty", req(b"POST / HTTP/1.1", H + b"Content-Length:\r\n"), "bad"),
        ("Content-Length 3 3 (space)", req(b"POST / HTTP/1.1", H + b"Content-Length: 3 3\r\n", b"abc"), "bad"),
        ("Content-Length list 3, 3", req(b"POST / HTTP/1.1", H + b"Content-Length: 3, 3\r\n", b"abc"), "bad"),
        ("Content-Length repeated equal", req(b"POST / HTTP/1.1", H + b"Content-Length: 3\r\nContent-Length: 3\r\n", b"abc"), "bad"),
        ("Content-Length repeated equal on GET", req(b"GET / HTTP/1.1", H + b"Content-Length: 0\r\nContent-Length: 0\r\n"), "bad"),
        ("Content-Length conflicting", req(b"POST / HTTP/1.1", H + b"Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"), "bad"),
        ("Content-Length 1e3", req(b"POST / HTTP/1.1", H + b"Content-Length: 1e3\r\n"), "bad"),
        ("Content-Length with OWS", req(b"GET / HTTP/1.1", H + b"Content-Length:  0 \r\n"), "either"),
        ("GET with Content-Length 0", req(b"GET / HTTP/1.1", H + b"Content-Length: 0\r\n"), "valid"),
        # --- Transfer-Encoding
        ("Transfer-Encoding garbage", req(b"POST / HTTP/1.1", H + b"Transfer-Encoding: garbage\r\n", b"0\r\n\r\n"), "bad"),
        ("Transfer-Encoding identity", req(b"POST / HTTP/1.1", H + b"Transfer-Encoding: identity\r\n", b"0\r\n\r\n"), "bad"),
        ("Transfer-Encoding chunked, gzip", req(b"POST / HTTP/1.1", H + b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n"), "bad"),
        ("Transfer-Encoding in HTTP/1.0", req(b"POST / HTTP/1.0", H + b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"), "bad"),
        ("chunked with bad chunk size", req(b"POST / HTTP/1.1", H + b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n"), "bad"),
        ("chunk size overflow", req(b"POST / HTTP/1.1", H + b"Transfer-Encoding: chunked\r\n", b"ffffffffffffffffff\r\nabc\r\n"), "bad"),
        ("GET with chunked body", req(b"GET / HTTP/1.1", H + b"Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"), "either"),
        # --- other headers
        ("obs-text in header value", req(b"GET / HTTP/1.1", H + b"X-A: caf\xe9\r\n"), "valid"),
        ("bare LF line endings", b"GET / HTTP/1.1\nHost: localhost\n\n", "either"),
        ("leading CRLF before request", b"\r\n" + req(b"GET / HTTP/1.1"), "either"),
        ("60 headers, under the limits", req(b"GET / HTTP/1.1", H + n99), "valid"),
        ("Expect: 100-continue on GET", req(b"GET / HTTP/1.1", H + b"Expect: 100-continue\r\n"), "either"),
        ("Expect: garbage", req(b"GET / HTTP/1.1", H + b"Expect: 42-surprise\r\n"), "either"),
        ("Upgrade: h2c", req(b"GET / HTTP/1.1", H + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"), "either"),
        ("Upgrade: websocket", req(b"GET / HTTP/1.1", H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"), "either"),
        ("Range header", req(b"GET / HTTP/1.1", H + b"Range: bytes=0-1,-1,5-99999999999999999999\r\n"), "either"),
        ("Accept 8 KiB of garbage", req(b"GET / HTTP/1.1", H + b"Accept: " + b"text/html;q=" * 600 + b"\r\n"), "either"),
    ]
    return out


def run_case(addr, case, timeout):
    name, data, kind = case
    t0 = time.monotonic()
    try:
        s = c.connect(addr, timeout)
    except OSError as e:
        return name, kind, "connect-error", f"{e}", 0.0
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        rd = c.Reader(s)
        while True:
            r = rd.response(timeout - (time.monotonic() - t0))
            if r is None or r.status is None or r.status >= 200:
                break
        dt = time.monotonic() - t0
        if r is None:
            return name, kind, "closed", "", dt
        if r.status is None:
            return name, kind, "garbage", repr(r.status_line[:60]), dt
        ok_secret = c.secret().encode() in r.body
        return name, kind, r.status, r.status_line.decode("latin-1") + ("" if ok_secret or r.status != 200 else " (no secret)"), dt
    except socket.timeout:
        return name, kind, "timeout", f"no answer in {timeout:.0f} s", time.monotonic() - t0
    except ValueError as e:
        return name, kind, "garbage", str(e)[:80], time.monotonic() - t0
    finally:
        s.close()


def judge(kind, status, detail):
    if status in ("timeout", "garbage", "connect-error"):
        return False
    if status == "closed":
        return kind != "valid"
    if status >= 500:
        return False
    if kind == "bad":
        return status in ACCEPTED
    if kind == "valid":
        return status == 200 and "(no secret)" not in detail
    return status == 200 or status in ACCEPTED


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addr", default=c.env("HTTP_ADDR", "127.0.0.1:5683"))
    ap.add_argument("--timeout", type=float, default=15.0,
                    help="seconds allowed per case (more than the server's header timeout)")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--table", action="store_true", default=c.env("TABLE") == "1",
                    help="print one line per case")
    a = ap.parse_args()

    all_cases = cases()
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(a.workers) as pool:
        results = list(pool.map(lambda k: run_case(a.addr, k, a.timeout), all_cases))
    took = time.monotonic() - t0

    bad = []
    counts = {}
    for name, kind, status, detail, dt in results:
        ok = judge(kind, status, detail)
        counts[status] = counts.get(status, 0) + 1
        label = "expected-200" if kind == "valid" else kind
        if a.table or not ok:
            print(f"  {'ok  ' if ok else 'BAD '} {label:12} {str(status):8} {dt:5.2f}s  {name}"
                  + (f"  [{detail}]" if detail and not ok else ""), flush=True)
        if not ok:
            bad.append(f"{name} -> {status} {detail}".strip())

    after_ok, after_status, _, why = c.get_secret(a.addr, timeout=10)
    alive = c.alive(c.env("HTTP_PID"))
    summary = " ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))
    valid = sum(1 for r in results if r[1] == "valid")
    figures = (f"{len(results)} cases ({valid} expected-200) in {took:.1f}s; {summary}; "
               f"GET after: {after_status}")
    if bad:
        c.verdict("malformed", False, f"{len(bad)} case(s) wrong: " + "; ".join(bad[:5]) + f" | {figures}")
    if not after_ok or not alive:
        c.verdict("malformed", False, f"server no longer answers a normal GET ({why}); alive={alive} | {figures}")
    c.verdict("malformed", True, figures)


if __name__ == "__main__":
    main()
