#!/usr/bin/env bash
# Runs the attack scripts of bench/attacks against squirrel on loopback and
# prints a summary table; exits 1 if any attack FAILs.
#
# In a scratch directory (removed on exit) it makes a CA and a certificate
# for localhost and 127.0.0.1 with squirrel, starts two servers with their
# default limits (HTTPS, and plain HTTP for the HTTP/1 attacks), runs each
# attack, and stops the servers on exit.
#
# Usage: bench/attacks/run.sh [--quick] [ATTACK...]
#   ATTACK: slowloris slowloris-tls malformed smuggling h2_flood mutate_files
#           kill9_signing (default: all but slowloris-tls with --quick)
#   --quick: small sizes for CI (about 30 s in all)
#   Sizes come from the environment: N M DURATION (slowloris), K H2_CONNS
#   CONT_MIB (h2_flood), F SEED (mutate_files), S PAR (kill9_signing);
#   e.g. N=1000 M=1000 F=30000 S=1000 bench/attacks/run.sh
#   SQUIRREL: the binary (default target/debug/squirrel); NICE: niceness (10)
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export SQUIRREL=${SQUIRREL:-$repo/target/debug/squirrel} PYTHONDONTWRITEBYTECODE=1
# The attacks run in a scratch directory: a relative path must not dangle there.
case $SQUIRREL in /*) ;; */*) SQUIRREL=$PWD/$SQUIRREL ;; esac
renice -n "${NICE:-10}" -p $$ >/dev/null 2>&1 || true

quick=0
attacks=()
for arg in "$@"; do
    case $arg in
    --quick) quick=1 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) attacks+=("$arg") ;;
    esac
