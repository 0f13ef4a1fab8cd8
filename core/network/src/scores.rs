//! Peer scores and bans. A peer loses score only for what is provably its own fault (see
//! [`Offence`]); scores recover with time, so an old mistake is forgiven; a peer whose score
//! falls to [`BAN_SCORE`] is banned for [`crate::BAN_DURATION`]. Both tables are bounded.

use libp2p::PeerId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Score at which a peer is banned.
pub const BAN_SCORE: i64 = -100;
/// Score points a peer regains per minute, up to 0.
pub const RECOVERY_PER_MINUTE: i64 = 10;
/// Most peers whose (negative) scores are remembered; the mildest are forgotten first.
pub const MAX_SCORED_PEERS: usize = 4_096;
/// Most peers banned at once; beyond it the ban that ends soonest is lifted early.
pub const MAX_BANNED_PEERS: usize = 1_024;

/// What a peer did wrong. Each is checkable from what the peer sent alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Offence {
    /// Gossiped or served bytes that do not decode as a block.
    UndecodableBlock,
    /// A block that breaks a rule checkable from the block and its past.
    InvalidBlock,
    /// Gossiped bytes that do not decode as a transaction.
    UndecodableTransaction,
    /// A transaction with an invalid signature.
    InvalidTransaction,
    /// A response that does not fit the request, or is malformed.
    BadResponse,
    /// Claimed more blue work than it served when asked.
    ClaimedWorkNotServed,
    /// Another chain (genesis or chain id).
    WrongChain,
    /// Sent more requests or messages than the rate limit allows.
    RateLimited,
}

impl Offence {
    /// Score lost.
    pub fn penalty(self) -> i64 {
        match self {
            // Deliberate: another chain, or a lie about its work to make us sync from it.
            Self::WrongChain | Self::ClaimedWorkNotServed => -BAN_SCORE,
            Self::InvalidBlock => 50,
            Self::UndecodableBlock | Self::BadResponse => 25,
            Self::InvalidTransaction | Self::UndecodableTransaction => 10,
            Self::RateLimited => 5,
        }
    }

    /// A short machine-readable name, for metrics and logs.
    pub fn kind(self) -> &'static str {
        match self {
            Self::UndecodableBlock => "undecodable_block",
            Self::InvalidBlock => "invalid_block",
            Self::UndecodableTransaction => "undecodable_transaction",
            Self::InvalidTransaction => "invalid_transaction",
            Self::BadResponse => "bad_response",
            Self::ClaimedWorkNotServed => "claimed_work_not_served",
            Self::WrongChain => "wrong_chain",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Scores of misbehaving peers and the bans in force.
#[derive(Debug, Default)]
pub struct Scores {
    scores: HashMap<PeerId, (i64, Instant)>,
    banned: HashMap<PeerId, Instant>,
}

/// What a penalty led to.
#[derive(Debug, PartialEq, Eq)]
pub struct Penalised {
    /// The peer's score now.
    pub score: i64,
    /// It is banned now.
    pub banned: bool,
    /// A ban lifted early to keep the ban table bounded.
    pub unbanned: Option<PeerId>,
}

impl Scores {
    fn current(&self, peer: &PeerId, now: Instant) -> i64 {
        self.scores.get(peer).map_or(0, |(score, at)| {
            let minutes = now.saturating_duration_since(*at).as_secs() as i64 / 60;
            (score + minutes.saturating_mul(RECOVERY_PER_MINUTE)).min(0)
        })
    }

    /// The peer's score at `now` (0 for a peer with no record).
    #[cfg(test)]
    pub fn score(&self, peer: &PeerId, now: Instant) -> i64 {
        self.current(peer, now)
    }

    /// Takes `offence`'s penalty from `peer`; bans it when its score falls to [`BAN_SCORE`].
    pub fn penalise(
        &mut self,
        peer: PeerId,
        offence: Offence,
        now: Instant,
        ban_for: Duration,
    ) -> Penalised {
        let score = self.current(&peer, now) - offence.penalty();
        if score > BAN_SCORE {
            self.scores.insert(peer, (score, now));
            if self.scores.len() > MAX_SCORED_PEERS {
                // Forget the mildest record.
                // Never the peer just penalised: it must not escape by the table's bound.
                if let Some(mildest) = self
                    .scores
                    .keys()
                    .filter(|p| **p != peer)
                    .max_by_key(|p| self.current(p, now))
                    .copied()
                {
                    self.scores.remove(&mildest);
                }
            }
            return Penalised { score, banned: false, unbanned: None };
        }
        self.scores.remove(&peer);
        let unbanned = if self.banned.len() >= MAX_BANNED_PEERS && !self.banned.contains_key(&peer)
        {
            let soonest = self.banned.iter().min_by_key(|(_, until)| **until).map(|(p, _)| *p);
            soonest.inspect(|p| {
                self.banned.remove(p);
            })
        } else {
            None
        };
        self.banned.insert(peer, now + ban_for);
        Penalised { score, banned: true, unbanned }
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, peer: &PeerId, now: Instant) -> bool {
        self.banned.get(peer).is_some_and(|until| *until > now)
    }

    /// Lifts the bans that ended by `now`; returns those peers.
    pub fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let ended: Vec<PeerId> =
            self.banned.iter().filter(|(_, until)| **until <= now).map(|(p, _)| *p).collect();
        for peer in &ended {
            self.banned.remove(peer);
        }
        // Records that recovered fully carry no information.
        self.scores.retain(|_, (score, at)| {
            let minutes = now.saturating_duration_since(*at).as_secs() as i64 / 60;
            *score + minutes.saturating_mul(RECOVERY_PER_MINUTE) < 0
        });
        ended
    }

    /// Banned peers now.
    pub fn banned_count(&self) -> usize {
        self.banned.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAN: Duration = Duration::from_secs(600);

    #[test]
    fn two_invalid_blocks_ban_and_the_ban_ends() {
        let mut s = Scores::default();
        let (p, t) = (PeerId::random(), Instant::now());
        assert!(!s.penalise(p, Offence::InvalidBlock, t, BAN).banned);
        assert!(s.penalise(p, Offence::InvalidBlock, t, BAN).banned);
        assert!(s.is_banned(&p, t + Duration::from_secs(599)));
        assert_eq!(s.expire(t + BAN), vec![p]);
        assert!(!s.is_banned(&p, t + BAN));
    }

    #[test]
    fn scores_recover_with_time() {
        let mut s = Scores::default();
        let (p, t) = (PeerId::random(), Instant::now());
        s.penalise(p, Offence::InvalidBlock, t, BAN);
        assert_eq!(s.score(&p, t + Duration::from_secs(120)), -30);
        // An hour later the old offence is forgiven: one more does not ban.
        let later = t + Duration::from_secs(3_600);
        assert_eq!(s.score(&p, later), 0);
        assert!(!s.penalise(p, Offence::InvalidBlock, later, BAN).banned);
        s.expire(later + Duration::from_secs(3_600));
        assert!(s.scores.is_empty(), "fully recovered records are dropped");
    }

    #[test]
    fn the_tables_are_bounded() {
        let mut s = Scores::default();
        let t = Instant::now();
        for _ in 0..MAX_BANNED_PEERS + 10 {
            let p = PeerId::random();
            s.penalise(p, Offence::WrongChain, t, BAN);
        }
        assert_eq!(s.banned_count(), MAX_BANNED_PEERS);
        for _ in 0..MAX_SCORED_PEERS + 10 {
            s.penalise(PeerId::random(), Offence::RateLimited, t, BAN);
        }
        assert_eq!(s.scores.len(), MAX_SCORED_PEERS);
    }
}
