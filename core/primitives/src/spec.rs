//! The chain specification: everything every node must agree on before the first block.

use crate::dev::{dev_signers, DEV_ACCOUNT_COUNT};
use alloy_primitives::{address, hex, Address, Bytes, B256, U256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Address of the deterministic CREATE2 deployer (the same on every EVM chain).
pub const CREATE2_DEPLOYER: Address = address!("4e59b44847b379578588920cA78FbF26c0B4956C");

/// Runtime code of the deterministic CREATE2 deployer: calldata is `salt ‖ initcode`, returns the
/// 20-byte address of the created contract.
pub const CREATE2_DEPLOYER_CODE: [u8; 69] = hex!(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3"
);

/// One account of the genesis allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenesisAccount {
    /// Balance in wei.
    pub balance: U256,
    /// Account nonce.
    pub nonce: u64,
    /// Contract code, empty for externally owned accounts.
    pub code: Bytes,
    /// Initial storage.
    pub storage: BTreeMap<B256, U256>,
}

/// The chain specification. Every node of a network must load the same one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChainSpec {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Proof-of-authority producer set: only these addresses may sign blocks.
    pub producers: Vec<Address>,
    /// Any key may sign blocks (the built-in devnet; test networks only: without an
    /// authority set, sealing-rate rules bind each key, not each operator).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub open_producers: bool,
    /// Timestamp of the genesis block in milliseconds.
    pub genesis_timestamp_ms: u64,
    /// Target interval between blocks of one producer, in milliseconds (what producers aim
    /// for; `min_block_interval_ms` is what is enforced).
    pub block_time_ms: u64,
    /// A producer may not seal a block less than this many milliseconds after its previous
    /// block in the new block's past (faster sealing is rejected as spam or equivocation).
    pub min_block_interval_ms: u64,
    /// Gas limit of each block (the most gas its carried transactions may ask for).
    pub gas_limit: u64,
    /// Base fee of the first block after genesis, in wei.
    pub initial_base_fee: u64,
    /// The base fee never falls below this, in wei.
    pub min_base_fee: u64,
    /// Reward credited for each blue block, in wei (may be zero).
    pub block_reward: U256,
    /// Where base fees go; `None` burns them.
    pub base_fee_recipient: Option<Address>,
    /// Bound on the network's propagation delay, in milliseconds. When a specification file
    /// gives it, the GHOSTDAG parameters it does not give (`ghostdagK`, `maxBlockParents`,
    /// `mergesetSizeLimit`, `finalityDepth`) are derived from it and the block rate
    /// (`producers × 1000 / blockTimeMs` blocks per second) with the PHANTOM bound, as
    /// Kaspa's `calculate_ghostdag_k` (see `lattice_node::config::parse_chain_spec`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_delay_ms: Option<u64>,
    /// GHOSTDAG `k`.
    pub ghostdag_k: u16,
    /// Most parents a block may name.
    pub max_block_parents: u16,
    /// Most blocks a mergeset may hold.
    pub mergeset_size_limit: u64,
    /// Selected-chain depth below which blocks are final.
    pub finality_depth: u64,
    /// Blue-score depth beyond which a block may not merge a red block no merged blue covers
    /// (Kaspa's bounded merge depth); at most `finality_depth`.
    pub merge_depth: u64,
    /// Genesis allocation.
    pub alloc: BTreeMap<Address, GenesisAccount>,
}

impl Default for ChainSpec {
    fn default() -> Self {
        Self {
            chain_id: 1337,
            producers: Vec::new(),
            open_producers: false,
            genesis_timestamp_ms: 0,
            block_time_ms: 1_000,
            min_block_interval_ms: 50,
            gas_limit: 30_000_000,
            initial_base_fee: 1_000_000_000,
            min_base_fee: 1_000_000_000,
            block_reward: U256::ZERO,
            base_fee_recipient: None,
            network_delay_ms: None,
            ghostdag_k: 18,
            max_block_parents: 10,
            mergeset_size_limit: 180,
            finality_depth: 600,
            merge_depth: 300,
            alloc: BTreeMap::new(),
        }
    }
}

