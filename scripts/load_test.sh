#!/usr/bin/env bash
# Load test against a running node (by default `scripts/dev.sh`, i.e. `lattice --dev`, on 8545).
#
# Environment (all optional; flags after the script name pass through to `lattice loadgen`):
#   NUM_TXS     transactions to send (10000)
#   RPC_URL     the node's JSON-RPC over HTTP (http://127.0.0.1:8545); newHeads are followed
#               over ws:// on the same address (WS_URL to change it, WS_URL=none to poll)
#   CONCURRENT  JSON-RPC batches in flight (8)
#   BATCH       transactions per batch (100; at most the node's --rpc-max-batch)
#   SENDERS     fresh sender accounts the load is spread over (200)
#   RATE        transactions per second (0: as fast as the node takes them)
#   KIND        transfer | erc20 | storage | mix (transfer)
#   FUNDER_KEY  private key (hex) of a funded account that pays for the senders; without it the
#               first test-mnemonic account pays (funded by --dev)
#
# Prints sent, accepted, rejected by reason, included, TPS until the last receipt and the
# inclusion latency (p50/p95/p99); `--json` prints the same as JSON. Exits non-zero when an
# accepted transaction was not included within --timeout seconds (120).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ -z "${LATTICE_BIN:-}" ]]; then
  cargo build --quiet --manifest-path "$ROOT/Cargo.toml" --bin lattice
fi
BIN="$(lattice_bin)"
export RPC_URL="${RPC_URL:-http://127.0.0.1:8545}"
if ! curl -sf -m 5 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$RPC_URL" >/dev/null; then
  log "no JSON-RPC node answers at $RPC_URL: start one (scripts/dev.sh) or set RPC_URL"
  exit 1
fi
log "$(printf '%s transactions (%s) to %s from %s senders, %s batches of %s in flight, rate %s/s' \
  "${NUM_TXS:-10000}" "${KIND:-transfer}" "$RPC_URL" "${SENDERS:-200}" "${CONCURRENT:-8}" \
  "${BATCH:-100}" "${RATE:-0 (flat out)}")"
exec "$BIN" loadgen "$@"
