//! Wire types of the sync protocol and the gossip topics.

use alloy_consensus::TxEnvelope;
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{keccak256, Bytes, B256, U256};
use lattice_primitives::Block;
use libp2p::gossipsub::{IdentTopic, Message, MessageId};
use serde::{Deserialize, Serialize};

/// Sync protocol name (2: responses are byte-budgeted and say whether more follows).
pub const SYNC_PROTOCOL: &str = "/lattice/sync/2";
/// Largest gossiped block, in bytes.
pub const MAX_BLOCK_BYTES: usize = 8 * 1024 * 1024;
/// Largest gossiped transaction, in bytes (the pool refuses larger ones anyway).
pub const MAX_TX_BYTES: usize = 128 * 1024;
/// Most transactions in one gossip message: a node gossips the transactions its callers send
/// in batches, not one message each (one message per transaction filled gossipsub's send
/// queues under load, and blocks waited behind them or were dropped).
pub const MAX_TXS_PER_MESSAGE: usize = 256;
/// Largest transaction gossip message, in bytes (a batch is flushed before it would pass this;
/// one transaction of [`MAX_TX_BYTES`] always fits).
pub const MAX_TX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Most blocks in one response.
pub const MAX_BLOCKS_PER_RESPONSE: usize = 512;
/// Most hashes one request may ask for; the rest are ignored.
pub const MAX_HASHES_PER_REQUEST: usize = 512;
/// Bytes of blocks a response carries at most, beyond its first block: a response always makes
/// progress, and never exceeds what the receiver accepts ([`MAX_RESPONSE_BYTES`]).
pub const RESPONSE_BYTE_BUDGET: usize = 8 * 1024 * 1024;
/// Largest response the receiver reads: one block of [`MAX_BLOCK_BYTES`] after a budget's worth
/// of smaller ones, and the encoding's overhead.
pub const MAX_RESPONSE_BYTES: usize = RESPONSE_BYTE_BUDGET + MAX_BLOCK_BYTES + 1024 * 1024;
/// Largest request read.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A position in the (blue work, hash) order of the DAG.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    /// Blue work.
    pub blue_work: U256,
    /// Hash.
    pub hash: B256,
}

/// A node's view, exchanged on connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Chain id.
    pub chain_id: u64,
    /// Genesis hash: peers on another chain are dropped.
    pub genesis: B256,
    /// The sink.
    pub sink: B256,
    /// The sink's blue work.
    pub sink_blue_work: U256,
    /// Selected-chain height.
    pub height: u64,
}

/// Requests of the sync protocol.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// The peer's status.
    Status,
    /// Blocks by hash.
    Blocks(Vec<B256>),
    /// Blocks after a cursor, in (blue work, hash) order.
    After(Cursor),
}

/// Responses of the sync protocol. Blocks travel RLP-encoded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Response {
    /// The peer's status.
    Status(Status),
    /// Blocks; `more` when the response stopped at its count or byte budget and the next
    /// request (after the last block) would return more.
    Blocks {
        /// The blocks.
        blocks: Vec<Bytes>,
        /// More follow.
        more: bool,
    },
}

/// Packs encoded blocks into a response: every block up to [`MAX_BLOCKS_PER_RESPONSE`] and
/// [`RESPONSE_BYTE_BUDGET`] (the first always fits); `more` tells whether some were left out.
/// The iterator is consumed lazily: blocks past the budget are never read.
pub fn pack_blocks(encoded: impl IntoIterator<Item = Vec<u8>>) -> Response {
    let (mut blocks, mut bytes, mut more) = (Vec::new(), 0usize, false);
    for block in encoded {
        if blocks.len() == MAX_BLOCKS_PER_RESPONSE
            || (!blocks.is_empty() && bytes + block.len() > RESPONSE_BYTE_BUDGET)
        {
            more = true;
            break;
        }
        bytes += block.len();
        blocks.push(Bytes::from(block));
    }
    Response::Blocks { blocks, more }
}

/// Decodes a block that must be in its one canonical encoding: RLP with nothing left over,
/// which re-encodes to the same bytes. A peer cannot make one block into many messages.
pub fn decode_block(bytes: &[u8]) -> Result<Block, String> {
    if bytes.len() > MAX_BLOCK_BYTES {
        return Err(format!("block of {} bytes, over the limit {MAX_BLOCK_BYTES}", bytes.len()));
    }
    let block: Block =
        alloy_rlp::decode_exact(bytes).map_err(|e| format!("undecodable block: {e}"))?;
    if alloy_rlp::encode(&block) != bytes {
        return Err("block not in its canonical encoding".into());
    }
    Ok(block)
}

