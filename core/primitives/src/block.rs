//! Blocks: a header and the transactions it carries.

use crate::header::{Header, SealedHeader};
use alloy_consensus::TxEnvelope;
use alloy_primitives::B256;
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// A block as produced and gossiped: the header and the transactions it carries.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// Transactions carried (not executed) by this block, in block order.
    pub transactions: Vec<TxEnvelope>,
}

impl Block {
    /// Ordered trie root of `transactions`, as the header must commit to.
    pub fn compute_transactions_root(transactions: &[TxEnvelope]) -> B256 {
        alloy_consensus::proofs::calculate_transaction_root(transactions)
    }

    /// Seals the block, computing its hash once.
    pub fn seal(self) -> SealedBlock {
        let hash = self.header.hash_slow();
        SealedBlock {
            header: SealedHeader { header: self.header, hash },
            transactions: self.transactions,
        }
    }
}

/// A block with its header hash computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBlock {
    /// The sealed header.
    pub header: SealedHeader,
    /// Transactions carried by the block.
    pub transactions: Vec<TxEnvelope>,
}

impl SealedBlock {
    /// The block hash.
    pub fn hash(&self) -> B256 {
        self.header.hash
    }

    /// Drops the cached hash.
    pub fn unseal(self) -> Block {
        Block { header: self.header.header, transactions: self.transactions }
    }
}
