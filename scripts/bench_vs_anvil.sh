#!/usr/bin/env bash
# Lattice against anvil, side by side, in one run: the same `lattice loadgen` load against
# anvil (from the project's npm install) and against `lattice --dev` at the same block time,
# one after the other on this machine; prints each one's figures and the ratio. With
# --producers4 it also runs four lattice producers over libp2p on loopback (the load spread
# over their four RPC ports) and checks that all four agree on every chain block.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/bench_vs_anvil.sh [options]

Options (environment variable in brackets):
  --block-time MS     block time of both nodes, in milliseconds [BLOCK_TIME_MS, default 1000]
  --txs N             transactions per run [NUM_TXS, default 20000]
  --senders N         sender accounts [SENDERS, default 200]
  --concurrent N      batches in flight [CONCURRENT, default 8]
  --batch N           transactions per batch [BATCH, default 100]
  --rate R            transactions per second, 0 for flat out [RATE, default 0]
  --kind K            transfer | erc20 | storage | mix [KIND, default transfer]
  --producers4 MS     also run four producers, each sealing every MS ms (400: 10 blocks/s in
                      all), with the same load spread over their RPC ports
  --skip-anvil        no anvil run
  --skip-single       no single-producer lattice run (with --producers4: only the four)
  -h, --help          this help

KEEP_WORK=1 keeps the work directory (node logs, loadgen reports, data dirs) for a look after.

Prints one line per run (TPS until the last receipt, inclusion p50/p95/p99, ingestion) and the
ratio lattice/anvil. Every process started is stopped by PID on exit.
EOF
}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BLOCK_TIME_MS="${BLOCK_TIME_MS:-1000}"; NUM_TXS="${NUM_TXS:-20000}"; SENDERS="${SENDERS:-200}"
CONCURRENT="${CONCURRENT:-8}"; BATCH="${BATCH:-100}"; RATE="${RATE:-0}"; KIND="${KIND:-transfer}"
PRODUCERS4=""; SKIP_ANVIL=0; SKIP_SINGLE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --block-time) BLOCK_TIME_MS="$2"; shift 2 ;;
    --txs) NUM_TXS="$2"; shift 2 ;;
    --senders) SENDERS="$2"; shift 2 ;;
    --concurrent) CONCURRENT="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --kind) KIND="$2"; shift 2 ;;
    --producers4) PRODUCERS4="$2"; shift 2 ;;
    --skip-anvil) SKIP_ANVIL=1; shift ;;
    --skip-single) SKIP_SINGLE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

ANVIL="$ROOT/node_modules/.bin/anvil"
if [[ $SKIP_ANVIL -eq 0 && ! -x "$ANVIL" ]]; then
  "$ROOT/scripts/install_foundry.sh"
fi
if [[ -z "${LATTICE_BIN:-}" ]]; then
  cargo build --quiet --manifest-path "$ROOT/Cargo.toml" --bin lattice
