#!/usr/bin/env python3
"""mutate_files: mutated certificates, keys, CSRs, CRLs and captures fed to
squirrel's read-only commands.

Valid seeds are made in a scratch directory with squirrel itself: a CA, a
certificate (PEM, DER and a chain), an encrypted and a plain PKCS#8 key
(`pki key`), a CSR (`pki csr`), a CRL (`pki crl`, PEM and DER), and a small
pcap and pcapng crafted here (Ethernet/IPv4/TCP with an HTTP exchange, a TLS
ClientHello, a UDP datagram). F mutants (round robin over the seeds) are
made by bit flips, interesting bytes and integers, truncation, insertion,
deletion, duplication, splicing of two seeds, PEM-boundary damage, base64
corruption, and DER-aware damage re-encoded as valid base64 (lengths, tags).
Each mutant is run through the matching command, 5 s timeout, --workers
in parallel:

  certificates   squirrel pki inspect M; squirrel pki verify M --ca ca.pem
  a CA           squirrel pki verify leaf.pem --ca M
  keys           squirrel pki inspect --no-pass M / --pass-env P M
  CSR            squirrel pki inspect M
  CRL            squirrel pki inspect M; squirrel pki verify leaf --ca ca --crl M
  captures       squirrel sniff --read M -V -x --secret 'fluffy tail'

PASS if no run panics (exit 101 or "panicked" on stderr), dies of a signal,
or times out, and every exit code is 0, 1 or 2. Failing inputs are kept in
the scratch dir, copied to bench/attacks/findings/, and their paths printed.

Usage: mutate_files.py [-f F] [--seed S] [--workers 2] [--timeout 5]
  F (default 2000; env F). Full size: F=30000.
"""

import argparse
import base64
import concurrent.futures as cf
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

PASS_VAR = "SQUIRREL_ATTACK_PASS"
PASSPHRASE = "correct horse battery staple"


# ---------------------------------------------------------------- seeds

def run_ok(cmd, cwd, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode(errors='replace')[:300]}")
    return p


def pem_to_der(path):
    lines = open(path, "rb").read().decode().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN"))
    end = next(i for i, line in enumerate(lines) if line.startswith("-----END") and i > start)
    return base64.b64decode("".join(lines[start + 1:end]))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(proto, payload, src="127.0.0.1", dst="127.0.0.1"):
    import socket as s
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                      s.inet_aton(src), s.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def eth(payload):
    return b"\x00" * 6 + b"\x02" + b"\x00" * 5 + b"\x08\x00" + payload


