#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, all tests (nextest), doc tests,
# and smoke runs of the examples. Installs what it needs and is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# System packages: python3 + pip (interop fixtures are checked by Python's
# `cryptography`), curl (example smoke test).
missing=()
command -v python3 >/dev/null || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

step "Python packages for the interop tests"
python3 -m pip install -q --disable-pip-version-check -r tests/interop/requirements.txt

step "Rust tools"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo nextest run"
cargo nextest run --workspace --all-features --no-fail-fast

step "doc tests"
cargo test --workspace --all-features --doc

step "example: demo"
cargo run --quiet --example demo

step "example: dpop_echo"
log=$(mktemp)
cargo build --quiet --example dpop_echo
target/debug/examples/dpop_echo --listen 127.0.0.1:0 --nonce >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
url=$(head -n1 "$log" | sed -n 's/^listening on //p')
[ -n "$url" ] || { echo "dpop_echo did not print its address"; cat "$log"; exit 1; }
headers=$(curl -s -o /dev/null -D - -X POST "$url/anything")
echo "$headers" | grep -q '^HTTP/1.1 401' || { echo "expected 401 without a proof"; echo "$headers"; exit 1; }
echo "$headers" | grep -qi '^www-authenticate: DPoP error="invalid_dpop_proof", error_description="missing DPoP proof' || { echo "expected a DPoP challenge"; echo "$headers"; exit 1; }
echo "dpop_echo refused a request without a proof with the standard DPoP challenge"

step "all checks passed"
