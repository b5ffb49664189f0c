"""Python's cryptography.fernet and `openssl speed` beside squirrel's Fernet.

Called by bench/fernet.sh with the Rust figures in a file of lines
`<op> <bytes> <MB/s>`. Measures Python the same way as the Rust probe (best
of 5 rounds of about 0.2 s), runs `openssl speed` at each size, then does it
all a second time (running the Rust probe given by --then again) and keeps
the best of the two passes for each figure. Prints one table and checks the
goals of issue 3:
  - squirrel at least 8x Python at 1 KiB, at least 2x at 1 MiB;
  - squirrel within 1.5x of the bound at 1 MiB.
The bound for encrypt is AES-128-CBC encryption then HMAC-SHA256 over the
same bytes, back to back: 1 / (1/aes + 1/hmac). For decrypt it uses AES
decryption (parallel in CBC, so much faster). Base64 and the 57 bytes of
Fernet framing are not in the bound: Fernet pays for them on top.
MB = 10^6 bytes, as openssl prints them.
"""

import argparse
import os
import re
import subprocess
import sys
import time

from cryptography.fernet import Fernet

SIZES = [100, 1024, 64 * 1024, 1024 * 1024]
NAMES = {100: "100 B", 1024: "1 KiB", 64 * 1024: "64 KiB", 1024 * 1024: "1 MiB"}


def measure(size, op):
    """Best throughput in MB/s of op() over size bytes."""
    iters = 1
    while True:
        start = time.perf_counter()
        for _ in range(iters):
            op()
        if time.perf_counter() - start > 0.05:
            break
        iters *= 2
    iters *= 4
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(iters):
            op()
        best = min(best, (time.perf_counter() - start) / iters)
    return size / best / 1e6


def python_speeds():
    f = Fernet(Fernet.generate_key())
    speeds = {}
    for size in SIZES:
        data = os.urandom(size)
        token = f.encrypt(data)
        speeds[("encrypt", size)] = measure(size, lambda: f.encrypt(data))
        speeds[("decrypt", size)] = measure(size, lambda: f.decrypt(token))
    return speeds


def openssl_speed(args, size):
    """MB/s that `openssl speed` reports for one algorithm at one size."""
    out = subprocess.run(
        ["openssl", "speed", "-seconds", "1", "-bytes", str(size), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    last = out.strip().splitlines()[-1]
    value = re.findall(r"([0-9.]+)k\s*$", last)
    if not value:
        sys.exit(f"cannot read openssl speed output: {last!r}")
    return float(value[0]) * 1000 / 1e6


def openssl_parts():
    """(AES-128-CBC encrypt, decrypt, HMAC-SHA256) MB/s at each size."""
    return {
        size: (
            openssl_speed(["-evp", "aes-128-cbc"], size),
            openssl_speed(["-decrypt", "-evp", "aes-128-cbc"], size),
            openssl_speed(["-hmac", "sha256"], size),
        )
        for size in SIZES
    }


def bounds(parts):
    """AES then HMAC over the same bytes, back to back."""
    result = {}
    for size, (aes_enc, aes_dec, hmac) in parts.items():
        result[("encrypt", size)] = 1 / (1 / aes_enc + 1 / hmac)
        result[("decrypt", size)] = 1 / (1 / aes_dec + 1 / hmac)
    return result


def parse_rust(text):
    result = {}
    for line in text.splitlines():
        op, size, speed = line.split()
        result[(op, int(size))] = float(speed)
    return result


def best_of(first, second):
    """The higher figure of two passes, key by key (tuples element by element)."""
    best = {}
    for key, value in first.items():
        other = second[key]
        if isinstance(value, tuple):
            best[key] = tuple(max(a, b) for a, b in zip(value, other))
        else:
            best[key] = max(value, other)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rust", required=True, help="file of '<op> <bytes> <MB/s>' lines")
    parser.add_argument("--then", help="the Rust probe, run again for a second pass")
    args = parser.parse_args()
    with open(args.rust) as lines:
        rust = parse_rust(lines.read())

    print("Pass 1: Python cryptography.fernet ...", file=sys.stderr)
    python = python_speeds()
    print("Pass 1: openssl speed ...", file=sys.stderr)
    parts = openssl_parts()
    if args.then:
        print("Pass 2: squirrel, Python, openssl ...", file=sys.stderr)
        probe = subprocess.run([args.then], check=True, capture_output=True, text=True)
        rust = best_of(rust, parse_rust(probe.stdout))
        python = best_of(python, python_speeds())
        parts = best_of(parts, openssl_parts())
    bound = bounds(parts)

    print(f"openssl speed on this machine ({subprocess.run(['openssl', 'version'], capture_output=True, text=True).stdout.strip()}), MB/s:")
    print(f"  {'size':>7}  {'AES-128-CBC enc':>15}  {'AES-128-CBC dec':>15}  {'HMAC-SHA256':>11}")
    for size in SIZES:
        enc, dec, hmac = parts[size]
        print(f"  {NAMES[size]:>7}  {enc:>15.1f}  {dec:>15.1f}  {hmac:>11.1f}")
    print()
    print("Fernet, MB/s of plaintext (best of 5 rounds, best of 2 passes):")
    print(f"  {'op':<8} {'size':>7}  {'squirrel':>9}  {'python':>8}  {'x python':>8}  {'bound':>8}  {'bound/squirrel':>14}")
    for op in ("encrypt", "decrypt"):
        for size in SIZES:
            ours, theirs, limit = rust[(op, size)], python[(op, size)], bound[(op, size)]
            print(
                f"  {op:<8} {NAMES[size]:>7}  {ours:>9.1f}  {theirs:>8.1f}  {ours / theirs:>7.1f}x"
                f"  {limit:>8.1f}  {limit / ours:>13.2f}x"
            )
    print()
    goals = []
    for op in ("encrypt", "decrypt"):
        kib = rust[(op, 1024)] / python[(op, 1024)]
        mib = rust[(op, 1 << 20)] / python[(op, 1 << 20)]
        gap = bound[(op, 1 << 20)] / rust[(op, 1 << 20)]
        goals.append((f"{op}: at least 8x Python at 1 KiB", kib >= 8, f"{kib:.1f}x"))
        goals.append((f"{op}: at least 2x Python at 1 MiB", mib >= 2, f"{mib:.1f}x"))
        goals.append((f"{op}: within 1.5x of the bound at 1 MiB", gap <= 1.5, f"{gap:.2f}x"))
    print("Goals:")
    for text, met, value in goals:
        print(f"  {'met ' if met else 'MISSED'}  {text}: {value}")
    return 0 if all(met for _, met, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