def packets():
    from malformed import client_hello  # a real TLS ClientHello

    get = b"GET / HTTP/1.1\r\nHost: localhost:5683\r\nUser-Agent: spy\r\n\r\n"
    ans = (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 11\r\n\r\n"
           b"fluffy tail")
    SYN, ACK_, PSH = 0x02, 0x10, 0x08
    return [
        eth(ipv4(6, tcp(40000, 5683, 1000, 0, SYN))),
        eth(ipv4(6, tcp(5683, 40000, 5000, 1001, SYN | ACK_))),
        eth(ipv4(6, tcp(40000, 5683, 1001, 5001, ACK_))),
        eth(ipv4(6, tcp(40000, 5683, 1001, 5001, PSH | ACK_, get))),
        eth(ipv4(6, tcp(5683, 40000, 5001, 1001 + len(get), PSH | ACK_, ans))),
        eth(ipv4(6, tcp(40001, 443, 7000, 0, PSH | ACK_, client_hello()))),
        eth(ipv4(17, udp(5353, 5353, b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05local\x00\x00\x01\x00\x01"))),
    ]


def write_pcap(path, pkts):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, p in enumerate(pkts):
        out += struct.pack("<IIII", 1700000000 + i, i * 1000, len(p), len(p)) + p
    open(path, "wb").write(out)


def write_pcapng(path, pkts):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    for i, p in enumerate(pkts):
        ts = (1700000000 + i) * 1000000
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(p), len(p)) + p)
    open(path, "wb").write(out)


def make_seeds(sq, work):
    ca = os.path.join(work, "ca")
    env = {"SQUIRREL_HOME": ca, PASS_VAR: PASSPHRASE}
    run_ok([sq, "pki", "ca", "init", "--no-pass", "--cn", "Mutation CA"], work, env)
    run_ok([sq, "pki", "issue", "--no-pass", "--cert-file", "leaf.pem", "--key-file", "leaf-key.pem",
            "localhost", "127.0.0.1"], work, env)
    run_ok([sq, "pki", "key", "--no-pass", "-o", "plain-key.pem"], work, env)
    run_ok([sq, "pki", "key", "--pass-env", PASS_VAR, "-o", "enc-key.pem"], work, env)
    run_ok([sq, "pki", "key", "--no-pass", "--algo", "ed25519", "-o", "ed-key.pem"], work, env)
    run_ok([sq, "pki", "csr", "--key", "plain-key.pem", "--no-pass", "--cn", "mutant.example",
            "--org", "Squirrels", "--san", "mutant.example", "--san", "10.0.0.1", "-o", "req.csr"], work, env)
    leaf_serial = None
    for line in run_ok([sq, "pki", "issue", "--no-pass", "--cert-file", "revoked.pem", "--key-file",
                        "revoked-key.pem", "revoked.example"], work, env).stdout.decode().splitlines():
        if "serial:" in line:
            leaf_serial = line.split("serial:")[1].strip()
    run_ok([sq, "pki", "revoke", "--reason", "keyCompromise", leaf_serial], work, env)
    run_ok([sq, "pki", "crl", "--no-pass", "--out", "crl.pem"], work, env)
    shutil.copy(os.path.join(ca, "ca.pem"), os.path.join(work, "ca.pem"))
    open(os.path.join(work, "leaf.der"), "wb").write(pem_to_der(os.path.join(work, "leaf.pem")))
    open(os.path.join(work, "crl.der"), "wb").write(pem_to_der(os.path.join(work, "crl.pem")))
    with open(os.path.join(work, "chain.pem"), "wb") as f:
        f.write(open(os.path.join(work, "leaf.pem"), "rb").read() + open(os.path.join(work, "ca.pem"), "rb").read())
    pk = packets()
    write_pcap(os.path.join(work, "spy.pcap"), pk)
    write_pcapng(os.path.join(work, "spy.pcapng"), pk)
    leaf = os.path.join(work, "leaf.pem")
    cap = os.path.join(work, "ca.pem")
    ins = [sq, "pki", "inspect"]
    # seed file -> commands, with M standing for the mutant
    return {
        "leaf.pem": [ins + ["M"], [sq, "pki", "verify", "M", "--ca", cap, "--hostname", "localhost"]],
        "chain.pem": [ins + ["--json", "M"], [sq, "pki", "verify", "M", "--ca", cap]],
        # `pki inspect` reads DER too: the mutants reach the DER parsers.
        "leaf.der": [ins + ["M"], ins + ["--json", "M"]],
        "ca.pem": [[sq, "pki", "verify", leaf, "--ca", "M"], ins + ["M"]],
        "plain-key.pem": [ins + ["--no-pass", "M"]],
        "ed-key.pem": [ins + ["--json", "--no-pass", "M"]],
        "enc-key.pem": [ins + ["--pass-env", PASS_VAR, "M"], ins + ["M"]],
        "req.csr": [ins + ["M"], ins + ["--json", "M"]],
        "crl.pem": [ins + ["M"], [sq, "pki", "verify", leaf, "--ca", cap, "--crl", "M"]],
        "crl.der": [[sq, "pki", "verify", leaf, "--ca", cap, "--crl", "M"]],
        "spy.pcap": [[sq, "sniff", "--read", "M", "-V", "-x", "--secret", "fluffy tail"]],
        "spy.pcapng": [[sq, "sniff", "--read", "M", "-V", "-x", "--secret", "fluffy tail"],
                       [sq, "sniff", "--read", "M", "--json", "--display", "http,tls"]],
    }


# ---------------------------------------------------------------- mutators

INTERESTING8 = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x30, 0x02, 0x04, 0x05, 0x06, 0x0A, 0x0D, 0x2D]
INTERESTING32 = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFF0]


def bitflip(r, d):
    d = bytearray(d)
    for _ in range(r.choice([1, 1, 2, 4, 8])):
        if d:
            i = r.randrange(len(d))
            d[i] ^= 1 << r.randrange(8)
    return bytes(d)


def interesting(r, d):
    d = bytearray(d)
    if not d:
        return bytes(d)
    if r.random() < 0.5:
        d[r.randrange(len(d))] = r.choice(INTERESTING8)
    else:
        i = r.randrange(max(1, len(d) - 3))
        fmt = r.choice(["<I", ">I"])
        d[i:i + 4] = struct.pack(fmt, r.choice(INTERESTING32))
    return bytes(d)


