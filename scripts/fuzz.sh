#!/usr/bin/env bash
# Fuzzes what the node parses from peers and callers (cargo-fuzz, libFuzzer, nightly Rust):
#   transaction  - gossiped / raw transaction bytes, decoding and pool admission
#   block        - gossiped / served block bytes, decoding, hashing, seal recovery
#   p2p_message  - sync requests and responses (CBOR) and the blocks inside them
#   rpc_params   - JSON-RPC requests and every method's params, through the node's RPC module
#
# Each target starts from its corpus in fuzz/corpus/<target> (kept in the repository) and
# adds what it finds there. Prints, per target, the executions and the corpus size, and fails
# on a crash (the crashing input is left in fuzz/artifacts/<target>/).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/fuzz.sh [--time SECONDS] [--scratch | --cmin] [TARGET...]

  --time S   how long to run each target (default 60)
  --scratch  start from a copy of the corpus and leave fuzz/corpus as it is (the test
             command runs so); without it, new inputs are added to fuzz/corpus
  --cmin     do not fuzz: minimise fuzz/corpus/TARGET (cargo fuzz cmin) before committing it.
             Use this, not `cargo fuzz cmin` by hand: the build must see the same RocksDB
             settings as below, or it compiles RocksDB again for the fuzz profile (~50 min)
  TARGET     transaction, block, p2p_message, rpc_params (default: all)

Installs cargo-fuzz (cargo install) if it is missing; needs the nightly toolchain.
EOF
}

SECS=60; TARGETS=(); SCRATCH=0; CMIN=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --time) SECS="$2"; shift 2 ;;
    --scratch) SCRATCH=1; shift ;;
    --cmin) CMIN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "fuzz: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(transaction block p2p_message rpc_params)

rustup toolchain list | grep -q '^nightly' || { log "the nightly toolchain is required (rustup toolchain install nightly)"; exit 1; }
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked -q || exit 1
fi
cd "$ROOT/fuzz"

# rpc_params reaches RocksDB through the RPC module's crates. Compiling RocksDB's C++ again for
# the fuzz profile takes longer than everything else together (and makes a 2 GB archive), so
# link the archive the workspace build made when both lock files pin the same librocksdb-sys.
# The C++ is not instrumented either way; only Rust code is.
rocksdb_version() { grep -A1 '^name = "librocksdb-sys"$' "$1" | sed -n 's/^version = "\(.*\)"$/\1/p'; }
if [[ -z "${ROCKSDB_LIB_DIR:-}" && "$(rocksdb_version "$ROOT/Cargo.lock")" == "$(rocksdb_version "$ROOT/fuzz/Cargo.lock")" ]]; then
  lib="$(find "$CARGO_TARGET_DIR"/debug/build "$CARGO_TARGET_DIR"/release/build \
    -path '*/librocksdb-sys-*/out/librocksdb.a' -printf '%T@ %h\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-)"
  if [[ -n "$lib" ]]; then
    export ROCKSDB_LIB_DIR="$lib" ROCKSDB_STATIC=1
  else
    log "no RocksDB archive from the workspace build yet; compiling RocksDB for the fuzz profile (slow)"
  fi
fi
log "building the fuzz targets"
for t in "${TARGETS[@]}"; do
  cargo +nightly fuzz build -O "$t" >"$ROOT/fuzz/build.log" 2>&1 || { tail -n 40 "$ROOT/fuzz/build.log"; exit 1; }
done

if [[ $CMIN -eq 1 ]]; then
  for t in "${TARGETS[@]}"; do
    before=$(find "corpus/$t" -type f | wc -l)
    cargo +nightly fuzz cmin -O "$t" >"$ROOT/fuzz/build.log" 2>&1 || { tail -n 20 "$ROOT/fuzz/build.log"; exit 1; }
    echo "fuzz $t: corpus minimised from $before to $(find "corpus/$t" -type f | wc -l) inputs"
  done
  exit 0
fi

status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  corpus="corpus/$t"
  if [[ $SCRATCH -eq 1 ]]; then
    corpus="$(mktemp -d)"
    cp -r "corpus/$t/." "$corpus/"
  fi
  out="$(mktemp)"
  cargo +nightly fuzz run -O "$t" "$corpus" -- -max_total_time="$SECS" -max_len=1048576 \
    -print_final_stats=1 >"$out" 2>&1
  rc=$?
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out" | grep -Eo '[0-9]+$' | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  [[ $SCRATCH -eq 1 ]] && rm -rf "$corpus"
  if [[ $rc -eq 0 ]]; then
    echo "fuzz $t: ${execs:-0} executions in ${SECS} s, no crash, corpus $size inputs"
  else
    echo "fuzz $t: FAILED after ${execs:-?} executions (exit $rc); artifacts in fuzz/artifacts/$t"
    grep -E 'panicked|ERROR|SUMMARY' "$out" | head -n 10
    status=1
  fi
  rm -f "$out"
done
exit $status
