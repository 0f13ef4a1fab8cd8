#!/usr/bin/env bash
# The client suite: ethers v6 and viem (tests/clients/*.test.mjs, run by `node --test`) against a
# real `lattice --dev`, then the ethers suite again on a wide DAG (four producers in one process,
# 300 ms simulated propagation delay), where parallel blocks and skipped transactions are the rule.
#
# Each node gets free ports on 127.0.0.1 and a temporary data directory; every process started
# here is stopped by PID on exit. Ends with `clients: N passed, M failed` and exits 1 on any failure.
set -uo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "Usage: scripts/test_clients.sh   (needs scripts/install_foundry.sh for ethers and viem)"
  exit 0
fi
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ -f "$ROOT/node_modules/ethers/package.json" ]] || "$ROOT/scripts/install_foundry.sh" || exit 1
BIN="$(lattice_bin)" || { echo "clients: cannot build lattice"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lattice-clients.XXXXXX")"
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pids "${PIDS[@]}"
  if [[ $rc -eq 0 ]]; then rm -rf "$WORK"; else log "kept $WORK (node logs)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0; failed=0

start_node() { # NAME ARGS... -> sets URL; waits until the node answers
  local name="$1"; shift
  local port; port="$(free_ports 1)"
  RUST_BACKTRACE=0 "$BIN" --dev --data-dir "$WORK/$name" --rpc-addr "127.0.0.1:$port" "$@" \
    >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  URL="http://127.0.0.1:$port"
  local i
  for ((i = 0; i < 300; i++)); do
    if curl -sf -H 'content-type: application/json' \
      -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$URL" >/dev/null 2>&1; then
      return 0
    fi
    running "${PIDS[-1]}" || break
    sleep 0.1
  done
  log "node $name did not start; its log:"; tail -n 20 "$WORK/$name.log"
  return 1
}

run_suite() { # LABEL FILES...
  local label="$1"; shift
  log "$label"
  local out="$WORK/$label.tap"
  LATTICE_RPC_URL="$URL" node --test --test-reporter=spec "$@" >"$out" 2>&1
  local rc=$?
  grep -E '^\s*(✔|✖)' "$out" | sed 's/^/  /'
  local p f
  p=$(grep -Eo '^ℹ pass [0-9]+' "$out" | awk '{print $3}' | tail -1)
  f=$(grep -Eo '^ℹ fail [0-9]+' "$out" | awk '{print $3}' | tail -1)
  if [[ -z "$p" ]]; then p=0; f=1; tail -n 30 "$out"; fi
  if [[ $rc -ne 0 && ${f:-0} -eq 0 ]]; then f=1; fi
  if [[ ${f:-0} -ne 0 ]]; then sed -n '/✖ failing tests/,$p' "$out" | head -n 80; fi
  passed=$((passed + p)); failed=$((failed + f))
}

cd "$ROOT"
if start_node single --block-time 300ms; then
  run_suite "ethers+viem, one producer" tests/clients/ethers.test.mjs tests/clients/viem.test.mjs
else
  failed=$((failed + 1))
fi
if start_node wide --dev.producers 4 --dev.local-producers --dev.delay-ms 300 --block-time 500ms; then
  run_suite "ethers, wide DAG (4 producers, 300 ms delay)" tests/clients/ethers.test.mjs
  wide_tips=$(curl -s -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]}' "$URL" \
    | python3 -c 'import json,sys; b=json.load(sys.stdin)["result"]; print(len(b["mergesetBlues"]) + len(b["mergesetReds"]))')
  log "wide DAG: the latest chain block merged $wide_tips blocks"
else
  failed=$((failed + 1))
fi
echo "clients: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
