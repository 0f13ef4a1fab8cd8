#!/usr/bin/env bash
# Live view of a local testnet started by scripts/launch_10node_testnet.sh (it reads the state
# file, <dir>/testnet.json). For every node: process alive, height (selected-chain number),
# number of DAG tips, blue score, peers, transaction-pool size, TPS (executed transactions per
# second, from lattice_transactions_executed_total between two samples), red ratio (reds /
# mergeset size over the last W chain blocks) and the state root at a common height D blocks
# below the lowest head; then whether all nodes agree on that block's hash and state root.
#
# --once prints one snapshot and exits: 0 when every node answers and all agree, 1 when they
# disagree, 2 when a node does not answer (usable in tests). Without --once it refreshes every
# --interval seconds until Ctrl-C.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/monitor_testnet.sh [--dir DIR | --state FILE] [--once] [-i S] [--depth D] [--window W]

Options (environment variable in brackets):
  -d, --dir DIR       testnet directory [TESTNET_DIR, default /tmp/lattice-testnet]
  -s, --state FILE    state file (default DIR/testnet.json)
      --once          one snapshot, then exit (0 all agree, 1 disagreement, 2 node down)
  -i, --interval S    refresh period in seconds; with --once, the TPS sampling window
                      [MONITOR_INTERVAL, default 2]
      --depth D       compare state roots D blocks below the lowest head [default 5]
      --window W      red ratio over the last W chain blocks of each node [default 50]
  -h, --help          this help

Columns: height = eth_blockNumber; tips = dag_getTips; blue = lattice_blue_score; peers =
net_peerCount; pool = lattice_txpool_transactions; tps = delta of
lattice_transactions_executed_total / seconds; red% = sum(mergesetReds) / sum(mergeset sizes)
of the last W chain blocks; root@H = state root of block #H, H = lowest head - D.
EOF
}

TESTNET_DIR="${TESTNET_DIR:-/tmp/lattice-testnet}"
STATE=""
ONCE=0
INTERVAL="${MONITOR_INTERVAL:-2}"
DEPTH=5
WINDOW=50
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -d|--dir) TESTNET_DIR="${2:?$1 needs a value}"; shift 2 ;;
    -s|--state) STATE="${2:?$1 needs a value}"; shift 2 ;;
    --once) ONCE=1; shift ;;
    -i|--interval) INTERVAL="${2:?$1 needs a value}"; shift 2 ;;
    --depth) DEPTH="${2:?$1 needs a value}"; shift 2 ;;
    --window) WINDOW="${2:?$1 needs a value}"; shift 2 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
