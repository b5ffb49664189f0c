#!/usr/bin/env bash
# kill9_signing: `kill -9` squirrel while it signs, S times, then check that
# the CA's ledger lost nothing and no half-written file is left.
#
# In a scratch CA, PAR loops (default 2, at the same time) run
#   squirrel pki issue --no-pass --cert-file out/NAME.pem --key-file out/NAME-key.pem NAME.example
# with distinct names, and kill -9 each run after a random delay between 0
# and 1.3x the time a whole run takes (measured at first, then from every
# 4th run, which is left to finish), so runs die at every stage: start-up,
# key generation, ledger insert, file writes, exit. Then:
#   - `squirrel pki list --json` exits 0 and `PRAGMA integrity_check` is ok;
#   - every certificate file on disk parses (openssl x509) and its serial is
#     in the ledger; every key file parses (openssl pkey); serials are unique;
#   - after one more normal `pki issue` in the output folder, no
#     .squirrel-*.tmp file remains there (stale ones are swept by that run);
#   - no run ended other than by exit 0, exit 1 or our SIGKILL.
# PASS if all hold. On FAIL the scratch CA and files are copied to
# bench/attacks/findings/kill9-*/.
#
# Usage: bench/attacks/kill9_signing.sh [S]     (S default 100; env S; full: S=1000)
#   env PAR (parallel loops, default 2), SQUIRREL (binary), SCRATCH (parent dir)
set -u
here=$(cd "$(dirname "$0")" && pwd)
S=${1:-${S:-100}}
PAR=${PAR:-2}
SQ=${SQUIRREL:-$here/../../target/debug/squirrel}
work=$(mktemp -d "${SCRATCH:-${TMPDIR:-/tmp}}/kill9.XXXXXX")
keep=0
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
out=$work/out
ca=$work/ca
mkdir -p "$out"

verdict() { # PASS|FAIL text
    echo "$1 kill9_signing: $2"
    if [ "$1" = FAIL ]; then
        dest=$here/findings/kill9-$(date +%Y%m%d-%H%M%S)
        mkdir -p "$dest" && cp -a "$work/." "$dest/" && echo "  evidence copied to $dest"
        exit 1
    fi
    exit 0
}

"$SQ" pki ca init --no-pass --cn "Kill CA" --dir "$ca" >/dev/null 2>"$work/init.err" ||
    verdict FAIL "cannot create the scratch CA: $(head -c 300 "$work/init.err")"

# How long a whole `pki issue` takes here, in ms (median of 3 unkilled runs).
times=()
for i in 1 2 3; do
    t0=$(date +%s%N)
    "$SQ" pki issue --no-pass --ca-dir "$ca" --cert-file "$out/warm$i.pem" \
        --key-file "$out/warm$i-key.pem" "warm$i.example" >/dev/null 2>>"$work/warm.err" ||
        verdict FAIL "a normal pki issue fails: $(head -c 300 "$work/warm.err")"
    times+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
typical=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
DMAX=$(( typical * 13 / 10 + 1 ))

loop() { # worker count
    # Every 4th run is left to finish and timed: the kill delays of this loop
    # follow what a run takes now, under the load of the other loops.
    local w=$1 n=$2 i name pid d rc t0 dmax=$DMAX
    for ((i = 0; i < n; i++)); do
        name="w${w}n${i}"
        t0=$(date +%s%N)
        "$SQ" pki issue --no-pass --ca-dir "$ca" --cert-file "$out/$name.pem" \
            --key-file "$out/$name-key.pem" "$name.example" >/dev/null 2>>"$work/err.$w" &
        pid=$!
        if (( i % 4 != 3 )); then
            d=$(( RANDOM % dmax ))
            sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
            kill -9 "$pid" 2>/dev/null
        fi
        { wait "$pid"; } 2>/dev/null
        rc=$?
        if (( i % 4 == 3 )) && [ "$rc" = 0 ]; then
            dmax=$(( ($(date +%s%N) - t0) / 1000000 * 13 / 10 + 1 ))
            echo "$dmax" >>"$work/dmax.$w"
        fi
        echo "$rc" >>"$work/rc.$w"
    done
}

start=$(date +%s%N)
per=$(( (S + PAR - 1) / PAR ))
pids=()
for ((w = 0; w < PAR; w++)); do
    n=$per
    [ $(( (w + 1) * per )) -gt "$S" ] && n=$(( S - w * per ))
    [ "$n" -gt 0 ] && { loop "$w" "$n" & pids+=($!); }
done
for p in "${pids[@]}"; do wait "$p"; done
secs=$(( ($(date +%s%N) - start) / 1000000 ))

cat "$work"/rc.* >"$work/rcs"
runs=$(wc -l <"$work/rcs")
done_ok=$(grep -cx 0 "$work/rcs")
killed=$(grep -cx 137 "$work/rcs")
failed1=$(grep -cx 1 "$work/rcs")
other=$(grep -vx -e 0 -e 137 -e 1 "$work/rcs" | sort | uniq -c | tr -s ' ' | tr '\n' ';')
tmp_before=$(find "$out" "$ca" -maxdepth 1 -name '.squirrel-*.tmp' | wc -l)

