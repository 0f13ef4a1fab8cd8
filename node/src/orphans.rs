//! Blocks that arrived before their parents wait here, bounded in number, bytes and time: a
//! peer cannot fill memory with blocks whose parents never come.

use alloy_primitives::B256;
use lattice_primitives::SealedBlock;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Most blocks kept while waiting for their parents.
pub const MAX_ORPHANS: usize = 1_024;
/// Most bytes of blocks kept while waiting for their parents.
pub const MAX_ORPHAN_BYTES: usize = 64 * 1024 * 1024;
/// How long a block may wait for its parents.
pub const ORPHAN_TTL: Duration = Duration::from_secs(600);

/// The waiting blocks, oldest first.
#[derive(Debug, Default)]
pub struct Orphans {
    waiting: VecDeque<(SealedBlock, Instant, usize)>,
    bytes: usize,
}

/// The encoded size a block is charged for.
fn size(block: &SealedBlock) -> usize {
    use alloy_eips::eip2718::Encodable2718;
    512 + block.header.header.parents.len() * 32
        + block.transactions.iter().map(|t| t.encode_2718_len()).sum::<usize>()
}

impl Orphans {
    /// Keeps `block` (unless already kept), making room by dropping the oldest. Returns how
    /// many were dropped.
    pub fn insert(&mut self, block: SealedBlock, now: Instant) -> usize {
        if self.waiting.iter().any(|(b, _, _)| b.hash() == block.hash()) {
            return 0;
        }
        let bytes = size(&block);
        if bytes > MAX_ORPHAN_BYTES {
            return 0; // never kept: the others stay
        }
        let mut dropped = 0;
        while !self.waiting.is_empty()
            && (self.waiting.len() >= MAX_ORPHANS || self.bytes + bytes > MAX_ORPHAN_BYTES)
        {
            self.pop_oldest();
            dropped += 1;
        }
        self.bytes += bytes;
        self.waiting.push_back((block, now, bytes));
        dropped
    }

    fn pop_oldest(&mut self) {
        if let Some((_, _, bytes)) = self.waiting.pop_front() {
            self.bytes -= bytes;
        }
    }

    /// Takes out every block whose parents `known` all has, after dropping the expired.
    pub fn take_ready(&mut self, now: Instant, known: impl Fn(B256) -> bool) -> Vec<SealedBlock> {
        while self.waiting.front().is_some_and(|(_, at, _)| now.duration_since(*at) > ORPHAN_TTL) {
            self.pop_oldest();
        }
        let (ready, waiting): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(b, _, _)| b.header.header.parents.iter().all(|p| known(*p)));
        self.waiting = waiting;
        self.bytes = self.waiting.iter().map(|(_, _, n)| n).sum();
        ready.into_iter().map(|(b, _, _)| b).collect()
    }

    /// Number waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}
