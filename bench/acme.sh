#!/usr/bin/env bash
# Side-by-side benchmark of squirrel's ACME server (`squirrel pki ca serve`)
# and Pebble (the Debian package's /usr/bin/pebble), on loopback, driven by
# the same load client (bench/acme-load, instant-acme): one account, then N
# orders with C in flight, each for a unique name oI.bench.test validated
# over http-01 (new order -> authorization -> challenge -> poll ready ->
# finalize with an ECDSA P-256 CSR -> poll -> certificate downloaded).
# Every *.bench.test name resolves to 127.0.0.1 through one
# pebble-challtestsrv DNS server that both ACME servers ask.
#
# Same conditions for both: each server is started fresh, WARMUP orders run
# first and are not counted, the same client binary; with two or more CPUs
# the ACME server runs on CPU 0, and the world it validates against (the
# client with its http-01 responder, and the DNS server) on CPU 1.
# Prints per server orders/s, p50 and p99 latency (new order -> certificate
# downloaded) and failed orders, then squirrel/Pebble for orders/s (goal
# >= 3x) and Pebble p99 / squirrel p99 (goal >= 1). Then both again, on
# fresh servers, with each count of SWEEP in flight: a server may spend C=16
# waiting on the client's polls, so each one's peak orders/s over C and
# SWEEP is its throughput, and their ratio is the one the goal asks for.
#
# Then squirrel with PostgreSQL (`--db`, issue 15): one replica, and two
# replicas behind nginx (TCP round robin, as the README's replica setup),
# on a throwaway cluster (initdb/pg_ctl, as user postgres when root), and
# their orders/s as ratios to squirrel with SQLite. Those rows say "not
# available (why)" without PostgreSQL (or, for two, nginx and its stream
# module).
#
# Usage: bash bench/acme.sh [--quick] [--save]
#   --quick   N=40 C=8, no SWEEP (default: N=${N:-200}, C=${C:-16})
#   --save    also write the table to bench/results/acme-DATE.txt (or
#             acme-DATE-2.txt, ... when that day already has one)
# Environment: N, C (orders, in flight), WARMUP (default 5),
#   SWEEP (more in-flight counts for Pebble and squirrel, default "32 64":
#   each server's peak orders/s over C and SWEEP is its throughput),
#   SQUIRREL_ACME_ARGS (extra flags for `squirrel pki ca serve`),
#   SQUIRREL_BIN (a squirrel binary to run instead of the one built),
#   CARGO_TARGET_DIR (default target/).
# Needs: pebble (apt-get install pebble) and python3; squirrel itself makes
# Pebble's TLS certificate (pki ca init + pki issue 127.0.0.1). If squirrel's ACME server does not start,
# the squirrel row says "not available (why)" and Pebble's figures stand;
# the exit status is non-zero only for a setup error (a build, Pebble or
# the DNS server failing, the client unable to run at all).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

quick=""
save=""
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --save) save=1 ;;
        -h | --help)
            sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "acme.sh: unknown argument $arg (see --help)" >&2
            exit 2
            ;;
    esac
done
if [ -n "$quick" ]; then
    N=40
    C=8
    SWEEP=${SWEEP:-}
fi
N=${N:-200}
C=${C:-16}
SWEEP=${SWEEP-32 64}
WARMUP=${WARMUP:-5}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

die() {
    echo "acme.sh: $*" >&2
    exit 1
}

command -v pebble >/dev/null && command -v pebble-challtestsrv >/dev/null ||
    die "pebble is needed: apt-get install pebble"
command -v python3 >/dev/null || die "python3 is needed"

echo "building squirrel and the load client (release)..." >&2
cargo build --release --quiet --bin squirrel || die "cargo build --release (squirrel) failed"
cargo build --release --quiet --manifest-path bench/acme-load/Cargo.toml ||
    die "cargo build --release (bench/acme-load) failed"
SQUIRREL=${SQUIRREL_BIN:-$CARGO_TARGET_DIR/release/squirrel}
LOAD=$CARGO_TARGET_DIR/release/acme-load

# CPU pinning: the ACME server on CPU 0; the client and the DNS server (what
# the CA validates against, the same for both servers) on CPU 1.
server_cpu=()
client_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    server_cpu=(taskset -c 0)
    client_cpu=(taskset -c 1)
    pinning="ACME server on CPU 0; client and DNS on CPU 1"
