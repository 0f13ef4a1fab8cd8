#!/usr/bin/env bash
# Hunts flaky tests: runs the test suites many times on a loaded machine and reports every test
# that ever failed, with how often.
#
# The Rust tests are built once and their executables (and the `lattice` binary they start)
# copied aside, so that the hunt keeps testing the same build while cargo builds something else
# in the shared target directory. Each round runs COPIES copies of the suites at once (their own
# temporary data dirs and free ports, as every test here picks), optionally beside `stress-ng`
# CPU workers, so timing assumptions that hold on a quiet machine are put to the test.
#
# Output: one line per round, then `flake_hunt: R rounds x K copies, N test runs, F failed`
# and, for each test that ever failed, its count and where its log was kept. Exits 1 if any
# test failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/flake_hunt.sh [--rounds N] [--copies K] [--stress W] [--suites LIST] [--timeout S]

  --rounds N     rounds to run (default 20)
  --copies K     copies of the suites run at once in each round (default 2): the load
  --stress W     also run W stress-ng CPU workers for the whole hunt (default 0; needs
                 stress-ng, installed from Debian if missing)
  --suites LIST  comma-separated, from rust,clients,multinode (default rust,clients,multinode)
  --filter TEXT  only Rust test executables whose name contains TEXT
  --timeout S    a suite run that takes longer than S seconds is stopped and counted as a
                 failure (default 1200)
  --keep DIR     where logs of failed runs are kept (default a new temp dir)
EOF
}

ROUNDS=20; COPIES=2; STRESS=0; SUITES="rust,clients,multinode"; TIMEOUT=1200; KEEP=""; FILTER=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --copies) COPIES="$2"; shift 2 ;;
    --stress) STRESS="$2"; shift 2 ;;
    --suites) SUITES="$2"; shift 2 ;;
    --filter) FILTER="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "flake_hunt: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
has_suite() { [[ ",$SUITES," == *",$1,"* ]]; }

"$ROOT/scripts/setup.sh" >/dev/null || { log "setup failed"; exit 1; }
cd "$ROOT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lattice-flakes.XXXXXX")"
KEEP="${KEEP:-$WORK/failed}"
mkdir -p "$KEEP" "$WORK/bin"
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pids "${PIDS[@]}"
  rm -rf "$WORK/bin" "$WORK/runs"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build once, snapshot the executables ------------------------------------------------------
log "building the lattice binary and the Rust test executables"
cargo build --bin lattice -q || exit 1
cargo test --workspace --no-run --message-format=json 2>/dev/null >"$WORK/build.json" || {
  cargo test --workspace --no-run; exit 1
}
cp "$CARGO_TARGET_DIR/debug/lattice" "$WORK/bin/lattice"
export LATTICE_BIN="$WORK/bin/lattice"
# executable <TAB> package directory, for every test target
python3 - "$WORK/build.json" "$FILTER" >"$WORK/tests.tsv" <<'PY'
import json, os, sys
seen = set()
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    if not m.get("profile", {}).get("test"):
        continue
    exe = m["executable"]
    if exe in seen or sys.argv[2] not in os.path.basename(exe):
        continue
    seen.add(exe)
    print(f"{exe}\t{os.path.dirname(m['manifest_path'])}")
PY
: >"$WORK/tests.snap.tsv"
while IFS=$'\t' read -r exe dir; do
  cp "$exe" "$WORK/bin/"
  printf '%s\t%s\n' "$WORK/bin/$(basename "$exe")" "$dir" >>"$WORK/tests.snap.tsv"
done <"$WORK/tests.tsv"
log "$(wc -l <"$WORK/tests.snap.tsv") Rust test executables snapshotted into $WORK/bin"

if [[ "$STRESS" -gt 0 ]]; then
  if ! command -v stress-ng >/dev/null; then
    SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq stress-ng >/dev/null || { log "cannot install stress-ng"; exit 1; }
  fi
  stress-ng --cpu "$STRESS" --quiet >/dev/null 2>&1 &
  PIDS+=($!)
  log "stress-ng: $STRESS CPU workers (pid $!)"
fi

