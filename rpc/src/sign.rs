//! Node-side signing: `eth_sendTransaction`, `eth_signTransaction`, `eth_sign`,
//! `personal_sign` and `eth_signTypedData_v4`. The node signs only with the accounts it has
//! unlocked ([`NodeApi::sign_hash`]): the ten test accounts in `--dev`, none elsewhere.

use crate::api::NodeApi;
use crate::error::RpcError;
use crate::eth::call_request;
use alloy_consensus::{SignableTransaction, TxEnvelope};
use alloy_dyn_abi::TypedData;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{eip191_hash_message, Address, Bytes, TxKind};
use alloy_rpc_types_eth::TransactionRequest;

/// Fills what the sender left out, as geth does for its own accounts: chain id, the pending
/// nonce, fees from the next base fee and the suggested tip, and the estimated gas.
fn fill<N: NodeApi>(node: &N, mut req: TransactionRequest) -> Result<TransactionRequest, RpcError> {
    let from = req.from.ok_or_else(|| {
        RpcError::InvalidParams("missing \"from\": the account to sign with".into())
    })?;
    // Before any work (the estimate executes code): only an unlocked account is served.
    if !node.accounts().contains(&from) {
        return Err(RpcError::Rejected(if node.accounts().is_empty() {
            "no accounts are unlocked: this node signs only with --dev; sign the transaction \
             yourself and send it with eth_sendRawTransaction"
                .into()
        } else {
            format!("unknown account {from}")
        }));
    }
    if let Some(chain_id) = req.chain_id {
        if chain_id != node.chain_id() {
            return Err(RpcError::InvalidParams(format!(
                "chainId {chain_id} does not match this chain ({})",
                node.chain_id()
            )));
        }
    }
    req.chain_id = Some(node.chain_id());
    if req.nonce.is_none() {
        req.nonce = Some(node.pending_nonce(from)?);
    }
    if req.to.is_none() {
        req.to = Some(TxKind::Create);
    }
    if req.gas_price.is_none() {
        let tip = req.max_priority_fee_per_gas.unwrap_or_else(|| node.suggested_tip());
        req.max_priority_fee_per_gas = Some(tip);
        if req.max_fee_per_gas.is_none() {
            req.max_fee_per_gas = Some(2 * node.next_base_fee()? as u128 + tip);
        }
    }
    if req.gas.is_none() {
        let number = node.latest_number()?;
        let gas = match node.estimate_gas(number, &call_request(req.clone()))? {
            Ok(Ok(gas)) => gas,
            Ok(Err(failure)) => return Err(crate::eth::failure_error(failure)),
            Err(e) => return Err(e.into()),
        };
        req.gas = Some(gas);
    }
    Ok(req)
}

/// Fills, builds and signs a transaction request with the node's key for `from`.
pub fn sign_request<N: NodeApi>(node: &N, req: TransactionRequest) -> Result<TxEnvelope, RpcError> {
    let req = fill(node, req)?;
    let from = req.from.expect("checked by fill");
    let typed = req.build_typed_tx().map_err(|req| {
        RpcError::InvalidParams(format!(
            "cannot build a transaction from the request (missing: {:?})",
            req.missing_keys().err().map(|(_, missing)| missing).unwrap_or_default()
        ))
    })?;
    let signature = node.sign_hash(from, typed.signature_hash())?;
    Ok(typed.into_envelope(signature))
}

/// `eth_signTransaction`: the signed transaction's raw bytes.
pub fn sign_transaction<N: NodeApi>(node: &N, req: TransactionRequest) -> Result<Bytes, RpcError> {
    Ok(sign_request(node, req)?.encoded_2718().into())
}

/// `eth_sign` and `personal_sign`: an EIP-191 signature, 65 bytes with `v` of 27 or 28.
pub fn sign_message<N: NodeApi>(
    node: &N,
    address: Address,
    message: &[u8],
) -> Result<Bytes, RpcError> {
    let signature = node.sign_hash(address, eip191_hash_message(message))?;
    Ok(Bytes::copy_from_slice(&signature.as_bytes()))
}

/// `eth_signTypedData_v4`: an EIP-712 signature. The typed data may come as an object or as a
/// JSON string (MetaMask sends a string).
pub fn sign_typed_data<N: NodeApi>(
    node: &N,
    address: Address,
    data: serde_json::Value,
) -> Result<Bytes, RpcError> {
    let data = match data {
        serde_json::Value::String(text) => serde_json::from_str(&text),
        other => serde_json::from_value::<TypedData>(other),
    }
    .map_err(|e| RpcError::InvalidParams(format!("invalid typed data: {e}")))?;
    let hash = data
        .eip712_signing_hash()
        .map_err(|e| RpcError::InvalidParams(format!("invalid typed data: {e}")))?;
    let signature = node.sign_hash(address, hash)?;
    Ok(Bytes::copy_from_slice(&signature.as_bytes()))
}