else
    pinning="no CPU pinning"
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for FILE PATTERN PID SECONDS: until FILE has a line matching PATTERN;
# fails if PID exits first or the time runs out.
wait_for() {
    local file=$1 pattern=$2 pid=$3 deadline=$((SECONDS + $4))
    while [ "$SECONDS" -lt "$deadline" ]; do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop PID: SIGTERM, then wait for it (SIGKILL after 10 s).
stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

HTTP01_PORT=$(free_port)
DNS_PORT=$(free_port)

# The DNS server: every A query answers 127.0.0.1, AAAA nothing; its
# challenge listeners are off, its management API on a free port.
"${client_cpu[@]}" pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    -dns01 "127.0.0.1:$DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" \
    -management "127.0.0.1:$(free_port)" >"$work/challtestsrv.log" 2>&1 &
dns_pid=$!
pids+=("$dns_pid")
wait_for "$work/challtestsrv.log" "Starting challenge servers" "$dns_pid" 20 ||
    die "pebble-challtestsrv did not start: $(tail -3 "$work/challtestsrv.log")"

# Pebble's TLS certificate for 127.0.0.1, from a throwaway squirrel CA; that
# CA's certificate is the client's trust root for Pebble.
"$SQUIRREL" pki ca init --dir "$work/tls-ca" --no-pass --cn "Bench TLS CA" >/dev/null 2>"$work/tls-ca.log" ||
    die "squirrel pki ca init (Pebble's TLS CA) failed: $(cat "$work/tls-ca.log")"
"$SQUIRREL" pki issue 127.0.0.1 localhost --ca-dir "$work/tls-ca" --no-pass \
    --cert-file "$work/pebble-cert.pem" --key-file "$work/pebble-key.pem" >/dev/null 2>"$work/tls-issue.log" ||
    die "squirrel pki issue (Pebble's TLS certificate) failed: $(cat "$work/tls-issue.log")"

# run_load NAME DIRECTORY_URL ROOT_PEM [CONCURRENCY]: the client's JSON
# line in $work/NAME.json, its stderr in $work/NAME.err; returns the
# client's status.
run_load() {
    local name=$1 directory=$2 root=$3 concurrency=${4:-$C}
    timeout 900 "${client_cpu[@]}" "$LOAD" --directory "$directory" --root "$root" \
        --orders "$N" --concurrency "$concurrency" --warmup "$WARMUP" --http01-port "$HTTP01_PORT" \
        --domain-suffix .bench.test >"$work/$name.json" 2>"$work/$name.err"
}

# field NAME KEY: one figure of a client's JSON line.
field() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/$1.json" "$2"
}

declare -A unavailable=()

# bench_pebble NAME CONCURRENCY: a fresh Pebble, the load, Pebble stopped.
bench_pebble() {
    local name=$1 concurrency=$2 port pid status
    port=$(free_port)
    cat >"$work/$name-config.json" <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:$port",
    "managementListenAddress": "127.0.0.1:$(free_port)",
    "certificate": "$work/pebble-cert.pem",
    "privateKey": "$work/pebble-key.pem",
    "httpPort": $HTTP01_PORT,
    "tlsPort": $(free_port),
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON
    echo "pebble: $N orders, $concurrency in flight (warm-up $WARMUP)..." >&2
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 "${server_cpu[@]}" \
        pebble -config "$work/$name-config.json" -dnsserver "127.0.0.1:$DNS_PORT" >"$work/$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_for "$work/$name.log" "ACME directory available at" "$pid" 30 ||
        die "pebble did not start: $(tail -3 "$work/$name.log")"
    run_load "$name" "https://127.0.0.1:$port/dir" "$work/tls-ca/ca.pem" "$concurrency"
    status=$?
    stop "$pid"
    if [ ! -s "$work/$name.json" ] || [ "$status" -ge 2 ]; then
        die "the load client failed against pebble (status $status): $(head -5 "$work/$name.err")"
    fi
}

