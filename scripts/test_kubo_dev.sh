#!/usr/bin/env bash
# Checks scripts/kubo-dev against the real Kubo library it runs: add a file, read it back,
# pin, list, unpin, Kubo's error shapes, and a clean stop on SIGTERM (by PID). Prints one
# line per check and `kubo-dev: N passed, M failed`.
set -uo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "Usage: scripts/test_kubo_dev.sh   (needs the venv scripts/setup.sh makes)"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY="$ROOT/.tools/kubo-venv/bin/python"
[[ -x "$PY" ]] || { log "no $PY: run scripts/setup.sh"; exit 1; }

work="$(mktemp -d)"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

passed=0; failed=0
check() { # NAME CONDITION-RESULT(0/1) DETAIL
  if [[ "$2" -eq 0 ]]; then echo "ok   $1"; passed=$((passed + 1));
  else echo "FAIL $1: $3"; failed=$((failed + 1)); fi
}

"$PY" "$ROOT/scripts/kubo-dev" --api-port 0 --repo "$work/repo" >"$work/kubo.log" 2>&1 &
pid=$!
api=""
for _ in $(seq 1 300); do
  api="$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$work/kubo.log" | head -1)"
  [[ -n "$api" ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$api" ]]; then tail -n 20 "$work/kubo.log"; echo "kubo-dev: 0 passed, 1 failed"; exit 1; fi
A="$api/api/v0"

version="$(curl -s -X POST "$A/version")"
[[ "$version" == *'"Version": "0.22.0"'* ]]; check "version is Kubo's" $? "$version"

id="$(curl -s -X POST "$A/id")"
[[ "$id" == *'"ID": "'* && "$id" != *'/ip4/0.0.0.0'* ]]
check "id answers, swarm on loopback only" $? "$id"
grep -q '"Bootstrap": \[\]' "$work/repo/config"; check "no bootstrap peers" $? "$(grep -A3 Bootstrap "$work/repo/config")"

head -c 300000 /dev/urandom >"$work/blob"
added="$(curl -s -X POST -F "file=@$work/blob" "$A/add")"
cid="$(sed -E 's/.*"Hash": "([^"]+)".*/\1/' <<<"$added")"
[[ "$added" == *'"Size": "300000"'* && "$cid" == Qm* ]]; check "add returns a CID" $? "$added"

curl -s -X POST "$A/cat?arg=$cid" -o "$work/back"
cmp -s "$work/blob" "$work/back"; check "cat returns the bytes added" $? "$(wc -c <"$work/back") bytes back"

pinned="$(curl -s -X POST "$A/pin/add?arg=$cid")"
[[ "$pinned" == *"\"Pins\": [\"$cid\"]"* ]]; check "pin/add" $? "$pinned"
listed="$(curl -s -X POST "$A/pin/ls?arg=$cid")"
[[ "$listed" == *"\"$cid\": {\"Type\": \"recursive\"}"* ]]; check "pin/ls lists it" $? "$listed"
curl -s -X POST "$A/pin/rm?arg=$cid" >/dev/null
after="$(curl -s -w ' %{http_code}' -X POST "$A/pin/ls?arg=$cid")"
[[ "$after" == *'"Type": "error"'*' 500' && "$after" == *"is not pinned"* ]]
check "pin/rm, then pin/ls says not pinned (Kubo's error shape)" $? "$after"

stat="$(curl -s -X POST "$A/repo/stat")"
[[ "$stat" =~ \"RepoSize\":\ [1-9][0-9]{5,} ]]; check "repo/stat counts the repository" $? "$stat"

missing="$(curl -s -w ' %{http_code}' -X POST "$A/cat")"
[[ "$missing" == *'argument \"ipfs-path\" is required'*' 500' ]]; check "a missing argument is Kubo's error" $? "$missing"
get="$(curl -s -o /dev/null -w '%{http_code}' "$A/version")"
[[ "$get" == 405 ]]; check "GET is refused as Kubo refuses it" $? "$get"
unsupported="$(curl -s -w ' %{http_code}' -X POST "$A/dag/stat?arg=$cid")"
[[ "$unsupported" == *'has no call in the Kubo library'*' 500' ]]; check "dag/stat says it is not there" $? "$unsupported"

kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  check "stops on SIGTERM within 10 s" 1 "still running"; kill -9 "$pid"
else
  grep -q 'kubo-dev: stopped' "$work/kubo.log"; check "stops on SIGTERM within 10 s" $? "$(tail -n 3 "$work/kubo.log")"
fi
wait "$pid" 2>/dev/null; pid=""
echo "kubo-dev: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