done
if [ ${#attacks[@]} = 0 ]; then
    attacks=(slowloris malformed smuggling h2_flood mutate_files kill9_signing)
    [ "$quick" = 1 ] || attacks=(slowloris slowloris-tls malformed smuggling h2_flood mutate_files kill9_signing)
fi
if [ "$quick" = 1 ]; then
    # Quick sizes, unless given in the environment.
    export N=${N:-50} M=${M:-50} DURATION=${DURATION:-4}
    export K=${K:-5000} H2_CONNS=${H2_CONNS:-3} CONT_MIB=${CONT_MIB:-10}
    export F=${F:-200} S=${S:-20}
    limit=${ATTACK_TIMEOUT:-60}
else
    limit=${ATTACK_TIMEOUT:-900}
fi
[ -x "$SQUIRREL" ] || { echo "no squirrel binary at $SQUIRREL (set SQUIRREL)" >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/squirrel-attacks.XXXXXX")
export SCRATCH=$scratch
http_pid='' https_pid=''
cleanup() {
    [ -n "$https_pid" ] && kill "$https_pid" 2>/dev/null
    [ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null
    [ -n "$https_pid" ] && wait "$https_pid" 2>/dev/null
    [ -n "$http_pid" ] && wait "$http_pid" 2>/dev/null
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_all=$(date +%s%N)
cd "$scratch" || exit 2
SQUIRREL_HOME=$scratch/ca "$SQUIRREL" pki ca init --no-pass --cn "Attack CA" >/dev/null 2>setup.err &&
    SQUIRREL_HOME=$scratch/ca "$SQUIRREL" pki issue --no-pass localhost 127.0.0.1 >/dev/null 2>>setup.err ||
    { echo "setup failed: $(cat setup.err)" >&2; exit 2; }
export CA_PEM=$scratch/ca/ca.pem SECRET="fluffy tail"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port pid
    python3 - "$1" "$2" <<'EOF'
import os, socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
end = time.time() + 30
while time.time() < end:
    if not os.path.exists(f"/proc/{pid}"):
        sys.exit(1)
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}
start_https() {
    "$SQUIRREL" serve --listen "127.0.0.1:$https_port" --cert localhost+1.pem --key localhost+1-key.pem \
        >>"$scratch/https.log" 2>&1 &
    https_pid=$!
    wait_port "$https_port" "$https_pid" || { echo "the HTTPS server did not start: $(tail -5 "$scratch/https.log")" >&2; exit 2; }
    export HTTPS_PID=$https_pid HTTPS_ADDR=127.0.0.1:$https_port
}
start_http() {
    "$SQUIRREL" serve --listen "127.0.0.1:$http_port" >>"$scratch/http.log" 2>&1 &
    http_pid=$!
    wait_port "$http_port" "$http_pid" || { echo "the HTTP server did not start: $(tail -5 "$scratch/http.log")" >&2; exit 2; }
    export HTTP_PID=$http_pid HTTP_ADDR=127.0.0.1:$http_port
}
https_port=$(free_port)
http_port=$(free_port)
start_https
start_http
echo "squirrel: $SQUIRREL"
echo "servers: https://localhost:$https_port (pid $https_pid), http://127.0.0.1:$http_port (pid $http_pid)$([ "$quick" = 1 ] && echo ', quick sizes')"

names=() results=() secs=() lines=()
for attack in "${attacks[@]}"; do
    case $attack in
    slowloris) cmd=(python3 "$here/slowloris.py") ;;
    slowloris-tls) cmd=(python3 "$here/slowloris.py" --tls) ;;
    malformed) cmd=(python3 "$here/malformed.py") ;;
    smuggling) cmd=(python3 "$here/smuggling.py") ;;
    h2_flood) cmd=(python3 "$here/h2_flood.py") ;;
    mutate_files) cmd=(python3 "$here/mutate_files.py") ;;
    kill9_signing) cmd=(bash "$here/kill9_signing.sh") ;;
    *) echo "unknown attack $attack" >&2; exit 2 ;;
    esac
    if [ "$quick" = 1 ] && [ "$attack" = smuggling ]; then cmd+=(--quiet 1); fi
    t0=$(date +%s%N)
    timeout -k 5 "$limit" "${cmd[@]}" >"$scratch/$attack.out" 2>"$scratch/$attack.err"
    rc=$?
    dt=$(( ($(date +%s%N) - t0) / 1000000 ))
    line=$(grep -E '^(PASS|FAIL) ' "$scratch/$attack.out" | tail -1)
    result=PASS
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        result=FAIL line="FAIL $attack: timed out after ${limit}s"
    elif [ "$rc" != 0 ] || [ "${line%% *}" != PASS ]; then
        result=FAIL
        [ -n "$line" ] || line="FAIL $attack: exit $rc, $(tail -c 400 "$scratch/$attack.err" | tr '\n' ' ')"
    fi
    for srv in https http; do
        pid_var=${srv}_pid
        if ! kill -0 "${!pid_var}" 2>/dev/null; then
            result=FAIL
            line="$line [the $srv server died: $(tail -3 "$scratch/$srv.log" | tr '\n' ' ')]"
            "start_$srv"
        fi
    done
    # Details above the verdict (tables, findings), then the verdict.
    grep -vE '^(PASS|FAIL) ' "$scratch/$attack.out"
    [ "$result" = FAIL ] && [ -s "$scratch/$attack.err" ] && tail -5 "$scratch/$attack.err"
    echo "$line"
    names+=("$attack") results+=("$result") secs+=("$(printf '%d.%d' $((dt / 1000)) $((dt % 1000 / 100)))") lines+=("$line")
done

total=$(( ($(date +%s%N) - t_all) / 1000000 ))
echo
printf '%-14s %-6s %8s\n' attack result seconds
failed=0
for i in "${!names[@]}"; do
    printf '%-14s %-6s %8s\n' "${names[$i]}" "${results[$i]}" "${secs[$i]}"
    [ "${results[$i]}" = PASS ] || failed=$((failed + 1))
done
printf '%-14s %-6s %8s\n' total "$([ $failed = 0 ] && echo PASS || echo "FAIL:$failed")" \
    "$(printf '%d.%d' $((total / 1000)) $((total % 1000 / 100)))"
[ $failed = 0 ]