# bench_squirrel NAME CONCURRENCY: a fresh CA and `pki ca serve` (SQLite),
# the load, the server stopped; unavailable[NAME] says why when it fails.
bench_squirrel() {
    local name=$1 concurrency=$2 port pid status why directory
    port=$(free_port)
    echo "squirrel: $N orders, $concurrency in flight (warm-up $WARMUP)..." >&2
    if ! "$SQUIRREL" pki ca init --dir "$work/$name-ca" --no-pass --cn "Bench CA" >/dev/null 2>"$work/$name-ca.log"; then
        unavailable[$name]="pki ca init failed: $(head -1 "$work/$name-ca.log")"
        return
    fi
    # shellcheck disable=SC2086 # SQUIRREL_ACME_ARGS is a list of flags
    "${server_cpu[@]}" "$SQUIRREL" pki ca serve --ca-dir "$work/$name-ca" --no-pass \
        --listen "127.0.0.1:$port" --http01-port "$HTTP01_PORT" \
        --dns-resolver "127.0.0.1:$DNS_PORT" ${SQUIRREL_ACME_ARGS:-} \
        >"$work/$name.log" 2>"$work/$name-stderr.log" &
    pid=$!
    pids+=("$pid")
    if ! wait_for "$work/$name.log" "^ACME directory: https://" "$pid" 30; then
        why=$(grep -v '^\s*$' "$work/$name-stderr.log" | head -1)
        unavailable[$name]="ca serve did not start${why:+: $why}"
        stop "$pid"
        return
    fi
    directory=$(grep -m1 '^ACME directory: ' "$work/$name.log" | sed 's/^ACME directory: //')
    run_load "$name" "$directory" "$work/$name-ca/ca.pem" "$concurrency"
    status=$?
    stop "$pid"
    if [ ! -s "$work/$name.json" ] || [ "$status" -ge 2 ]; then
        unavailable[$name]="the load client failed (status $status): $(head -1 "$work/$name.err")"
    fi
}

# --- Pebble and squirrel (SQLite) at C in flight -----------------------------
bench_pebble pebble "$C"
bench_squirrel squirrel "$C"

# --- squirrel on PostgreSQL: one replica, then two behind nginx ------------
pg_bin=$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -1)
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
pg_url=""
# start_pg: a throwaway cluster in $work/pg; sets pg_url (password auth).
start_pg() {
    local dir=$work/pg port pw
    port=$(free_port)
    pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    mkdir -p "$dir" && echo "$pw" >"$dir/pw"
    # As root, the cluster runs as postgres, which must reach its folder.
    if [ "$(id -u)" = 0 ]; then
        chmod 0711 "$work"
        chown -R postgres: "$dir"
    fi
    "${as_pg[@]}" "$pg_bin/initdb" -D "$dir/data" -U squirrel --pwfile "$dir/pw" \
        --auth=scram-sha-256 -N -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 || return 1
    # Durable commits, as in production (no fsync=off): the figures count them.
    "${server_cpu[@]}" "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >>"$work/initdb.log" 2>&1 || return 1
    pg_url="postgres://squirrel:$pw@127.0.0.1:$port/postgres"
}
stop_pg() {
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
}
# start_replica NAME CA_DIR: `pki ca serve --db` on a free port, its
# directory URL in $work/NAME.url; returns non-zero if it did not start.
start_replica() {
    local name=$1 dir=$2 port
    port=$(free_port)
    # shellcheck disable=SC2086 # SQUIRREL_ACME_ARGS is a list of flags
    SQUIRREL_DB=$pg_url "${server_cpu[@]}" "$SQUIRREL" pki ca serve --ca-dir "$dir" --no-pass \
        --listen "127.0.0.1:$port" --http01-port "$HTTP01_PORT" \
        --dns-resolver "127.0.0.1:$DNS_PORT" ${SQUIRREL_ACME_ARGS:-} \
        >"$work/$name.log" 2>"$work/$name-stderr.log" &
    pids+=($!)
    echo "$port" >"$work/$name.port"
    wait_for "$work/$name.log" "^ACME directory: https://" "$!" 30
}
pg_runs=()
if [ -z "$pg_bin" ]; then
    unavailable[pg1]="no PostgreSQL (apt-get install postgresql)"
    unavailable[pg2]=${unavailable[pg1]}
elif ! start_pg; then
    unavailable[pg1]="the PostgreSQL cluster did not start: $(tail -1 "$work/initdb.log")"
    unavailable[pg2]=${unavailable[pg1]}
