# Shared by the project's scripts: paths and the shared cargo target directory.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lattice/target}"
export PATH="$ROOT/.tools/bin:$HOME/.cargo/bin:$PATH"
log() { printf '[%s] %s\n' "$(basename "$0")" "$*"; }
