#!/usr/bin/env bash
# The node's IPFS side end to end, against a real dev node and a real Kubo (scripts/kubo-dev):
#   a model file is added to Kubo and registered through ModelRegistry (`lattice ipfs add
#   --register`) -> the node pins it, its content matching the on-chain commitment -> the node,
#   a storage provider, registers and commits -> a challenge is opened and revealed, the node
#   answers it and the contract verifies the answer -> the node reports the pin and withdraws
#   its reward; Kubo stops -> the node keeps producing, a record opened meanwhile is pinned once
#   Kubo is back; the content of the first record is gone from the new Kubo -> the node cannot
#   answer the next challenge and the contract slashes it.
# Prints one line per check and `ipfs-e2e: N passed, M failed`; exits non-zero on a failure.
set -uo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "Usage: scripts/test_ipfs_e2e.sh   (needs scripts/setup.sh: the Kubo venv and Foundry)"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY="$ROOT/.tools/kubo-venv/bin/python"
CAST="$ROOT/.tools/bin/cast"
[[ -x "$PY" && -x "$CAST" ]] || { log "no $PY or $CAST: run scripts/setup.sh"; exit 1; }
BIN="$(lattice_bin)" || exit 1

# Test-mnemonic accounts: 0 deploys, 1 owns the models, 2 challenges, 3 is the provider.
DEPLOYER_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
OWNER_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
CHALLENGER_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
PROVIDER_KEY=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
CHALLENGER="$("$CAST" wallet address --private-key "$CHALLENGER_KEY")"
PROVIDER="$("$CAST" wallet address --private-key "$PROVIDER_KEY")"

