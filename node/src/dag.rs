//! The node's view of the GHOSTDAG engine.
//!
//! The DAG is kept in memory and rebuilt from the stored headers at start-up: headers sorted
//! by (blue work, hash) are in topological order, because a block's blue work exceeds that of
//! each of its parents.
// TODO(issue 3): persist GHOSTDAG and reachability data in RocksDB instead of rebuilding.

use alloy_primitives::{B256, U256};
use eyre::{bail, Result};
use lattice_consensus::ghostdag::consensus_order_of_mergeset;
use lattice_consensus::{Dag, GhostdagData, GhostdagParams};
use lattice_primitives::{ChainSpec, Header};
use lattice_storage::{tables, Db};
use std::sync::Arc;

/// Every block carries the same work under proof of authority.
pub const BLOCK_WORK: U256 = U256::from_limbs([1, 0, 0, 0]);

/// GHOSTDAG parameters of a chain specification.
pub fn params(spec: &ChainSpec) -> GhostdagParams {
    GhostdagParams {
        k: spec.ghostdag_k,
        max_block_parents: spec.max_block_parents as u64,
        mergeset_size_limit: spec.mergeset_size_limit,
        finality_depth: spec.finality_depth,
    }
}

/// The DAG of every stored block.
pub struct DagView {
    dag: Dag,
}

impl DagView {
    /// Rebuilds the DAG from the headers in `db`.
    pub fn load(db: &Db, spec: &ChainSpec, genesis: B256) -> Result<Self> {
        let mut dag = Dag::new(params(spec), genesis)?;
        let mut headers: Vec<(B256, Header)> = db
            .scan_from::<tables::Headers>(&[], |_| true)?
            .into_iter()
            .filter(|(h, _)| *h != genesis)
            .collect();
        headers.sort_by(|a, b| (a.1.blue_work, a.0).cmp(&(b.1.blue_work, b.0)));
        for (hash, header) in headers {
            let gd = dag.add_block(hash, &header.parents, BLOCK_WORK)?;
            if gd.blue_score != header.blue_score || gd.blue_work != header.blue_work {
                bail!(
                    "stored block {hash} claims blue score {} / work {} but GHOSTDAG gives {} / {}",
                    header.blue_score,
                    header.blue_work,
                    gd.blue_score,
                    gd.blue_work
                );
            }
        }
        Ok(Self { dag })
    }

    /// Parents for a block produced now (the sink first, then other tips).
    pub fn parents_for_new_block(&self) -> Result<Vec<B256>> {
        Ok(self.dag.pick_parents()?)
    }

    /// GHOSTDAG data a block with `parents` would have.
    pub fn ghostdag_of_parents(&self, parents: &[B256]) -> Result<GhostdagData> {
        Ok(self.dag.compute_ghostdag(parents)?)
    }

    /// The mergeset of `data` in consensus order.
    pub fn consensus_order(&self, data: &GhostdagData) -> Result<Vec<B256>> {
        Ok(consensus_order_of_mergeset(self.dag.store(), data)?)
    }

    /// GHOSTDAG data of a known block.
    pub fn ghostdag(&self, hash: B256) -> Option<Arc<GhostdagData>> {
        self.dag.ghostdag(hash).ok()
    }

    /// Adds a block whose GHOSTDAG data was computed as `expected`.
    pub fn insert(&mut self, hash: B256, parents: &[B256], expected: &GhostdagData) -> Result<()> {
        let gd = self.dag.add_block(hash, parents, BLOCK_WORK)?;
        if *gd != *expected {
            bail!("GHOSTDAG data of {hash} changed between building and committing");
        }
        Ok(())
    }
}
