#!/usr/bin/env bash
# Fernet speed on this machine, in one run (issue 3, "Speed"):
#   - squirrel's Fernet (Rust, release build of crates/squirrel-cipher/examples/fernet_speed.rs),
#   - Python's cryptography.fernet at the same sizes,
#   - `openssl speed` for AES-128-CBC and HMAC-SHA256, the bound no Fernet can beat,
# then MB/s for each size, the ratios, and the issue's goals checked.
# Usage: bench/fernet.sh [--criterion]   (--criterion also runs the criterion bench)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

cargo build --release --quiet -p squirrel-cipher --example fernet_speed
# Two passes of everything, the best of each kept: on a shared machine a
# neighbour's burst then spoils neither side of a ratio alone.
probe="$CARGO_TARGET_DIR/release/examples/fernet_speed"
rust_results="$(mktemp)"
trap 'rm -f "$rust_results"' EXIT
"$probe" >"$rust_results"
python3 bench/fernet_bench.py --rust "$rust_results" --then "$probe"

if [ "${1:-}" = "--criterion" ]; then
    cargo bench -p squirrel-cipher --bench fernet
fi
