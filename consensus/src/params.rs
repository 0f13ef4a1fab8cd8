//! GHOSTDAG parameters of the chain spec, and the PHANTOM bound that derives `k`.

use crate::types::KType;
use serde::{Deserialize, Serialize};

/// Probability bound used for `k` unless the chain spec says otherwise (as Kaspa).
pub const DEFAULT_GHOSTDAG_DELTA: f64 = 0.01;

/// The consensus-critical GHOSTDAG parameters; they live in the chain spec / genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GhostdagParams {
    /// Maximum blue anticone size: a block may have at most `k` blues in its anticone.
    pub k: KType,
    /// Maximum number of parents a block may reference.
    pub max_block_parents: u64,
    /// Maximum mergeset size of a block, selected parent included.
    pub mergeset_size_limit: u64,
    /// Selected-chain blocks deeper than this (in blue score) below the sink are final.
    pub finality_depth: u64,
    /// A block may not merge a red block from before its merge-depth root, this many blue
    /// scores below it, unless a merged blue covers it (Kaspa's bounded merge depth).
    pub merge_depth: u64,
}

impl Default for GhostdagParams {
    /// Kaspa's 1 block/s parameters: k = 18 (x = 10), 10 parents, mergeset of 180, one day
    /// of blocks to finality.
    fn default() -> Self {
        Self {
            k: 18,
            max_block_parents: 10,
            mergeset_size_limit: 180,
            finality_depth: 86_400,
            merge_depth: 3_600,
        }
    }
}

impl GhostdagParams {
    /// Derives the parameters from the block rate `λ` (blocks per second) and the network
    /// delay bound `D` (seconds):
    /// - `k = calculate_ghostdag_k(2·D·λ, 0.01)`;
    /// - `max_block_parents = 10`, or 16 once `k ≥ 64` (Kaspa's 1 and 10 block/s values);
    /// - `mergeset_size_limit = max(2k, min(10k, 180))` (180 at k = 18, 248 at k = 124, as
    ///   Kaspa);
    /// - `finality_depth` = twelve hours of blocks at rate `λ` (at least 1);
    /// - `merge_depth` = one hour of blocks at rate `λ` (at least 1), as Kaspa.
    pub fn from_block_rate(blocks_per_second: f64, network_delay_secs: f64) -> Self {
        let x = 2.0 * network_delay_secs * blocks_per_second;
        let k = calculate_ghostdag_k(x, DEFAULT_GHOSTDAG_DELTA).min(KType::MAX as u64) as KType;
        let k64 = k as u64;
        let max_block_parents = if k64 >= 64 { 16 } else { 10 };
        let mergeset_size_limit = (2 * k64).max((10 * k64).min(180)).max(1);
        let finality_depth = ((43_200.0 * blocks_per_second).ceil() as u64).max(1);
        let merge_depth = ((3_600.0 * blocks_per_second).ceil() as u64).max(1);
        Self { k, max_block_parents, mergeset_size_limit, finality_depth, merge_depth }
    }
}

/// The smallest `k` such that an honest block's anticone exceeds `k` blocks with probability
/// below `delta`, following the PHANTOM paper (section 4.2, eq. 1): the number of blocks
/// created during a window of `2·D` is Poisson with mean `x = 2·D·λ`, so `k` is the smallest
/// integer with `P[Poisson(x) > k] < delta`.
///
/// `calculate_ghostdag_k(10.0, 0.01) == 18` and `calculate_ghostdag_k(100.0, 0.01) == 124`.
/// Degenerate inputs do not panic: `x ≤ 0` or `delta ≥ 1` (or NaN) give 0, and `delta ≤ 0`
/// gives the point where the Poisson tail vanishes in double precision.
pub fn calculate_ghostdag_k(x: f64, delta: f64) -> u64 {
    if x.is_nan() || x <= 0.0 || delta.is_nan() || delta >= 1.0 {
        return 0;
    }
    // Work in log space so that e^-x does not underflow for large x.
    let ln_x = x.ln();
    let mut ln_term = -x; // ln P[X = 0]
    let mut cdf = ln_term.exp();
    let mut k: u64 = 0;
    while 1.0 - cdf >= delta {
        k += 1;
        ln_term += ln_x - (k as f64).ln();
        let term = ln_term.exp();
        cdf += term;
        // Past the mode the terms only shrink; once they no longer move the sum, stop.
        if (k as f64) > x && term <= f64::EPSILON * cdf {
            break;
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phantom_bound_matches_kaspa() {
        assert_eq!(calculate_ghostdag_k(10.0, 0.01), 18);
        assert_eq!(calculate_ghostdag_k(100.0, 0.01), 124);
    }

    #[test]
    fn phantom_bound_is_monotone_and_total() {
        let mut last = 0;
        for x in 1..200 {
            let k = calculate_ghostdag_k(x as f64, 0.01);
            assert!(k >= last, "k must not decrease with x");
            last = k;
        }
        assert!(calculate_ghostdag_k(10.0, 0.001) > 18);
        assert_eq!(calculate_ghostdag_k(0.0, 0.01), 0);
        assert_eq!(calculate_ghostdag_k(-1.0, 0.01), 0);
        assert_eq!(calculate_ghostdag_k(f64::NAN, 0.01), 0);
        assert_eq!(calculate_ghostdag_k(10.0, 1.0), 0);
        // delta = 0 terminates (the tail vanishes numerically).
        assert!(calculate_ghostdag_k(10.0, 0.0) > 18);
        // Large x does not underflow to an endless loop.
        assert!(calculate_ghostdag_k(5_000.0, 0.01) > 5_000);
    }

    #[test]
    fn params_from_block_rate() {
        let one_bps = GhostdagParams::from_block_rate(1.0, 5.0);
        assert_eq!(one_bps.k, 18);
        assert_eq!(one_bps.max_block_parents, 10);
        assert_eq!(one_bps.mergeset_size_limit, 180);
        let ten_bps = GhostdagParams::from_block_rate(10.0, 5.0);
        assert_eq!(ten_bps.k, 124);
        assert_eq!(ten_bps.max_block_parents, 16);
        assert_eq!(ten_bps.mergeset_size_limit, 248);
        assert_eq!(ten_bps.finality_depth, 432_000);
        assert_eq!(ten_bps.merge_depth, 36_000, "Kaspa's mainnet merge depth");
    }

    #[test]
    fn params_serde_roundtrip() {
        let p = GhostdagParams::default();
        let json = serde_json::to_string(&p).expect("serialise");
        assert!(json.contains("mergesetSizeLimit"));
        let back: GhostdagParams = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(p, back);
    }
}
