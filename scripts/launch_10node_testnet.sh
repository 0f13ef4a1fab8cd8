#!/usr/bin/env bash
# Launches a local lattice testnet of N nodes (default 10) on 127.0.0.1 and leaves it running.
#
# Node 0 is the bootstrap node (--bootstrap); nodes 1..N-1 bootstrap from it (--bootstrap-nodes
# <peer-id>@127.0.0.1:PORT) and find each other through it. All run the dev chain with P
# producers (`--dev --dev.producers P`, default P = N): node i < P seals as dev producer i, the
# others follow with --no-produce. Each node gets its own data dir and log under the testnet
# directory (default /tmp/lattice-testnet). The PIDs, RPC/metrics URLs, P2P addresses and log
# paths are written to <dir>/testnet.json (and <dir>/testnet.env, shell-sourceable), which
# scripts/monitor_testnet.sh and scripts/stop_nodes.sh read.
#
# If anything fails before every node is up and connected, the nodes started so far are
# stopped (by PID) and the script exits non-zero.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/launch_10node_testnet.sh [options] [-- extra lattice flags]

Starts N lattice nodes on 127.0.0.1 (node0 --bootstrap, the others bootstrap from it), waits
until every node answers RPC and has a peer, writes <dir>/testnet.json and leaves them running.

Options (environment variable in brackets):
  -n, --nodes N              number of nodes [NODES, default 10]
  -p, --producers P          nodes 0..P-1 produce, the rest run --no-produce; the chain is
                             `--dev --dev.producers P` [PRODUCERS, default N]
  -b, --block-time T         block interval of each producer, e.g. 1s, 2s, 500ms
                             [BLOCK_TIME, default 1s]
  -d, --dir DIR              testnet directory: node<i>/ data, node<i>.log, testnet.json
                             [TESTNET_DIR, default /tmp/lattice-testnet]
      --clean                delete existing node data in DIR first (a fresh chain); without
                             it, existing data dirs are reused (the nodes resume their chain)
      --p2p-port-base PORT   node i listens for P2P on PORT+i [P2P_PORT_BASE]
      --rpc-port-base PORT   node i serves JSON-RPC on PORT+i [RPC_PORT_BASE]
      --metrics-port-base PORT
                             node i serves metrics on PORT+i [METRICS_PORT_BASE]
                             (without a base, free ports are picked)
      --max-peers N          passed to every node as --max-peers [MAX_PEERS]
      --timeout S            seconds to wait for all nodes to be up and peered [default 60]
  -h, --help                 this help

Other environment: LATTICE_BIN (default $CARGO_TARGET_DIR/debug/lattice, built if missing),
RUST_LOG (node log filter, default info).

Afterwards:  scripts/monitor_testnet.sh --dir DIR     (live view; --once for one snapshot)
             scripts/stop_nodes.sh --dir DIR          (stops them by PID)
EOF
}

NODES="${NODES:-10}"
PRODUCERS="${PRODUCERS:-}"
BLOCK_TIME="${BLOCK_TIME:-1s}"
TESTNET_DIR="${TESTNET_DIR:-/tmp/lattice-testnet}"
P2P_PORT_BASE="${P2P_PORT_BASE:-}"
RPC_PORT_BASE="${RPC_PORT_BASE:-}"
METRICS_PORT_BASE="${METRICS_PORT_BASE:-}"
MAX_PEERS="${MAX_PEERS:-}"
CLEAN=0
TIMEOUT=60
EXTRA=()
need() { [[ -n "${2:-}" ]] || { echo "$1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -n|--nodes) need "$1" "${2:-}"; NODES="$2"; shift 2 ;;
    -p|--producers) need "$1" "${2:-}"; PRODUCERS="$2"; shift 2 ;;
    -b|--block-time) need "$1" "${2:-}"; BLOCK_TIME="$2"; shift 2 ;;
    -d|--dir) need "$1" "${2:-}"; TESTNET_DIR="$2"; shift 2 ;;
    --clean) CLEAN=1; shift ;;
    --p2p-port-base) need "$1" "${2:-}"; P2P_PORT_BASE="$2"; shift 2 ;;
    --rpc-port-base) need "$1" "${2:-}"; RPC_PORT_BASE="$2"; shift 2 ;;
    --metrics-port-base) need "$1" "${2:-}"; METRICS_PORT_BASE="$2"; shift 2 ;;
    --max-peers) need "$1" "${2:-}"; MAX_PEERS="$2"; shift 2 ;;
    --timeout) need "$1" "${2:-}"; TIMEOUT="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
