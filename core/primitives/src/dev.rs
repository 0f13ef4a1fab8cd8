//! The dev chain's well-known accounts.

use alloy_signer_local::{coins_bip39::English, MnemonicBuilder, PrivateKeySigner};

/// The test mnemonic every Ethereum dev tool ships (Hardhat, anvil).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// How many dev accounts `--dev` funds and unlocks.
pub const DEV_ACCOUNT_COUNT: u32 = 10;

/// The first `n` accounts of [`DEV_MNEMONIC`] at `m/44'/60'/0'/0/i`.
pub fn dev_signers(n: u32) -> Vec<PrivateKeySigner> {
    (0..n)
        .map(|i| {
            MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(i)
                .and_then(|b| b.build())
                .expect("the dev mnemonic and a small index always derive a key")
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
    }
}