else
    "$SQUIRREL" pki ca init --dir "$work/pg-ca" --no-pass --cn "Bench CA" >/dev/null 2>&1
    echo "squirrel, PostgreSQL, one replica: $N orders, $C in flight..." >&2
    if start_replica pg1 "$work/pg-ca"; then
        run_load pg1 "https://127.0.0.1:$(cat "$work/pg1.port")/acme/directory" "$work/pg-ca/ca.pem"
        status=$?
        [ -s "$work/pg1.json" ] && [ "$status" -lt 2 ] ||
            unavailable[pg1]="the load client failed (status $status): $(head -1 "$work/pg1.err")"
    else
        unavailable[pg1]="ca serve --db did not start: $(head -1 "$work/pg1-stderr.log")"
    fi
    stop "${pids[-1]}"
    stream_module=/usr/lib/nginx/modules/ngx_stream_module.so
    if ! command -v nginx >/dev/null || [ ! -f "$stream_module" ]; then
        unavailable[pg2]="no nginx with its stream module (apt-get install nginx libnginx-mod-stream)"
    else
        echo "squirrel, PostgreSQL, two replicas behind nginx: $N orders, $C in flight..." >&2
        mkdir -p "$work/pg-ca-b" && cp "$work/pg-ca/ca.pem" "$work/pg-ca/ca-key.pem" "$work/pg-ca-b/"
        started=1
        start_replica pg2a "$work/pg-ca" || started=""
        pg2a_pid=${pids[-1]}
        start_replica pg2b "$work/pg-ca-b" || started=""
        pg2b_pid=${pids[-1]}
        NGINX_PORT=$(free_port)
        mkdir -p "$work/nginx"
        cat >"$work/nginx/nginx.conf" <<CONF
load_module $stream_module;
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
stream {
    upstream squirrel_acme {
        server 127.0.0.1:$(cat "$work/pg2a.port");
        server 127.0.0.1:$(cat "$work/pg2b.port");
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        proxy_pass squirrel_acme;
    }
}
CONF
        "${server_cpu[@]}" nginx -e "$work/nginx/startup.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
        nginx_pid=$!
        pids+=("$nginx_pid")
        for _ in $(seq 50); do
            python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $NGINX_PORT), 1)" 2>/dev/null && break
            sleep 0.1
        done
        if [ -z "$started" ]; then
            unavailable[pg2]="a replica did not start: $(head -1 "$work/pg2a-stderr.log" "$work/pg2b-stderr.log" | grep -v '^==' | head -1)"
        else
            run_load pg2 "https://127.0.0.1:$NGINX_PORT/acme/directory" "$work/pg-ca/ca.pem"
            status=$?
            [ -s "$work/pg2.json" ] && [ "$status" -lt 2 ] ||
                unavailable[pg2]="the load client failed (status $status): $(head -1 "$work/pg2.err")"
        fi
        stop "$nginx_pid"
        stop "$pg2a_pid"
        stop "$pg2b_pid"
    fi
    stop_pg
fi

# --- more orders in flight: each server's throughput at saturation ----------
# At C in flight, a server may wait on the client's polls rather than work;
# its peak over C and SWEEP is its throughput. Fresh servers for each run.
for c in $SWEEP; do
    [ "$c" = "$C" ] && continue
    bench_pebble "pebble-c$c" "$c"
    bench_squirrel "squirrel-c$c" "$c"
done