PRODUCERS="${PRODUCERS:-$NODES}"
isnum() { [[ "$1" =~ ^[0-9]+$ ]]; }
if ! isnum "$NODES" || (( NODES < 1 )); then echo "--nodes must be a positive integer" >&2; exit 2; fi
if ! isnum "$PRODUCERS" || (( PRODUCERS < 1 || PRODUCERS > NODES )); then
  echo "--producers must be between 1 and the number of nodes ($NODES)" >&2; exit 2
fi
(( PRODUCERS <= 10 )) || echo "warning: the dev chain funds ten accounts; producers beyond 10 are unfunded (fine for sealing)" >&2
for b in "$P2P_PORT_BASE" "$RPC_PORT_BASE" "$METRICS_PORT_BASE"; do
  [[ -z "$b" ]] || { isnum "$b" && (( b > 0 && b + NODES <= 65535 )); } \
    || { echo "port bases must be integers with base+N <= 65535" >&2; exit 2; }
done

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
if [[ -z "${LATTICE_BIN:-}" ]]; then
  LATTICE_BIN="$CARGO_TARGET_DIR/debug/lattice"
  if [[ ! -x "$LATTICE_BIN" ]]; then
    log "no lattice binary at $LATTICE_BIN; building it"
    cargo build --bin lattice --manifest-path "$ROOT/Cargo.toml"
  fi
fi
[[ -x "$LATTICE_BIN" ]] || { echo "lattice binary not found: $LATTICE_BIN" >&2; exit 1; }

mkdir -p "$TESTNET_DIR"
TESTNET_DIR="$(cd "$TESTNET_DIR" && pwd)"
STATE="$TESTNET_DIR/testnet.json"
STATE_ENV="$TESTNET_DIR/testnet.env"

start_time() { # PID -> start time in clock ticks since boot (field 22 of /proc/PID/stat), or ""
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo ""; return 0; }
  st="${st##*) }"
  # after "comm)", fields start at 3 (state); starttime is field 22 -> the 20th here
  awk '{print $20}' <<<"$st"
}

# A testnet recorded in DIR that is still running must be stopped first.
if [[ -f "$STATE" ]]; then
  live="$(python3 - "$STATE" <<'EOF'
import json, os, sys
try:
    nodes = json.load(open(sys.argv[1])).get("nodes", [])
except Exception:
    nodes = []
for n in nodes:
    try:
        cmd = open(f"/proc/{n['pid']}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    if n.get("dataDir", "").encode() in cmd:
        print(n["pid"])
EOF
)"
  if [[ -n "$live" ]]; then
    echo "a testnet recorded in $STATE is still running (pids: $(echo "$live" | tr '\n' ' '))." >&2
    echo "stop it first: scripts/stop_nodes.sh --dir $TESTNET_DIR" >&2
    exit 1
  fi
fi
if [[ "$CLEAN" == 1 ]]; then
  log "--clean: removing old node data in $TESTNET_DIR"
  rm -rf "$TESTNET_DIR"/node[0-9]* "$STATE" "$STATE_ENV"
fi

