"""Helpers shared by the attack scripts (python3 standard library only).

The scripts find the servers that bench/attacks/run.sh started through
environment variables, each overridable on the command line:

  HTTP_ADDR    plain-HTTP squirrel server, HOST:PORT
  HTTPS_ADDR   HTTPS squirrel server, HOST:PORT (certificate for localhost)
  CA_PEM       the CA certificate that signed the HTTPS server's certificate
  HTTP_PID     process id of the plain-HTTP server (for RSS and liveness)
  HTTPS_PID    process id of the HTTPS server
  SQUIRREL     the squirrel binary (default: target/debug/squirrel)
  SCRATCH      a scratch directory that run.sh removes on exit
  SECRET       the secret the servers serve (default "fluffy tail")
"""

import os
import socket
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def env(name, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name, default):
    return int(env(name, default))


def env_float(name, default):
    return float(env(name, default))


def squirrel_bin():
    return env("SQUIRREL", os.path.join(REPO, "target", "debug", "squirrel"))


def secret():
    return env("SECRET", "fluffy tail")


def split_addr(addr):
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


def verdict(name, ok, text):
    """Print the one-line verdict and exit 0 (PASS) or 1 (FAIL)."""
    print(f"{'PASS' if ok else 'FAIL'} {name}: {text}", flush=True)
    sys.exit(0 if ok else 1)


def alive(pid):
    if not pid:
        return True
    try:
        with open(f"/proc/{int(pid)}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except (OSError, ValueError):
        return False
    return True


def rss_kib(pid):
    """VmRSS of a process in KiB, or None."""
    try:
        with open(f"/proc/{int(pid)}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, TypeError):
        return None
    return None


def tls_context(ca=None, alpn=None):
    if ca:
        ctx = ssl.create_default_context(cafile=ca)
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def connect(addr, timeout, tls=False, ca=None, alpn=None, server_name="localhost"):
    host, port = split_addr(addr)
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        sock = tls_context(ca, alpn).wrap_socket(sock, server_hostname=server_name)
    return sock


class Response:
    def __init__(self, status_line, headers, body):
        self.status_line = status_line
        parts = status_line.split(b" ", 2)
        try:
            self.status = int(parts[1])
        except (IndexError, ValueError):
            self.status = None
        self.headers = headers  # list of (lower-case name, value) as str
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def __repr__(self):
        return f"<{self.status_line.decode('latin-1')!s} {len(self.body)}B>"


class Reader:
    """Reads HTTP/1 responses off a socket, counting what arrives."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    def _fill(self, deadline):
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, ConnectionAbortedError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def response(self, timeout, head=False):
        """The next response, None if the connection closed before one began.

        Raises socket.timeout when nothing complete arrived in time.
        """
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                if self.buf:
                    raise ValueError(f"truncated response head: {self.buf[:80]!r}")
                return None
        head_bytes, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head_bytes.split(b"\r\n")
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers.append((k.strip().lower().decode("latin-1"), v.strip().decode("latin-1")))
        resp = Response(lines[0], headers, b"")
        if head or resp.status in (204, 304) or (resp.status or 0) < 200:
            return resp
        length = resp.header("content-length")
        if length is not None:
            n = int(length)
            while len(self.buf) < n:
                if not self._fill(deadline):
                    raise ValueError("truncated body")
            resp.body, self.buf = self.buf[:n], self.buf[n:]
        elif (resp.header("transfer-encoding") or "").lower().endswith("chunked"):
            raise ValueError("chunked responses are not expected from squirrel")
        else:
            while self._fill(deadline):
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def all_responses(self, quiet, total, head=False):
        """Responses until the connection closes, or nothing arrives for
        `quiet` seconds, or `total` seconds pass. Returns (list, closed)."""
        out = []
        end = time.monotonic() + total
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                r = self.response(min(quiet, left), head=head)
            except socket.timeout:
                break
            if r is None:
                break
            out.append(r)
        return out, self.closed


def get_secret(addr, timeout=10.0, tls=False, ca=None, path="/"):
    """One GET over a fresh connection. Returns (ok, status, seconds, why)."""
    t0 = time.monotonic()
    try:
        s = connect(addr, timeout, tls=tls, ca=ca, alpn=["http/1.1"] if tls else None)
        try:
            s.sendall(
                f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
            )
            r = Reader(s).response(timeout)
        finally:
            s.close()
    except Exception as e:  # noqa: BLE001 - any failure is a failed request
        return False, None, time.monotonic() - t0, f"{type(e).__name__}: {e}"
    dt = time.monotonic() - t0
    if r is None:
        return False, None, dt, "closed without a response"
    ok = r.status == 200 and secret().encode() in r.body
    return ok, r.status, dt, "" if ok else f"status {r.status_line!r} body {r.body[:60]!r}"


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]