# --- the table --------------------------------------------------------------
report() {
    local name
    echo "ACME orders on loopback: N=$N, C=$C in flight, warm-up $WARMUP; http-01; one account"
    echo "($pinning; pebble $(dpkg-query -W -f '${Version}' pebble 2>/dev/null); squirrel $(git rev-parse --short HEAD 2>/dev/null))"
    printf '%-10s %10s %10s %10s %10s %8s\n' server orders/s p50_ms p99_ms max_ms failed
    for name in pebble squirrel pg1 pg2; do
        if [ -n "${unavailable[$name]:-}" ]; then
            echo "$name: not available (${unavailable[$name]})"
        else
            printf '%-10s %10s %10s %10s %10s %8s\n' "$name" "$(field "$name" orders_per_sec)" \
                "$(field "$name" p50_ms)" "$(field "$name" p99_ms)" "$(field "$name" max_ms)" \
                "$(field "$name" failed)"
        fi
    done
    if [ -z "${unavailable[squirrel]:-}" ]; then
        python3 - "$work/pebble.json" "$work/squirrel.json" <<'PY'
import json, sys
p, s = (json.load(open(f)) for f in sys.argv[1:3])
def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"
print(f"squirrel/pebble orders/s: {ratio(s['orders_per_sec'], p['orders_per_sec'])}x (goal >= 3x)")
print(f"pebble p99 / squirrel p99: {ratio(p['p99_ms'], s['p99_ms'])} (goal >= 1)")
PY
    fi
    # Throughput: each server's peak orders/s over C and SWEEP.
    if [ -n "$SWEEP" ]; then
        python3 - "$work" "$C" $SWEEP <<'PY'
import json, os, sys
work, base, sweep = sys.argv[1], sys.argv[2], sys.argv[3:]
def run(server, c):
    name = server if c == base else f"{server}-c{c}"
    try:
        return json.load(open(os.path.join(work, name + ".json")))
    except (OSError, ValueError):
        return None
counts = [base] + [c for c in sweep if c != base]
print()
print("orders in flight: each server's peak orders/s is its throughput")
print(f"{'C':>4} {'pebble/s':>10} {'squirrel/s':>11} {'ratio':>7} {'pebble_p99':>11} {'squirrel_p99':>13}")
peak = {}
for c in counts:
    p, s = run("pebble", c), run("squirrel", c)
    if not p or not s:
        print(f"{c:>4} not available")
        continue
    for server, r in (("pebble", p), ("squirrel", s)):
        if r["orders_per_sec"] > peak.get(server, (0, ""))[0]:
            peak[server] = (r["orders_per_sec"], c)
    print(f"{c:>4} {p['orders_per_sec']:>10.1f} {s['orders_per_sec']:>11.1f} "
          f"{s['orders_per_sec'] / p['orders_per_sec']:>6.2f}x {p['p99_ms']:>11.1f} {s['p99_ms']:>13.1f}")
if len(peak) == 2:
    (pr, pc), (sr, sc) = peak["pebble"], peak["squirrel"]
    print(f"peak orders/s: pebble {pr:.1f} (C={pc}), squirrel {sr:.1f} (C={sc}): "
          f"squirrel/pebble {sr / pr:.2f}x (goal >= 3x)")
PY
    fi
    # pg1: squirrel with --db postgres://, one replica; pg2: two behind nginx.
    python3 - "$work" <<'PY'
import json, os, sys
def rate(name):
    path = os.path.join(sys.argv[1], name + ".json")
    try:
        return json.load(open(path))["orders_per_sec"]
    except (OSError, ValueError, KeyError):
        return None
sq, pg1, pg2 = rate("squirrel"), rate("pg1"), rate("pg2")
for label, a, b in [("PostgreSQL, 1 replica / SQLite", pg1, sq),
                    ("PostgreSQL, 2 replicas / SQLite", pg2, sq),
                    ("PostgreSQL, 2 replicas / 1 replica", pg2, pg1)]:
    if a and b:
        print(f"orders/s {label}: {a / b:.2f}x")
PY
    local sweep_names=() c
    for c in $SWEEP; do
        [ "$c" = "$C" ] || sweep_names+=("pebble-c$c" "squirrel-c$c")
    done
    for name in pebble squirrel pg1 pg2 "${sweep_names[@]}"; do
        if [ -n "${unavailable[$name]:-}" ] && [[ "$name" == *-c* ]]; then
            echo "$name: not available (${unavailable[$name]})"
        fi
        if [ -s "$work/$name.err" ]; then
            echo "$name errors (first few):"
            sed 's/^/  /' "$work/$name.err"
        fi
    done
}

report | tee "$work/report.txt"
if [ -n "$save" ]; then
    mkdir -p bench/results
    # A second run on the same day keeps the first: acme-DATE-2.txt, ...
    out=bench/results/acme-$(date +%Y-%m-%d).txt
    n=2
    while [ -e "$out" ]; do
        out=bench/results/acme-$(date +%Y-%m-%d)-$n.txt
        n=$((n + 1))
    done
    cp "$work/report.txt" "$out"
    echo "saved: $out" >&2
fi
exit 0
