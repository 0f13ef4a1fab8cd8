//! The two contracts the load uses, assembled here (no compiler needed): a storage writer
//! and a minimal ERC-20 token.

use alloy_primitives::{keccak256, Address, Bytes, U256};

/// EVM opcodes used below.
mod op {
    pub const STOP: u8 = 0x00;
    pub const ADD: u8 = 0x01;
    pub const SUB: u8 = 0x03;
    pub const LT: u8 = 0x10;
    pub const EQ: u8 = 0x14;
    pub const SHR: u8 = 0x1c;
    pub const CALLER: u8 = 0x33;
    pub const CALLDATALOAD: u8 = 0x35;
    pub const CODECOPY: u8 = 0x39;
    pub const MSTORE: u8 = 0x52;
    pub const SLOAD: u8 = 0x54;
    pub const SSTORE: u8 = 0x55;
    pub const JUMPI: u8 = 0x57;
    pub const JUMPDEST: u8 = 0x5b;
    pub const PUSH1: u8 = 0x60;
    pub const PUSH2: u8 = 0x61;
    pub const DUP1: u8 = 0x80;
    pub const DUP2: u8 = 0x81;
    pub const DUP3: u8 = 0x82;
    pub const SWAP1: u8 = 0x90;
    pub const LOG3: u8 = 0xa3;
    pub const RETURN: u8 = 0xf3;
    pub const REVERT: u8 = 0xfd;
}