STATE="${STATE:-$TESTNET_DIR/testnet.json}"
[[ -f "$STATE" ]] || { echo "no state file at $STATE (start a testnet with scripts/launch_10node_testnet.sh)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }

# The monitor is one foreground python3 process; it ends with this script (Ctrl-C included).
exec python3 - "$STATE" "$ONCE" "$INTERVAL" "$DEPTH" "$WINDOW" <<'PY'
import json, os, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

state_path, once, interval, depth, window = sys.argv[1], sys.argv[2] == "1", float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def post(url, payload, timeout=3):
    req = urllib.request.Request(url, json.dumps(payload).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)

def batch(url, calls):
    """[(method, params)] -> [result or None]; chunks of 100 (the node's batch limit)."""
    out = []
    for i in range(0, len(calls), 100):
        chunk = calls[i:i + 100]
        res = post(url, [{"jsonrpc": "2.0", "id": j, "method": m, "params": p} for j, (m, p) in enumerate(chunk)])
        by_id = {r.get("id"): r for r in res} if isinstance(res, list) else {}
        out += [by_id.get(j, {}).get("result") for j in range(len(chunk))]
    return out

def metrics(url):
    vals = {}
    with urllib.request.urlopen(url, timeout=3) as r:
        for line in r.read().decode().splitlines():
            if not line or line[0] == "#":
                continue
            name, _, value = line.rpartition(" ")
            if "{" in name:
                continue
            try:
                vals[name] = float(value)
            except ValueError:
                pass
    return vals

def alive(node):
    try:
        st = open(f"/proc/{node['pid']}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None if not os.path.isdir("/proc") else False
    return st[0] not in ("Z", "X")

def sample(node):
    """One node's numbers; 'error' set when it does not answer."""
    s = {"ok": False, "alive": alive(node), "t": time.time()}
    try:
        head, tips, peers = batch(node["rpc"], [("eth_blockNumber", []), ("dag_getTips", []), ("net_peerCount", [])])
        s["height"] = int(head, 16)
        s["tips"] = len(tips or [])
        s["peers"] = int(peers, 16) if peers else None
        s["ok"] = True
    except Exception as e:
        s["error"] = type(e).__name__
        return s
    try:
        m = metrics(node["metrics"])
        s["blue"] = m.get("lattice_blue_score")
        s["pool"] = m.get("lattice_txpool_transactions")
        s["executed"] = m.get("lattice_transactions_executed_total")
    except Exception:
        pass
    try:
        lo = max(1, s["height"] - window + 1)
        blocks = batch(node["rpc"], [("eth_getBlockByNumber", [hex(n), False]) for n in range(lo, s["height"] + 1)])
        reds = sum(len(b.get("mergesetReds") or []) for b in blocks if b)
        size = sum(len(b.get("mergesetReds") or []) + len(b.get("mergesetBlues") or []) for b in blocks if b)
        s["red"] = reds / size if size else 0.0
        s["redBlocks"] = (reds, size)
    except Exception:
        pass
    return s

def roots(node, h):
    try:
        b = batch(node["rpc"], [("eth_getBlockByNumber", [hex(h), False])])[0]
        return (b["hash"], b["stateRoot"]) if b else None
    except Exception:
        return None

def fmt(v, spec="{}", none="-"):
    return none if v is None else spec.format(v)

def snapshot(nodes, prev, pool):
    now = pool.map(sample, nodes)
    cur = list(now)
    heights = [s["height"] for s in cur if s["ok"]]
    common = (min(heights) - depth) if heights else None
    common = max(common, 0) if common is not None else None
    rs = list(pool.map(lambda n: roots(n, common), nodes)) if common is not None else [None] * len(nodes)
    lines = []
    lines.append(time.strftime("%Y-%m-%d %H:%M:%S") + f"  testnet {state['dir']}  ({len(nodes)} nodes, "
                 f"{state.get('producers')} producing, block time {state.get('blockTime')})")
    hdr = f"{'node':<7}{'pid':>8} {'up':<4}{'height':>7}{'tips':>5}{'blue':>8}{'peers':>6}{'pool':>6}{'tps':>8}{'red%':>7}  block@{common if common is not None else '?'} (hash / stateRoot)"
    lines.append(hdr)
    tps_all = []
    for n, s, p, r in zip(nodes, cur, prev or [None] * len(nodes), rs):
        tps = None
        if p and s.get("executed") is not None and p.get("executed") is not None and s["t"] > p["t"]:
            tps = max(0.0, (s["executed"] - p["executed"]) / (s["t"] - p["t"]))
            tps_all.append(tps)
        up = {True: "yes", False: "NO", None: "?"}[s["alive"]]
        if not s["ok"]:
            lines.append(f"{'node' + str(n['index']):<7}{n['pid']:>8} {up:<4}  not answering ({s.get('error')}) at {n['rpc']}")
            continue
        lines.append(f"{'node' + str(n['index']):<7}{n['pid']:>8} {up:<4}{s['height']:>7}{s['tips']:>5}"
                     f"{fmt(s.get('blue'), '{:.0f}'):>8}{fmt(s.get('peers')):>6}{fmt(s.get('pool'), '{:.0f}'):>6}"
                     f"{fmt(tps, '{:.1f}'):>8}{fmt(s.get('red') * 100 if s.get('red') is not None else None, '{:.1f}'):>7}"
                     f"  {r[0][:12] + '… / ' + r[1][:12] + '…' if r else '-'}")
    down = [n["index"] for n, s in zip(nodes, cur) if not s["ok"]]
    groups = {}
    for n, r in zip(nodes, rs):
        if r:
            groups.setdefault(r, []).append(n["index"])
    status = 0
    if common is None:
        verdict = "no node answers"
        status = 2
    elif len(groups) == 1 and not down and sum(len(v) for v in groups.values()) == len(nodes):
        ((h, sr), _), = groups.items()
        verdict = f"AGREE: all {len(nodes)} nodes have block #{common} = {h[:18]}…, stateRoot {sr[:18]}…"
    elif len(groups) <= 1:
        verdict = (f"agree among the {sum(len(v) for v in groups.values())} answering nodes at #{common}"
                   if groups else f"no answers at #{common}")
        status = 2
    else:
        verdict = f"DISAGREE at #{common}: " + "; ".join(
            f"hash {h[:12]}… stateRoot {sr[:12]}… on nodes {','.join(map(str, ix))}" for (h, sr), ix in groups.items())
        status = 1
    if down:
        verdict += f"; not answering: nodes {','.join(map(str, down))}"
        status = max(status, 2)
    if heights:
        med = sorted(tps_all)[len(tps_all) // 2] if tps_all else None
        lines.append(f"heights {min(heights)}..{max(heights)}; network TPS {fmt(med, '{:.1f}')} (median of the"
                     f" nodes: every node executes every transaction); red% over the last {window} chain blocks")
    lines.append(verdict)
    return cur, lines, status

state = json.load(open(state_path))
nodes = state.get("nodes", [])
if not nodes:
    print(f"{state_path} lists no nodes")
    sys.exit(2)
pool = ThreadPoolExecutor(max_workers=min(16, len(nodes) * 2))
try:
    if once:
        first = list(pool.map(sample, nodes))   # TPS needs two samples `interval` apart
        time.sleep(interval)
        _, lines, status = snapshot(nodes, first, pool)
        print("\n".join(lines))
        sys.exit(status)
    prev = None
    tty = sys.stdout.isatty()
    while True:
        prev, lines, _ = snapshot(nodes, prev, pool)
        if tty:
            sys.stdout.write("\033[H\033[2J")
        print("\n".join(lines) + ("\n" if not tty else ""), flush=True)
        time.sleep(interval)
except KeyboardInterrupt:
    sys.exit(0)
finally:
    pool.shutdown(wait=False, cancel_futures=True)
PY
