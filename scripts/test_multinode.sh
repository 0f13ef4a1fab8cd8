#!/usr/bin/env bash
# Three-node network test on loopback.
#
# Starts three `lattice --dev --dev.producers 3` nodes (producer indexes 0, 1, 2): node0 with
# --bootstrap, node1 bootstrapping from it with the short form `<peer-id>@127.0.0.1:PORT`, node2
# with the multiaddr form. It waits until every node has 2 peers, sends transfers from six dev
# accounts, each sender to a different node, waits for every receipt, waits a few more blocks,
# then checks that the three nodes agree on the hash and state root of every selected-chain block
# up to a common height a few blocks below the lowest head, on the receipts and on the
# recipients' balances at that height. Meanwhile it measures block propagation: for every block
# a node seals (its `sealed block … hash=…` log line), the time until the two other nodes serve
# it over `dag_getBlock`; p50/p95 over at least PROP_BLOCKS blocks.
#
# Prints `PASS: …` and exits 0, or `FAIL: …` and exits 1. Every process it starts is stopped by
# PID on exit (also on Ctrl-C); the temporary directory is removed after a PASS and kept after a
# FAIL (or with --keep) so the node logs can be read.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/test_multinode.sh [--block-time T] [--keep] [-h|--help]

Runs 3 lattice nodes on 127.0.0.1 (free ports), sends transfers to each, checks that all three
agree on block hashes, state roots, receipts and balances, and reports block propagation p50/p95.

Options:
  --block-time T   block interval of every producer (default: $BLOCK_TIME or 500ms)
  --keep           keep the temporary directory (data dirs, logs) even after a PASS
  -h, --help       this help

Environment:
  LATTICE_BIN      lattice binary (default: $CARGO_TARGET_DIR/debug/lattice, built if missing)
  CAST             Foundry cast (default: <repo>/.tools/bin/cast, installed by scripts/setup.sh)
  BLOCK_TIME       as --block-time
  TXS_PER_SENDER   transfers per sender account (default 2; six senders, accounts 3..8)
  PROP_BLOCKS      blocks to measure propagation on (default 40, at least 20)
  CONFIRM_BLOCKS   blocks to wait after the last receipt before comparing (default 4)
  PROP_POLL_MS     pause between propagation poll rounds, in ms (default 2)
  RUST_LOG         node log filter (default info; lattice::producer=info is always added)
  KEEP=1           as --keep
EOF
}

BLOCK_TIME="${BLOCK_TIME:-500ms}"
KEEP="${KEEP:-0}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --block-time) BLOCK_TIME="${2:?--block-time needs a value}"; shift 2 ;;
    --block-time=*) BLOCK_TIME="${1#*=}"; shift ;;
    --keep) KEEP=1; shift ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
TXS_PER_SENDER="${TXS_PER_SENDER:-2}"
PROP_BLOCKS="${PROP_BLOCKS:-40}"
CONFIRM_BLOCKS="${CONFIRM_BLOCKS:-4}"
PROP_POLL_MS="${PROP_POLL_MS:-2}"
(( PROP_BLOCKS >= 20 )) || PROP_BLOCKS=20

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$SECONDS

# --- binaries ---------------------------------------------------------------------------------
LATTICE_BIN="$(lattice_bin)" || { echo "FAIL: cannot build the lattice binary" >&2; exit 1; }
[[ -x "$LATTICE_BIN" ]] || { echo "FAIL: lattice binary not found: $LATTICE_BIN" >&2; exit 1; }
CAST="${CAST:-$ROOT/.tools/bin/cast}"
if [[ ! -x "$CAST" ]]; then CAST="$(command -v cast || true)"; fi
[[ -n "$CAST" && -x "$CAST" ]] || { echo "FAIL: Foundry cast not found; run scripts/setup.sh" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is required" >&2; exit 1; }

# --- work dir, processes, cleanup -------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lattice-multinode.XXXXXX")"
NODE_PIDS=()    # lattice nodes
AUX_PIDS=()     # background helpers (propagation probe, cast senders)
VERDICT=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_pids "${AUX_PIDS[@]}"
  stop_pids "${NODE_PIDS[@]}"
  if [[ "$KEEP" == 1 || "$VERDICT" == FAIL || ( $rc -ne 0 && $rc -ne 130 && $rc -ne 143 ) ]]; then
    log "kept $WORK (node logs: $WORK/node*.log)"
  else
    rm -rf "$WORK"   # after a PASS or an interruption
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  VERDICT=FAIL
  local i dead=""
  for i in "${!NODE_PIDS[@]}"; do
    if ! running "${NODE_PIDS[$i]}"; then dead+=" node$i"; fi
  done
  if [[ -n "$dead" ]]; then
    echo "FAIL: $* (no longer running:$dead; interrupted, or see their logs)"
  else
    echo "FAIL: $*"
  fi
  for i in 0 1 2; do
    if [[ -f "$WORK/node$i.log" ]]; then
      echo "--- node$i.log (errors, else the last lines)"
      grep -E '^Error:|ERROR|panicked' "$WORK/node$i.log" | tail -n 5 || tail -n 8 "$WORK/node$i.log"
    fi
  done
  exit 1
}

