//! The DAG block header.

use alloy_primitives::{keccak256, uint, Address, Bloom, FixedBytes, Signature, B256, U256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

/// A block header of the DAG.
///
/// A header names all its parents (the tips its producer knew of). The GHOSTDAG fields
/// (`blue_score`, `blue_work`) must equal what every node recomputes from `parents`. The
/// execution fields (`state_root`, `receipts_root`, `logs_bloom`, `gas_used`) commit to the state
/// after this block's *mergeset* was accepted on top of its selected parent's state (deferred
/// execution): a block never executes its own transactions, a later block that merges it does.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// Hashes of the parent blocks; empty only for genesis.
    pub parents: Vec<B256>,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The producer that sealed the block (recovered signer must equal it).
    pub producer: Address,
    /// Receives priority fees of the transactions this block carries and its block reward.
    pub coinbase: Address,
    /// Ordered trie root of the transactions this block carries.
    pub transactions_root: B256,
    /// State root after this block's mergeset was accepted.
    pub state_root: B256,
    /// Receipts root of the transactions this block accepted.
    pub receipts_root: B256,
    /// Bloom of the logs of the transactions this block accepted.
    pub logs_bloom: Bloom,
    /// Gas used by the transactions this block accepted.
    pub gas_used: u64,
    /// Upper bound of the summed gas limits of the transactions this block carries.
    pub gas_limit: u64,
    /// EIP-1559 base fee applied to everything this block accepts.
    pub base_fee: u64,
    /// GHOSTDAG blue score.
    pub blue_score: u64,
    /// GHOSTDAG blue work.
    pub blue_work: U256,
    /// Free-form bytes (at most 32).
    pub extra_data: alloy_primitives::Bytes,
    /// Producer's secp256k1 signature over [`Header::seal_hash`]: r ‖ s ‖ v, in its one valid
    /// encoding (see [`Header::recover_producer`]).
    pub signature: FixedBytes<65>,
}

/// Order n of the secp256k1 group.
const SECP256K1_N: U256 =
    uint!(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256);

