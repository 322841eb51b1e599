#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, all tests (nextest), doc tests,
# the docs (rustdoc warnings denied),
# smoke runs of the examples, and the official MCP conformance suite. Installs
# what it needs and is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# A fresh clone builds everything once: incremental caches would only add to
# target/, and CI machines have little disk to spare (see [profile.dev] in
# Cargo.toml). `disk` prints the free space and the size of target/.
export CARGO_INCREMENTAL=0
disk() { df -h --output=avail,target . | tail -n1 | awk '{print "disk free: " $1}'; [ -d target ] && du -sh target | awk '{print "target/: " $1}' || true; }

# System packages: python3 + pip (interop fixtures are checked by Python's
# `cryptography`), node + npm (the MCP TypeScript SDK interop test), curl
# (example smoke tests).
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

step "Python packages for the interop tests"
pip_install() { python3 -m pip install -q --disable-pip-version-check "$@"; }
# A Debian-managed python3 refuses plain pip installs (PEP 668).
pip_install -r tests/interop/requirements.txt \
  || pip_install --break-system-packages -r tests/interop/requirements.txt

step "MCP TypeScript SDK for the interop tests"
npm ci --prefix tests/interop/ts --no-audit --no-fund --loglevel=error

step "Rust tools"
disk
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

step "cargo doc (broken intra-doc links and other rustdoc warnings fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet

step "example: demo"
cargo run --quiet --example demo

# Starts an example server in the background and sets $url from its first
# line "listening on URL". The server is stopped on exit.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
start_example() {
  local name=$1 log
  shift
  log=$(mktemp)
  cargo build --quiet --example "$name"
  "target/debug/examples/$name" "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
  url=$(head -n1 "$log" | sed -n 's/^listening on //p')
  example_log=$log
  [ -n "$url" ] || { echo "$name did not print its address:"; cat "$log"; exit 1; }
}
expect() { # what, text, pattern
  grep -qiE "$3" <<<"$2" || { echo "expected $1; got:"; echo "$2"; exit 1; }
}

step "example: dpop_echo"
start_example dpop_echo --listen 127.0.0.1:0 --nonce
headers=$(curl -s -o /dev/null -D - -X POST "$url/anything")
expect "401 without a proof" "$headers" '^HTTP/1.1 401'
expect "a DPoP challenge" "$headers" '^www-authenticate: DPoP error="invalid_dpop_proof", error_description="missing DPoP proof'
echo "dpop_echo refused a request without a proof with the standard DPoP challenge"

step "example: axum_quickstart"
start_example axum_quickstart
expect "an open health route" "$(curl -s "$url/health")" '^ok$'
headers=$(curl -s -o /dev/null -D - -X POST "$url/mcp")
expect "401 without a token" "$headers" '^HTTP/1.1 401'
expect "a DPoP challenge without error code" "$headers" '^www-authenticate: DPoP algs="ES256 PS256 RS256"'
echo "axum_quickstart serves /health openly and protects /mcp"

step "example: axum_app"
start_example axum_app
for _ in $(seq 1 50); do grep -q '^metadata: ' "$example_log" && break; sleep 0.1; done
token=$(sed -n "s/^try: .*Bearer \([^']*\)'.*/\1/p" "$example_log")
[ -n "$token" ] || { echo "axum_app printed no token"; cat "$example_log"; exit 1; }
expect "the token accepted" "$(curl -s -X POST -H "authorization: Bearer $token" "$url/mcp")" '"sub":"alice"'
expect "metadata" "$(curl -s "$url/.well-known/oauth-protected-resource/mcp")" '"authorization_servers"'
headers=$(curl -s -o /dev/null -D - -X POST -H 'authorization: Bearer nope' "$url/mcp")
expect "401 invalid_token" "$headers" '^www-authenticate: Bearer error="invalid_token"'
echo "axum_app accepts its minted token, serves its metadata and refuses a bad token"

step "MCP conformance suite (server: 2025-06-18, 2025-11-25, and behind the security stack; client)"
scripts/conformance.sh

step "all checks passed"
disk
