#!/usr/bin/env bash
# Side-by-side benchmark of `squirrel serve` and nginx (one worker), serving
# the same 11-byte body with the same ECDSA P-256 certificate. The server is
# pinned to CPU 0 and wrk to CPU 1. Prints requests/s for each, median of
# RUNS runs, and the ratio squirrel/nginx, for:
#   1. HTTPS keep-alive,
#   2. one request per TLS connection (a full handshake each time),
#   3. plain HTTP keep-alive.
# Usage: bash bench/serve.sh [SECONDS_PER_RUN] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-5}
RUNS=${2:-3}
CONNECTIONS=${CONNECTIONS:-50}

need=()
command -v nginx >/dev/null || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet --bin squirrel
SQUIRREL=$PWD/target/release/squirrel

work=$(mktemp -d)
cleanup() {
    [ -n "${squirrel_pid:-}" ] && kill "$squirrel_pid" 2>/dev/null || true
    [ -n "${tls_pid:-}" ] && kill "$tls_pid" 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export SQUIRREL_HOME=$work/ca
"$SQUIRREL" pki ca init --no-pass >/dev/null
"$SQUIRREL" pki issue localhost --algo ecdsa-p256 >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SQ_TLS=$(free_port); SQ_HTTP=$(free_port); NG_TLS=$(free_port); NG_HTTP=$(free_port)

cat > nginx.conf <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    server {
        listen 127.0.0.1:$NG_TLS ssl;
        ssl_certificate $work/localhost.pem;
        ssl_certificate_key $work/localhost-key.pem;
        location / { default_type text/plain; return 200 "fluffy tail"; }
    }
    server {
        listen 127.0.0.1:$NG_HTTP;
        location / { default_type text/plain; return 200 "fluffy tail"; }
    }
}
NGINX
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" -e "$work/nginx-error.log"

start_squirrel() {
    taskset -c 0 "$SQUIRREL" serve -q --threads 1 "$@" >/dev/null 2>&1 &
    squirrel_pid=$!
}

# wrk URL [header]: requests/s of one run.
rate() {
    local extra=()
    [ -n "${2:-}" ] && extra=(-H "$2")
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" "${extra[@]}" "$1" 2>/dev/null |
        awk '/^Requests\/sec:/ {print $2}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Interleaved runs (squirrel, nginx, squirrel, nginx, ...) so that a noisy
# neighbour hurts both alike; prints "squirrel_median nginx_median".
measure_pair() { # SQUIRREL_URL NGINX_URL [header]
    local sq=() ng=()
    for _ in $(seq "$RUNS"); do
        sq+=("$(rate "$1" "${3:-}")")
        ng+=("$(rate "$2" "${3:-}")")
    done
    echo "$(printf '%s\n' "${sq[@]}" | median) $(printf '%s\n' "${ng[@]}" | median)"
}

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

report() { # name squirrel nginx
    awk -v n="$1" -v s="$2" -v g="$3" 'BEGIN { printf "%-34s squirrel %10.0f req/s   nginx %10.0f req/s   ratio %.2fx\n", n, s, g, (g > 0 ? s / g : 0) }'
}

echo "squirrel serve vs nginx (1 worker), server on CPU 0, wrk -t1 -c$CONNECTIONS on CPU 1, ${SECONDS_PER_RUN}s x $RUNS runs, median"
wait_port "$NG_TLS"; wait_port "$NG_HTTP"

start_squirrel --listen "127.0.0.1:$SQ_TLS" --cert localhost.pem --key localhost-key.pem
tls_pid=$squirrel_pid
start_squirrel --listen "127.0.0.1:$SQ_HTTP"
wait_port "$SQ_TLS"; wait_port "$SQ_HTTP"

read -r sq ng < <(measure_pair "https://localhost:$SQ_TLS/" "https://localhost:$NG_TLS/")
report "HTTPS keep-alive" "$sq" "$ng"
read -r sq ng < <(measure_pair "https://localhost:$SQ_TLS/" "https://localhost:$NG_TLS/" "Connection: close")
report "HTTPS, one request per connection" "$sq" "$ng"
read -r sq ng < <(measure_pair "http://127.0.0.1:$SQ_HTTP/" "http://127.0.0.1:$NG_HTTP/")
report "plain HTTP keep-alive" "$sq" "$ng"
kill "$tls_pid" 2>/dev/null || true