fi
BIN="$(lattice_bin)"
WORK="$(mktemp -d -t lattice-bench.XXXXXX)"
PIDS=()
TESTNET=""
cleanup() {
  stop_pids "${PIDS[@]}"
  if [[ -n "$TESTNET" ]]; then "$ROOT/scripts/stop_nodes.sh" --dir "$TESTNET" >/dev/null 2>&1 || true; fi
  if [[ "${KEEP_WORK:-0}" == "1" ]]; then log "kept $WORK (logs, reports, data dirs)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

wait_rpc() { # URL: until it answers eth_chainId (30 s)
  local i
  for ((i = 0; i < 300; i++)); do
    if curl -sf -m 2 -H 'content-type: application/json' \
        -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$1" >/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "no answer from $1" >&2; return 1
}

# loadgen URL OUT [extra flags]: runs the load, the JSON report into OUT.
loadgen() {
  local url="$1" out="$2"; shift 2
  "$BIN" loadgen --rpc-url "$url" --txs "$NUM_TXS" --senders "$SENDERS" --concurrent "$CONCURRENT" \
    --batch "$BATCH" --rate "$RATE" --kind "$KIND" --json --quiet "$@" >"$out"
}

line() { # NAME REPORT.json...: one line of figures (reports of parallel runs are combined)
  python3 - "$@" <<'PY'
import json, sys
name, files = sys.argv[1], sys.argv[2:]
rs = [json.load(open(f)) for f in files]
included = sum(r["included"] for r in rs)
# Parallel runs start together: the combined rate is all included over the longest run.
until = max(r["included"] / r["tps"] for r in rs if r["tps"] > 0)
tps = included / until
ingest = sum(r["ingestion_tps"] for r in rs)
lat = {k: max(r["inclusion_latency"][k] for r in rs) for k in ("p50_ms", "p95_ms", "p99_ms")}
missing = sum(r["missing"] for r in rs)
rejected = sum(sum(r["rejected"].values()) for r in rs)
print(f"{name:<34} {tps:>8.0f} TPS  p50 {lat['p50_ms']/1000:5.2f} s  p95 {lat['p95_ms']/1000:5.2f} s  "
      f"p99 {lat['p99_ms']/1000:5.2f} s  ingestion {ingest:>7.0f} tx/s  "
      f"({included} included, {rejected} rejected, {missing} missing)")
reasons = {}
for r in rs:
    for why, n in r["rejected"].items():
        reasons[why] = reasons.get(why, 0) + n
for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
    print(f"  rejected {n}: {why}")
with open(files[0] + ".tps", "w") as f:
    f.write(f"{tps:.1f}")
PY
}

secs() { python3 -c "print(f'{$1/1000:g}')"; }
log "$NUM_TXS $KIND transactions per run, $SENDERS senders, $CONCURRENT batches of $BATCH in flight, block time ${BLOCK_TIME_MS} ms"

ANVIL_TPS=""
if [[ $SKIP_ANVIL -eq 0 ]]; then
  read -r PORT < <(free_ports 1)
  "$ANVIL" --port "$PORT" --block-time "$(secs "$BLOCK_TIME_MS")" >"$WORK/anvil.log" 2>&1 &
  PIDS+=($!)
  wait_rpc "http://127.0.0.1:$PORT"
  loadgen "http://127.0.0.1:$PORT" "$WORK/anvil.json"
  stop_pids "${PIDS[@]}"; PIDS=()
  line "anvil --block-time $(secs "$BLOCK_TIME_MS")" "$WORK/anvil.json"
  ANVIL_TPS="$(cat "$WORK/anvil.json.tps")"
fi

if [[ $SKIP_SINGLE -eq 0 ]]; then
  read -r PORT < <(free_ports 1)
  "$BIN" --dev --block-time "${BLOCK_TIME_MS}ms" --data-dir "$WORK/lattice" \
    --rpc-addr "127.0.0.1:$PORT" >"$WORK/lattice.log" 2>&1 &
  PIDS+=($!)
  wait_rpc "http://127.0.0.1:$PORT"
  loadgen "http://127.0.0.1:$PORT" "$WORK/lattice.json"
  stop_pids "${PIDS[@]}"; PIDS=()
  line "lattice --dev --block-time ${BLOCK_TIME_MS}ms" "$WORK/lattice.json"
  if [[ -n "$ANVIL_TPS" ]]; then
    python3 -c "print(f'ratio lattice/anvil: {float(open(\"$WORK/lattice.json.tps\").read())/$ANVIL_TPS:.2f}x')"
  fi
fi

if [[ -n "$PRODUCERS4" ]]; then
  TESTNET="$WORK/four"
  "$ROOT/scripts/launch_10node_testnet.sh" --nodes 4 --producers 4 --block-time "${PRODUCERS4}ms" \
    --dir "$TESTNET" --clean >"$WORK/four-launch.log" 2>&1 || { cat "$WORK/four-launch.log"; exit 1; }
  mapfile -t URLS < <(python3 -c "import json; [print(n['rpc']) for n in json.load(open('$TESTNET/testnet.json'))['nodes']]")
  mapfile -t METRICS < <(python3 -c "import json; [print(n['metrics']) for n in json.load(open('$TESTNET/testnet.json'))['nodes']]")
  share=$(( NUM_TXS / 4 ))
  LG=()
  for i in 0 1 2 3; do
    "$BIN" loadgen --rpc-url "${URLS[$i]}" --txs "$share" --senders $(( SENDERS / 4 )) \
      --concurrent "$CONCURRENT" --batch "$BATCH" --rate $(( RATE / 4 )) --kind "$KIND" \
      --dev-account "$i" --json --quiet >"$WORK/four-$i.json" &
    LG+=($!)
  done
  status=0
  for pid in "${LG[@]}"; do wait "$pid" || status=1; done
  line "4 producers, ${PRODUCERS4} ms each (libp2p)" "$WORK"/four-{0,1,2,3}.json
  [[ $status -eq 0 ]] || log "a loadgen of the four-producer run failed"
  # Duplicate carries, and agreement on every chain block.
  python3 - "${URLS[@]}" -- "${METRICS[@]}" <<'PY'
import json, sys, urllib.request
args = sys.argv[1:]
urls, metrics = args[:args.index("--")], args[args.index("--") + 1:]
def rpc(url, method, params):
    req = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
                                 {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=30))["result"]
def metric(url, name):
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name + " ") or l.startswith(name + "{"))
carried = sum(metric(m, "lattice_transactions_carried_total") for m in metrics)
dup = sum(metric(m, "lattice_transactions_duplicate_carried_total") for m in metrics)
print(f"duplicate carries: {dup:.0f} of {carried:.0f} carried ({100 * dup / max(carried, 1):.1f}%, summed over the four nodes)")
# Under load the nodes trail each other by a few blocks and their tips differ; once the load
# has stopped they must settle on one chain. Compare every chain block up to 5 below the lowest
# head, again until they agree or 60 s pass.
import time
started = time.time()
while True:
    head = min(int(rpc(u, "eth_blockNumber", []), 16) for u in urls) - 5
    bad = []
    for n in range(head + 1):
        blocks = [rpc(u, "eth_getBlockByNumber", [hex(n), False]) for u in urls]
        if any(b is None for b in blocks) or len({(b["hash"], b["stateRoot"]) for b in blocks}) != 1:
            bad.append((n, blocks))
    if not bad or time.time() - started > 60:
        break
    time.sleep(2)
settled = time.time() - started
if bad:
    n, blocks = bad[0]
    for u, b in zip(urls, blocks):
        print(f"  #{n} at {u}: " + ("missing" if b is None else f"hash {b['hash']} stateRoot {b['stateRoot']}"))
    print(f"chain blocks 0..{head}: {len(bad)} differ after 60 s, first #{n}")
else:
    print(f"chain blocks 0..{head}: identical hash and state root on all four ({settled:.0f} s after the load)")
sys.exit(1 if bad else 0)
PY
fi
