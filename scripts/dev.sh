#!/usr/bin/env bash
# Installs what is missing, builds and runs a development node:
#   chain id 1337, RPC on http://127.0.0.1:8545 (HTTP and WebSocket), one producer,
#   the ten test-mnemonic accounts funded with 10,000 ETH each. Extra flags pass through
#   to `lattice --dev` (e.g. --block-time 500ms, --data-dir DIR, --metrics-addr 127.0.0.1:9100).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "Usage: scripts/dev.sh [lattice flags...]   (see: lattice --help)"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/scripts/setup.sh"
log "building lattice (first build compiles RocksDB and takes a while)"
# The dev profile: dependencies and the EVM are optimised (Cargo.toml), and the test suite
# shares these artifacts, so the node and the tests compile the dependency tree once.
cargo build --manifest-path "$ROOT/Cargo.toml" --bin lattice
exec "$CARGO_TARGET_DIR/debug/lattice" --dev "$@"
