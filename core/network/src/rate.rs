//! Token buckets per key (a peer, a producer): how often each may do a thing, with a burst.

use std::{collections::HashMap, hash::Hash, time::Instant};

/// One token bucket per key: `per_sec` tokens a second, at most `burst` at once. A key's
/// bucket outlives its connection, so reconnecting does not refill it; at most `max_keys`
/// are kept, and the one idle longest (the likeliest to be full again) is forgotten first.
#[derive(Debug)]
pub struct RateLimits<K> {
    per_sec: f64,
    burst: f64,
    max_keys: usize,
    buckets: HashMap<K, (f64, Instant)>,
}

impl<K: Hash + Eq + Copy> RateLimits<K> {
    /// Buckets refilled at `per_sec`, holding `burst`, for at most `max_keys` keys.
    pub fn new(per_sec: f64, burst: f64, max_keys: usize) -> Self {
        Self { per_sec, burst, max_keys: max_keys.max(1), buckets: HashMap::new() }
    }

    /// Takes one token of `key` at `now`; `false` when it has none left.
    pub fn take(&mut self, key: K, now: Instant) -> bool {
        if self.buckets.len() >= self.max_keys && !self.buckets.contains_key(&key) {
            let idlest = self.buckets.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k);
            if let Some(idlest) = idlest {
                self.buckets.remove(&idlest);
            }
        }
        let (per_sec, burst) = (self.per_sec, self.burst);
        let (tokens, at) = self.buckets.entry(key).or_insert((burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec).min(burst);
        *at = now.max(*at);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets the buckets that are full again at `now` (they hold nothing a fresh one would
    /// not), so the map holds only keys active in the last `burst / per_sec` seconds.
    pub fn prune(&mut self, now: Instant) {
        let (per_sec, burst) = (self.per_sec, self.burst);
        self.buckets.retain(|_, (tokens, at)| {
            *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec < burst
        });
    }

    /// Keys tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_rate() {
        let mut r = RateLimits::new(10.0, 5.0, 10);
        let t = Instant::now();
        assert_eq!((0..8).filter(|_| r.take(1u8, t)).count(), 5);
        // A tenth of a second gives one token back.
        assert!(r.take(1, t + Duration::from_millis(100)));
        assert!(!r.take(1, t + Duration::from_millis(100)));
        // Another key has its own bucket.
        assert!(r.take(2, t));
    }

    #[test]
    fn forgetting_only_full_buckets_refills_nothing() {
        let mut r = RateLimits::new(10.0, 5.0, 10);
        let t = Instant::now();
        while r.take(1u8, t) {}
        // Gone quiet (a reconnect, say) but not yet full: the bucket is kept and stays empty.
        r.prune(t + Duration::from_millis(50));
        assert_eq!(r.len(), 1);
        assert!(!r.take(1, t + Duration::from_millis(50)));
        // Full again after half a second: forgetting it changes nothing.
        r.prune(t + Duration::from_secs(1));
        assert!(r.is_empty());
    }

    #[test]
    fn bounded_by_keys() {
        let mut r = RateLimits::new(1.0, 1.0, 3);
        let t = Instant::now();
        for k in 0..100u32 {
            r.take(k, t + Duration::from_millis(k.into()));
        }
        assert_eq!(r.len(), 3);
        // The newest keys remain: the last one is still empty.
        assert!(!r.take(99, t + Duration::from_millis(99)));
    }
}
