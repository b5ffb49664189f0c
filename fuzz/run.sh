#!/usr/bin/env bash
# Runs every target of both fuzz crates (fuzz/ and crates/squirrel-sniff/fuzz),
# one after the other, each for SECONDS, and prints a table.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Environment:
#   SANITIZER=none (default) on stable; SANITIZER=address uses ASan through
#              RUSTC_BOOTSTRAP=1 (nightly flags on the stable compiler).
#   NICE="nice -n 19" (default) prefix for builds and runs; NICE= to drop it.
#   FUZZ_ARGS extra libFuzzer flags (e.g. "-timeout=30 -rss_limit_mb=4096").
#
# Seeds (fuzz/seeds/TARGET, committed) are copied into a scratch corpus
# (DIR/corpus/TARGET, ignored by git) that grows across runs. Crashes go to
# DIR/artifacts/TARGET/, logs to fuzz/logs/. Exits 1 if any target crashed.
set -uo pipefail

secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
only=("$@")
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_dirs=("$root/fuzz" "$root/crates/squirrel-sniff/fuzz")
sanitizer=${SANITIZER:-none}
nice_cmd=${NICE-nice -n 19}
logs="$root/fuzz/logs"
mkdir -p "$logs"

if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 2
fi

rows=()
failed=0
for dir in "${fuzz_dirs[@]}"; do
    [ -f "$dir/Cargo.toml" ] || continue
    parent=$(dirname "$dir")
    targets=$(cd "$parent" && cargo fuzz list --fuzz-dir "$dir") || exit 2
    selected=()
    for t in $targets; do
        if [ ${#only[@]} -eq 0 ] || printf '%s\n' "${only[@]}" | grep -qx "$t"; then
            selected+=("$t")
        fi
    done
    [ ${#selected[@]} -gt 0 ] || continue
    echo "== building $(basename "$parent")/$(basename "$dir") (sanitizer $sanitizer)" >&2
    (cd "$parent" && $nice_cmd cargo fuzz build --sanitizer "$sanitizer" --fuzz-dir "$dir") \
        >"$logs/build-$(basename "$parent").log" 2>&1 || {
        echo "build failed, see $logs/build-$(basename "$parent").log" >&2
        exit 2
    }
    for t in "${selected[@]}"; do
        corpus="$dir/corpus/$t"
        artifacts="$dir/artifacts/$t"
        mkdir -p "$corpus" "$artifacts"
        if [ -d "$dir/seeds/$t" ]; then
            cp -n "$dir/seeds/$t"/* "$corpus"/ 2>/dev/null || true
        fi
        before=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
        log="$logs/$t.log"
        echo "== $t for ${secs}s (log $log)" >&2
        start=$(date +%s)
        # shellcheck disable=SC2086
        (cd "$parent" && $nice_cmd cargo fuzz run --sanitizer "$sanitizer" --fuzz-dir "$dir" \
            "$t" "$corpus" -- -max_total_time="$secs" -print_final_stats=1 \
            -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-}) >"$log" 2>&1
        rc=$?
        took=$(($(date +%s) - start))
        # libFuzzer's own count of fuzzing seconds, when it finished cleanly.
        done_secs=$(grep -aoE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 | awk '{print $5}')
        took=${done_secs:-$took}
        execs=$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
        after=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
        crashes=$((after - before))
        if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
            crashes="rc=$rc"
        fi
        if [ "$crashes" != 0 ]; then
            failed=1
        fi
        rate=-
        if [ -n "$execs" ] && [ "$took" -gt 0 ]; then
            rate=$((execs / took))
        fi
        rows+=("$(printf '%-16s %8s %14s %10s %8s' "$t" "$took" "${execs:-?}" "$rate" "$crashes")")
    done
done

printf '%-16s %8s %14s %10s %8s\n' target seconds execs execs/s crashes
printf '%s\n' "${rows[@]}"
exit $failed
