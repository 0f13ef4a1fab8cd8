//! The node's tables: blocks, the selected-chain index, state, history and indexes.
//!
//! State is keyed by *hashed* address and slot (keccak256), the order of the Merkle-Patricia
//! trie, so the state root is computed by walking tables in key order.

use crate::codec::{Codec, CodecError};
use crate::{rlp_codec, tables};
use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_trie::TrieAccount;
use lattice_primitives::{AcceptanceEntry, Header, StoredReceipt, TxLocation};

rlp_codec!(
    Header,
    TrieAccount,
    TxLocation,
    Vec<TxEnvelope>,
    Vec<StoredReceipt>,
    Vec<AcceptanceEntry>,
    Vec<Address>
);

/// `None` is stored as no bytes; every `T` used here encodes to at least one byte.
impl<T: Codec> Codec for Option<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        if let Some(v) = self {
            v.encode_to(out)
        }
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        if bytes.is_empty() {
            Ok(None)
        } else {
            T::decode(bytes).map(Some)
        }
    }
}

/// For each producer, its latest block in some block's past: (producer, timestamp in ms,
/// block hash), sorted by producer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerClock(pub Vec<(Address, u64, B256)>);

impl Codec for ProducerClock {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.0.len() as u32).to_be_bytes());
        for (producer, at, block) in &self.0 {
            out.extend_from_slice(producer.as_slice());
            out.extend_from_slice(&at.to_be_bytes());
            out.extend_from_slice(block.as_slice());
        }
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        const ENTRY: usize = 20 + 8 + 32;
        let bad = |reason: &str| CodecError::new("producer clock", reason);
        let (count, rest) = bytes.split_first_chunk::<4>().ok_or_else(|| bad("truncated"))?;
        let count = u32::from_be_bytes(*count) as usize;
        if rest.len() != count.checked_mul(ENTRY).ok_or_else(|| bad("too long"))? {
            return Err(bad("length does not match the entry count"));
        }
        Ok(Self(
            rest.chunks_exact(ENTRY)
                .map(|e| {
                    (
                        Address::from_slice(&e[..20]),
                        u64::from_be_bytes(e[20..28].try_into().expect("8 bytes")),
                        B256::from_slice(&e[28..]),
                    )
                })
                .collect(),
        ))
    }
}

tables! {
    /// Names of every node table, for [`crate::Db::open`].
    const ALL;
    /// Block hash → header, for every block of the DAG.
    Headers: B256 => Header,
    /// Block hash → the transactions it carries.
    Bodies: B256 => Vec<TxEnvelope>,
    /// Block hash → the recovered senders of its transactions, in body order.
    Senders: B256 => Vec<Address>,
    /// Selected-chain position → block hash (the Ethereum block number).
    ChainByNumber: u64 => B256,
    /// Block hash → selected-chain position, for chain blocks only.
    ChainNumbers: B256 => u64,
    /// keccak(address) → account of the current (sink) state.
    Accounts: B256 => TrieAccount,
    /// (keccak(address), keccak(slot)) → non-zero storage value of the current state.
    Storages: (B256, B256) => U256,
    /// Code hash → bytecode.
    Bytecodes: B256 => Bytes,
    /// (chain number, keccak(address)) → the account before that chain block applied, `None`
    /// when it did not exist.
    AccountChangeSets: (u64, B256) => Option<TrieAccount>,
    /// (chain number, keccak(address), keccak(slot)) → the value before that chain block applied.
    StorageChangeSets: (u64, B256, B256) => U256,
    /// (keccak(address), chain number): the account changed in that chain block.
    AccountHistory: (B256, u64) => (),
    /// (keccak(address), keccak(slot), chain number): the slot changed in that chain block.
    StorageHistory: (B256, B256, u64) => (),
    /// Chain block hash → receipts of the transactions it executed, in order.
    Receipts: B256 => Vec<StoredReceipt>,
    /// Chain block hash → every transaction its mergeset carried and its outcome.
    Acceptance: B256 => Vec<AcceptanceEntry>,
    /// Transaction hash → where it was executed.
    TxLookup: B256 => TxLocation,
    /// Transaction hash → (carrier block, index) of a carried transaction.
    CarriedTxs: B256 => TxLocation,
    /// (log address, chain number): a log of that address was emitted in that chain block.
    LogAddresses: (Address, u64) => (),
    /// (log topic, chain number): a log with that topic (in any position) was emitted in that
    /// chain block.
    LogTopics: (B256, u64) => (),
    /// Chain number → number of logs its transactions emitted, for chain blocks with logs.
    LogBlocks: u64 => u64,
    /// Blocks disqualified from the selected chain (a wrong state commitment).
    Disqualified: B256 => (),
    /// (blue work, hash) of every block: a topological order, served to peers that sync.
    BlockOrder: (U256, B256) => (),
    /// Block → each producer's latest block in its past (itself included).
    ProducerClocks: B256 => ProducerClock,
    /// Blocks whose header is stored but whose consensus records may not be (written with
    /// the header, removed once the consensus batch is on disk): completed on open.
    PendingConsensus: B256 => (),
    /// Node metadata (sink, genesis hash, chain spec).
    Meta: Vec<u8> => Vec<u8>,
    /// IPFSIncentives record id (big-endian) → the pinning service's entry for it (JSON).
    IpfsPins: B256 => Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::ProducerClock;
    use crate::codec::Codec;
    use alloy_primitives::{Address, B256};

    #[test]
    fn a_producer_clock_round_trips_and_refuses_bytes_that_do_not_fit() {
        let clock = ProducerClock(vec![
            (Address::repeat_byte(1), 7, B256::repeat_byte(2)),
            (Address::repeat_byte(3), u64::MAX, B256::repeat_byte(4)),
        ]);
        let bytes = clock.encode();
        assert_eq!(bytes.len(), 4 + 2 * 60);
        assert_eq!(ProducerClock::decode(&bytes).unwrap().0, clock.0);
        assert!(ProducerClock::decode(&ProducerClock(vec![]).encode()).unwrap().0.is_empty());
        assert!(ProducerClock::decode(&[]).is_err(), "no count");
        assert!(ProducerClock::decode(&bytes[..bytes.len() - 1]).is_err(), "truncated entry");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ProducerClock::decode(&longer).is_err(), "trailing byte");
        // A count that claims more than the bytes hold, up to one that overflows the length.
        let mut lying = bytes;
        lying[..4].copy_from_slice(&3u32.to_be_bytes());
        assert!(ProducerClock::decode(&lying).is_err());
        assert!(ProducerClock::decode(&u32::MAX.to_be_bytes()).is_err());
    }
}