def truncate(r, d):
    return d[:r.randrange(len(d) + 1)]


def insert(r, d):
    i = r.randrange(len(d) + 1)
    junk = r.choice([bytes(r.randrange(256) for _ in range(r.randint(1, 16))), b"\0" * r.randint(1, 64),
                     b"\xff" * r.randint(1, 64), b"-----", b"\r", b"\n\n", b"=", b"\xc3\x28"])
    return d[:i] + junk + d[i:]


def delete(r, d):
    if not d:
        return d
    i = r.randrange(len(d))
    return d[:i] + d[i + r.randint(1, 32):]


def duplicate(r, d):
    if not d:
        return d
    i = r.randrange(len(d))
    j = min(len(d), i + r.randint(1, 256))
    return d[:j] + d[i:j] * r.randint(1, 64) + d[j:]


def pem_damage(r, d):
    t = d.decode("latin-1")
    lines = t.split("\n")
    b = [i for i, line in enumerate(lines) if line.startswith("-----")]
    choice = r.randrange(10)
    if not b:
        return bitflip(r, d)
    i = r.choice(b)
    if choice == 0:
        del lines[i]  # a missing BEGIN or END
    elif choice == 1:
        lines[i] = lines[i].replace("CERTIFICATE", "PRIVATE KEY").replace("KEY", "CERTIFICATE")
    elif choice == 2:
        lines[i] = lines[i].replace("-----", "----", 1)
    elif choice == 3:
        lines[i] = lines[i] + " \t"
    elif choice == 4:
        lines.insert(i + 1, lines[b[0]])  # nested BEGIN
    elif choice == 5:
        lines[i] = lines[i].replace("BEGIN", "END") if "BEGIN" in lines[i] else lines[i].replace("END", "BEGIN")
    elif choice == 6:
        lines[i] = lines[i].lower()
    elif choice == 7:
        lines.insert(i + 1, "Proc-Type: 4,ENCRYPTED")
        lines.insert(i + 2, "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF")
        lines.insert(i + 3, "")
    elif choice == 8:
        lines[i] = "-----BEGIN " + "X" * r.choice([0, 1, 100, 5000]) + "-----"
    else:
        return (t.replace("\n", "\r\n") if r.random() < 0.5 else t.replace("\n", "\r")).encode("latin-1")
    return "\n".join(lines).encode("latin-1")


def split_pem(d):
    """(prefix, base64 body lines, suffix) of the first PEM block, or None."""
    t = d.decode("latin-1")
    lines = t.split("\n")
    try:
        s = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN"))
        e = next(i for i, line in enumerate(lines) if line.startswith("-----END") and i > s)
    except StopIteration:
        return None
    body = lines[s + 1:e]
    while body and ":" in body[0]:
        body = body[1:]
    return lines[:s + 1], lines[s + 1:e], lines[e:]


def b64_damage(r, d):
    parts = split_pem(d)
    if not parts:
        return bitflip(r, d)
    head, body, tail = parts
    joined = "".join(body)
    if not joined:
        return d
    k = r.randrange(7)
    i = r.randrange(len(joined))
    if k == 0:
        joined = joined[:i] + r.choice("!@#$%^&*()~`<>?é\0 \t") + joined[i + 1:]
    elif k == 1:
        joined = joined[:i] + "=" + joined[i + 1:]
    elif k == 2:
        joined = joined[:i] + joined[i + 1:]
    elif k == 3:
        joined = joined.rstrip("=") + r.choice(["", "=", "===", "A", "AB="])
    elif k == 4:
        joined = joined[:i] + "====" + joined[i:]
    elif k == 5:
        joined = joined[:i]
    else:
        joined = joined[:i] + r.choice(["\n", " ", "\r\n", "\n\n"]) + joined[i:]
    width = r.choice([64, 64, 76, 1, 65, 10000])
    body = [joined[j:j + width] for j in range(0, len(joined), width)]
    return "\n".join(head + body + tail).encode("latin-1")


