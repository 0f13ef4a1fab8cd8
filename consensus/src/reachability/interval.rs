//! Closed integer intervals `[start, end]` of the reachability tree.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A closed interval `[start, end]` of `u64`. An empty interval has `end == start - 1`.
///
/// Bounds stay within `[1, u64::MAX - 1]` so that any interval can be emptied at either end
/// without wrapping. A block's own point is its `end`; its children live in
/// [`capacity`](Self::capacity) = `[start, end - 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interval {
    /// First point (inclusive).
    pub start: u64,
    /// Last point (inclusive).
    pub end: u64,
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.start, self.end)
    }
}

impl Interval {
    /// `[start, end]`; `end == start - 1` makes it empty.
    pub fn new(start: u64, end: u64) -> Self {
        debug_assert!(start >= 1, "interval start must be at least 1: [{start}, {end}]");
        debug_assert!(end < u64::MAX, "interval end must be below u64::MAX: [{start}, {end}]");
        debug_assert!(end >= start - 1, "malformed interval [{start}, {end}]");
        Self { start, end }
    }

    /// The whole usable space, `[1, u64::MAX - 1]`: the interval of the tree root.
    pub fn maximal() -> Self {
        Self::new(1, u64::MAX - 1)
    }

    /// The empty interval located just before `start`.
    pub fn empty_at(start: u64) -> Self {
        Self::new(start, start - 1)
    }

    /// Number of points.
    pub fn size(&self) -> u64 {
        // `end + 1` cannot overflow (end < u64::MAX) and is at least `start`.
        self.end + 1 - self.start
    }

    /// Whether it has no points.
    pub fn is_empty(&self) -> bool {
        self.size() == 0
    }

    /// Whether `other` lies within `self` (every interval contains itself).
    pub fn contains(&self, other: Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// Whether `other` lies within `self` without reaching its last point: `other` belongs
    /// to a strict descendant.
    pub fn strictly_contains(&self, other: Interval) -> bool {
        self.start <= other.start && other.end < self.end
    }

    /// Where the children of the block owning this interval live: all but the last point.
    pub fn capacity(&self) -> Interval {
        Interval::new(self.start, self.end.saturating_sub(1).max(self.start - 1))
    }

    /// The left half (rounded up) of the interval.
    pub fn left_half(&self) -> Interval {
        let size = self.size();
        let left = size - size / 2;
        Interval::new(self.start, self.start + left - 1)
    }

    /// Splits into consecutive parts of exactly `sizes`, whose sum must equal the size.
    pub fn split_exact(&self, sizes: &[u64]) -> Option<Vec<Interval>> {
        let total = sizes.iter().try_fold(0u64, |acc, s| acc.checked_add(*s))?;
        if total != self.size() {
            return None;
        }
        let mut start = self.start;
        Some(
            sizes
                .iter()
                .map(|&size| {
                    let part = Interval::new(start, start + size - 1);
                    start += size;
                    part
                })
                .collect(),
        )
    }

    /// Splits into consecutive parts where part `i` has at least `sizes[i]` points and the
    /// spare points are shared with weights `2^sizes[i]`: the largest subtree (in a growing
    /// DAG, the one on the selected chain) gets nearly all of the room to grow. Returns `None`
    /// when the sizes do not fit.
    pub fn split_exponential(&self, sizes: &[u64]) -> Option<Vec<Interval>> {
        let total = sizes.iter().try_fold(0u64, |acc, s| acc.checked_add(*s))?;
        let size = self.size();
        if total > size || sizes.is_empty() {
            return None;
        }
        let spare = size - total;
        if spare == 0 {
            return self.split_exact(sizes);
        }
        let max = sizes.iter().copied().max().unwrap_or(0);
        // 2^(s - max) in (0, 1]; tiny weights underflow to 0, which is what they deserve.
        let weights: Vec<f64> =
            sizes.iter().map(|&s| (-((max - s).min(2_000) as f64)).exp2()).collect();
        let weight_sum: f64 = weights.iter().sum();
        let mut remaining = spare;
        let mut grown = Vec::with_capacity(sizes.len());
        for (i, (&s, w)) in sizes.iter().zip(&weights).enumerate() {
            let bias = if i + 1 == sizes.len() {
                remaining
            } else {
                remaining.min((spare as f64 * (w / weight_sum)).round() as u64)
            };
            remaining -= bias;
            grown.push(s + bias);
        }
        self.split_exact(&grown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        let i = Interval::new(101, 164);
        assert_eq!(i.size(), 64);
        assert_eq!(Interval::maximal().size(), u64::MAX - 1);
        assert!(Interval::empty_at(5).is_empty());
        assert_eq!(i.capacity(), Interval::new(101, 163));
        assert_eq!(Interval::new(5, 5).capacity(), Interval::empty_at(5));
        assert_eq!(Interval::new(1, 10).left_half(), Interval::new(1, 5));
        assert_eq!(Interval::new(1, 11).left_half(), Interval::new(1, 6));
        assert_eq!(Interval::new(7, 7).left_half(), Interval::new(7, 7));
    }

    #[test]
    fn containment() {
        let a = Interval::new(1, 100);
        assert!(a.contains(a));
        assert!(!a.strictly_contains(a));
        assert!(a.strictly_contains(Interval::new(1, 99)));
        assert!(a.contains(Interval::new(2, 100)));
        assert!(!a.contains(Interval::new(50, 150)));
        assert!(!a.contains(Interval::new(150, 160)));
    }

    #[test]
    fn split_exact_and_exponential() {
        let parts = Interval::new(1, 50).split_exact(&[5, 10, 15, 20]).expect("fits");
        assert_eq!(parts.iter().map(|p| p.size()).collect::<Vec<_>>(), vec![5, 10, 15, 20]);
        assert!(Interval::new(1, 50).split_exact(&[5]).is_none());

        // Equal sizes share the spare room equally.
        let parts = Interval::new(1, 100).split_exponential(&[1, 1]).expect("fits");
        assert_eq!(parts, vec![Interval::new(1, 50), Interval::new(51, 100)]);
        // The largest subtree takes almost everything.
        // (weights 2^-10 : 2^-10 : 1, so the small ones get ~0.1% of the spare room each).
        let parts = Interval::new(1, 10_000).split_exponential(&[10, 10, 20]).expect("fits");
        assert_eq!(
            parts,
            vec![Interval::new(1, 20), Interval::new(21, 40), Interval::new(41, 10_000)]
        );
        // Every part gets at least its size, parts are consecutive and cover the interval.
        let whole = Interval::new(7, 1_000_007);
        let sizes = [3, 40, 40, 2, 39];
        let parts = whole.split_exponential(&sizes).expect("fits");
        assert_eq!(parts[0].start, whole.start);
        assert_eq!(parts.last().map(|p| p.end), Some(whole.end));
        for (p, s) in parts.iter().zip(sizes) {
            assert!(p.size() >= s);
        }
        for w in parts.windows(2) {
            assert_eq!(w[0].end + 1, w[1].start);
        }
        assert!(Interval::new(1, 10).split_exponential(&[6, 6]).is_none());
        // Huge spare with huge size differences does not misbehave.
        let parts = Interval::maximal().split_exponential(&[1, 100_000, 5]).expect("fits");
        assert_eq!(parts[0].size(), 1);
        assert!(parts[1].size() > u64::MAX / 2);
        assert!(parts[2].size() >= 5);
    }
}