# --- one copy of the suites --------------------------------------------------------------------
# Writes "<suite>\t<test>\t<log>" for each failure to $1/failures and the number of tests run
# to $1/count.
run_copy() {
  local out="$1" runs=0 rc exe dir name log
  mkdir -p "$out"; : >"$out/failures"
  if has_suite rust; then
    while IFS=$'\t' read -r exe dir; do
      name="$(basename "$exe")"; name="${name%-*}"
      log="$out/$name.log"
      CARGO_MANIFEST_DIR="$dir" RUST_BACKTRACE=1 timeout --kill-after=30 "$TIMEOUT" "$exe" \
        >"$log" 2>&1 </dev/null
      rc=$?
      runs=$((runs + $(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" \
        | awk '{s += $4 + $6} END {print s + 0}')))
      if [[ $rc -ne 0 ]]; then
        if grep -qE '^test .* \.\.\. FAILED$' "$log"; then
          grep -E '^test .* \.\.\. FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' \
            | while read -r t; do printf 'rust\t%s::%s\t%s\n' "$name" "$t" "$log"; done >>"$out/failures"
        else
          printf 'rust\t%s (exit %s%s)\t%s\n' "$name" "$rc" "$([[ $rc -eq 124 ]] && echo ', timed out')" "$log" >>"$out/failures"
        fi
      fi
    done <"$WORK/tests.snap.tsv"
  fi
  if has_suite clients; then
    log="$out/clients.log"
    timeout --kill-after=30 "$TIMEOUT" "$ROOT/scripts/test_clients.sh" >"$log" 2>&1 </dev/null
    rc=$?
    runs=$((runs + $(grep -Eo '^clients: [0-9]+ passed, [0-9]+ failed' "$log" | awk '{print $2 + $4}' | tail -1)))
    if [[ $rc -ne 0 ]]; then
      if grep -q '✖' "$log"; then
        grep -E '^\s*✖' "$log" | sed -E 's/^\s*✖ //; s/ \([0-9.]+m?s\)$//' | sort -u \
          | while read -r t; do printf 'clients\t%s\t%s\n' "$t" "$log"; done >>"$out/failures"
      else
        printf 'clients\tscripts/test_clients.sh (exit %s)\t%s\n' "$rc" "$log" >>"$out/failures"
      fi
    fi
  fi
  if has_suite multinode; then
    log="$out/multinode.log"
    timeout --kill-after=30 "$TIMEOUT" "$ROOT/scripts/test_multinode.sh" >"$log" 2>&1 </dev/null
    rc=$?
    runs=$((runs + 1))
    [[ $rc -eq 0 ]] || printf 'multinode\tscripts/test_multinode.sh (exit %s)\t%s\n' "$rc" "$log" >>"$out/failures"
  fi
  echo "$runs" >"$out/count"
}

# --- rounds ------------------------------------------------------------------------------------
total_runs=0
: >"$WORK/all-failures"
started=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
  t0=$(date +%s)
  copies=()
  for ((c = 1; c <= COPIES; c++)); do
    run_copy "$WORK/runs/$r.$c" &
    copies+=($!)
  done
  for pid in "${copies[@]}"; do wait "$pid"; done
  round_runs=0; round_failed=0
  for ((c = 1; c <= COPIES; c++)); do
    dir="$WORK/runs/$r.$c"
    round_runs=$((round_runs + $(cat "$dir/count" 2>/dev/null || echo 0)))
    while IFS=$'\t' read -r suite t logfile; do
      kept="$KEEP/round$r.copy$c.$(basename "$logfile")"
      cp "$logfile" "$kept" 2>/dev/null
      printf '%s\t%s\t%s\n' "$suite" "$t" "$kept" >>"$WORK/all-failures"
      round_failed=$((round_failed + 1))
    done <"$dir/failures"
  done
  rm -rf "$WORK/runs/$r".*
  total_runs=$((total_runs + round_runs))
  printf '[flake_hunt] round %d/%d: %d test runs, %d failed, %d s\n' "$r" "$ROUNDS" "$round_runs" "$round_failed" "$(($(date +%s) - t0))"
done

failed=$(wc -l <"$WORK/all-failures")
echo "flake_hunt: $ROUNDS rounds x $COPIES copies (stress-ng workers: $STRESS), $total_runs test runs, $failed failed, $(( ($(date +%s) - started) / 60 )) min"
if [[ $failed -gt 0 ]]; then
  cut -f1,2 "$WORK/all-failures" | sort | uniq -c | sort -rn | sed 's/^/  /'
  echo "logs of failed runs: $KEEP"
  exit 1
fi
rm -rf "$WORK"
