#!/usr/bin/env bash
# Installs what building and testing Lattice needs and is missing; quick when all is there.
#   - libclang-dev (Debian): bindgen for the rocksdb crate
#   - cargo-fuzz (cargo install) for the fuzz targets
#   - Foundry (forge, cast, anvil), solc-js and OpenZeppelin from npm (scripts/install_foundry.sh)
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "Usage: scripts/setup.sh   (installs libclang-dev, Foundry, solc-js and npm packages if missing)"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v cargo >/dev/null || { log "cargo is required (rustup: https://rustup.rs)"; exit 1; }
command -v npm >/dev/null || { log "node and npm (>= 20) are required"; exit 1; }

if ! dpkg -s libclang-dev >/dev/null 2>&1; then
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  log "installing libclang-dev (rocksdb bindgen)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libclang-dev >/dev/null
else
  log "libclang-dev present"
fi

# The fuzz targets (scripts/fuzz.sh) build with cargo-fuzz on the nightly toolchain.
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked -q
fi
rustup toolchain list 2>/dev/null | grep -q '^nightly' \
  || log "warning: no nightly toolchain (rustup toolchain install nightly); scripts/fuzz.sh needs it"

"$ROOT/scripts/install_foundry.sh"
