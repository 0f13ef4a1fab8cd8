#!/usr/bin/env bash
# Stops the lattice nodes recorded in a testnet state file (written by
# scripts/launch_10node_testnet.sh), by PID: SIGTERM to each, then SIGKILL to those still running
# after a timeout. A PID is only signalled while it still is that node: its command line must
# name the node's data dir (and, where recorded, its start time must match), so a PID the
# system has reused for another process is left alone. Reports what it stopped.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/stop_nodes.sh [--dir DIR | --state FILE] [--timeout S] [--clean]

Stops the nodes of a testnet started by scripts/launch_10node_testnet.sh, by PID.

Options (environment variable in brackets):
  -d, --dir DIR      testnet directory [TESTNET_DIR, default /tmp/lattice-testnet];
                     the state file is DIR/testnet.json
  -s, --state FILE   state file (overrides --dir)
  -t, --timeout S    seconds to wait after SIGTERM before SIGKILL [STOP_TIMEOUT, default 15]
      --clean        after stopping, delete the nodes' data dirs, logs and the state files
  -h, --help         this help

Exit status: 0 when every recorded node is stopped (or was not running), 1 otherwise.
EOF
}

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TESTNET_DIR="${TESTNET_DIR:-/tmp/lattice-testnet}"
STATE=""
TIMEOUT="${STOP_TIMEOUT:-15}"
CLEAN=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -d|--dir) TESTNET_DIR="${2:?$1 needs a value}"; shift 2 ;;
    -s|--state) STATE="${2:?$1 needs a value}"; shift 2 ;;
    -t|--timeout) TIMEOUT="${2:?$1 needs a value}"; shift 2 ;;
    --clean) CLEAN=1; shift ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || { echo "--timeout must be a whole number of seconds" >&2; exit 2; }
STATE="${STATE:-$TESTNET_DIR/testnet.json}"
[[ -f "$STATE" ]] || { echo "no state file at $STATE (nothing recorded to stop)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required to read $STATE" >&2; exit 1; }

# index pid starttime datadir log, one node a line, separated by \x1f (tabs would collapse)
NODES_TSV="$(python3 - "$STATE" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
for n in doc.get("nodes", []):
    print("\x1f".join(str(x) for x in (n["index"], n["pid"], n.get("startTime") or "", n.get("dataDir", ""), n.get("log", ""))))
EOF
)"

is_our_node() { # PID STARTTIME DATADIR: is PID still the node recorded with that data dir?
  local pid="$1" start="$2" dir="$3" st
  [[ -r "/proc/$pid/cmdline" ]] || { kill -0 "$pid" 2>/dev/null; return; } # no /proc: trust the PID
  if [[ -n "$start" ]]; then
    st="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    st="${st##*) }"
    [[ "$(awk '{print $20}' <<<"$st")" == "$start" ]] || return 1
  fi
  [[ -z "$dir" ]] && return 0
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$dir"
}

declare -A NAME=()
TARGETS=()
total=0; not_running=0; skipped=0
while IFS=$'\x1f' read -r idx pid start dir logf; do
  [[ -n "$pid" ]] || continue
  total=$((total + 1))
  if ! running "$pid"; then
    echo "node$idx: pid $pid not running"
    not_running=$((not_running + 1))
  elif ! is_our_node "$pid" "$start" "$dir"; then
    echo "node$idx: pid $pid is now another process (not lattice on $dir); left alone"
    skipped=$((skipped + 1))
  else
    NAME[$pid]="node$idx"
    TARGETS+=("$pid")
  fi
done <<<"$NODES_TSV"

declare -A HOW=()
if [[ ${#TARGETS[@]} -gt 0 ]]; then
  for pid in "${TARGETS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; HOW[$pid]=SIGTERM; done
  echo "sent SIGTERM to ${#TARGETS[@]} node(s): ${TARGETS[*]}; waiting up to ${TIMEOUT}s"
  deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    left=0
    for pid in "${TARGETS[@]}"; do if running "$pid"; then left=$((left + 1)); fi; done
    (( left == 0 )) && break
    (( $(date +%s) >= deadline )) && break
    sleep 0.2
  done
  for pid in "${TARGETS[@]}"; do
    if running "$pid"; then
      echo "${NAME[$pid]}: pid $pid still running after ${TIMEOUT}s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      HOW[$pid]=SIGKILL
    fi
  done
  sleep 0.3
fi

failed=0
for pid in "${TARGETS[@]}"; do
  if running "$pid"; then
    echo "${NAME[$pid]}: pid $pid could NOT be stopped"
    failed=$((failed + 1))
  else
    echo "${NAME[$pid]}: pid $pid stopped (${HOW[$pid]})"
  fi
done
echo "stopped $(( ${#TARGETS[@]} - failed )) of $total recorded node(s); $not_running were not running; $skipped PID(s) reused by other processes were left alone"

if [[ "$CLEAN" == 1 ]]; then
  if (( failed > 0 )); then
    echo "not cleaning: some nodes are still running" >&2
  else
    while IFS=$'\x1f' read -r idx pid start dir logf; do
      if [[ -n "$dir" && -d "$dir" ]]; then rm -rf -- "$dir"; fi
      if [[ -n "$logf" && -f "$logf" ]]; then rm -f -- "$logf"; fi
    done <<<"$NODES_TSV"
    rm -f -- "$STATE" "${STATE%.json}.env"
    echo "removed the nodes' data dirs, logs and $STATE"
  fi
fi
(( failed == 0 ))
