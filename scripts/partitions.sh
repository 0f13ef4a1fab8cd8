#!/usr/bin/env bash
# The long partition run: four producing nodes in network namespaces split 2|2 and healed,
# then one node cut off while the others build BLOCKS chain blocks (10,000) before the link
# comes back; it must catch up, and every data directory must verify. Needs root (ip netns).
# The test command runs the same test with 200 blocks.
#
# Usage: scripts/partitions.sh [BLOCKS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
run_long_test partitions LATTICE_CUTOFF_BLOCKS "${1:-10000}"