# --- python helper ----------------------------------------------------------------------------
HELPER="$WORK/multinode.py"
cat >"$HELPER" <<'PY'
import json, os, re, sys, time, urllib.request
from datetime import datetime

def rpc(url, method, params=None, timeout=5):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        out = json.load(r)
    if "error" in out:
        raise RuntimeError(f"{method}: {out['error']}")
    return out["result"]

def batch(url, calls, timeout=10):
    """calls: [(method, params)]; returns results in order (None on error). Chunks of 100."""
    res = []
    for i in range(0, len(calls), 100):
        chunk = calls[i:i + 100]
        body = json.dumps([{"jsonrpc": "2.0", "id": i + j, "method": m, "params": p}
                           for j, (m, p) in enumerate(chunk)]).encode()
        req = urllib.request.Request(url, body, {"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            out = {o["id"]: o for o in json.load(r)}
        res += [out.get(i + j, {}).get("result") for j in range(len(chunk))]
    return res

def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]

def wait_rpc(url, timeout):
    end = time.time() + float(timeout)
    while time.time() < end:
        try:
            rpc(url, "eth_blockNumber", timeout=1)
            return 0
        except Exception:
            time.sleep(0.1)
    print(f"{url} did not answer within {timeout} s", file=sys.stderr)
    return 1

def peer_id(url):
    print(rpc(url, "admin_nodeInfo")["peerId"])
    return 0

def wait_peers(timeout, want, *urls):
    end = time.time() + float(timeout)
    want = int(want)
    counts = []
    while time.time() < end:
        try:
            counts = [int(rpc(u, "net_peerCount"), 16) for u in urls]
        except Exception:
            counts = []
        if counts and all(c >= want for c in counts):
            print(" ".join(str(c) for c in counts))
            return 0
        time.sleep(0.1)
    print(f"peer counts {counts}, wanted {want} each", file=sys.stderr)
    return 1

LINE = re.compile(r"^(\S+?)Z?\s+\S+\s+lattice::producer: sealed block number=(\d+) hash=(0x[0-9a-fA-F]{64})")

def parse_ts(s):
    s = s.rstrip("Z")
    if "." in s:
        a, b = s.split(".", 1)
        s = a + "." + b[:6]
    return datetime.fromisoformat(s + "+00:00").timestamp()

def seconds(spec):
    """`500ms`, `1s`, `2` (seconds) -> seconds."""
    spec = spec.strip()
    if spec.endswith("ms"):
        return float(spec[:-2]) / 1000
    if spec.endswith("s"):
        return float(spec[:-1])
    return float(spec)

def propagation(out_path, min_blocks, block_time, poll_ms, *nodes):
    """nodes: name=url=logpath. Follows each log from its current end; for every sealed block,
    polls the other nodes with dag_getBlock until they have it."""
    min_blocks = int(min_blocks)
    nodes = [n.split("=", 2) for n in nodes]
    # the producers together seal about len(nodes)/block_time blocks per second
    timeout = max(40.0, 2.5 * min_blocks * seconds(block_time) / len(nodes) + 10)
    names = [n[0] for n in nodes]
    url = {n[0]: n[1] for n in nodes}
    logs = {n[0]: open(n[2], "r", errors="replace") for n in nodes}
    for f in logs.values():
        f.seek(0, os.SEEK_END)
    partial = {n: "" for n in names}
    blocks = {}            # hash -> {"origin", "sealed", "seen": {name: delay_s}}
    order = []
    start = time.time()
    poll = float(poll_ms) / 1000
    loops = 0
    last_answer = start     # stop early when no node answers for 5 s
    give_up = 10.0         # a block not seen by a peer within this is reported missing
    while True:
        loops += 1
        now = time.time()
        for n in names:
            data = logs[n].read()
            if not data:
                continue
            data = partial[n] + data
            lines = data.split("\n")
            partial[n] = lines.pop()
            for line in lines:
                m = LINE.match(line)
                if m and m.group(3) not in blocks:
                    blocks[m.group(3)] = {"origin": n, "number": int(m.group(2)),
                                          "sealed": parse_ts(m.group(1)), "seen": {}}
                    order.append(m.group(3))
        pending = {n: [h for h in order if blocks[h]["origin"] != n and n not in blocks[h]["seen"]
                       and now - blocks[h]["sealed"] < give_up] for n in names}
        for n, hs in pending.items():
            if not hs:
                continue
            try:
                res = batch(url[n], [("dag_getBlock", [h]) for h in hs], timeout=2)
                last_answer = time.time()
            except Exception:
                continue
            t = time.time()
            for h, r in zip(hs, res):
                if r is not None:
                    blocks[h]["seen"][n] = t - blocks[h]["sealed"]
        complete = [h for h in order if len(blocks[h]["seen"]) == len(names) - 1]
        settled = [h for h in order if len(blocks[h]["seen"]) == len(names) - 1
                   or time.time() - blocks[h]["sealed"] >= give_up]
        if len(complete) >= min_blocks and len(settled) == len(order):
            break
        if time.time() - start > timeout or time.time() - last_answer > 5:
            break
        time.sleep(poll)
    per_peer, all_peers, missing = [], [], []
    by_pair = {}
    for h in order:
        b = blocks[h]
        for n in names:
            if n == b["origin"]:
                continue
            if n in b["seen"]:
                per_peer.append(b["seen"][n])
                by_pair.setdefault((b["origin"], n), []).append(b["seen"][n])
            else:
                missing.append(f"{h[:10]} ({b['origin']}->{n})")
        if len(b["seen"]) == len(names) - 1:
            all_peers.append(max(b["seen"].values()))
    origins = {n: sum(1 for h in order if blocks[h]["origin"] == n) for n in names}
    ms = lambda x: f"{x * 1000:.1f} ms"
    lines = [f"propagation: {len(order)} blocks sealed in {time.time() - start:.1f} s ("
             + ", ".join(f"{n}: {c}" for n, c in origins.items())
             + f"); seal = the producer's log timestamp, arrival = first successful dag_getBlock"
             f" poll (one poll round every {(time.time() - start) / max(loops, 1) * 1000:.1f} ms on average)"]
    if per_peer:
        lines.append(f"  to each other node ({len(per_peer)} samples): p50 {ms(pct(per_peer, 50))}"
                     f"  p95 {ms(pct(per_peer, 95))}  max {ms(max(per_peer))}")
    if all_peers:
        lines.append(f"  to both other nodes ({len(all_peers)} blocks): p50 {ms(pct(all_peers, 50))}"
                     f"  p95 {ms(pct(all_peers, 95))}  max {ms(max(all_peers))}")
    for (o, n), xs in sorted(by_pair.items()):
        lines.append(f"  {o} -> {n}: {len(xs)} blocks, p50 {ms(pct(xs, 50))}, p95 {ms(pct(xs, 95))}")
    if missing:
        lines.append(f"  NOT received within {give_up:.0f} s: {len(missing)}: " + ", ".join(missing[:10]))
    summary = {"blocks": len(order), "complete": len(all_peers), "missing": len(missing),
               "p50_ms": round(pct(all_peers, 50) * 1000, 1) if all_peers else None,
               "p95_ms": round(pct(all_peers, 95) * 1000, 1) if all_peers else None,
               "peer_p50_ms": round(pct(per_peer, 50) * 1000, 1) if per_peer else None,
               "peer_p95_ms": round(pct(per_peer, 95) * 1000, 1) if per_peer else None}
    with open(out_path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
        f.write("SUMMARY " + json.dumps(summary) + "\n")
    os.replace(out_path + ".tmp", out_path)
    return 0

def load_txs(path):
    txs = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 5:
                txs.append({"hash": p[0], "sender": p[1], "node": p[2], "to": p[3].lower(), "value": int(p[4])})
    return txs

def wait_receipts(txfile, expected, timeout, *urls):
    """Waits until every transaction has a receipt on every node."""
    txs = load_txs(txfile)
    if len(txs) != int(expected):
        print(f"only {len(txs)} of {expected} transactions were accepted by the nodes", file=sys.stderr)
        return 1
    end = time.time() + float(timeout)
    missing = txs
    while time.time() < end:
        missing = []
        for u in urls:
            res = batch(u, [("eth_getTransactionReceipt", [t["hash"]]) for t in txs])
            missing += [(u, t["hash"]) for t, r in zip(txs, res) if r is None]
        if not missing:
            print(f"{len(txs)} receipts on each of {len(urls)} nodes")
            return 0
        time.sleep(0.25)
    print(f"receipts still missing after {timeout} s: "
          + ", ".join(f"{h[:10]}@{u}" for u, h in missing[:10]), file=sys.stderr)
    return 1

def check(txfile, confirm, timeout, *urls):
    """Waits CONFIRM blocks past the last receipt, then compares the nodes. Retries a few times
    so that a transient difference right at the tips is not reported as a disagreement."""
    txs = load_txs(txfile)
    confirm = int(confirm)
    end = time.time() + float(timeout)
    problems = []
    for attempt in range(3):
        problems = []
        # receipts: same accepting block, number and status everywhere
        rec = {u: batch(u, [("eth_getTransactionReceipt", [t["hash"]]) for t in txs]) for u in urls}
        last = 0
        for i, t in enumerate(txs):
            rs = [rec[u][i] for u in urls]
            if any(r is None for r in rs):
                problems.append(f"tx {t['hash'][:10]}: receipt missing on some node")
                continue
            keys = {(r.get("blockHash"), r.get("blockNumber"), r.get("status")) for r in rs}
            if len(keys) != 1:
                problems.append(f"tx {t['hash'][:10]}: receipts differ: {sorted(keys)}")
            if any(r.get("status") != "0x1" for r in rs):
                problems.append(f"tx {t['hash'][:10]}: status {[r.get('status') for r in rs]}")
            last = max(last, max(int(r["blockNumber"], 16) for r in rs))
        # heights: wait until the lowest head is `confirm` blocks past the last receipt
        while True:
            heads = [int(rpc(u, "eth_blockNumber"), 16) for u in urls]
            if min(heads) >= last + confirm or time.time() > end:
                break
            time.sleep(0.2)
        common = min(heads) - max(1, confirm - 1)
        if common < last:
            problems.append(f"heads {heads} did not get {confirm} blocks past the last receipt (#{last}) in time")
            break
        # every selected-chain block 0..common: hash and state root
        blocks = {u: batch(u, [("eth_getBlockByNumber", [hex(n), False]) for n in range(common + 1)])
                  for u in urls}
        first_diff = None
        for n in range(common + 1):
            vals = {(b or {}).get("hash") and (b["hash"], b["stateRoot"]) for b in (blocks[u][n] for u in urls)}
            if len(vals) != 1 or None in vals:
                first_diff = n
                break
        if first_diff is not None:
            detail = "; ".join(f"{u}: hash {(blocks[u][first_diff] or {}).get('hash')} stateRoot "
                               f"{(blocks[u][first_diff] or {}).get('stateRoot')}" for u in urls)
            problems.append(f"nodes disagree at block #{first_diff} (of 0..{common}): {detail}")
        # balances of the recipients and nonces of the senders at the common height
        expect = {}
        for t in txs:
            expect[t["to"]] = expect.get(t["to"], 0) + t["value"]
        addrs = sorted(expect)
        bal = {u: batch(u, [("eth_getBalance", [a, hex(common)]) for a in addrs]) for u in urls}
        for i, a in enumerate(addrs):
            got = [int(bal[u][i], 16) if bal[u][i] else None for u in urls]
            if len(set(got)) != 1 or got[0] != expect[a]:
                problems.append(f"balance of {a} at #{common}: {got}, expected {expect[a]}")
        if not problems:
            b = blocks[urls[0]][common]
            reds = sum(len(blocks[urls[0]][n].get("mergesetReds") or []) for n in range(1, common + 1))
            size = sum(len(blocks[urls[0]][n].get("mergesetReds") or [])
                       + len(blocks[urls[0]][n].get("mergesetBlues") or []) for n in range(1, common + 1))
            print(json.dumps({"common": common, "heads": heads, "hash": b["hash"],
                              "stateRoot": b["stateRoot"], "lastReceiptBlock": last,
                              "recipients": {a: str(expect[a]) for a in addrs},
                              "reds": reds, "mergeset": size}))
            return 0
        if time.time() > end:
            break
        time.sleep(1.5)
    for p in problems:
        print(p, file=sys.stderr)
    return 1

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        sys.exit({"wait-rpc": wait_rpc, "peer-id": peer_id, "wait-peers": wait_peers,
                  "propagation": propagation, "wait-receipts": wait_receipts,
                  "check": check}[cmd](*args))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:   # a node that stopped answering, mostly
        print(f"{cmd}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
PY
py() { python3 "$HELPER" "$@"; }


# --- nodes ------------------------------------------------------------------------------------
read -r -a PORTS <<<"$(free_ports 9)"
P2P=("${PORTS[0]}" "${PORTS[1]}" "${PORTS[2]}")
RPC=("${PORTS[3]}" "${PORTS[4]}" "${PORTS[5]}")
MET=("${PORTS[6]}" "${PORTS[7]}" "${PORTS[8]}")
URL=("http://127.0.0.1:${RPC[0]}" "http://127.0.0.1:${RPC[1]}" "http://127.0.0.1:${RPC[2]}")
NODE_LOG_FILTER="${RUST_LOG:-info},lattice::producer=info"

start_node() { # INDEX EXTRA-FLAGS...
  local i="$1"; shift
  RUST_LOG="$NODE_LOG_FILTER" "$LATTICE_BIN" --dev --dev.producers 3 --dev.producer-index "$i" \
    --data-dir "$WORK/node$i" --block-time "$BLOCK_TIME" \
    --p2p-addr "/ip4/127.0.0.1/tcp/${P2P[$i]}" --rpc-addr "127.0.0.1:${RPC[$i]}" \
    --metrics-addr "127.0.0.1:${MET[$i]}" "$@" >"$WORK/node$i.log" 2>&1 &
  NODE_PIDS+=("$!")
  log "node$i pid $! rpc ${URL[$i]} p2p 127.0.0.1:${P2P[$i]} log $WORK/node$i.log"
}

log "binary $LATTICE_BIN, block time $BLOCK_TIME, work dir $WORK"
start_node 0 --bootstrap
py wait-rpc "${URL[0]}" 20 || fail "node0 did not start"
BOOT_ID="$(py peer-id "${URL[0]}")"
log "bootstrap peer id $BOOT_ID"
start_node 1 --bootstrap-nodes "$BOOT_ID@127.0.0.1:${P2P[0]}"
start_node 2 --bootstrap-nodes "/ip4/127.0.0.1/tcp/${P2P[0]}/p2p/$BOOT_ID"
py wait-rpc "${URL[1]}" 20 || fail "node1 did not start"
py wait-rpc "${URL[2]}" 20 || fail "node2 did not start"
t=$SECONDS
counts="$(py wait-peers 30 2 "${URL[@]}")" || fail "the nodes did not connect to each other (2 peers each) within 30 s"
log "peers per node: $counts (after $((SECONDS - t)) s)"

# --- propagation probe, in the background while the transactions flow --------------------------
PROP_OUT="$WORK/propagation.txt"
python3 "$HELPER" propagation "$PROP_OUT" "$PROP_BLOCKS" "$BLOCK_TIME" "$PROP_POLL_MS" \
  "node0=${URL[0]}=$WORK/node0.log" "node1=${URL[1]}=$WORK/node1.log" "node2=${URL[2]}=$WORK/node2.log" &
PROBE_PID=$!
AUX_PIDS+=("$PROBE_PID")

# --- transactions -------------------------------------------------------------------------------
# Dev accounts 3..8 (the well-known test mnemonic) send; sender k uses node k mod 3 only, so its
# nonces arrive in order; recipients are three fresh random addresses.
MNEMONIC="test test test test test test test test test test test junk"
KEYS=()
for k in 3 4 5 6 7 8; do
  KEYS+=("$("$CAST" wallet private-key --mnemonic "$MNEMONIC" --mnemonic-index "$k")")
done
read -r -a RECIPIENTS <<<"$(python3 -c 'import os; print(" ".join("0x" + os.urandom(20).hex() for _ in range(3)))')"
TXDIR="$WORK/txs"; mkdir -p "$TXDIR"

send_from() { # SENDER-INDEX: TXS_PER_SENDER transfers, explicit nonces, no waiting for receipts
  local k="$1" node=$(( $1 % 3 )) j to value hash
  local from
  from="$("$CAST" wallet address --private-key "${KEYS[$k]}")"
  local nonce
  nonce="$("$CAST" nonce "$from" --rpc-url "${URL[$node]}")"
  for ((j = 0; j < TXS_PER_SENDER; j++)); do
    to="${RECIPIENTS[$(( (k + j) % 3 ))]}"
    value=$(( (k + 1) * 1000000000000000 + j + 1 ))
    if hash="$("$CAST" send --async --rpc-url "${URL[$node]}" --private-key "${KEYS[$k]}" \
                --nonce $((nonce + j)) --gas-limit 21000 "$to" --value "$value" 2>"$TXDIR/err.$k.$j")"; then
      echo "$hash $from node$node $to $value" >>"$TXDIR/sent.$k"
    else
      echo "sender $k tx $j failed: $(cat "$TXDIR/err.$k.$j")" >&2
    fi
  done
}

t=$SECONDS
SENDER_PIDS=()
for k in 0 1 2 3 4 5; do
  send_from "$k" &
  SENDER_PIDS+=("$!"); AUX_PIDS+=("$!")
done
for p in "${SENDER_PIDS[@]}"; do wait "$p" || true; done
cat "$TXDIR"/sent.* >"$TXDIR/all" 2>/dev/null || true
NTX=$(( 6 * TXS_PER_SENDER ))
log "sent $(wc -l <"$TXDIR/all") of $NTX transfers in $((SECONDS - t)) s (senders = accounts 3..8, two per node)"
out="$(py wait-receipts "$TXDIR/all" "$NTX" 60 "${URL[@]}" 2>&1)" || fail "transactions: $out"
log "$out ($((SECONDS - t)) s after the first send)"

# --- comparison ---------------------------------------------------------------------------------
result="$(py check "$TXDIR/all" "$CONFIRM_BLOCKS" 60 "${URL[@]}" 2>"$WORK/check.err")" \
  || fail "the nodes disagree: $(tr '\n' ' ' <"$WORK/check.err")"
log "agreement: $result"

# --- propagation result -------------------------------------------------------------------------
wait "$PROBE_PID" || true
[[ -s "$PROP_OUT" ]] || fail "the propagation probe produced no result"
grep -v '^SUMMARY ' "$PROP_OUT"
prop="$(sed -n 's/^SUMMARY //p' "$PROP_OUT")"

for i in 0 1 2; do running "${NODE_PIDS[$i]}" || fail "node$i (pid ${NODE_PIDS[$i]}) exited"; done

read -r common hash root heads missing p50 p95 complete <<<"$(python3 -c '
import json, sys
r = json.loads(sys.argv[1]); p = json.loads(sys.argv[2])
print(r["common"], r["hash"], r["stateRoot"], "/".join(map(str, r["heads"])), p["missing"], p["p50_ms"], p["p95_ms"], p["complete"])
' "$result" "$prop")"
if (( missing > 0 )); then
  fail "$missing block deliveries were not seen within 10 s (see above)"
fi
if (( complete < 20 )); then
  fail "propagation measured on only $complete blocks (< 20)"
fi
VERDICT=PASS
echo "PASS: 3 nodes (heads $heads) agree on every block hash and state root up to #$common" \
  "(hash ${hash:0:18}…, stateRoot ${root:0:18}…); $NTX transfers from 6 accounts via 3 nodes executed" \
  "with identical receipts and recipient balances; propagation to both other nodes p50 ${p50} ms" \
  "p95 ${p95} ms over $complete blocks; $((SECONDS - T0)) s"
