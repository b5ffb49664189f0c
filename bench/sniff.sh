#!/usr/bin/env bash
# The spy's speed (issue 5): squirrel sniff --read against tshark -r on the
# same large capture, both printing their one-line-per-packet summary.
# Usage: bench/sniff.sh [PACKETS]   (default 200000; at least 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
packets="${1:-200000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
command -v tshark >/dev/null || { echo "tshark is needed: apt-get install tshark" >&2; exit 1; }

cargo build --release --quiet -p squirrel --bin squirrel
cargo build --release --quiet -p squirrel-sniff --example sniff_synth
bin="$CARGO_TARGET_DIR/release/squirrel"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$CARGO_TARGET_DIR/release/examples/sniff_synth" "$packets" "$work/big.pcap"

now() { date +%s.%N; }
# Best of three runs each, output to a file (not a terminal) as a script would.
best() {
    local best=""
    for _ in 1 2 3; do
        local t0 t1 took
        t0=$(now); "$@" >"$work/out.txt" 2>/dev/null; t1=$(now)
        took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
        if [ -z "$best" ] || awk -v x="$took" -v y="$best" 'BEGIN { exit !(x < y) }'; then best=$took; fi
    done
    echo "$best"
}

s=$(best "$bin" sniff --read "$work/big.pcap")
s_lines=$(wc -l <"$work/out.txt")
t=$(best tshark -r "$work/big.pcap")
t_lines=$(wc -l <"$work/out.txt")
if [ "$s_lines" != "$packets" ] || [ "$t_lines" != "$packets" ]; then
    echo "expected $packets lines from each tool, got $s_lines (squirrel) and $t_lines (tshark)" >&2
    exit 1
fi
printf 'capture: %s packets (HTTP on port 80, TLS on port 443)\n' "$packets"
awk -v n="$packets" -v s="$s" -v t="$t" -v sl="$s_lines" -v tl="$t_lines" 'BEGIN {
    printf "squirrel sniff --read: %8.3f s  %12.0f packets/s  (%d lines)\n", s, n / s, sl
    printf "tshark -r:             %8.3f s  %12.0f packets/s  (%d lines)\n", t, n / t, tl
    printf "ratio: squirrel is %.1fx tshark (goal: 10x)\n", t / s
}'
