//! Compact binary encodings of the consensus records (fixed-width fields, length-prefixed
//! hash lists), several times smaller and faster than JSON for wide mergesets.

use crate::ghostdag::GhostdagData;
use crate::reachability::{Interval, ReachabilityData};
use crate::types::{BlockHash, BlockHashMap};
use alloy_primitives::U256;
use lattice_storage::{Codec, CodecError};
use std::sync::Arc;

/// A [`GhostdagData`] as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGhostdag(pub Arc<GhostdagData>);

/// A [`ReachabilityData`] as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReachability(pub ReachabilityData);

/// A list of block hashes as stored (a block's children).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredHashes(pub Arc<Vec<BlockHash>>);

fn put_hashes<'a>(out: &mut Vec<u8>, hashes: impl ExactSizeIterator<Item = &'a BlockHash>) {
    out.extend_from_slice(&(hashes.len() as u32).to_be_bytes());
    for h in hashes {
        out.extend_from_slice(h.as_slice());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.bytes.len() < n {
            return Err(CodecError::new(self.what, "truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u16(&mut self) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn hash(&mut self) -> Result<BlockHash, CodecError> {
        Ok(BlockHash::from_slice(self.take(32)?))
    }
    fn hashes(&mut self) -> Result<Vec<BlockHash>, CodecError> {
        let n = self.u32()? as usize;
        (0..n).map(|_| self.hash()).collect()
    }
    fn done(self) -> Result<(), CodecError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(CodecError::new(self.what, "trailing bytes"))
        }
    }
}

impl Codec for StoredGhostdag {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let d = &self.0;
        out.extend_from_slice(&d.blue_score.to_be_bytes());
        out.extend_from_slice(&d.blue_work.to_be_bytes::<32>());
        out.extend_from_slice(d.selected_parent.as_slice());
        put_hashes(out, d.mergeset_blues.iter());
        put_hashes(out, d.mergeset_reds.iter());
        let mut sizes: Vec<_> = d.blues_anticone_sizes.iter().collect();
        sizes.sort_unstable_by_key(|(h, _)| **h);
        out.extend_from_slice(&(sizes.len() as u32).to_be_bytes());
        for (h, k) in sizes {
            out.extend_from_slice(h.as_slice());
            out.extend_from_slice(&k.to_be_bytes());
        }
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader { bytes, what: "ghostdag data" };
        let blue_score = r.u64()?;
        let blue_work = U256::from_be_slice(r.take(32)?);
        let selected_parent = r.hash()?;
        let mergeset_blues = r.hashes()?;
        let mergeset_reds = r.hashes()?;
        let n = r.u32()? as usize;
        let mut blues_anticone_sizes = BlockHashMap::default();
        for _ in 0..n {
            let h = r.hash()?;
            blues_anticone_sizes.insert(h, r.u16()?);
        }
        r.done()?;
        Ok(Self(Arc::new(GhostdagData {
            blue_score,
            blue_work,
            selected_parent,
            mergeset_blues,
            mergeset_reds,
            blues_anticone_sizes,
        })))
    }
}

impl Codec for StoredHashes {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_hashes(out, self.0.iter());
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader { bytes, what: "block hash list" };
        let hashes = r.hashes()?;
        r.done()?;
        Ok(Self(Arc::new(hashes)))
    }
}

impl Codec for StoredReachability {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let d = &self.0;
        out.extend_from_slice(d.parent.as_slice());
        out.extend_from_slice(&d.interval.start.to_be_bytes());
        out.extend_from_slice(&d.interval.end.to_be_bytes());
        out.extend_from_slice(&d.height.to_be_bytes());
        put_hashes(out, d.children.iter());
        put_hashes(out, d.future_covering_set.iter());
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader { bytes, what: "reachability data" };
        let parent = r.hash()?;
        let interval = Interval { start: r.u64()?, end: r.u64()? };
        let height = r.u64()?;
        let children = Arc::new(r.hashes()?);
        let future_covering_set = Arc::new(r.hashes()?);
        r.done()?;
        Ok(Self(ReachabilityData { parent, interval, height, children, future_covering_set }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_roundtrip() {
        let mut sizes = BlockHashMap::default();
        sizes.insert(BlockHash::repeat_byte(3), 7u16);
        let g = GhostdagData {
            blue_score: 9,
            blue_work: U256::from(12345),
            selected_parent: BlockHash::repeat_byte(1),
            mergeset_blues: vec![BlockHash::repeat_byte(1), BlockHash::repeat_byte(3)],
            mergeset_reds: vec![BlockHash::repeat_byte(4)],
            blues_anticone_sizes: sizes,
        };
        assert_eq!(
            *StoredGhostdag::decode(&StoredGhostdag(Arc::new(g.clone())).encode()).unwrap().0,
            g
        );
        let r = ReachabilityData {
            parent: BlockHash::repeat_byte(1),
            interval: Interval { start: 5, end: 99 },
            height: 3,
            children: Arc::new(vec![BlockHash::repeat_byte(2)]),
            future_covering_set: Arc::new(vec![]),
        };
        assert_eq!(
            StoredReachability::decode(&StoredReachability(r.clone()).encode()).unwrap().0,
            r
        );
        assert!(StoredGhostdag::decode(&[1, 2, 3]).is_err());
        let list =
            StoredHashes(Arc::new(vec![BlockHash::repeat_byte(5), BlockHash::repeat_byte(6)]));
        assert_eq!(StoredHashes::decode(&list.encode()).unwrap(), list);
        let mut long = list.encode();
        long.push(0);
        assert!(StoredHashes::decode(&long).is_err());
    }
}
