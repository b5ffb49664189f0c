#!/usr/bin/env bash
# The test command of README.md: installs what the tests need on a fresh
# machine, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# The interop tests drive the real tools: openssl, python3 with
# `cryptography`, and pkilint (RFC 5280 linting of issued certificates).
if ! command -v openssl >/dev/null; then
    apt-get update -qq && apt-get install -y -qq openssl
fi
if ! python3 -c 'import cryptography' 2>/dev/null; then
    python3 -m pip install --quiet cryptography
fi
if ! python3 -c 'import pkilint' 2>/dev/null; then
    python3 -m pip install --quiet pkilint
fi

cargo test --workspace --locked "$@"
