#!/usr/bin/env bash
# The soak: four producing nodes over libp2p on 127.0.0.1 (scripts/launch_10node_testnet.sh)
# under MINUTES (30) of load at RATE (500) transfers/s, spread over their RPC ports by four
# `lattice loadgen`s. Every minute, one line per node: RSS, open files, chain blocks and DAG
# blocks in that minute, mean chain-block interval, pool size and transactions executed so far.
# At the end every loadgen must have seen every receipt and the four nodes must agree on every
# chain block's hash and state root; then it prints PASS or FAIL. Every process it started is
# stopped by PID.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/soak.sh [--minutes M] [--rate R] [--block-time T] [--keep]

  --minutes M      how long the load runs [SOAK_MINUTES, default 30]
  --rate R         transfers per second over the four nodes [SOAK_RATE, default 500]
  --block-time T   each producer's block time [SOAK_BLOCK_TIME, default 400ms]
  --keep           keep the work directory (node logs, data dirs, loadgen reports)

Environment: LATTICE_BIN (default: the shared target's debug build, built if missing).
EOF
}

MINUTES="${SOAK_MINUTES:-30}"
RATE="${SOAK_RATE:-500}"
BLOCK_TIME="${SOAK_BLOCK_TIME:-400ms}"
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --minutes) MINUTES="${2:?--minutes needs a value}"; shift 2 ;;
    --rate) RATE="${2:?--rate needs a value}"; shift 2 ;;
    --block-time) BLOCK_TIME="${2:?--block-time needs a value}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
BIN="$(lattice_bin)" || { echo "FAIL: cannot build the lattice binary" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lattice-soak.XXXXXX")"
LG=()
cleanup() {
  [[ ${#LG[@]} -gt 0 ]] && stop_pids "${LG[@]}"
  [[ -f "$WORK/net/testnet.json" ]] && "$ROOT/scripts/stop_nodes.sh" --dir "$WORK/net" >/dev/null 2>&1
  if [[ $KEEP -eq 1 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "four producers at $BLOCK_TIME, $RATE tx/s for $MINUTES min; binary $BIN"
LATTICE_BIN="$BIN" "$ROOT/scripts/launch_10node_testnet.sh" --nodes 4 --producers 4 \
  --block-time "$BLOCK_TIME" --dir "$WORK/net" --clean >"$WORK/launch.log" 2>&1 \
  || { cat "$WORK/launch.log"; exit 1; }
mapfile -t URLS < <(python3 -c "import json; [print(n['rpc']) for n in json.load(open('$WORK/net/testnet.json'))['nodes']]")

share=$(( RATE * MINUTES * 60 / 4 ))
for i in 0 1 2 3; do
  "$BIN" loadgen --rpc-url "${URLS[$i]}" --txs "$share" --senders 50 --rate $(( RATE / 4 )) \
    --dev-account "$i" --json --quiet >"$WORK/load-$i.json" 2>"$WORK/load-$i.err" &
  LG+=($!)
done

# One line per node each minute while the loadgens run; the agreement check at the end.
monitor=0
python3 - "$WORK/net/testnet.json" "$MINUTES" "${LG[@]}" <<'PY' || monitor=$?
import json, os, sys, time, urllib.request
state, minutes, loadgens = sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
nodes = json.load(open(state))["nodes"]
def rpc(url, method, params=()):
    req = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode(),
                                 {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=30))["result"]
def metric(url, name):
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name + " ") or l.startswith(name + "{"))
def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
def sample(n):
    return {"height": int(rpc(n["rpc"], "eth_blockNumber"), 16),
            "dag": metric(n["metrics"], "lattice_blocks_produced_total") + metric(n["metrics"], "lattice_blocks_imported_total"),
            "pool": metric(n["metrics"], "lattice_txpool_transactions"),
            "executed": metric(n["metrics"], "lattice_transactions_executed_total"),
            "rss": rss_mib(n["pid"]), "fds": len(os.listdir(f"/proc/{n['pid']}/fd"))}
def alive(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
print("| minute | node | RSS MiB | open files | chain blocks | DAG blocks | mean chain-block interval | pool | executed |", flush=True)
print("|---|---|---|---|---|---|---|---|---|", flush=True)
last = [sample(n) for n in nodes]
t0 = time.time()
minute = 0
while any(alive(p) for p in loadgens) or minute < minutes:
    minute += 1
    time.sleep(max(0, t0 + 60 * minute - time.time()))
    now = [sample(n) for n in nodes]
    for i, (a, b) in enumerate(zip(last, now)):
        chain = b["height"] - a["height"]
        interval = f"{60 / chain:.2f} s" if chain else "-"
        print(f"| {minute} | {i} | {b['rss']:.0f} | {b['fds']} | {chain} | {b['dag'] - a['dag']:.0f} | {interval} | {b['pool']:.0f} | {b['executed']:.0f} |", flush=True)
    last = now
    if minute > minutes + 10:
        print("the loadgens did not finish within 10 minutes of the end", flush=True)
        sys.exit(1)
# Agreement: every chain block up to 5 below the lowest head, once the load has stopped.
started = time.time()
while True:
    head = min(int(rpc(n["rpc"], "eth_blockNumber"), 16) for n in nodes) - 5
    bad = None
    for k in range(head, -1, -1):
        blocks = [rpc(n["rpc"], "eth_getBlockByNumber", [hex(k), False]) for n in nodes]
        if any(b is None for b in blocks) or len({(b["hash"], b["stateRoot"]) for b in blocks}) != 1:
            bad = k
            break
        if k < head - 2000:
            break  # the rest was compared by the earlier rounds of this loop or is far below
    if bad is None or time.time() - started > 60:
        break
    time.sleep(2)
if bad is not None:
    print(f"the nodes disagree at chain block {bad}")
    sys.exit(1)
print(f"the four nodes agree on every chain block up to #{head} (hash and state root)")
PY
status=0
for i in 0 1 2 3; do
  wait "${LG[$i]}" || status=1
done
LG=()
python3 - "$WORK"/load-{0,1,2,3}.json <<'PY' || status=1
import json, sys
sent = included = 0
for path in sys.argv[1:]:
    r = json.load(open(path))
    sent += r["sent"]; included += r["included"]
    print(f"{path.rsplit('/', 1)[1]}: sent {r['sent']}, accepted {r['accepted']}, included {r['included']}, "
          f"TPS {r['tps']:.0f}, inclusion p50/p95 {r['inclusion_latency']['p50_ms'] / 1000:.2f}/{r['inclusion_latency']['p95_ms'] / 1000:.2f} s, rejected {r['rejected']}")
sys.exit(0 if included == sent else 1)
PY
if [[ $monitor -eq 0 && $status -eq 0 ]]; then
  echo "PASS: $MINUTES min at $RATE tx/s over four producers"
else
  for i in 0 1 2 3; do [[ -s "$WORK/load-$i.err" ]] && tail -n 5 "$WORK/load-$i.err"; done
  echo "FAIL: see above"; KEEP=1; exit 1
fi
