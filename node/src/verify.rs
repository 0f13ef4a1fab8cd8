//! `lattice verify`: replay the stored DAG into a fresh database and compare.

use crate::chain::{all_tables, Chain, ImportOutcome};
use crate::NodeConfig;
use eyre::{bail, eyre, Context, Result};
use lattice_primitives::SealedBlock;
use lattice_storage::{tables, Db};
use std::sync::Arc;
use std::time::Instant;

/// What a verification found.
#[derive(Debug)]
pub struct VerifyReport {
    /// Blocks replayed (genesis excluded).
    pub blocks: u64,
    /// Selected-chain blocks whose commitments were re-executed and matched.
    pub chain_blocks: u64,
    /// Transactions executed.
    pub transactions: u64,
    /// Blocks the replay disqualified for a wrong commitment that the stored chain also
    /// disqualified or never applied.
    pub disqualified: u64,
    /// Seconds taken.
    pub seconds: f64,
    /// Problems found; empty when the stored chain is sound.
    pub problems: Vec<String>,
}

/// Replays every block stored under `config.data_dir` into a fresh chain in a temporary
/// directory, with every arrival rule and every commitment checked, and compares the result
/// with the stored selected chain.
pub fn verify(config: &NodeConfig) -> Result<VerifyReport> {
    let started = Instant::now();
    let path = config.data_dir.join("db");
    if !path.exists() {
        bail!("no database at {}", path.display());
    }
    let stored = Chain::open(
        Arc::new(
            Db::open(&path, &all_tables())
                .wrap_err_with(|| format!("cannot open {}", path.display()))?,
        ),
        config.spec.clone(),
    )?;
    let scratch = std::env::temp_dir().join(format!("lattice-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let fresh = Chain::open(Arc::new(Db::open(&scratch, &all_tables())?), config.spec.clone())?;
    let result = replay(&stored, &fresh, started);
    drop(fresh);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn replay(stored: &Chain, fresh: &Chain, started: Instant) -> Result<VerifyReport> {
    let mut headers = stored.db().scan_from::<tables::Headers>(&[], |_| true)?;
    headers.retain(|(h, _)| *h != stored.genesis());
    headers.sort_by_key(|(hash, header)| (header.blue_work, *hash));
    let mut problems = Vec::new();
    let mut disqualified = 0u64;
    let far_future = u64::MAX / 2;
    let mut progress = crate::progress::Progress::new("verify", "blocks", headers.len() as u64);
    for (i, (hash, _)) in headers.iter().enumerate() {
        let block: SealedBlock =
            stored.block(*hash)?.ok_or_else(|| eyre!("block {hash} vanished"))?;
        match fresh.import(&block, far_future) {
            Ok(ImportOutcome::Imported(update)) => {
                for d in update.disqualified {
                    // A problem only if the stored chain applied the block; a block it never
                    // tried (only ever merged under a heavier one) has no verdict to compare.
                    if stored.is_disqualified(d) || stored.number_of(d)?.is_none() {
                        disqualified += 1;
                    } else {
                        problems.push(format!(
                            "block {d} commits to a state that re-execution does not reach, \
                             but the stored chain accepted it"
                        ));
                    }
                }
            }
            Ok(ImportOutcome::AlreadyKnown) => {}
            Err(e) => problems.push(format!("block {hash} breaks a rule: {e}")),
        }
        progress.set(i as u64 + 1);
    }
    progress.finish();
    for (d, ()) in stored.db().scan_from::<tables::Disqualified>(&[], |_| true)? {
        if !fresh.is_disqualified(d) {
            problems.push(format!(
                "the stored chain disqualified block {d} but re-execution accepts it"
            ));
        }
    }
    let (ours, theirs) = (fresh.head(), stored.head());
    if ours.hash != theirs.hash {
        problems.push(format!(
            "stored sink {} (chain block {}) but re-execution ends on {} (chain block {})",
            theirs.hash, theirs.number, ours.hash, ours.number
        ));
    }
    let mut transactions = 0u64;
    for n in 0..=ours.number.min(theirs.number) {
        let (a, b) = (fresh.hash_at(n)?, stored.hash_at(n)?);
        if a != b {
            problems.push(format!("chain block {n} differs: stored {b:?}, re-executed {a:?}"));
            break;
        }
        if let Some(hash) = a {
            let (mine, stored_receipts) = (fresh.receipts(hash)?, stored.receipts(hash)?);
            if mine != stored_receipts {
                problems.push(format!("receipts of chain block {n} ({hash}) differ"));
            }
            transactions += mine.len() as u64;
        }
    }
    Ok(VerifyReport {
        blocks: headers.len() as u64,
        chain_blocks: ours.number,
        transactions,
        disqualified,
        seconds: started.elapsed().as_secs_f64(),
        problems,
    })
}
