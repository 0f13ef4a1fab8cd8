//! What this node asks of each peer, paced below the rate peers serve (see
//! [`crate::rate::RateLimits`] on the serving side): a request beyond the pace waits its turn
//! in a bounded queue per peer instead of being sent, so that an honest node, however far
//! behind and however much gossip it cannot place yet, is never refused over the rate.

use crate::rate::RateLimits;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Instant;

/// What [`Paced::submit`] did with an item.
#[derive(Debug, PartialEq, Eq)]
pub enum Submitted<T> {
    /// Within the pace: send it now.
    Now(T),
    /// Queued (or merged into a queued item); [`Paced::ready`] gives it back in its turn.
    Queued,
    /// The peer's queue is full: not sent, given back.
    Full(T),
}

/// Per-key token buckets in front of per-key FIFO queues.
#[derive(Debug)]
pub struct Paced<K, T> {
    tokens: RateLimits<K>,
    queues: HashMap<K, VecDeque<T>>,
    max_queued: usize,
}

impl<K: Hash + Eq + Copy, T> Paced<K, T> {
    /// `per_sec` items a second per key, `burst` at once, at most `max_queued` waiting per key
    /// (`urgent` items are never refused: the caller keeps at most a few of them in flight).
    pub fn new(per_sec: f64, burst: f64, max_keys: usize, max_queued: usize) -> Self {
        Self {
            tokens: RateLimits::new(per_sec, burst, max_keys),
            queues: HashMap::new(),
            max_queued,
        }
    }

    /// Offers `item` for `key` at `now`. An `urgent` one goes to the front of the queue; any
    /// other goes to the back, or into the last queued item if `merge` takes it (it returns the
    /// item back when it does not).
    pub fn submit(
        &mut self,
        key: K,
        item: T,
        urgent: bool,
        now: Instant,
        merge: impl FnOnce(&mut T, T) -> Option<T>,
    ) -> Submitted<T> {
        let queue = self.queues.get(&key).filter(|q| !q.is_empty());
        if queue.is_none() && self.tokens.take(key, now) {
            return Submitted::Now(item);
        }
        let queue = self.queues.entry(key).or_default();
        if urgent {
            queue.push_front(item);
            return Submitted::Queued;
        }
        let item = match queue.back_mut() {
            Some(last) => match merge(last, item) {
                None => return Submitted::Queued,
                Some(item) => item,
            },
            None => item,
        };
        if queue.len() >= self.max_queued {
            return Submitted::Full(item);
        }
        queue.push_back(item);
        Submitted::Queued
    }

    /// The queued items whose turn has come at `now`, in order per key.
    pub fn ready(&mut self, now: Instant) -> Vec<(K, T)> {
        let mut out = Vec::new();
        for (key, queue) in &mut self.queues {
            while !queue.is_empty() && self.tokens.take(*key, now) {
                out.extend(queue.pop_front().map(|item| (*key, item)));
            }
        }
        self.queues.retain(|_, q| !q.is_empty());
        out
    }

    /// Drops what waits for `key` (it went away), giving it back.
    pub fn forget(&mut self, key: K) -> Vec<T> {
        self.queues.remove(&key).map(Vec::from).unwrap_or_default()
    }

    /// Whether anything waits.
    pub fn has_queued(&self) -> bool {
        !self.queues.is_empty()
    }

    /// Items waiting, over all keys.
    pub fn queued(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    /// Forgets token buckets that are full again (see [`RateLimits::prune`]).
    pub fn prune(&mut self, now: Instant) {
        self.tokens.prune(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn no_merge(_: &mut u32, item: u32) -> Option<u32> {
        Some(item)
    }

    #[test]
    fn beyond_the_burst_items_wait_and_leave_at_the_pace_in_order() {
        let mut p = Paced::new(10.0, 2.0, 8, 100);
        let t = Instant::now();
        let sent: Vec<_> = (0..5).map(|i| p.submit(1u8, i, false, t, no_merge)).collect();
        assert_eq!(sent[..2], [Submitted::Now(0), Submitted::Now(1)]);
        assert!(sent[2..].iter().all(|s| *s == Submitted::Queued));
        assert!(p.ready(t).is_empty(), "no token left");
        // A tenth of a second gives one token back: the oldest waiting item goes.
        assert_eq!(p.ready(t + Duration::from_millis(100)), [(1, 2)]);
        // While items wait, a new one goes behind them even once a token is back.
        assert_eq!(
            p.submit(1, 5, false, t + Duration::from_millis(200), no_merge),
            Submitted::Queued
        );
        assert_eq!(p.ready(t + Duration::from_millis(300)), [(1, 3), (1, 4)]);
        assert_eq!(p.ready(t + Duration::from_secs(1)), [(1, 5)]);
        assert!(!p.has_queued());
        // Another key has its own pace.
        assert_eq!(p.submit(2, 9, false, t, no_merge), Submitted::Now(9));
    }

    #[test]
    fn at_no_time_more_leave_than_the_burst_and_the_pace_allow() {
        let mut p = Paced::new(25.0, 50.0, 8, 10_000);
        let t = Instant::now();
        let mut sent = 0usize;
        for ms in 0..2_000u64 {
            let now = t + Duration::from_millis(ms);
            for i in 0..3 {
                if let Submitted::Now(_) = p.submit(7u8, i, false, now, no_merge) {
                    sent += 1;
                }
            }
            sent += p.ready(now).len();
            let allowed = 50.0 + 25.0 * (ms as f64 / 1000.0);
            assert!(sent as f64 <= allowed + 1e-9, "{sent} sent by {ms} ms");
        }
        assert!(sent >= 50 + 49, "the pace is used: {sent}");
    }

    #[test]
    fn the_queue_is_bounded_urgent_items_jump_it_and_merges_take_no_room() {
        let mut p = Paced::new(1.0, 1.0, 8, 2);
        let t = Instant::now();
        assert_eq!(p.submit(1u8, vec![0], false, t, |_, i| Some(i)), Submitted::Now(vec![0]));
        assert_eq!(p.submit(1, vec![1], false, t, |_, i| Some(i)), Submitted::Queued);
        // Merged into the last waiting item: no room taken.
        let merge = |last: &mut Vec<u32>, item: Vec<u32>| {
            last.extend(item);
            None
        };
        assert_eq!(p.submit(1, vec![2], false, t, merge), Submitted::Queued);
        assert_eq!(p.submit(1, vec![3], false, t, |_, i| Some(i)), Submitted::Queued);
        assert_eq!(p.submit(1, vec![4], false, t, |_, i| Some(i)), Submitted::Full(vec![4]));
        assert_eq!(p.queued(), 2);
        assert_eq!(p.submit(1, vec![9], true, t, |_, i| Some(i)), Submitted::Queued);
        assert_eq!(p.ready(t + Duration::from_secs(1)), [(1, vec![9])]);
        assert_eq!(p.ready(t + Duration::from_secs(2)), [(1, vec![1, 2])]);
        assert_eq!(p.forget(1), [vec![3]]);
        assert!(!p.has_queued());
    }
}
