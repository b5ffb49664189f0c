#!/usr/bin/env bash
# The test command of README.md: installs what the tests need on a fresh
# machine, then runs every test of the workspace.
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
# The spy's tests (sniff_*) check squirrel's captures against tshark.
if ! command -v tshark >/dev/null; then
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt_install tshark
fi
# The browser tests (trust.rs) drive headless Chromium; `pki install`
# reaches its NSS database with certutil.
command -v chromium >/dev/null || apt_install chromium
command -v certutil >/dev/null || apt_install libnss3-tools
for module in cryptography requests flask pkilint; do
    python3 -c "import $module" 2>/dev/null || python3 -m pip install --quiet "$module"
done

cargo test --workspace --locked "$@"
