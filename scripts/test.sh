#!/usr/bin/env bash
# The test command of README.md: installs what the tests need on a fresh
# machine, then runs every test of the workspace; as root, that includes
# the tests marked #[ignore = "needs root ..."] (`--include-ignored`).
# Usage: bash scripts/test.sh [CARGO TEST ARGS] [-- TEST BINARY ARGS]
set -euo pipefail
cd "$(dirname "$0")/.."

# The interop tests drive the real tools: openssl and curl; python3 with
# `cryptography`, `requests` and `flask` (the tutorial's own code), and
# pkilint (RFC 5280 linting of issued certificates).
apt_updated=""
apt_install() {
    [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
for tool in openssl curl; do
    command -v "$tool" >/dev/null || apt_install "$tool"
done
# The trust-store test changes the system store (update-ca-certificates);
# the tests that run squirrel as another user use runuser and setpriv.
command -v update-ca-certificates >/dev/null || apt_install ca-certificates
for tool in runuser setpriv; do
    command -v "$tool" >/dev/null || apt_install util-linux
done
# serve's test reads the listen backlog with ss; the colour and progress
# tests get a terminal from script (util-linux, above).
command -v ss >/dev/null || apt_install iproute2
# The attack scripts (bench/attacks) check the ledger with sqlite3.
command -v sqlite3 >/dev/null || apt_install sqlite3
# The spy's tests (sniff_*) check squirrel's captures against tshark.
if ! command -v tshark >/dev/null; then
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt_install tshark
fi
# The browser tests (trust.rs) drive headless Chromium; `pki install`
# reaches its NSS database with certutil.
command -v chromium >/dev/null || apt_install chromium
command -v certutil >/dev/null || apt_install libnss3-tools
# The ACME tests (acme_clients.rs, acme_webroot_clients.rs) drive certbot,
# lego, dehydrated and acme-tiny against Pebble (its package has
# pebble-challtestsrv too) and squirrel's ACME server.
for tool in pebble certbot lego dehydrated acme-tiny; do
    command -v "$tool" >/dev/null || apt_install "$tool"
done
for module in cryptography requests flask pkilint; do
    python3 -c "import $module" 2>/dev/null || python3 -m pip install --quiet "$module"
done

# Tests that need root (live capture, the system trust store, running
# squirrel as nobody) are #[ignore]d: as root, run them too. Extra
# arguments go to cargo test; after `--`, to the test binaries.
args=("$@")
if [ "$(id -u)" = 0 ]; then
    separator="" chosen=""
    for arg in "$@"; do
        case "$arg" in
            --) separator=1 ;;
            --ignored | --include-ignored) if [ -n "$separator" ]; then chosen=1; fi ;;
        esac
    done
    if [ -n "$chosen" ]; then
        :  # the caller chose which tests run
    elif [ -n "$separator" ]; then
        args=()
        for arg in "$@"; do
            args+=("$arg")
            if [ "$arg" = -- ] && [ -n "$separator" ]; then
                args+=(--include-ignored)
                separator=""
            fi
        done
    else
        args+=(-- --include-ignored)
    fi
else
    echo "scripts/test.sh: not root: the tests that need root are skipped (shown as ignored)" >&2
fi
cargo test --workspace --locked ${args[@]+"${args[@]}"}

# The bounded attack scripts (bench/attacks), in their quick sizes, on the
# binary the tests just built: slowloris, malformed requests, smuggling,
# HTTP/2 floods, mutated files, kill -9 during signing. Alone, after the
# tests, so that their timings are not those of a machine running both.
if [ $# = 0 ]; then
    target_dir=${CARGO_TARGET_DIR:-target}
    case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
    SQUIRREL="$target_dir/debug/squirrel" bash bench/attacks/run.sh --quick
fi
