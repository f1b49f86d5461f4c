//! Which of many keys was seen least recently, in O(1) per step: a doubly linked list
//! threaded through a hash map. The UDP server and relay use it to forget the source
//! quiet the longest when their table is full, and to find idle sources without a scan.

use std::collections::HashMap;
use std::hash::Hash;

struct Link<K> {
    older: Option<K>,
    newer: Option<K>,
}

/// Keys in the order they were last seen.
pub struct Recency<K> {
    links: HashMap<K, Link<K>>,
    oldest: Option<K>,
    newest: Option<K>,
}

impl<K: Copy + Eq + Hash> Default for Recency<K> {
    fn default() -> Self {
        Recency { links: HashMap::new(), oldest: None, newest: None }
    }
}

impl<K: Copy + Eq + Hash> Recency<K> {
    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// `key` was seen now: it becomes the newest (added if it was not there).
    pub fn touch(&mut self, key: K) {
        if self.newest == Some(key) {
            return;
        }
        if self.links.contains_key(&key) {
            self.unlink(key);
        }
        self.links.insert(key, Link { older: self.newest, newer: None });
        match self.newest {
            Some(n) => self.links.get_mut(&n).expect("linked").newer = Some(key),
            None => self.oldest = Some(key),
        }
        self.newest = Some(key);
    }

    pub fn remove(&mut self, key: K) {
        if self.links.contains_key(&key) {
            self.unlink(key);
        }
    }

    /// The key seen least recently.
    pub fn oldest(&self) -> Option<K> {
        self.oldest
    }

    /// Takes `key` out of the list and the map.
    fn unlink(&mut self, key: K) {
        let link = self.links.remove(&key).expect("checked by the caller");
        match link.older {
            Some(o) => self.links.get_mut(&o).expect("linked").newer = link.newer,
            None => self.oldest = link.newer,
        }
        match link.newer {
            Some(n) => self.links.get_mut(&n).expect("linked").older = link.older,
            None => self.newest = link.older,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(r: &Recency<u32>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = r.oldest;
        while let Some(k) = at {
            out.push(k);
            at = r.links[&k].newer;
        }
        out
    }

    #[test]
    fn the_least_recently_seen_comes_first() {
        let mut r = Recency::default();
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
