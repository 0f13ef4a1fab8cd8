//! The dev chain's well-known accounts.

use alloy_signer_local::coins_bip39::{English, Mnemonic};
use alloy_signer_local::PrivateKeySigner;
use coins_bip32::xkeys::Parent;

/// The test mnemonic every Ethereum dev tool ships (Hardhat, anvil).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// How many dev accounts `--dev` funds and unlocks.
pub const DEV_ACCOUNT_COUNT: u32 = 10;

/// The first `n` accounts of [`DEV_MNEMONIC`] at `m/44'/60'/0'/0/i`. The seed (2,048 rounds of
/// PBKDF2-HMAC-SHA512) and the path down to `m/44'/60'/0'/0` are derived once, not once per
/// account: deriving ten accounts one by one cost a dev node most of its start-up.
pub fn dev_signers(n: u32) -> Vec<PrivateKeySigner> {
    const NOTE: &str = "the dev mnemonic and a small index always derive a key";
    let parent = Mnemonic::<English>::new_from_phrase(DEV_MNEMONIC)
        .and_then(|m| m.derive_key("m/44'/60'/0'/0", None))
        .expect(NOTE);
    (0..n)
        .map(|i| {
            let key = parent.derive_child(i).expect(NOTE);
            let key: &k256::ecdsa::SigningKey = key.as_ref();
            PrivateKeySigner::from_signing_key(key.clone())
        })
        .collect()
}

/// Signs `tx` with `signer` (dev accounts' `eth_sendTransaction`, tests, tools).
pub fn sign_transaction(
    signer: &PrivateKeySigner,
    tx: alloy_consensus::TypedTransaction,
) -> Result<alloy_consensus::TxEnvelope, alloy_signer::Error> {
    use alloy_consensus::SignableTransaction;
    use alloy_signer::SignerSync;
    let signature = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(tx.into_envelope(signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn derives_the_well_known_accounts() {
        let s = dev_signers(2);
        assert_eq!(s[0].address(), address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
        assert_eq!(s[1].address(), address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"));
        // The last one --dev funds, as alloy's per-account derivation gives it.
        let ninth = alloy_signer_local::MnemonicBuilder::<English>::default()
            .phrase(DEV_MNEMONIC)
            .index(9)
            .and_then(|b| b.build())
            .unwrap();
        assert_eq!(dev_signers(10)[9].address(), ninth.address());
        assert_eq!(ninth.address(), address!("a0Ee7A142d267C1f36714E4a8F75612F20a79720"));
    }
}
