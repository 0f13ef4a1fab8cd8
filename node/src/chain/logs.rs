//! The log index: which chain blocks emitted logs of an address or with a topic, so
//! `eth_getLogs` reads only the receipts of blocks that can match.
//!
//! Three tables, written in the same batch as the chain block they describe and deleted when a
//! reorg rolls it back:
//! - `LogAddresses (address, number)`: a log of `address` is in chain block `number`;
//! - `LogTopics (topic, number)`: a log with `topic` in any position is in it;
//! - `LogBlocks number → count`: chain block `number` has `count` logs (a filter with no
//!   address and no topic visits only these).
//!
//! A query takes, per constrained dimension (the address set, each non-empty topic position),
//! the union of the index ranges of its values, then intersects the dimensions. The candidates
//! are a superset of the matching blocks (topic positions are not indexed); the caller checks
//! each log exactly.

use super::Chain;
use alloy_primitives::{Address, B256};
use eyre::Result;
use lattice_primitives::StoredReceipt;
use lattice_storage::{tables, Batch, Codec, Db, Table};
use std::collections::BTreeSet;

/// Meta key recording that the log index covers every chain block.
const META_LOG_INDEX: &[u8] = b"log-index-v1";

/// A log query on the index: addresses (empty = any) and, per topic position, the accepted
/// values (empty = any).
#[derive(Clone, Debug, Default)]
pub struct LogQuery<'a> {
    /// Emitting contracts, OR-ed.
    pub addresses: &'a [Address],
    /// Topic positions, AND-ed; values within one position OR-ed.
    pub topics: &'a [Vec<B256>],
}

/// Adds the index entries of chain block `number`.
pub(super) fn index(batch: &mut Batch<'_>, number: u64, receipts: &[StoredReceipt]) -> Result<()> {
    let mut count = 0u64;
    for log in receipts.iter().flat_map(|r| &r.logs) {
        count += 1;
        batch.put::<tables::LogAddresses>(&(log.address, number), &())?;
        for topic in log.topics() {
            batch.put::<tables::LogTopics>(&(*topic, number), &())?;
        }
    }
    if count > 0 {
        batch.put::<tables::LogBlocks>(&number, &count)?;
    }
    Ok(())
}

/// Removes the index entries of chain block `number` (it is being rolled back).
pub(super) fn unindex(
    batch: &mut Batch<'_>,
    number: u64,
    receipts: &[StoredReceipt],
) -> Result<()> {
    for log in receipts.iter().flat_map(|r| &r.logs) {
        batch.delete::<tables::LogAddresses>(&(log.address, number))?;
        for topic in log.topics() {
            batch.delete::<tables::LogTopics>(&(*topic, number))?;
        }
    }
    batch.delete::<tables::LogBlocks>(&number)?;
    Ok(())
}

/// Chain numbers in `from..=to` recorded under `key` in an index keyed by `(key, number)`.
fn numbers_in<T, K>(db: &Db, key: &K, from: u64, to: u64, out: &mut BTreeSet<u64>) -> Result<()>
where
    T: Table<Key = (K, u64), Value = ()>,
    K: Codec,
{
    let prefix = key.encode();
    let mut start = prefix.clone();
    from.encode_to(&mut start);
    for ((_, number), ()) in db.scan_from::<T>(&start, |k| {
        k.starts_with(&prefix) && u64::decode(&k[prefix.len()..]).is_ok_and(|n| n <= to)
    })? {
        out.insert(number);
    }
    Ok(())
}

impl Chain {
    /// Chain numbers in `from..=to` that may hold logs matching `query`, ascending.
    pub fn log_candidates(&self, from: u64, to: u64, query: &LogQuery<'_>) -> Result<Vec<u64>> {
        let db = &self.db;
        let mut dimensions: Vec<BTreeSet<u64>> = Vec::new();
        // Topic positions first (usually the most selective); an empty dimension ends the query
        // before the others are read.
        for position in query.topics.iter().filter(|p| !p.is_empty()) {
            let mut set = BTreeSet::new();
            for topic in position {
                numbers_in::<tables::LogTopics, _>(db, topic, from, to, &mut set)?;
            }
            if set.is_empty() {
                return Ok(Vec::new());
            }
            dimensions.push(set);
        }
        if !query.addresses.is_empty() {
            let mut set = BTreeSet::new();
            for address in query.addresses {
                numbers_in::<tables::LogAddresses, _>(db, address, from, to, &mut set)?;
            }
            if set.is_empty() {
                return Ok(Vec::new());
            }
            dimensions.push(set);
        }
        // The smallest dimension first keeps the intersection cheap.
        dimensions.sort_by_key(BTreeSet::len);
        let mut dimensions = dimensions.into_iter();
        let Some(first) = dimensions.next() else {
            return Ok(db
                .scan_from::<tables::LogBlocks>(&from.encode(), |k| {
                    u64::decode(k).is_ok_and(|n| n <= to)
                })?
                .into_iter()
                .map(|(n, _)| n)
                .collect());
        };
        let rest: Vec<BTreeSet<u64>> = dimensions.collect();
        Ok(first.into_iter().filter(|n| rest.iter().all(|d| d.contains(n))).collect())
    }

    /// Builds the log index for every chain block if this database predates it.
    pub(super) fn ensure_log_index(&self) -> Result<()> {
        if super::meta_get(&self.db, META_LOG_INDEX)?.is_some() {
            return Ok(());
        }
        let head = self.head().number;
        let mut batch = self.db.batch();
        for number in 1..=head {
            let Some(hash) = self.hash_at(number)? else { continue };
            index(&mut batch, number, &self.receipts(hash)?)?;
            if batch.len() > 100_000 {
                std::mem::replace(&mut batch, self.db.batch()).commit()?;
            }
        }
        batch.put::<tables::Meta>(&META_LOG_INDEX.to_vec(), &vec![1])?;
        batch.commit()?;
        if head > 0 {
            tracing::info!(target: "lattice::chain", blocks = head, "built the log index");
        }
        Ok(())
    }
}