/// Decodes a transaction that must be in its one canonical EIP-2718 encoding.
pub fn decode_transaction(bytes: &[u8]) -> Result<TxEnvelope, String> {
    if bytes.len() > MAX_TX_BYTES {
        return Err(format!("transaction of {} bytes, over the limit {MAX_TX_BYTES}", bytes.len()));
    }
    let tx = TxEnvelope::decode_2718_exact(bytes)
        .map_err(|e| format!("undecodable transaction: {e}"))?;
    if tx.encoded_2718() != bytes {
        return Err("transaction not in its canonical encoding".into());
    }
    Ok(tx)
}

/// Encodes a batch of transactions for the transactions topic: an RLP list of their EIP-2718
/// encodings.
pub fn encode_transactions<'a>(txs: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let items: Vec<Bytes> = txs.into_iter().map(Bytes::copy_from_slice).collect();
    alloy_rlp::encode(&items)
}

/// Decodes a transaction gossip message: an RLP list (in its one canonical encoding) of 1 to
/// [`MAX_TXS_PER_MESSAGE`] distinct transactions, each in its canonical EIP-2718 encoding,
/// [`MAX_TX_MESSAGE_BYTES`] at most.
pub fn decode_transactions(bytes: &[u8]) -> Result<Vec<TxEnvelope>, String> {
    if bytes.len() > MAX_TX_MESSAGE_BYTES {
        return Err(format!(
            "transaction message of {} bytes, over the limit {MAX_TX_MESSAGE_BYTES}",
            bytes.len()
        ));
    }
    let items: Vec<Bytes> = alloy_rlp::decode_exact(bytes)
        .map_err(|e| format!("undecodable transaction message: {e}"))?;
    if items.is_empty() || items.len() > MAX_TXS_PER_MESSAGE {
        return Err(format!(
            "{} transactions in one message; 1 to {MAX_TXS_PER_MESSAGE} are allowed",
            items.len()
        ));
    }
    if alloy_rlp::encode(&items) != bytes {
        return Err("transaction message not in its canonical encoding".into());
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items
        .iter()
        .map(|raw| {
            let tx = decode_transaction(raw)?;
            if !seen.insert(*tx.tx_hash()) {
                return Err(format!("transaction {} twice in one message", tx.tx_hash()));
            }
            Ok(tx)
        })
        .collect()
}

/// Gossip topic of blocks for `chain_id`.
pub fn blocks_topic(chain_id: u64) -> IdentTopic {
    IdentTopic::new(format!("/lattice/{chain_id}/blocks/1"))
}

/// Gossip topic of transactions for `chain_id` (2: each message is a batch, see
/// [`decode_transactions`]).
pub fn transactions_topic(chain_id: u64) -> IdentTopic {
    IdentTopic::new(format!("/lattice/{chain_id}/transactions/2"))
}

/// Messages are identified by their content, so the same block or transaction published by
/// several peers is one message.
pub fn message_id(message: &Message) -> MessageId {
    MessageId::from(keccak256(&message.data).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{TxEip1559, TxLegacy, TypedTransaction};
    use alloy_primitives::{Address, TxKind};
    use lattice_primitives::{sign_transaction, Header};

    fn transactions() -> Vec<TxEnvelope> {
        let signer =
            alloy_signer_local::PrivateKeySigner::from_bytes(&B256::repeat_byte(7)).unwrap();
        let eip1559 = TxEip1559 {
            chain_id: 1337,
            nonce: 3,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::repeat_byte(9)),
            value: U256::from(5),
            access_list: Default::default(),
            input: Bytes::from_static(b"call"),
        };
        let legacy = TxLegacy {
            chain_id: Some(1337),
            nonce: 0,
            gas_price: 1_000_000_000,
            gas_limit: 60_000,
            to: TxKind::Create,
            value: U256::ZERO,
            input: Bytes::from_static(&[0x60, 0x00]),
        };
        vec![
            sign_transaction(&signer, TypedTransaction::Eip1559(eip1559)).unwrap(),
            sign_transaction(&signer, TypedTransaction::Legacy(legacy)).unwrap(),
        ]
    }

    fn block() -> Block {
        let signer =
            alloy_signer_local::PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
        let transactions = transactions();
        let mut header = Header {
            parents: vec![B256::repeat_byte(2), B256::repeat_byte(3)],
            timestamp_ms: 1_700_000_000_000,
            producer: Address::ZERO,
            coinbase: Address::repeat_byte(4),
            transactions_root: Block::compute_transactions_root(&transactions),
            state_root: B256::repeat_byte(5),
            receipts_root: B256::repeat_byte(6),
            logs_bloom: Default::default(),
            gas_used: 21_000,
            gas_limit: 30_000_000,
            base_fee: 1_000_000_000,
            blue_score: 9,
            blue_work: U256::from(9),
            extra_data: Default::default(),
            signature: Default::default(),
        };
        header.sign(&signer).unwrap();
        Block { header, transactions }
    }

    /// What the fuzz targets start from (fuzz/corpus), written when LATTICE_FUZZ_SEEDS names
    /// the corpus directory; always checked to decode back to itself.
    #[test]
    fn canonical_encodings_round_trip_and_seed_the_fuzzers() {
        let block = block();
        let encoded = alloy_rlp::encode(&block);
        assert_eq!(decode_block(&encoded).unwrap(), block);
        let mut longer = encoded.clone();
        longer.push(0);
        assert!(decode_block(&longer).is_err(), "trailing bytes are refused");
        let txs: Vec<Vec<u8>> = transactions().iter().map(|t| t.encoded_2718()).collect();
        for raw in &txs {
            assert_eq!(decode_transaction(raw).unwrap().encoded_2718(), *raw);
        }
        let batch = encode_transactions(txs.iter().map(Vec::as_slice));
        assert_eq!(decode_transactions(&batch).unwrap(), transactions());
        let cbor = |v: &dyn erased::Ser| v.bytes();
        let requests = [
            cbor(&Request::Status),
            cbor(&Request::Blocks(vec![B256::repeat_byte(1); 3])),
            cbor(&Request::After(Cursor { blue_work: U256::from(10), hash: B256::ZERO })),
        ];
        let responses = [
            cbor(&pack_blocks([encoded.clone()])),
            cbor(&Response::Status(Status {
                chain_id: 1337,
                genesis: B256::repeat_byte(1),
                sink: B256::repeat_byte(2),
                sink_blue_work: U256::from(3),
                height: 4,
            })),
        ];
        let Some(dir) = std::env::var_os("LATTICE_FUZZ_SEEDS") else { return };
        let dir = std::path::Path::new(&dir);
        let write = |target: &str, name: &str, bytes: &[u8]| {
            std::fs::create_dir_all(dir.join(target)).unwrap();
            std::fs::write(dir.join(target).join(name), bytes).unwrap();
        };
        write("block", "signed-block", &encoded);
        for (i, raw) in txs.iter().enumerate() {
            write("transaction", &format!("tx-{i}"), raw);
            write("p2p_message", &format!("gossip-tx-{i}"), &[[2u8].as_slice(), raw].concat());
        }
        write("p2p_message", "gossip-tx-batch", &[[2u8].as_slice(), &batch].concat());
        for (i, r) in requests.iter().enumerate() {
            write("p2p_message", &format!("request-{i}"), &[[0u8].as_slice(), r].concat());
        }
        for (i, r) in responses.iter().enumerate() {
            write("p2p_message", &format!("response-{i}"), &[[1u8].as_slice(), r].concat());
        }
    }

    #[test]
    fn a_transaction_message_has_one_valid_encoding() {
        let txs: Vec<Vec<u8>> = transactions().iter().map(|t| t.encoded_2718()).collect();
        let one = |raw: &[u8]| encode_transactions([raw]);
        assert_eq!(decode_transactions(&one(&txs[0])).unwrap().len(), 1);
        assert!(decode_transactions(&encode_transactions([]))
            .unwrap_err()
            .contains("0 transactions"));
        let twice = encode_transactions([txs[0].as_slice(), txs[0].as_slice()]);
        assert!(decode_transactions(&twice).unwrap_err().contains("twice"));
        let many: Vec<&[u8]> =
            std::iter::repeat_n(txs[0].as_slice(), MAX_TXS_PER_MESSAGE + 1).collect();
        assert!(decode_transactions(&encode_transactions(many)).unwrap_err().contains("257"));
        // A list header in a longer form than needed, around the same items.
        let canonical = one(&txs[0]);
        assert_eq!(canonical[0], 0xf8, "a list of 56 to 255 bytes");
        let long_form = [&[0xf9, 0x00][..], &canonical[1..]].concat();
        assert!(decode_transactions(&long_form).is_err(), "a non-canonical list header");
        let mut trailing = canonical;
        trailing.push(0x80);
        assert!(decode_transactions(&trailing).is_err(), "trailing bytes");
        // An item that is not a transaction, and an oversize message.
        assert!(decode_transactions(&encode_transactions([&[0x02, 0xc0][..]])).is_err());
        assert!(decode_transactions(&vec![0xc0; MAX_TX_MESSAGE_BYTES + 1]).is_err());
    }

    /// CBOR through serde, as the sync protocol's codec writes it.
    mod erased {
        pub trait Ser {
            fn bytes(&self) -> Vec<u8>;
        }
        impl<T: serde::Serialize> Ser for T {
            fn bytes(&self) -> Vec<u8> {
                cbor4ii::serde::to_vec(Vec::new(), self).unwrap()
            }
        }
    }
}