work="$(mktemp -d)"
KUBO_PID=""; NODE_PID=""
passed=0; failed=0
cleanup() {
  stop_pids $NODE_PID $KUBO_PID
  if [[ $failed -gt 0 || -n "${FATAL:-}" ]]; then
    echo "--- node log (last 40 lines)"; tail -n 40 "$work/node.log" 2>/dev/null
    echo "--- kubo log (last 10 lines)"; tail -n 10 "$work/kubo.log" 2>/dev/null
  fi
  if [[ -n "${KEEP_WORK:-}" ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
check() { # NAME STATUS DETAIL
  if [[ "$2" -eq 0 ]]; then echo "ok   $1"; passed=$((passed + 1));
  else echo "FAIL $1: $3"; failed=$((failed + 1)); fi
}
fatal() { FATAL=1; echo "FAIL $1"; failed=$((failed + 1)); echo "ipfs-e2e: $passed passed, $failed failed"; exit 1; }
# wait_for SECONDS COMMAND...: runs COMMAND every 0.5 s until it succeeds; its status.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.5
  done
}

read -r KUBO_PORT RPC_PORT METRICS_PORT <<<"$(free_ports 3)"
API="http://127.0.0.1:$KUBO_PORT"
RPC="http://127.0.0.1:$RPC_PORT"
rpc() { curl -s -H 'content-type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$RPC"; }
height() { "$CAST" block-number --rpc-url "$RPC" 2>/dev/null || echo 0; }
call() { "$CAST" call --rpc-url "$RPC" "$@"; }
send() { # KEY ARGS...: a transaction that must succeed
  "$CAST" send --rpc-url "$RPC" --private-key "$@" >>"$work/cast.log" 2>&1
}

start_kubo() { # REPO
  "$PY" "$ROOT/scripts/kubo-dev" --api-port "$KUBO_PORT" --repo "$1" >>"$work/kubo.log" 2>&1 &
  KUBO_PID=$!
  wait_for 60 curl -sf -X POST "$API/api/v0/version"
}
stop_kubo() { stop_pids $KUBO_PID; KUBO_PID=""; }
start_node() { # FLAGS...
  "$BIN" --dev --block-time 250ms --data-dir "$work/node" --rpc-addr "127.0.0.1:$RPC_PORT" \
    --metrics-addr "127.0.0.1:$METRICS_PORT" "$@" >>"$work/node.log" 2>&1 &
  NODE_PID=$!
  wait_for 60 "$CAST" block-number --rpc-url "$RPC"
}

start_kubo "$work/repo1" || fatal "kubo-dev did not start"
start_node || fatal "the node did not start"

# The contracts, with 4-second epochs and the shortest response window the contract takes.
EPOCH_LENGTH=4 RESPONSE_WINDOW=60 CHANGE_DELAY=86400 PRIVATE_KEY=$DEPLOYER_KEY \
  "$ROOT/scripts/deploy_contracts.sh" "$RPC" >"$work/deployed" 2>"$work/deploy.log" \
  || { tail -n 20 "$work/deploy.log"; fatal "deploying the contracts"; }
INCENTIVES="$(awk '$1 == "IPFSIncentives" {print $2}' "$work/deployed")"
REGISTRY="$(awk '$1 == "ModelRegistry" {print $2}' "$work/deployed")"
[[ -n "$INCENTIVES" && -n "$REGISTRY" ]] || fatal "no addresses in: $(cat "$work/deployed")"

# Restart as a pinning node and storage provider: the service starts from the stored chain.
printf '%s\n' "$PROVIDER_KEY" >"$work/provider.key"; chmod 600 "$work/provider.key"
printf '%s\n' "$OWNER_KEY" >"$work/owner.key"; chmod 600 "$work/owner.key"
stop_pids $NODE_PID
start_node --ipfs-api "$API" --ipfs-incentives "$INCENTIVES" \
  --ipfs-provider-key-file "$work/provider.key" --ipfs-provider-max-stake 5 \
  || fatal "the node did not restart with --ipfs-incentives"

# 1. A model file added and registered: the CLI prints the CID, the transaction and the record.
head -c 300000 /dev/urandom >"$work/model-1.bin"
head -c 70000 /dev/urandom >"$work/model-2.bin"
"$BIN" ipfs add "$work/model-1.bin" --register --ipfs-api "$API" --rpc "$RPC" --registry "$REGISTRY" \
  --key-file "$work/owner.key" --name model-1 --replication 2 --duration-epochs 10000 \
  --reward-per-byte-epoch 10000000000 --fund 1 >"$work/add-1" 2>&1
status=$?
CID1="$(awk '$1 == "cid" {print $2}' "$work/add-1")"
grep -q '^pin record 1$' "$work/add-1" && grep -q '^transaction 0x' "$work/add-1"
check "lattice ipfs add --register: CID, transaction, model and pin record" $((status + $?)) "$(cat "$work/add-1")"
reference="$(python3 "$ROOT/scripts/merkle_root.py" "$work/model-1.bin" | awk '$1 == "merkleRoot" {print $2}')"
[[ "$reference" =~ ^0x[0-9a-f]{64}$ && "$reference" == "$(awk '$1 == "merkle" {print $3}' "$work/add-1")" ]]
check "the commitment it registered is the reference script's" $? "$(cat "$work/add-1")"

# 2. The node pins it: the content Kubo returns matches the on-chain commitment.
pin_state() { # RECORD -> its state in lattice_pins, or none
  rpc lattice_pins '[0, 100]' | python3 -c "import json, sys
r = json.load(sys.stdin).get('result') or {}
print(next((e['state'] for e in r.get('entries', []) if e['request']['recordId'] == '$1'), 'none'))"
}
pinned() { [[ "$(pin_state "$1")" == pinned ]]; }
wait_for 90 pinned 1
check "the node pinned record 1 (commitment matched)" $? "$(rpc lattice_pins '[0, 10]')"
curl -s -X POST "$API/api/v0/pin/ls?arg=$CID1" | grep -q "$CID1"
check "Kubo holds the pin" $? "$(curl -s -X POST "$API/api/v0/pin/ls?arg=$CID1")"

# 3. The provider registers and commits.
pin_is() { # RECORD true|false: the provider's pin of RECORD is (not) active
  call "$INCENTIVES" "getPin(uint256,address)((bool,uint32,uint32,uint64,uint64,uint64,uint64,uint128))" "$1" "$PROVIDER" | grep -q "^($2,"
}
pin_active() { pin_is "$1" true; }
wait_for 60 pin_active 1
check "the provider node registered and committed to record 1" $? "$(call "$INCENTIVES" "getProvider(address)((bool,uint32,uint32,uint128,string))" "$PROVIDER")"

# 4. A challenge: committed, revealed once its seed block is 32 deep, answered by the node.
challenge_status() { # ID -> the ChallengeStatus number
  call "$INCENTIVES" "getChallenge(uint256)((uint256,address,address,uint8,uint32,uint16,uint32,uint64,uint64,uint128,uint128,bytes32,bytes32))" "$1" \
    | tr -d '()' | awk -F', ' '{print $4}'
}
seed_block() {
  call "$INCENTIVES" "getChallenge(uint256)((uint256,address,address,uint8,uint32,uint16,uint32,uint64,uint64,uint128,uint128,bytes32,bytes32))" "$1" \
    | tr -d '()' | awk -F', ' '{print $8}'
}
challenge() { # ID RECORD SECRET: opens challenge ID against the provider and reveals it
  local commitment
  commitment="$("$CAST" keccak "$("$CAST" abi-encode 'f(bytes32,address)' "$3" "$CHALLENGER")")"
  send "$CHALLENGER_KEY" "$INCENTIVES" "challenge(uint256,address,bytes32)" "$2" "$PROVIDER" "$commitment" --value 0.1ether || return 1
  local seed; seed="$(seed_block "$1" | awk '{print $1}')"
  echo "challenge $1: seed block $seed, height $(height)" >>"$work/cast.log"
  seed_deep() { [[ "$(height)" -ge $((seed + 33)) ]]; }
  wait_for 60 seed_deep || { echo "seed block $seed not 33 deep at $(height)" >>"$work/cast.log"; return 1; }
  send "$CHALLENGER_KEY" "$INCENTIVES" "reveal(uint256,bytes32)" "$1" "$3"
}
answered() { [[ "$(challenge_status 1)" == 3 ]]; }
challenge 1 1 0x1111111111111111111111111111111111111111111111111111111111111111
check "challenge 1 opened and revealed" $? "$(tail -n 5 "$work/cast.log")"
wait_for 60 answered
check "the node answered challenge 1 and the contract verified it (status Answered)" $? "status $(challenge_status 1)"

# 5. Rewards: the node reports the pin's epochs and withdraws the credit.
summary() { rpc lattice_pinningSummary '[]'; }
rewarded() {
  summary | grep -Eq '"epochsPaid":[1-9]' && summary | grep -Eq '"rewardWei":"[1-9]' \
    && summary | grep -Eq '"withdrawnWei":"[1-9]'
}
wait_for 90 rewarded
check "the node reported its pin and withdrew the reward" $? "$(summary)"

# 6. Kubo stops: the node keeps producing; a model registered meanwhile is pinned once it is back.
"$BIN" ipfs add "$work/model-2.bin" --ipfs-api "$API" >"$work/add-2" 2>&1
CID2="$(awk '$1 == "cid" {print $2}' "$work/add-2")"
ROOT2="$(awk '$1 == "merkle" {print $3}' "$work/add-2")"
stop_kubo
h1="$(height)"; sleep 6; h2="$(height)"
[[ $h1 -gt 0 && $h2 -ge $((h1 + 3)) ]]; check "Kubo stopped: the node keeps producing" $? "height $h1 -> $h2"
down() { rpc lattice_ipfsStatus '[]' | grep -q '"reachable":false'; }
wait_for 30 down; check "lattice_ipfsStatus reports Kubo unreachable" $? "$(rpc lattice_ipfsStatus '[]')"
"$BIN" ipfs add "$work/model-2.bin" --ipfs-api "$API" >"$work/add-down" 2>&1
[[ $? -ne 0 ]] && grep -q "adding to Kubo" "$work/add-down"
check "lattice ipfs add with Kubo away fails with a clear error" $? "$(cat "$work/add-down")"
FEE="$(call "$REGISTRY" "registrationFee()(uint256)" | awk '{print $1}')"
send "$OWNER_KEY" "$REGISTRY" \
  "registerModel((string,string,string,uint128,bool,uint256),string,(uint64,bytes32,uint64,uint16,uint32,uint128))" \
  "(model-2,onnx,ipfs://model-2,0,false,$FEE)" "$CID2" "(70000,$ROOT2,69,2,10000,10000000000)" \
  --value "$(python3 -c "print($FEE + 10**18)")"
check "model 2 registered while Kubo is away" $? "$(tail -n 5 "$work/cast.log")"
# Kubo returns with a new repository: model 2 is added again, model 1's content is gone.
start_kubo "$work/repo2" || fatal "kubo-dev did not restart"
"$BIN" ipfs add "$work/model-2.bin" --ipfs-api "$API" >/dev/null 2>&1
wait_for 120 pinned 2
check "Kubo back: the node pinned record 2" $? "$(rpc lattice_pins '[0, 10]')"
wait_for 60 pin_active 2
check "and committed to it" $? "$(summary)"

# 7. The provider lost record 1's content: it cannot answer, the window closes, it is slashed.
bonded_before="$(call "$INCENTIVES" "bondedOf(address)(uint256)" "$PROVIDER" | awk '{print $1}')"
challenge 2 1 0x2222222222222222222222222222222222222222222222222222222222222222
check "challenge 2 opened and revealed" $? "$(tail -n 5 "$work/cast.log")"
# Sent until the challenge reads Failed: a send at the window's edge can pass its estimate and
# still revert in its block, and cast may report a mined revert as sent.
resolved() {
  send "$CHALLENGER_KEY" "$INCENTIVES" "resolve(uint256)" 2
  [[ "$(challenge_status 2)" == 4 ]]
}
wait_for 120 resolved
check "the response window closed unanswered; resolve(2) accepted" $? "$(tail -n 5 "$work/cast.log")"
[[ "$(challenge_status 2)" == 4 ]]; check "challenge 2 failed (status Failed)" $? "status $(challenge_status 2)"
bonded_after="$(call "$INCENTIVES" "bondedOf(address)(uint256)" "$PROVIDER" | awk '{print $1}')"
python3 -c "import sys; sys.exit(0 if int('$bonded_after') < int('$bonded_before') else 1)"
check "the provider was slashed" $? "bonded $bonded_before -> $bonded_after"
pin_is 1 false; check "its pin of record 1 was dropped" $? "still active, or getPin failed"
slashed_seen() { summary | grep -Eq '"challengesFailed":1'; }
wait_for 30 slashed_seen; check "the node counted the failed challenge" $? "$(summary)"
grep -q "cannot answer a challenge" "$work/node.log"
check "the node logged why it could not answer" $? "no such line in the node log"
curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | grep -q 'lattice_ipfs_challenges_total{outcome="answered"} 1'
check "metrics count the answered challenge" $? "$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | grep lattice_ipfs_challenges)"

echo "ipfs-e2e: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