# --- ports --------------------------------------------------------------------------------------
check_free() { # PORT...: fail if any is in use on 127.0.0.1
  python3 - "$@" <<'EOF'
import socket, sys
busy = []
for p in sys.argv[1:]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", int(p)))
    except OSError:
        busy.append(p)
    finally:
        s.close()
if busy:
    print("ports in use: " + " ".join(busy), file=sys.stderr)
    sys.exit(1)
EOF
}
read -r -a AUTO <<<"$(free_ports $((3 * NODES)))"
P2P=(); RPC=(); MET=()
for ((i = 0; i < NODES; i++)); do
  if [[ -n "$P2P_PORT_BASE" ]]; then P2P+=($((P2P_PORT_BASE + i))); else P2P+=("${AUTO[$i]}"); fi
  if [[ -n "$RPC_PORT_BASE" ]]; then RPC+=($((RPC_PORT_BASE + i))); else RPC+=("${AUTO[$((NODES + i))]}"); fi
  if [[ -n "$METRICS_PORT_BASE" ]]; then MET+=($((METRICS_PORT_BASE + i))); else MET+=("${AUTO[$((2 * NODES + i))]}"); fi
done
check_free "${P2P[@]}" "${RPC[@]}" "${MET[@]}" || { echo "choose other port bases" >&2; exit 1; }

