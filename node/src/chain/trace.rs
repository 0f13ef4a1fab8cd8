//! Re-running a chain block's acceptance to trace one of its transactions.

use super::Chain;
use alloy_primitives::B256;
use eyre::{eyre, Result};
use lattice_evm::trace::{self, GethDebugTracingOptions, GethTrace, TxPlace};
use lattice_evm::{EvmError, HistoricalState};
use lattice_storage::tables;

impl Chain {
    /// Traces executed transaction `hash` where it executed. `Ok(None)`: not executed on the
    /// selected chain. The inner error is a bad tracer option.
    pub fn trace_transaction(
        &self,
        hash: B256,
        opts: GethDebugTracingOptions,
    ) -> Result<Option<Result<GethTrace, String>>> {
        let Some(loc) = self.tx_location(hash)? else { return Ok(None) };
        let Some(number) = self.number_of(loc.block)? else { return Ok(None) };
        let header = self.header(loc.block)?.ok_or_else(|| eyre!("no header for {}", loc.block))?;
        let gd =
            self.ghostdag(loc.block).ok_or_else(|| eyre!("no GHOSTDAG data for {}", loc.block))?;
        let (merged, capacity) = self.merged_blocks(&gd)?;
        let env = self.accept_env(
            number,
            gd.selected_parent,
            header.coinbase,
            header.timestamp_ms,
            header.base_fee,
            capacity,
        );
        let db = &*self.db;
        // Executed before this block: recorded in the tx index at a smaller chain number.
        let executed_before = |h: &B256| -> Result<bool, EvmError> {
            let Some(at) = db.get::<tables::TxLookup>(h).map_err(EvmError::from)? else {
                return Ok(false);
            };
            let n = db.get::<tables::ChainNumbers>(&at.block).map_err(EvmError::from)?;
            Ok(n.is_some_and(|n| n < number))
        };
        let place = TxPlace { hash, block_hash: loc.block };
        let base = HistoricalState::new(db, number - 1);
        match trace::trace_transaction(base, &env, &merged, executed_before, place, opts)? {
            Ok(Some(trace)) => Ok(Some(Ok(trace))),
            Ok(None) => {
                Err(eyre!("transaction {hash} did not execute when its block was replayed"))
            }
            Err(bad_options) => Ok(Some(Err(bad_options))),
        }
    }
}

/// An account and its Merkle proofs against the sink's state root (`eth_getProof`).
#[derive(Clone, Debug)]
pub struct AccountProof {
    /// Chain number of the state the proofs are against.
    pub number: u64,
    /// The account (an empty one when absent).
    pub account: alloy_trie::TrieAccount,
    /// Nodes from the state root to the account's leaf (or to where its path ends).
    pub proof: Vec<alloy_primitives::Bytes>,
    /// Per requested slot: its value and the nodes from the storage root.
    pub storage: Vec<(B256, alloy_primitives::U256, Vec<alloy_primitives::Bytes>)>,
}

impl Chain {
    /// Proofs of `address` and `slots` in the sink's state. Holds the write lock, so the state
    /// root, the account trie and the storage agree.
    pub fn account_proof(
        &self,
        address: alloy_primitives::Address,
        slots: &[B256],
    ) -> Result<AccountProof> {
        use alloy_primitives::{keccak256, U256};
        let _guard = self.write.lock();
        let head = self.head();
        let hashed = keccak256(address);
        let account = self.db.get::<tables::Accounts>(&hashed)?.unwrap_or_default();
        let (proof, storage_trie) = {
            let mut tries = self.trie.lock();
            let storage_trie = tries.storage_trie_cached(&self.db, hashed, account.storage_root)?;
            (tries.accounts().proof(hashed), storage_trie)
        };
        let storage = slots
            .iter()
            .map(|slot| {
                let key = keccak256(slot);
                let value = storage_trie
                    .get(key)
                    .map(|mut rlp| alloy_rlp::Decodable::decode(&mut rlp))
                    .transpose()
                    .map_err(|e| eyre!("corrupt storage value: {e}"))?
                    .unwrap_or(U256::ZERO);
                Ok((*slot, value, storage_trie.proof(key)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AccountProof { number: head.number, account, proof, storage })
    }
}
