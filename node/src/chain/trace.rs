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
        limits: lattice_evm::Limits,
        max_steps: u64,
    ) -> Result<Option<Result<GethTrace, String>>> {
        let Some(loc) = self.tx_location(hash)? else { return Ok(None) };
        let Some(number) = self.number_of(loc.block)? else { return Ok(None) };
        let header = self.header(loc.block)?.ok_or_else(|| eyre!("no header for {}", loc.block))?;
        let gd =
            self.ghostdag(loc.block)?.ok_or_else(|| eyre!("no GHOSTDAG data for {}", loc.block))?;
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
        let base = HistoricalState::with_floor(db, number - 1, &self.history_floor);
        let traced = trace::trace_transaction(
            base,
            &env,
            &merged,
            executed_before,
            place,
            opts,
            Some(limits),
            max_steps,
        )?;
        match traced {
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
    /// Proofs of `address` and `slots` in the state after chain block `number`. The latest
    /// state's tries are taken (the account trie and the account's storage trie, cached or
    /// built) and the change sets of the blocks above `number` undone on copies of them, so an
    /// older block costs what changed since it; both roots are checked against the block's
    /// header and the account. The write lock is held only to take the latest tries; a storage
    /// trie that is not cached is built without it.
    pub fn account_proof(
        &self,
        address: alloy_primitives::Address,
        slots: &[B256],
        number: u64,
    ) -> Result<AccountProof> {
        use alloy_primitives::{keccak256, U256};
        let hashed = keccak256(address);
        // Under the write lock: the latest tries, account and chain agree (a cached storage
        // trie is an O(1) clone). The undoing below reads change sets that only a rollback
        // removes; one racing it makes a root check fail, so the answer is an error, never a
        // wrong proof.
        let (head, state_root, mut account, mut accounts, storage_trie) = {
            let _guard = self.write.lock();
            let head = self.head();
            if number > head.number {
                return Err(eyre!("block {number} is above the latest block {}", head.number));
            }
            let floor = self.history_floor();
            if number < floor {
                return Err(lattice_evm::EvmError::HistoryPruned { number, floor }.into());
            }
            let state_root = self
                .hash_at(number)?
                .and_then(|hash| self.header(hash).transpose())
                .transpose()?
                .ok_or_else(|| eyre!("no chain block at {number}"))?
                .state_root;
            let account = self.db.get::<tables::Accounts>(&hashed)?;
            let latest_root = account.map_or(alloy_trie::EMPTY_ROOT_HASH, |a| a.storage_root);
            let tries = self.trie.get()?.lock();
            let storage = tries.cached_storage_trie(hashed, latest_root).ok_or(latest_root);
            (head, state_root, account, tries.accounts().clone(), storage)
        };
        // A storage trie that is not cached is built from the database here, without the
        // write lock: a large contract's (seconds for millions of slots) never holds up block
        // import. A block that changes this account meanwhile makes the build's root check
        // fail; the caller gets an error to retry, never a wrong proof.
        let mut storage_trie = match storage_trie {
            Ok(trie) => trie,
            Err(root) => lattice_evm::StateTries::build_storage_trie(&self.db, hashed, root)
                .map_err(|e| eyre!("{e} (a block changed the account meanwhile; retry)"))?,
        };
        for n in (number + 1..=head.number).rev() {
            for (key, prior) in self.account_changes(n)? {
                lattice_evm::tries::set_account(&mut accounts, key, prior.as_ref());
                if key == hashed {
                    account = prior;
                }
            }
            for (_, slot, prior) in self.storage_changes(n, Some(hashed))? {
                storage_trie.insert(slot, lattice_evm::tries::storage_value(prior));
            }
        }
        if accounts.root() != state_root {
            return Err(eyre!(
                "the account trie undone to block {number} gives root {} but the block commits \
                 to {state_root} (a reorg may have run meanwhile; retry)",
                accounts.root(),
            ));
        }
        let account = account.unwrap_or_default();
        if storage_trie.root() != account.storage_root {
            return Err(eyre!(
                "storage of {address} undone to block {number} gives root {} but the account \
                 commits to {}",
                storage_trie.root(),
                account.storage_root
            ));
        }
        let proof = accounts.proof(hashed);
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
        Ok(AccountProof { number, account, proof, storage })
    }
}
