#!/usr/bin/env bash
# The long crash loop: `kill -9` a loaded `lattice --dev` at random moments ROUNDS times (50),
# restarting it on its data directory each time; after every restart each transaction whose
# receipt was seen must still be there, and `lattice verify` must pass at the end. The test
# command runs the same test with 5 rounds.
#
# Usage: scripts/crash_loop.sh [ROUNDS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
run_long_test crash_loop LATTICE_CRASH_ROUNDS "${1:-50}"
