//! Which of many keys was seen least recently, in O(1) per step: a doubly linked list
//! threaded through a hash map. The UDP server and relay use it to forget the source
//! quiet the longest when their table is full, and to find idle sources without a scan.
//! A UDP server touches its source's key on every datagram, so a touch is four map
//! lookups, and keys the program gives out itself (ids) hash with [`IdHash`].

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

struct Link<K> {
    older: Option<K>,
    newer: Option<K>,
}

/// Keys in the order they were last seen.
pub struct Recency<K, S = RandomState> {
    links: HashMap<K, Link<K>, S>,
    oldest: Option<K>,
    newest: Option<K>,
}

/// For keys this program hands out in sequence (connection ids), never chosen by a peer:
/// a multiplication spreads them over the table, where SipHash would guard against
/// crafted keys that cannot occur. Peer addresses keep the default (SipHash) hasher.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the high bits, which the table uses, depend on every bit of n.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub type IdHash = BuildHasherDefault<IdHasher>;

impl<K: Copy + Eq + Hash, S: BuildHasher + Default> Default for Recency<K, S> {
    fn default() -> Self {
        Recency { links: HashMap::default(), oldest: None, newest: None }
    }
}

impl<K: Copy + Eq + Hash, S: BuildHasher> Recency<K, S> {
    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// `key` was seen now: it becomes the newest (added if it was not there).
    pub fn touch(&mut self, key: K) {
        let was_newest = self.newest;
        if was_newest == Some(key) {
            return;
        }
        match self.links.get_mut(&key) {
            Some(link) => {
                // Out of its place: it is not the newest, so something is newer.
                let (older, newer) = (link.older, link.newer);
                *link = Link { older: was_newest, newer: None };
                match older {
                    Some(o) => self.links.get_mut(&o).expect("linked").newer = newer,
                    None => self.oldest = newer,
                }
                let newer = newer.expect("a key that is not the newest has a newer one");
                self.links.get_mut(&newer).expect("linked").older = older;
            }
            None => {
                self.links.insert(key, Link { older: was_newest, newer: None });
                if was_newest.is_none() {
                    self.oldest = Some(key);
                }
            }
        }
        if let Some(n) = was_newest {
            self.links.get_mut(&n).expect("linked").newer = Some(key);
        }
        self.newest = Some(key);
    }

    pub fn remove(&mut self, key: K) {
        let Some(link) = self.links.remove(&key) else { return };
        match link.older {
            Some(o) => self.links.get_mut(&o).expect("linked").newer = link.newer,
            None => self.oldest = link.newer,
        }
        match link.newer {
            Some(n) => self.links.get_mut(&n).expect("linked").older = link.older,
            None => self.newest = link.older,
        }
    }

    /// The key seen least recently.
    pub fn oldest(&self) -> Option<K> {
        self.oldest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    /// Oldest to newest, walked both ways: the two walks must agree.
    fn order<S: BuildHasher>(r: &Recency<u32, S>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = r.oldest;
        while let Some(k) = at {
            out.push(k);
            at = r.links[&k].newer;
        }
        let mut back = Vec::new();
        let mut at = r.newest;
        while let Some(k) = at {
            back.push(k);
            at = r.links[&k].older;
        }
        back.reverse();
        assert_eq!(out, back, "the links older and newer disagree");
        assert_eq!(out.len(), r.len(), "every key is on the list once");
        out
    }

    proptest! {
        /// Against a plain list: any sequence of touches and removals leaves the keys in the
        /// order they were last touched, with either hasher.
        #[test]
        fn keys_stay_in_the_order_last_seen(steps in proptest::collection::vec((any::<bool>(), 0u32..12), 0..200)) {
            let mut model: Vec<u32> = Vec::new();
            let mut sip: Recency<u32> = Recency::default();
            let mut ids: Recency<u32, IdHash> = Recency::default();
            for (touch, k) in steps {
                model.retain(|&m| m != k);
                if touch {
                    model.push(k);
                    sip.touch(k);
                    ids.touch(k);
                } else {
                    sip.remove(k);
                    ids.remove(k);
                }
                prop_assert_eq!(order(&sip), model.clone());
                prop_assert_eq!(order(&ids), model.clone());
                prop_assert_eq!(sip.oldest(), model.first().copied());
            }
        }
    }

    #[test]
    fn sequential_ids_spread_over_the_high_bits() {
        // hashbrown takes its 7 control bits from the top of the hash: ids in sequence
        // must not share them all.
        let tops: std::collections::HashSet<u64> =
            (1..=128u64).map(|id| IdHash::default().hash_one(id) >> 57).collect();
        assert!(tops.len() > 64, "only {} distinct top bits for 128 ids", tops.len());
    }

    #[test]
    fn the_least_recently_seen_comes_first() {
        let mut r: Recency<u32> = Recency::default();
        for k in [1, 2, 3, 4] {
            r.touch(k);
        }
        assert_eq!(order(&r), [1, 2, 3, 4]);
        r.touch(1);
        assert_eq!(order(&r), [2, 3, 4, 1]);
        r.touch(3);
        assert_eq!(order(&r), [2, 4, 1, 3]);
        r.touch(3);
        assert_eq!(order(&r), [2, 4, 1, 3]);
        r.remove(2);
        assert_eq!((r.oldest(), r.len()), (Some(4), 3));
        r.remove(3);
        r.remove(3);
        assert_eq!(order(&r), [4, 1]);
        r.remove(4);
        r.remove(1);
        assert!(r.is_empty() && r.oldest().is_none());
        r.touch(9);
        assert_eq!(order(&r), [9]);
    }
}
