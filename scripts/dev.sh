#!/usr/bin/env bash
# Installs what is missing, builds and runs a development node:
#   chain id 1337, RPC on http://127.0.0.1:8545 (HTTP and WebSocket), one producer,
#   the ten test-mnemonic accounts funded with 10,000 ETH each. Extra flags pass through
#   to `lattice --dev` (e.g. --block-time 500ms, --data-dir DIR, --metrics-addr 127.0.0.1:9100).
#   --ipfs also starts the development Kubo (scripts/kubo-dev) on 127.0.0.1:5001
#   (KUBO_API_PORT), its repository in .tools/kubo-repo, and passes --ipfs-api to the node.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "Usage: scripts/dev.sh [--ipfs] [lattice flags...]   (see: lattice --help)"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/scripts/setup.sh"
log "building lattice (first build compiles RocksDB and takes a while)"
# The dev profile: dependencies and the EVM are optimised (Cargo.toml), and the test suite
# shares these artifacts, so the node and the tests compile the dependency tree once.
cargo build --manifest-path "$ROOT/Cargo.toml" --bin lattice
ipfs=0; args=()
for arg in "$@"; do
  if [[ "$arg" == "--ipfs" ]]; then ipfs=1; else args+=("$arg"); fi
done
if [[ $ipfs -eq 0 ]]; then
  exec "$CARGO_TARGET_DIR/debug/lattice" --dev "${args[@]}"
fi
port="${KUBO_API_PORT:-5001}"
"$ROOT/.tools/kubo-venv/bin/python" "$ROOT/scripts/kubo-dev" --api-port "$port" \
  --repo "$ROOT/.tools/kubo-repo" &
kubo=$!
node=""
stop() {
  [[ -n "$node" ]] && kill "$node" 2>/dev/null && wait "$node" 2>/dev/null
  kill "$kubo" 2>/dev/null; wait "$kubo" 2>/dev/null
}
trap stop EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 300); do
  curl -s -X POST "http://127.0.0.1:$port/api/v0/version" >/dev/null && break
  kill -0 "$kubo" 2>/dev/null || { log "kubo-dev did not start"; exit 1; }
  sleep 0.1
done
"$CARGO_TARGET_DIR/debug/lattice" --dev --ipfs-api "http://127.0.0.1:$port" "${args[@]}" &
node=$!
wait "$node"