# One more normal run in the output folder (default file names there).
(cd "$out" && "$SQ" pki issue --no-pass --ca-dir "$ca" final.example >/dev/null 2>"$work/final.err")
final_rc=$?
tmp_after=$(find "$out" "$ca" -maxdepth 1 -name '.squirrel-*.tmp' | wc -l)

problems=()
[ "$final_rc" = 0 ] || problems+=("the run after the kills failed ($final_rc): $(head -c 200 "$work/final.err")")
[ "$tmp_after" = 0 ] || problems+=("$tmp_after .squirrel-*.tmp file(s) left: $(find "$out" "$ca" -maxdepth 1 -name '.squirrel-*.tmp' | head -3 | tr '\n' ' ')")
[ -z "$other" ] || problems+=("runs ended otherwise than exit 0/1 or SIGKILL: $other")
if grep -l -e panicked "$work"/err.* >/dev/null 2>&1; then
    problems+=("a run panicked: $(grep -h panicked "$work"/err.* | head -1)")
fi

if ! "$SQ" pki list --json --ca-dir "$ca" >"$work/list.json" 2>"$work/list.err"; then
    problems+=("pki list fails: $(head -c 200 "$work/list.err")")
fi
integrity=$(sqlite3 "$ca/ledger.sqlite3" 'PRAGMA integrity_check;' 2>&1 | head -3 | tr '\n' ' ')
[ "$integrity" = "ok " ] || problems+=("ledger integrity_check: $integrity")

# Serials of the certificates on disk; parse failures are partial files.
: >"$work/disk-serials"
partial=()
certs=0 keys=0 nokey=0 nocert=0
for f in "$out"/*.pem; do
    [ -e "$f" ] || continue
    case $f in
    *-key.pem)
        keys=$((keys + 1))
        openssl pkey -in "$f" -noout 2>/dev/null || partial+=("$(basename "$f")")
        [ -e "${f%-key.pem}.pem" ] || nocert=$((nocert + 1))
        ;;
    *)
        certs=$((certs + 1))
        if serial=$(openssl x509 -in "$f" -noout -serial 2>/dev/null); then
            echo "${serial#serial=} $(basename "$f")" >>"$work/disk-serials"
        else
            partial+=("$(basename "$f")")
        fi
        [ -e "${f%.pem}-key.pem" ] || nokey=$((nokey + 1))
        ;;
    esac
done
[ ${#partial[@]} = 0 ] || problems+=("${#partial[@]} partially written PEM(s): ${partial[*]:0:5}")

check=$(python3 - "$work/list.json" "$work/disk-serials" <<'EOF'
import json, sys
norm = lambda s: s.replace(":", "").upper().lstrip("0") or "0"
try:
    rows = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"rows=0 missing=? dup=? unreadable list: {e}")
    sys.exit()
ledger = [norm(r["serial"]) for r in rows]
dup = len(ledger) - len(set(ledger))
missing = []
for line in open(sys.argv[2]):
    serial, name = line.split()
    if norm(serial) not in set(ledger):
        missing.append(f"{name}({serial})")
print(f"rows={len(rows)} missing={len(missing)} dup={dup} {' '.join(missing[:5])}")
EOF
)
rows=$(sed -n 's/.*rows=\([0-9]*\).*/\1/p' <<<"$check")
missing=$(sed -n 's/.*missing=\([0-9?]*\).*/\1/p' <<<"$check")
dup=$(sed -n 's/.*dup=\([0-9?]*\).*/\1/p' <<<"$check")
[ "$missing" = 0 ] || problems+=("certificate(s) on disk missing from the ledger: $check")
[ "$dup" = 0 ] || problems+=("duplicate serials in the ledger: $check")

dmax_seen=$(cat "$work"/dmax.* 2>/dev/null | sort -n | sed -n '1p;$p' | tr '\n' ' ' | sed 's/ $//; s/ /-/')
# Rows and certificates the killed runs left (the 3 warm-up runs and the
# final one finished, as did the $done_ok runs with exit 0).
k_rows=$(( ${rows:-0} - done_ok - 4 ))
k_certs=$(( certs - done_ok - 4 ))
figures="$runs runs ($PAR loops; 3 in 4 killed at a random moment of 1.3x a run, ${dmax_seen:-$DMAX} ms; alone a run takes ~${typical} ms) in $((secs / 1000)).$(( secs % 1000 / 100 ))s: $done_ok finished, $killed killed, $failed1 exit 1; killed runs left $k_rows ledger rows and $k_certs certificate files; ledger $rows rows, $certs certificate files on disk (+$keys keys; $nokey certificates without their key, $nocert keys without their certificate), $missing lost, $dup duplicate; temporaries $tmp_before before the clean run, $tmp_after after; integrity ${integrity% }"
if [ ${#problems[@]} -gt 0 ]; then
    keep=1
    verdict FAIL "$(printf '%s; ' "${problems[@]}")| $figures"
fi
verdict PASS "$figures"
