//! Block bytes as gossip and sync deliver them: decoding (one canonical encoding), hashing,
//! signature recovery (one valid seal encoding) and the transactions root must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(block) = lattice_network::decode_block(data) else { return };
    assert_eq!(alloy_rlp::encode(&block), data, "accepted bytes are canonical");
    let hash = block.header.hash_slow();
    let _ = block.header.seal_hash();
    if let Ok(signer) = block.header.recover_producer() {
        // A seal that recovers is in its one valid encoding: v is 27 or 28, s is low.
        let v = block.header.signature[64];
        assert!(v == 27 || v == 28);
        let _ = signer;
    }
    let _ = lattice_primitives::Block::compute_transactions_root(&block.transactions);
    assert_eq!(block.clone().seal().hash(), hash);
});