/// Assembles code with forward jumps: `jump_to(label)` pushes a label's offset (PUSH2),
/// `label(label)` marks a JUMPDEST.
#[derive(Default)]
struct Asm {
    code: Vec<u8>,
    labels: Vec<(&'static str, usize)>,
    fixups: Vec<(&'static str, usize)>,
}

impl Asm {
    fn ops(&mut self, ops: &[u8]) -> &mut Self {
        self.code.extend_from_slice(ops);
        self
    }

    fn push(&mut self, value: &[u8]) -> &mut Self {
        assert!((1..=32).contains(&value.len()));
        self.code.push(op::PUSH1 + value.len() as u8 - 1);
        self.code.extend_from_slice(value);
        self
    }

    fn jump_to(&mut self, label: &'static str) -> &mut Self {
        self.code.push(op::PUSH2);
        self.fixups.push((label, self.code.len()));
        self.code.extend_from_slice(&[0, 0]);
        self
    }

    fn label(&mut self, label: &'static str) -> &mut Self {
        self.labels.push((label, self.code.len()));
        self.code.push(op::JUMPDEST);
        self
    }

    fn finish(&mut self) -> Vec<u8> {
        for (label, at) in &self.fixups {
            let (_, target) = self.labels.iter().find(|(l, _)| l == label).expect("label defined");
            self.code[*at..*at + 2].copy_from_slice(&(*target as u16).to_be_bytes());
        }
        std::mem::take(&mut self.code)
    }
}

/// Creation code that deploys `runtime` after running `constructor` (which must leave the
/// stack as it found it).
fn creation(constructor: &[u8], runtime: &[u8]) -> Bytes {
    // PUSH2 len PUSH2 offset PUSH1 0 CODECOPY PUSH2 len PUSH1 0 RETURN: 15 bytes.
    let offset = constructor.len() + 15;
    let (len, offset) = ((runtime.len() as u16).to_be_bytes(), (offset as u16).to_be_bytes());
    let mut code = constructor.to_vec();
    code.extend_from_slice(&[op::PUSH2, len[0], len[1], op::PUSH2, offset[0], offset[1]]);
    code.extend_from_slice(&[op::PUSH1, 0, op::CODECOPY, op::PUSH2, len[0], len[1]]);
    code.extend_from_slice(&[op::PUSH1, 0, op::RETURN]);
    code.extend_from_slice(runtime);
    code.into()
}

/// A contract that stores the first word of its calldata under the caller's address:
/// every call writes one slot (a fresh one on a sender's first call).
pub fn storage_writer() -> Bytes {
    let runtime = [op::PUSH1, 0, op::CALLDATALOAD, op::CALLER, op::SSTORE, op::STOP];
    creation(&[], &runtime)
}

/// Calldata for [`storage_writer`]: stores `value`.
pub fn store_call(value: U256) -> Bytes {
    value.to_be_bytes::<32>().to_vec().into()
}

/// `transfer(address,uint256)`.
const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `balanceOf(address)`.
const BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];

/// The `Transfer(address,address,uint256)` event topic.
pub fn transfer_topic() -> alloy_primitives::B256 {
    keccak256("Transfer(address,address,uint256)")
}

/// A minimal ERC-20 token: `transfer` (emits `Transfer`, reverts without the balance) and
/// `balanceOf`; an address's balance is kept in the slot numbered by the address. The
/// creator holds `supply`.
pub fn token(supply: U256) -> Bytes {
    let mut constructor = Asm::default();
    constructor.push(&supply.to_be_bytes::<32>()).ops(&[op::CALLER, op::SSTORE]);
    creation(&constructor.finish(), &token_runtime())
}

fn token_runtime() -> Vec<u8> {
    let mut a = Asm::default();
    // The selector.
    a.push(&[0]).ops(&[op::CALLDATALOAD]).push(&[0xe0]).ops(&[op::SHR]);
    a.ops(&[op::DUP1]).push(&TRANSFER).ops(&[op::EQ]).jump_to("transfer").ops(&[op::JUMPI]);
    a.ops(&[op::DUP1]).push(&BALANCE_OF).ops(&[op::EQ]).jump_to("balance_of").ops(&[op::JUMPI]);
    a.label("fail").push(&[0]).ops(&[op::DUP1, op::REVERT]);
    // balanceOf(who): returns sload(who).
    a.label("balance_of").push(&[4]).ops(&[op::CALLDATALOAD, op::SLOAD]);
    a.push(&[0]).ops(&[op::MSTORE]).push(&[0x20]).push(&[0]).ops(&[op::RETURN]);
    // transfer(to, amount). Stack comments: top last.
    a.label("transfer").push(&[0x24]).ops(&[op::CALLDATALOAD]); // amount
    a.ops(&[op::CALLER, op::SLOAD]); // amount balance
    a.ops(&[op::DUP2, op::DUP2, op::LT]).jump_to("fail").ops(&[op::JUMPI]); // balance < amount
    a.ops(&[op::DUP2, op::SWAP1, op::SUB, op::CALLER, op::SSTORE]); // amount; caller -= amount
    a.push(&[4]).ops(&[op::CALLDATALOAD]); // amount to
    a.ops(&[op::DUP1, op::SLOAD, op::DUP3, op::ADD]); // amount to balance(to)+amount
    a.ops(&[op::SWAP1, op::SSTORE]); // amount; to += amount (the supply bounds every sum)
    a.push(&[0]).ops(&[op::MSTORE]); // memory[0] = amount
    a.push(&[4]).ops(&[op::CALLDATALOAD, op::CALLER]).push(transfer_topic().as_slice());
    a.push(&[0x20]).push(&[0]).ops(&[op::LOG3]); // Transfer(caller, to, amount)
    a.push(&[1]).push(&[0]).ops(&[op::MSTORE]).push(&[0x20]).push(&[0]).ops(&[op::RETURN]);
    a.finish()
}

/// Calldata of `transfer(to, amount)`.
pub fn transfer_call(to: Address, amount: U256) -> Bytes {
    let mut data = TRANSFER.to_vec();
    data.extend_from_slice(&[0; 12]);
    data.extend_from_slice(to.as_slice());
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data.into()
}

/// Calldata of `balanceOf(who)`.
pub fn balance_of_call(who: Address) -> Bytes {
    let mut data = BALANCE_OF.to_vec();
    data.extend_from_slice(&[0; 12]);
    data.extend_from_slice(who.as_slice());
    data.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_land_on_jumpdests() {
        let runtime = token_runtime();
        // Every PUSH2 target the assembler wrote points at a JUMPDEST.
        let mut pc = 0;
        let mut targets = Vec::new();
        while pc < runtime.len() {
            let o = runtime[pc];
            if o == op::PUSH2 && runtime.get(pc + 3) == Some(&op::JUMPI) {
                targets.push(u16::from_be_bytes([runtime[pc + 1], runtime[pc + 2]]) as usize);
            }
            pc +=
                1 + if (op::PUSH1..=0x7f).contains(&o) { (o - op::PUSH1 + 1) as usize } else { 0 };
        }
        assert_eq!(targets.len(), 3);
        assert!(targets.iter().all(|t| runtime[*t] == op::JUMPDEST));
    }

    #[test]
    fn creation_code_copies_the_runtime() {
        let code = storage_writer();
        assert_eq!(code.len(), 15 + 6);
        // CODECOPY's source offset is where the runtime starts.
        assert_eq!(u16::from_be_bytes([code[4], code[5]]), 15);
        assert_eq!(
            &code[15..],
            &[op::PUSH1, 0, op::CALLDATALOAD, op::CALLER, op::SSTORE, op::STOP]
        );
    }
}
