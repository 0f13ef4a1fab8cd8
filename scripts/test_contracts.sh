#!/usr/bin/env bash
# Runs the Solidity test suite of contracts/ (unit, fuzz and invariant tests) with Foundry.
# Installs Foundry, solc-js and OpenZeppelin first if they are missing (scripts/install_foundry.sh).
# Exits non-zero if anything fails, and ends with one line "contracts: N passed, N failed".
set -euo pipefail

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/test_contracts.sh [--help] [FORGE_TEST_ARGS...]

Runs `forge test` over contracts/test (see foundry.toml). Any arguments are passed to
forge, for example:
  scripts/test_contracts.sh --gas-report           # with the gas report of docs/contracts.md
  scripts/test_contracts.sh --match-contract Registry -vvv
Environment: FOUNDRY_FUZZ_RUNS, FOUNDRY_INVARIANT_RUNS, FOUNDRY_INVARIANT_DEPTH override
the fuzz and invariant budgets of foundry.toml.
EOF_USAGE
}

for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install_foundry.sh"
cd "$ROOT"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
.tools/bin/forge test "$@" 2>&1 | tee "$log" || status=$?

# forge's closing line: "Ran N test suites in ...: P tests passed, F failed, S skipped (T total tests)"
summary="$(grep -E 'tests? passed, [0-9]+ failed' "$log" | tail -1 || true)"
if [[ -n "$summary" ]]; then
  passed="$(sed -E 's/.* ([0-9]+) tests? passed.*/\1/' <<<"$summary")"
  failed="$(sed -E 's/.* passed, ([0-9]+) failed.*/\1/' <<<"$summary")"
  echo "contracts: $passed passed, $failed failed"
  if [[ "$failed" != 0 && "$status" == 0 ]]; then status=1; fi
elif [[ "$status" == 0 ]]; then
  echo "test_contracts: forge ran no test" >&2
  status=1
fi
exit "$status"