impl ChainSpec {
    /// The dev chain: chain id 1337, the first `producers` test-mnemonic accounts as producers,
    /// the ten test-mnemonic accounts funded with 10,000 ETH each, and the CREATE2 deployer.
    pub fn dev(producers: u32) -> Self {
        let signers = dev_signers(DEV_ACCOUNT_COUNT.max(producers));
        let ten_thousand_eth = U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18));
        let mut alloc: BTreeMap<Address, GenesisAccount> = signers
            .iter()
            .take(DEV_ACCOUNT_COUNT as usize)
            .map(|s| {
                (s.address(), GenesisAccount { balance: ten_thousand_eth, ..Default::default() })
            })
            .collect();
        alloc.insert(
            CREATE2_DEPLOYER,
            GenesisAccount {
                code: Bytes::from_static(&CREATE2_DEPLOYER_CODE),
                ..Default::default()
            },
        );
        Self {
            producers: signers
                .iter()
                .take(producers.max(1) as usize)
                .map(|s| s.address())
                .collect(),
            alloc,
            ..Self::default()
        }
    }

    /// The built-in devnet that `lattice` joins without `--chain` or `--dev`: the dev chain's
    /// accounts and settings, and an open producer set, so that every node started with
    /// `--mine` seals with a key of its own.
    pub fn devnet() -> Self {
        Self { producers: Vec::new(), open_producers: true, ..Self::dev(1) }
    }

    /// Whether `signer` may sign blocks of this chain.
    pub fn is_producer(&self, signer: &Address) -> bool {
        self.open_producers || self.producers.contains(signer)
    }

    /// The EIP-1559 gas target of one selected-chain block: half its acceptance capacity.
    pub fn gas_target(&self, capacity: u64) -> u64 {
        capacity / 2
    }

    /// Base fee of a block whose selected parent accepted `parent_gas_used` out of
    /// `parent_capacity` at `parent_base_fee`: the EIP-1559 update rule (at most 12.5% per step),
    /// never below [`ChainSpec::min_base_fee`].
    pub fn next_base_fee(
        &self,
        parent_gas_used: u64,
        parent_capacity: u64,
        parent_base_fee: u64,
    ) -> u64 {
        let target = self.gas_target(parent_capacity).max(1);
        let base = parent_base_fee as u128;
        let next = match parent_gas_used.cmp(&target) {
            std::cmp::Ordering::Equal => base,
            std::cmp::Ordering::Greater => {
                let delta = (base * (parent_gas_used - target) as u128 / target as u128 / 8).max(1);
                base + delta
            }
            std::cmp::Ordering::Less => {
                let delta = base * (target - parent_gas_used) as u128 / target as u128 / 8;
                base.saturating_sub(delta)
            }
        };
        (next.min(u64::MAX as u128) as u64).max(self.min_base_fee)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_spec_funds_ten_accounts_and_the_deployer() {
        let spec = ChainSpec::dev(1);
        assert_eq!(spec.chain_id, 1337);
        assert_eq!(spec.producers.len(), 1);
        assert_eq!(spec.alloc.len(), 11);
        assert!(!spec.alloc[&CREATE2_DEPLOYER].code.is_empty());
    }

    #[test]
    fn base_fee_follows_eip1559_and_respects_the_floor() {
        let spec = ChainSpec { min_base_fee: 7, ..ChainSpec::default() };
        // full block: +12.5%
        assert_eq!(spec.next_base_fee(30_000_000, 30_000_000, 1_000_000_000), 1_125_000_000);
        // at target: unchanged
        assert_eq!(spec.next_base_fee(15_000_000, 30_000_000, 1_000_000_000), 1_000_000_000);
        // empty: -12.5%
        assert_eq!(spec.next_base_fee(0, 30_000_000, 1_000_000_000), 875_000_000);
        // never below the floor
        assert_eq!(spec.next_base_fee(0, 30_000_000, 7), 7);
    }

    #[test]
    fn spec_roundtrips_through_json() {
        let spec = ChainSpec::dev(3);
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<ChainSpec>(&json).unwrap(), spec);
    }
}
