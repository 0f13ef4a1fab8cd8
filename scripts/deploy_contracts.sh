#!/usr/bin/env bash
# Deploys the AI-layer contracts (IPFSIncentives, ModelRegistry, ComputeMarketplace) to a
# running node with `forge script contracts/script/Deploy.s.sol --broadcast`, wires them
# together, writes deployments/<chain-id>.json and prints each contract's name and address.
set -euo pipefail

DEFAULT_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

usage() {
  cat <<'EOF'
Usage: scripts/deploy_contracts.sh [--help] RPC_URL [FORGE_SCRIPT_ARGS...]

Deploys IPFSIncentives, ModelRegistry and ComputeMarketplace to the node at RPC_URL
(e.g. http://127.0.0.1:8545), grants the registry IPFSIncentives' REGISTRAR_ROLE, writes
deployments/<chain-id>.json and prints "<Contract> <address>" for each contract.
Extra arguments go to `forge script` (e.g. --legacy, --with-gas-price 1gwei).

Environment:
  PRIVATE_KEY       deployer key (default: account 0 of the test mnemonic
                    "test test ... junk", 0xf39F...2266, funded on --dev chains)
  TREASURY          receives fees and slashed stake (default: the deployer)
  ARBITER           decides compute disputes (default: the deployer)
  EPOCH_LENGTH      seconds per pinning epoch (default: 3600)
  RESPONSE_WINDOW   seconds a pinning provider has to answer a revealed challenge
                    (default: 600; the contract takes 60 to 86400)
  REGISTRATION_FEE  wei per model or version registration (default: 1e16)
  CHANGE_DELAY      seconds of the admin's timelock on parameter, fee, treasury and role
                    changes (default: 172800, two days; at least one day)
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac
RPC_URL="$1"
shift

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install_foundry.sh" >/dev/null
cd "$ROOT"
CAST=.tools/bin/cast
FORGE=.tools/bin/forge

export PRIVATE_KEY="${PRIVATE_KEY:-$DEFAULT_KEY}"
chain_id="$("$CAST" chain-id --rpc-url "$RPC_URL")"
deployer="$("$CAST" wallet address --private-key "$PRIVATE_KEY")"
echo "deploy_contracts: chain $chain_id, deployer $deployer, rpc $RPC_URL" >&2

# --slow: send each transaction only after the previous one is mined, so that a DAG node
# never sees nonce n+1 before nonce n.
# Each run records its broadcast in a directory of its own, so that deployments running at
# the same time (two test runs in one checkout) never read each other's records.
broadcast="$(mktemp -d "${TMPDIR:-/tmp}/lattice-broadcast.XXXXXX")"
trap 'rm -rf "$broadcast"' EXIT
FOUNDRY_BROADCAST="$broadcast" "$FORGE" script contracts/script/Deploy.s.sol:Deploy \
  --rpc-url "$RPC_URL" --broadcast --slow "$@" >&2

run="$broadcast/Deploy.s.sol/$chain_id/run-latest.json"
[[ -f "$run" ]] || { echo "deploy_contracts: $run not found" >&2; exit 1; }

mkdir -p deployments
out="deployments/$chain_id.json"
node - "$run" "$chain_id" "$deployer" "$RPC_URL" >"$out.tmp.$$" <<'EOF'
const fs = require('node:fs');
const { keccak256 } = require('js-sha3'); // ships with solc-js
const [runPath, chainId, deployer, rpcUrl] = process.argv.slice(2);
// EIP-55 mixed-case checksum
const checksum = (address) => {
  const hex = address.toLowerCase().replace(/^0x/, '');
  const hash = keccak256(hex);
  return '0x' + [...hex].map((c, i) => (parseInt(hash[i], 16) >= 8 ? c.toUpperCase() : c)).join('');
};
const run = JSON.parse(fs.readFileSync(runPath, 'utf8'));
const receipts = new Map((run.receipts || []).map((r) => [r.transactionHash.toLowerCase(), r]));
const contracts = {};
for (const tx of run.transactions) {
  if (tx.transactionType !== 'CREATE') continue;
  const receipt = receipts.get(tx.hash.toLowerCase());
  if (!receipt || receipt.status !== '0x1') throw new Error(`deployment of ${tx.contractName} failed`);
  contracts[tx.contractName] = {
    address: checksum(tx.contractAddress),
    transactionHash: tx.hash,
    blockNumber: parseInt(receipt.blockNumber, 16),
  };
}
for (const name of ['IPFSIncentives', 'ModelRegistry', 'ComputeMarketplace']) {
  if (!contracts[name]) throw new Error(`${name} missing from ${runPath}`);
}
const doc = { chainId: Number(chainId), rpcUrl, deployer, deployedAt: new Date().toISOString(), contracts };
process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
EOF
mv "$out.tmp.$$" "$out"

for name in IPFSIncentives ModelRegistry ComputeMarketplace; do
  address="$(node -p "require('./$out').contracts['$name'].address")"
  code="$("$CAST" code --rpc-url "$RPC_URL" "$address")"
  [[ "$code" != "0x" ]] || { echo "deploy_contracts: no code at $name $address" >&2; exit 1; }
  echo "$name $address"
done
incentives="$(node -p "require('./$out').contracts.IPFSIncentives.address")"
registry="$(node -p "require('./$out').contracts.ModelRegistry.address")"
wired="$("$CAST" call --rpc-url "$RPC_URL" "$incentives" 'hasRole(bytes32,address)(bool)' \
  "$("$CAST" keccak REGISTRAR_ROLE)" "$registry")"
[[ "$wired" == true ]] || { echo "deploy_contracts: ModelRegistry lacks REGISTRAR_ROLE on IPFSIncentives" >&2; exit 1; }
echo "deploy_contracts: wrote $out" >&2