def der_damage(r, der):
    """DER-aware damage: tags, lengths and truncation inside the structure."""
    d = bytearray(der)
    if not d:
        return bytes(d)
    k = r.randrange(6)
    # Offsets of bytes that look like DER length bytes (just after a tag).
    starts = [i for i in range(len(d) - 1) if d[i] in (0x30, 0x31, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13,
                                                       0x17, 0x18, 0xA0, 0xA3, 0x80, 0x81, 0x82)]
    i = r.choice(starts) if starts else r.randrange(len(d))
    if k == 0 and i + 1 < len(d):
        d[i + 1] = r.choice([0x00, 0x7F, 0x80, 0x81, 0x84, 0x85, 0x89, 0xFF])  # length byte
    elif k == 1 and i + 1 < len(d):
        d[i + 1:i + 2] = bytes([0x84, 0xFF, 0xFF, 0xFF, 0xFF])  # 4 GiB length
    elif k == 2:
        d[i] = r.choice([0x00, 0x1F, 0x3F, 0x9F, 0xFF, 0x24, 0x23, 0x0D, 0x1E, 0x1C])  # tag
    elif k == 3:
        d[i + 1:i + 1] = bytes([0x30, 0x80]) * r.randint(1, 200)  # indefinite lengths, nesting
    elif k == 4:
        d = d[:i] + bytes([0x30, 0x82, 0xFF, 0xFF]) + d[i:]
    else:
        return bytes(d[:r.randrange(len(d))])
    return bytes(d)


def der_in_pem(r, d):
    parts = split_pem(d)
    if not parts:
        return der_damage(r, d)
    head, body, tail = parts
    try:
        der = base64.b64decode("".join(body))
    except ValueError:
        return bitflip(r, d)
    b = base64.b64encode(der_damage(r, der)).decode()
    return "\n".join(head + [b[j:j + 64] for j in range(0, len(b), 64)] + tail).encode("latin-1")


def splice(r, d, other):
    i = r.randrange(len(d) + 1)
    j = r.randrange(len(other) + 1)
    return d[:i] + other[j:]


def capture_damage(r, d):
    """Length fields of pcap/pcapng records and blocks."""
    d = bytearray(d)
    is_ng = d[:4] == b"\x0a\x0d\x0d\x0a"
    offs = []
    if is_ng:
        i = 0
        while i + 8 <= len(d):
            n = struct.unpack_from("<I", d, i + 4)[0]
            offs += [i + 4, i + n - 4 if n >= 12 else i + 4, i + 20, i + 24, i + 8]
            if n < 12:
                break
            i += n
    else:
        offs = [4, 6, 16, 20]
        i = 24
        while i + 16 <= len(d):
            offs += [i + 8, i + 12]
            n = struct.unpack_from("<I", d, i + 8)[0]
            i += 16 + n
    o = r.choice([x for x in offs if x + 4 <= len(d)] or [0])
    d[o:o + 4] = struct.pack("<I", r.choice(INTERESTING32 + [r.randrange(1 << 32)]))
    return bytes(d)


TEXT_MUTATORS = [bitflip, interesting, truncate, insert, delete, duplicate, pem_damage, b64_damage,
                 der_in_pem, der_in_pem, b64_damage]
BINARY_MUTATORS = [bitflip, interesting, truncate, insert, delete, duplicate, der_damage]
CAPTURE_MUTATORS = [bitflip, interesting, truncate, insert, delete, duplicate, capture_damage, capture_damage]


def mutate(r, name, data, seeds):
    if name.endswith((".pcap", ".pcapng")):
        pool = CAPTURE_MUTATORS
    elif name.endswith(".der"):
        pool = BINARY_MUTATORS
    else:
        pool = TEXT_MUTATORS
    out = data
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        if r.random() < 0.04:
            out = splice(r, out, seeds[r.choice(list(seeds))])
        else:
            out = r.choice(pool)(r, out)
    if out == data:
        out = bitflip(r, out)
    return out


# ---------------------------------------------------------------- runner

