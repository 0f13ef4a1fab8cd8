#!/usr/bin/env bash
# Installs what is missing, then runs every test: the Rust workspace (unit, integration and
# end-to-end tests that drive a real `lattice --dev` with Foundry's cast and forge, and the
# hostile suite), clippy, the multi-node network test, the ethers/viem client suite, the
# Solidity contracts' Foundry suite and a short run of each fuzz target. Ends with one summary
# line and fails on any failure, or if it changed a tracked file.
set -uo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "Usage: scripts/test.sh   (set LATTICE_SKIP_CLIPPY=1 to skip clippy)"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
# The test command must change no tracked file (installs included): compare before and after.
tree_state() { git status --porcelain --untracked-files=no 2>/dev/null; git diff 2>/dev/null | sha256sum; }
tree_before="$(tree_state)"
"$ROOT/scripts/setup.sh" || { log "setup failed"; exit 1; }

passed=0; failed=0; status=0
logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT

count_cargo() { # sums "test result: ... N passed; M failed" lines
  local p f
  p=$(grep -Eo '[0-9]+ passed' "$1" | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed' "$1" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
}

count_suite() { # NAME LOG: adds a suite's "NAME: N passed, M failed" line (no line: 1 failure)
  local p f
  p=$(grep -Eo "^$1: [0-9]+ passed" "$2" | awk '{print $2+0}')
  f=$(grep -Eo 'passed, [0-9]+ failed' "$2" | tail -1 | awk '{print $2+0}')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
}

log "lock files (Cargo.lock and fuzz/Cargo.lock match the manifests)"
for manifest in Cargo.toml fuzz/Cargo.toml; do
  if ! cargo tree --locked --manifest-path "$manifest" >/dev/null 2>"$logdir/lock.log"; then
    cat "$logdir/lock.log"
    log "${manifest%Cargo.toml}Cargo.lock is out of date: run cargo tree --manifest-path $manifest and commit the lock file"
    failed=$((failed + 1)); status=1
  fi
done

log "cargo build (workspace, all targets)"
if ! cargo build --workspace --all-targets >"$logdir/build.log" 2>&1; then
  tail -n 60 "$logdir/build.log"; status=1
fi

log "cargo test"
cargo test --workspace --no-fail-fast 2>&1 | tee "$logdir/cargo.log" | grep -E '^(test result|failures:|    [a-z_:0-9]+$|---- |thread .* panicked)' 
[[ ${PIPESTATUS[0]} -ne 0 ]] && status=1
count_cargo "$logdir/cargo.log"

if [[ "${LATTICE_SKIP_CLIPPY:-0}" != "1" ]]; then
  log "cargo clippy"
  if ! cargo clippy --workspace --all-targets -q -- -D warnings; then status=1; failed=$((failed + 1)); fi
fi

log "multi-node (3 nodes over libp2p)"
rc=0
"$ROOT/scripts/test_multinode.sh" >"$logdir/multinode.log" 2>&1 || rc=$?
tail -n 3 "$logdir/multinode.log"
if [[ $rc -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi

log "kubo-dev (the development Kubo: real Kubo behind its HTTP RPC)"
"$ROOT/scripts/test_kubo_dev.sh" 2>&1 | tee "$logdir/kubo.log" | grep -E '^FAIL|^kubo-dev:'
[[ ${PIPESTATUS[0]} -ne 0 ]] && status=1
count_suite kubo-dev "$logdir/kubo.log"

log "client suite (ethers and viem against lattice --dev, then a wide DAG)"
"$ROOT/scripts/test_clients.sh" 2>&1 | tee "$logdir/clients.log" | grep -E '✖|^clients:|^\[' 
[[ ${PIPESTATUS[0]} -ne 0 ]] && status=1
count_suite clients "$logdir/clients.log"

log "forge test (contracts)"
"$ROOT/scripts/test_contracts.sh" 2>&1 | tee "$logdir/forge.log" | tail -n 5
[[ ${PIPESTATUS[0]} -ne 0 ]] && status=1
fp=$(grep -Eo '[0-9]+ tests passed' "$logdir/forge.log" | tail -1 | awk '{print $1+0}')
ff=$(grep -Eo 'tests passed, [0-9]+ failed' "$logdir/forge.log" | tail -1 | awk '{print $3+0}')
passed=$((passed + ${fp:-0})); failed=$((failed + ${ff:-0}))

log "IPFS end to end (a dev node, kubo-dev and the contracts: pin, commit, challenge, reward, slash)"
"$ROOT/scripts/test_ipfs_e2e.sh" >"$logdir/ipfs-e2e.log" 2>&1 || { status=1; tail -n 60 "$logdir/ipfs-e2e.log"; }
grep -E '^FAIL|^ipfs-e2e:' "$logdir/ipfs-e2e.log"
count_suite ipfs-e2e "$logdir/ipfs-e2e.log"

log "fuzz (a short run of each target; scripts/fuzz.sh --time N for longer)"
"$ROOT/scripts/fuzz.sh" --scratch --time "${LATTICE_FUZZ_SECONDS:-15}" 2>&1 | tee "$logdir/fuzz.log" | grep -E '^fuzz '
[[ ${PIPESTATUS[0]} -ne 0 ]] && status=1
fzp=$(grep -c 'no crash' "$logdir/fuzz.log"); fzf=$(grep -c 'FAILED' "$logdir/fuzz.log")
if [[ $fzp -eq 0 && $fzf -eq 0 ]]; then tail -n 20 "$logdir/fuzz.log"; fzf=1; status=1; fi
passed=$((passed + fzp)); failed=$((failed + fzf))

log "tracked files unchanged by the test command"
if [[ "$(tree_state)" == "$tree_before" ]]; then
  passed=$((passed + 1))
else
  echo "the test command changed tracked files:"; git status --short --untracked-files=no
  failed=$((failed + 1)); status=1
fi

if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "summary: $passed passed, $failed failed"
exit $status