/// Errors of header signing and signature recovery.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// The signature bytes do not form a valid recoverable signature.
    #[error("invalid header signature: {0}")]
    InvalidSignature(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

impl Header {
    /// Hash of every field but the signature: what the producer signs.
    pub fn seal_hash(&self) -> B256 {
        let mut unsigned = self.clone();
        unsigned.signature = FixedBytes::ZERO;
        keccak256(alloy_rlp::encode(&unsigned))
    }

    /// Hash of the whole header including its signature: the block hash.
    pub fn hash_slow(&self) -> B256 {
        keccak256(alloy_rlp::encode(self))
    }

    /// Signs the header with `signer`, setting `producer` to the signer's address.
    pub fn sign(&mut self, signer: &PrivateKeySigner) -> Result<(), HeaderError> {
        self.producer = signer.address();
        let sig = signer
            .sign_hash_sync(&self.seal_hash())
            .map_err(|e| HeaderError::Signing(e.to_string()))?;
        self.signature = FixedBytes::from(sig.normalized_s().as_bytes());
        Ok(())
    }

    /// Recovers the address that signed this header.
    ///
    /// The block hash covers the signature's bytes, so a signature must have exactly one valid
    /// encoding, or anyone could re-encode an honest block into other valid blocks with the
    /// same content: `0 < r < n`, `0 < s ≤ n/2` (low s, as EIP-2 asks of transactions) and
    /// `v ∈ {27, 28}`. Every other encoding is refused.
    pub fn recover_producer(&self) -> Result<Address, HeaderError> {
        let bytes = self.signature.as_slice();
        let invalid = |why: String| HeaderError::InvalidSignature(why);
        let v = bytes[64];
        if v != 27 && v != 28 {
            return Err(invalid(format!("v is {v}; a seal's v must be 27 or 28")));
        }
        let r = U256::from_be_slice(&bytes[..32]);
        let s = U256::from_be_slice(&bytes[32..64]);
        if r.is_zero() || r >= SECP256K1_N {
            return Err(invalid("r is out of range".into()));
        }
        if s.is_zero() || s > SECP256K1_N >> 1 {
            return Err(invalid("s is zero or high; a seal's s must be at most n/2".into()));
        }
        let sig = Signature::new(r, s, v == 28);
        sig.recover_address_from_prehash(&self.seal_hash()).map_err(|e| invalid(e.to_string()))
    }

    /// Timestamp in whole seconds, as the Ethereum view reports it.
    pub fn timestamp_secs(&self) -> u64 {
        self.timestamp_ms / 1000
    }

    /// Seals the header, computing its hash once.
    pub fn seal(self) -> SealedHeader {
        let hash = self.hash_slow();
        SealedHeader { header: self, hash }
    }
}

/// A header together with its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedHeader {
    /// The header.
    pub header: Header,
    /// `keccak256(rlp(header))`.
    pub hash: B256,
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_rlp::Decodable;

    fn sample() -> Header {
        Header {
            parents: vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            timestamp_ms: 1_700_000_000_123,
            producer: Address::ZERO,
            coinbase: Address::repeat_byte(9),
            transactions_root: B256::repeat_byte(3),
            state_root: B256::repeat_byte(4),
            receipts_root: B256::repeat_byte(5),
            logs_bloom: Bloom::ZERO,
            gas_used: 21_000,
            gas_limit: 30_000_000,
            base_fee: 1_000_000_000,
            blue_score: 7,
            blue_work: U256::from(7),
            extra_data: Default::default(),
            signature: FixedBytes::ZERO,
        }
    }

    #[test]
    fn sign_recover_and_rlp_roundtrip() {
        let signer = PrivateKeySigner::random();
        let mut h = sample();
        h.sign(&signer).unwrap();
        assert_eq!(h.recover_producer().unwrap(), signer.address());
        let bytes = alloy_rlp::encode(&h);
        let back = Header::decode(&mut bytes.as_slice()).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.hash_slow(), h.hash_slow());
    }

    /// Every other encoding of an honest seal that recovers the same signer (other v
    /// notations, the high-s twin) is refused, so a block has one hash.
    #[test]
    fn a_seal_has_one_valid_encoding() {
        let signer = PrivateKeySigner::random();
        let mut h = sample();
        h.sign(&signer).unwrap();
        assert_eq!(h.recover_producer().unwrap(), signer.address());
        let honest = h.signature;
        let parity = honest[64] - 27;
        let mut variants = Vec::new();
        for v in [parity, parity + 35, parity + 37, 255 - (1 - parity)] {
            let mut sig = honest;
            sig[64] = v;
            variants.push(sig);
        }
        // The high-s twin: (r, n - s) with the other parity recovers the same key.
        let s = U256::from_be_slice(&honest[32..64]);
        let mut twin = honest;
        twin[32..64].copy_from_slice(&(SECP256K1_N - s).to_be_bytes::<32>());
        twin[64] = 27 + (1 - parity);
        let twin_sig = Signature::from_raw(twin.as_slice()).unwrap();
        assert_eq!(
            twin_sig.recover_address_from_prehash(&h.seal_hash()).unwrap(),
            signer.address(),
            "the twin is a valid signature in the usual sense"
        );
        variants.push(twin);
        for sig in variants {
            let mut other = h.clone();
            other.signature = sig;
            assert_ne!(other.hash_slow(), h.hash_slow());
            assert!(
                other.recover_producer().is_err(),
                "re-encoded seal with v = {} accepted",
                sig[64]
            );
        }
        let mut zero_r = h.clone();
        zero_r.signature[..32].fill(0);
        assert!(zero_r.recover_producer().is_err());
    }

    #[test]
    fn tampering_changes_the_recovered_producer() {
        let signer = PrivateKeySigner::random();
        let mut h = sample();
        h.sign(&signer).unwrap();
        h.state_root = B256::repeat_byte(0xee);
        assert_ne!(h.recover_producer().ok(), Some(signer.address()));
    }
}