# --- starting, and stopping on failure ------------------------------------------------------------
PIDS=()
PEER_IDS=()
PEERS=()
LOG_OFF=()
LAUNCHED=0
stop_started() {
  [[ ${#PIDS[@]} -gt 0 ]] || return 0
  log "stopping the ${#PIDS[@]} node(s) started so far: ${PIDS[*]}"
  stop_pids "${PIDS[@]}"
}
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "$LAUNCHED" != 1 ]]; then
    stop_started
    [[ -f "$STATE" ]] && mv -f "$STATE" "$STATE.failed" 2>/dev/null
    [[ $rc -ne 0 ]] || rc=1
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_nodes() { # MIN-PEERS INDEX...: waits until each node answers RPC and has MIN-PEERS peers.
  # Prints "INDEX PEER-ID PEERS" lines; exits 3 with "dead INDEX" when a node process has ended,
  # 1 on timeout.
  local i args=()
  for i in "${@:2}"; do args+=("$i=${PIDS[$i]}=http://127.0.0.1:${RPC[$i]}"); done
  python3 - "$TIMEOUT" "$1" "${args[@]}" <<'EOF'
import json, os, sys, time, urllib.request
timeout, want = float(sys.argv[1]), int(sys.argv[2])
nodes = [a.split("=", 2) for a in sys.argv[3:]]
def call(url, method):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=3) as r:
        return json.load(r)["result"]
def alive(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return not os.path.isdir("/proc")
info, end = {}, time.time() + timeout
while True:
    for i, pid, url in nodes:
        if not alive(pid):
            print(f"dead {i}")
            sys.exit(3)
        try:
            if i not in info:
                info[i] = call(url, "admin_nodeInfo")["peerId"]
            peers = int(call(url, "net_peerCount"), 16)
        except Exception:
            continue
        if peers >= want:
            info[i + "/peers"] = peers
    done = [i for i, _, _ in nodes if i + "/peers" in info]
    if len(done) == len(nodes):
        for i, _, _ in nodes:
            print(i, info[i], info[i + "/peers"])
        sys.exit(0)
    if time.time() > end:
        late = [i for i, _, _ in nodes if i + "/peers" not in info]
        print(f"nodes {' '.join(late)}: no RPC answer or fewer than {want} peers after {timeout:.0f} s", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.25)
EOF
}

write_state() { # rewrites testnet.json and testnet.env from the arrays
  local i rows=""
  for ((i = 0; i < ${#PIDS[@]}; i++)); do
    rows+="$i"$'\t'"${PIDS[$i]}"$'\t'"$(start_time "${PIDS[$i]}")"$'\t'"${RPC[$i]}"$'\t'"${MET[$i]}"$'\t'"${P2P[$i]}"$'\t'"${PEER_IDS[$i]:-}"$'\n'
  done
  python3 - "$STATE" "$STATE_ENV" "$TESTNET_DIR" "$LATTICE_BIN" "$NODES" "$PRODUCERS" "$BLOCK_TIME" \
    "${BOOTNODE:-}" "$rows" <<'EOF'
import json, os, shlex, sys, time
state, env, d, binary, n, producers, block_time, boot, rows = sys.argv[1:10]
nodes = []
for line in rows.splitlines():
    i, pid, start, rpc, met, p2p, peer = (line.split("\t") + [""] * 7)[:7]
    i = int(i)
    nodes.append({
        "index": i, "pid": int(pid), "startTime": int(start) if start else None,
        "producer": i < int(producers),
        "rpc": f"http://127.0.0.1:{rpc}", "ws": f"ws://127.0.0.1:{rpc}",
        "metrics": f"http://127.0.0.1:{met}/metrics",
        "p2p": f"/ip4/127.0.0.1/tcp/{p2p}", "peerId": peer or None,
        "dataDir": os.path.join(d, f"node{i}"), "log": os.path.join(d, f"node{i}.log"),
    })
doc = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "dir": d, "binary": binary,
       "chainId": 1337, "nodeCount": int(n), "producers": int(producers), "blockTime": block_time,
       "bootnode": boot or None, "nodes": nodes}
tmp = state + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(tmp, state)
q = lambda xs: "(" + " ".join(shlex.quote(str(x)) for x in xs) + ")"
with open(env + ".tmp", "w") as f:
    f.write("# written by scripts/launch_10node_testnet.sh; bash: source this file\n")
    f.write(f"TESTNET_DIR={shlex.quote(d)}\nTESTNET_BOOTNODE={shlex.quote(boot)}\n")
    f.write(f"NODE_PIDS={q([x['pid'] for x in nodes])}\n")
    f.write(f"NODE_RPC_URLS={q([x['rpc'] for x in nodes])}\n")
    f.write(f"NODE_METRICS_URLS={q([x['metrics'] for x in nodes])}\n")
    f.write(f"NODE_LOGS={q([x['log'] for x in nodes])}\n")
    f.write(f"NODE_DATA_DIRS={q([x['dataDir'] for x in nodes])}\n")
os.replace(env + ".tmp", env)
EOF
}

PEER_LIMIT=()
if [[ -n "$MAX_PEERS" ]]; then PEER_LIMIT=(--max-peers "$MAX_PEERS"); fi
DETACH=()
if command -v setsid >/dev/null; then DETACH=(setsid); fi
BIN_REAL="$(readlink -f "$LATTICE_BIN")"

start_node() { # INDEX FLAGS...: starts node INDEX in the background, detached from this terminal
  local i="$1"; shift
  local produce=(--dev.producer-index "$i")
  if (( i >= PRODUCERS )); then produce=(--no-produce); fi
  if [[ -d "$TESTNET_DIR/node$i" ]]; then log "node$i: reusing existing data in $TESTNET_DIR/node$i"; fi
  LOG_OFF[i]="$(stat -c %s "$TESTNET_DIR/node$i.log" 2>/dev/null || echo 0)"
  RUST_LOG="${RUST_LOG:-info}" nohup "${DETACH[@]}" "$LATTICE_BIN" --dev --dev.producers "$PRODUCERS" \
    "${produce[@]}" --block-time "$BLOCK_TIME" --data-dir "$TESTNET_DIR/node$i" \
    --p2p-addr "/ip4/127.0.0.1/tcp/${P2P[$i]}" --rpc-addr "127.0.0.1:${RPC[$i]}" \
    --metrics-addr "127.0.0.1:${MET[$i]}" "${PEER_LIMIT[@]}" "$@" "${EXTRA[@]}" </dev/null >>"$TESTNET_DIR/node$i.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  # setsid replaces itself with lattice (this background child is no process-group leader), so
  # $! is the node's PID; make sure, since stop_nodes.sh relies on it.
  sleep 0.05
  if [[ -r "/proc/$pid/exe" ]] && running "$pid"; then
    local exe; exe="$(readlink -f "/proc/$pid/exe" 2>/dev/null || true)"
    if [[ -n "$exe" && "$exe" != "$BIN_REAL" && "$exe" != "$(command -v setsid 2>/dev/null)" ]]; then
      log "warning: pid $pid runs $exe, not $BIN_REAL"
    fi
  fi
}

show_log() { # INDEX: the error lines this run added to the node's log, else its tail
  local f="$TESTNET_DIR/node$1.log" errs
  errs="$(tail -c +"$(( ${LOG_OFF[$1]:-0} + 1 ))" "$f" 2>/dev/null | grep -E '^Error:|ERROR|panicked' | tail -n 5 || true)"
  if [[ -n "$errs" ]]; then echo "$errs" >&2; else tail -n 15 "$f" >&2; fi
  if grep -q 'different chain' <<<"$errs"; then
    echo "(the data dir holds another chain, e.g. from a different --producers; use --clean or another --dir)" >&2
  fi
}

await_nodes() { # MIN-PEERS INDEX...: wait_nodes, reporting a node that died; fills PEER_IDS, PEERS
  local out rc=0 i id n
  out="$(wait_nodes "$@")" || rc=$?
  if [[ $rc -eq 3 ]]; then
    i="${out##*dead }"
    echo "node$i (pid ${PIDS[$i]}) exited; from $TESTNET_DIR/node$i.log:" >&2
    show_log "$i"
    exit 1
  elif [[ $rc -ne 0 ]]; then
    exit 1
  fi
  while read -r i id n; do PEER_IDS[i]="$id"; PEERS[i]="$n"; done <<<"$out"
}

T0=$SECONDS
log "launching $NODES nodes ($PRODUCERS producing, block time $BLOCK_TIME) in $TESTNET_DIR with $LATTICE_BIN"
start_node 0 --bootstrap
await_nodes 0 0
BOOT_PEER="${PEER_IDS[0]}"
BOOTNODE="$BOOT_PEER@127.0.0.1:${P2P[0]}"
log "node0 (bootstrap) pid ${PIDS[0]}, peer id $BOOT_PEER"
write_state
for ((i = 1; i < NODES; i++)); do
  start_node "$i" --bootstrap-nodes "$BOOTNODE"
done
write_state
# every node answers and has a peer (node0 too, once the others have dialled it)
min_peers=1; (( NODES > 1 )) || min_peers=0
mapfile -t ALL < <(seq 0 $((NODES - 1)))
await_nodes "$min_peers" "${ALL[@]}"
write_state
LAUNCHED=1
log "all $NODES nodes up in $((SECONDS - T0)) s"

echo
echo "testnet: $NODES nodes, $PRODUCERS producing, block time $BLOCK_TIME, chain id 1337 (--dev)"
echo "state:   $STATE   (and $STATE_ENV)"
echo "bootnode: $BOOTNODE"
printf '  %-7s %-8s %-24s %-32s %-6s %-14s %s\n' node pid rpc metrics peers role log
for ((i = 0; i < NODES; i++)); do
  role=producer; (( i < PRODUCERS )) || role=follower
  (( i == 0 )) && role="$role,boot"
  printf '  %-7s %-8s %-24s %-32s %-6s %-14s %s\n' "node$i" "${PIDS[$i]}" "http://127.0.0.1:${RPC[$i]}" \
    "http://127.0.0.1:${MET[$i]}/metrics" "${PEERS[$i]}" "$role" "$TESTNET_DIR/node$i.log"
done
echo
echo "monitor: $ROOT/scripts/monitor_testnet.sh --dir $TESTNET_DIR        (--once for one snapshot)"
echo "stop:    $ROOT/scripts/stop_nodes.sh --dir $TESTNET_DIR             (--clean also deletes the data)"