def run_one(job, timeout, keep_dir):
    idx, name, data, cmd = job
    path = os.path.join(keep_dir, f"{idx:06d}-{name}")
    with open(path, "wb") as f:
        f.write(data)
    argv = [path if a == "M" else a for a in cmd]
    env = dict(os.environ, **{PASS_VAR: PASSPHRASE, "RUST_BACKTRACE": "1", "NO_COLOR": "1"})
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return idx, name, path, argv, "timeout", None, time.monotonic() - t0
    dt = time.monotonic() - t0
    err = p.stderr.decode(errors="replace")
    if p.returncode < 0:
        why = f"signal {-p.returncode}"
    elif p.returncode == 101 or "panicked" in err:
        why = "panic: " + next((line for line in err.splitlines() if "panicked" in line), err[:200])
    elif p.returncode not in (0, 1, 2):
        why = f"exit {p.returncode}"
    else:
        os.unlink(path)
        return idx, name, None, argv, "", p.returncode, dt
    return idx, name, path, argv, why, p.returncode, dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-f", "--files", type=int, default=c.env_int("F", 2000), help="mutants")
    ap.add_argument("--seed", type=int, default=c.env_int("SEED", 1), help="random seed (reproducible runs)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per run")
    ap.add_argument("--scratch", default=c.env("SCRATCH"), help="work dir (default: a temporary one)")
    ap.add_argument("--stats", action="store_true", help="print exit codes per seed")
    ap.add_argument("--findings", default=os.path.join(c.HERE, "findings"))
    a = ap.parse_args()
    sq = c.squirrel_bin()

    own = None
    fails = []
    if not a.scratch:
        own = a.scratch = tempfile.mkdtemp(prefix="squirrel-mutate-")
    try:
        work = os.path.join(a.scratch, "mutate")
        os.makedirs(work, exist_ok=True)
        keep = os.path.join(work, "mutants")
        os.makedirs(keep, exist_ok=True)
        commands = make_seeds(sq, work)
        seeds = {n: open(os.path.join(work, n), "rb").read() for n in commands}
        # The seeds themselves must pass (exit 0): otherwise the harness is wrong.
        for n, cmds in commands.items():
            for cmd in cmds:
                r = run_one((0, "seed-" + n, seeds[n], cmd), 30, keep)
                if r[4] or r[5] != 0:
                    c.verdict("mutate_files", False, f"seed {n} does not pass {' '.join(cmd)}: {r[4] or r[5]}")

        rnd = random.Random(a.seed)
        names = list(commands)

        def jobs():
            for i in range(a.files):
                n = names[i % len(names)]
                cmds = commands[n]
                yield i + 1, n, mutate(rnd, n, seeds[n], seeds), cmds[(i // len(names)) % len(cmds)]

        t0 = time.monotonic()
        codes, per_seed = {}, {}
        slowest = 0.0
        with cf.ThreadPoolExecutor(a.workers) as pool:
            pending = set()
            for job in jobs():
                pending.add(pool.submit(run_one, job, a.timeout, keep))
                if len(pending) >= 4 * a.workers:
                    done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    for fut in done:
                        res = fut.result()
                        codes[res[5]] = codes.get(res[5], 0) + 1
                        slowest = max(slowest, res[6])
                        per_seed.setdefault(res[1], {}).setdefault(res[5], 0)
                        per_seed[res[1]][res[5]] += 1
                        if res[4]:
                            fails.append(res)
            for fut in cf.as_completed(pending):
                res = fut.result()
                codes[res[5]] = codes.get(res[5], 0) + 1
                slowest = max(slowest, res[6])
                per_seed.setdefault(res[1], {}).setdefault(res[5], 0)
                per_seed[res[1]][res[5]] += 1
                if res[4]:
                    fails.append(res)
        took = time.monotonic() - t0
        if a.stats:
            for n in names:
                print(f"  {n:14} " + " ".join(f"exit {k}: {v}" for k, v in sorted(
                    per_seed.get(n, {}).items(), key=lambda kv: str(kv[0]))), flush=True)
        figures = (f"{a.files} mutants of {len(seeds)} seeds (seed {a.seed}) in {took:.1f}s "
                   f"({a.files / took:.0f}/s, slowest {slowest:.2f}s); exit codes "
                   + " ".join(f"{k}={v}" for k, v in sorted(codes.items(), key=lambda kv: str(kv[0]))))
        if fails:
            os.makedirs(a.findings, exist_ok=True)
            for idx, name, path, argv, why, rc, dt in sorted(fails)[:50]:
                dest = os.path.join(a.findings, os.path.basename(path))
                shutil.copy(path, dest)
                print(f"  {why}: {dest}\n    {' '.join(argv)}", flush=True)
            kinds = {}
            for f in fails:
                k = f[4].split(":")[0]
                kinds[k] = kinds.get(k, 0) + 1
            c.verdict("mutate_files", False, f"{len(fails)} failing input(s) {kinds}, kept in {keep} "
                      f"and {a.findings} | {figures}")
        c.verdict("mutate_files", True, figures)
    finally:
        if own and not fails:
            shutil.rmtree(own, ignore_errors=True)


if __name__ == "__main__":
    main()
