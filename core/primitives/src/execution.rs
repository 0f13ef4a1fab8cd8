//! What execution produces and the node keeps: receipts, acceptance data, transaction locations.

use alloy_consensus::Transaction;
use alloy_primitives::{Address, Log, B256, U256};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// The most a transaction can cost its sender: `gas_limit × max_fee_per_gas + value`, or `None`
/// when that does not fit in 256 bits (no balance covers it). Computed with checked arithmetic:
/// a wrapped sum would let a transaction with a huge value look cheap.
pub fn max_tx_cost(tx: &impl Transaction) -> Option<U256> {
    U256::from(tx.gas_limit())
        .checked_mul(U256::from(tx.max_fee_per_gas()))?
        .checked_add(tx.value())
}

/// Whether `balance` covers the most `tx` can cost ([`max_tx_cost`]).
pub fn can_afford(balance: U256, tx: &impl Transaction) -> bool {
    max_tx_cost(tx).is_some_and(|cost| balance >= cost)
}

/// Why a transaction carried by a merged block was not executed at its place in the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SkipReason {
    /// The same transaction was executed earlier in the order.
    AlreadyExecuted = 1,
    /// The sender's nonce had already moved past the transaction's nonce.
    NonceTooLow = 2,
    /// The transaction's nonce is ahead of the sender's nonce (a gap).
    NonceTooHigh = 3,
    /// Balance below `gas_limit × max_fee + value`.
    InsufficientFunds = 4,
    /// Max fee per gas below the accepting block's base fee.
    FeeCapTooLow = 5,
    /// The EVM refused the transaction (intrinsic gas, gas cap, sender with code, …).
    Invalid = 6,
}

impl SkipReason {
    /// Decodes a stored code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::AlreadyExecuted,
            2 => Self::NonceTooLow,
            3 => Self::NonceTooHigh,
            4 => Self::InsufficientFunds,
            5 => Self::FeeCapTooLow,
            6 => Self::Invalid,
            _ => return None,
        })
    }

    /// Whether the transaction may still apply at a later place: its sender's nonce may
    /// reach it, the base fee may fall below its fee cap, its sender's balance may grow. The
    /// pool offers such a transaction again (dropping it would leave a nonce gap holding back
    /// its sender's later transactions); the others can never apply and leave.
    pub fn may_apply_later(&self) -> bool {
        match self {
            Self::NonceTooHigh | Self::FeeCapTooLow | Self::InsufficientFunds => true,
            Self::AlreadyExecuted | Self::NonceTooLow | Self::Invalid => false,
        }
    }

    /// A short machine-readable name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::AlreadyExecuted => "already executed",
            Self::NonceTooLow => "nonce too low",
            Self::NonceTooHigh => "nonce too high",
            Self::InsufficientFunds => "insufficient funds for gas * price + value",
            Self::FeeCapTooLow => "max fee per gas less than block base fee",
            Self::Invalid => "invalid transaction",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The receipt of an executed transaction, as stored under the chain block that accepted it.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct StoredReceipt {
    /// Transaction hash.
    pub tx_hash: B256,
    /// EIP-2718 type.
    pub tx_type: u8,
    /// Whether execution succeeded (status 1).
    pub success: bool,
    /// Gas used by this and the earlier transactions of the accepted list.
    pub cumulative_gas_used: u64,
    /// Gas used by this transaction.
    pub gas_used: u64,
    /// Price per gas actually paid.
    pub effective_gas_price: u128,
    /// Sender.
    pub from: Address,
    /// Created contract, or the zero address when none was created.
    pub contract_address: Address,
    /// Emitted logs.
    pub logs: Vec<Log>,
    /// The block that physically carried the transaction.
    pub carrier: B256,
}

impl StoredReceipt {
    /// The created contract, if any.
    pub fn created(&self) -> Option<Address> {
        (self.contract_address != Address::ZERO).then_some(self.contract_address)
    }
}

/// One transaction a chain block's mergeset carried, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct AcceptanceEntry {
    /// Transaction hash.
    pub tx_hash: B256,
    /// The block that carried it.
    pub carrier: B256,
    /// Its index in the carrier's transactions.
    pub carrier_index: u64,
    /// 0 when executed, otherwise a [`SkipReason`] code.
    pub skip: u8,
}

impl AcceptanceEntry {
    /// The skip reason, `None` when the transaction was executed.
    pub fn skip_reason(&self) -> Option<SkipReason> {
        SkipReason::from_code(self.skip)
    }
}

/// Where an executed transaction sits in the Ethereum view.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct TxLocation {
    /// The chain block that accepted it.
    pub block: B256,
    /// Index among that block's executed transactions.
    pub index: u64,
    /// The block that carried it.
    pub carrier: B256,
    /// Index in the carrier's transactions.
    pub carrier_index: u64,
}
