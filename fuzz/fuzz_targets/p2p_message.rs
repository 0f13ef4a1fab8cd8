//! Every message a peer can send: sync requests and responses as the request-response codec
//! reads them (CBOR), and the blocks inside responses. The first byte picks what the rest is
//! read as. Nothing may panic; what decodes must survive the node's handling of its fields.
#![no_main]

use alloy_eips::eip2718::Encodable2718;
use lattice_network::protocol::{decode_block, Request, Response, Status};
use libfuzzer_sys::fuzz_target;

/// Decodes as the request-response codec does (cbor4ii through serde).
fn cbor<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    cbor4ii::serde::from_slice(bytes).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else { return };
    match kind % 3 {
        0 => {
            if let Some(Request::Blocks(hashes)) = cbor::<Request>(rest) {
                let _ = hashes.len();
            }
        }
        1 => match cbor::<Response>(rest) {
            Some(Response::Blocks { blocks, .. }) => {
                for b in blocks {
                    let _ = decode_block(&b);
                }
            }
            Some(Response::Status(Status { sink_blue_work, .. })) => {
                let _ = sink_blue_work.saturating_sub(alloy_primitives::U256::from(1_000u64));
            }
            None => {}
        },
        _ => {
            let _ = lattice_network::decode_transaction(rest);
            if let Ok(txs) = lattice_network::protocol::decode_transactions(rest) {
                let raw: Vec<Vec<u8>> = txs.iter().map(|t| t.encoded_2718()).collect();
                assert_eq!(
                    lattice_network::protocol::encode_transactions(raw.iter().map(Vec::as_slice)),
                    rest,
                    "an accepted transaction message is canonical"
                );
            }
            let _ = decode_block(rest);
        }
    }
});
