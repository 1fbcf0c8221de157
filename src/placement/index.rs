//! The engine's index: a minimum tree over instances that answers "the best eligible
//! instance" in O(1) and absorbs a change to one instance in O(log M).
//!
//! Within one plan the demand is fixed, so whether an instance passes every filter is a yes/no
//! fact per instance, and placing a task changes that fact (and the strategy keys) of the chosen
//! instance only. Each leaf therefore holds either nothing (the instance fails a filter) or the
//! instance's strategy keys packed into one integer; each inner node holds the best of its
//! children, and how many leaves tie with it, so that `random` can take the k-th tied leaf in
//! registration order by walking down once.
//!
//! Nothing here knows what a filter or a strategy is: the engine fills the leaves.

/// The most strategy rules whose keys fit one packed key (32 bits each).
pub(super) const MAX_PACKED_RULES: usize = 4;

/// The best leaf of a subtree: its packed key, its instance position, and how many leaves of the
/// subtree have that same key. `tied == 0` means the subtree holds no eligible instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Best {
    pub(super) key: u128,
    pub(super) position: u32,
    pub(super) tied: u32,
}

impl Best {
    /// An empty subtree.
    pub(super) const NONE: Best = Best {
        key: u128::MAX,
        position: u32::MAX,
        tied: 0,
    };

    /// A single eligible instance.
    pub(super) fn leaf(key: u128, position: u32) -> Best {
        Best {
            key,
            position,
            tied: 1,
        }
    }

    /// Whether the subtree holds an eligible instance.
    pub(super) fn is_some(self) -> bool {
        self.tied > 0
    }
}

/// Packs per-rule keys (each below 2^32, the first rule most significant) so that comparing the
/// packed integers compares the keys lexicographically.
pub(super) fn pack(keys: &[u32]) -> u128 {
    let mut packed = 0u128;
    for (rule, &key) in keys.iter().enumerate().take(MAX_PACKED_RULES) {
        packed |= u128::from(key) << (32 * (MAX_PACKED_RULES - 1 - rule));
    }
    packed
}

/// Replaces the first rule's key in a packed key.
pub(super) fn with_first(packed: u128, first: u32) -> u128 {
    let shift = 32 * (MAX_PACKED_RULES - 1);
    (packed & !(u128::from(u32::MAX) << shift)) | (u128::from(first) << shift)
}

/// Lower key first; on equal keys the lower position (PL-TIEBREAK), counting both as tied.
fn combine(left: Best, right: Best) -> Best {
    if !left.is_some() {
        return right;
    }
    if !right.is_some() {
        return left;
    }
    match left.key.cmp(&right.key) {
        std::cmp::Ordering::Less => left,
        std::cmp::Ordering::Greater => right,
        std::cmp::Ordering::Equal => Best {
            key: left.key,
            position: left.position.min(right.position),
            tied: left.tied + right.tied,
        },
    }
}

/// A complete binary tree of [`Best`] over `n` leaves, stored flat (root at 1, leaf `i` at
/// `size + i`).
#[derive(Clone, Debug, Default)]
pub(super) struct MinTree {
    size: usize,
    nodes: Vec<Best>,
}

impl MinTree {
    /// Empties the tree and gives it room for `n_leaves` leaves, all empty.
    pub(super) fn reset(&mut self, n_leaves: usize) {
        self.size = n_leaves.max(1).next_power_of_two();
        self.nodes.clear();
        self.nodes.resize(2 * self.size, Best::NONE);
    }

    /// How many leaves the tree has room for.
    pub(super) fn capacity(&self) -> usize {
        self.size
    }

    /// Sets a leaf without updating its ancestors; call [`MinTree::build`] afterwards.
    pub(super) fn set_raw(&mut self, leaf: usize, best: Best) {
        self.nodes[self.size + leaf] = best;
    }

    /// Recomputes every inner node from the leaves: O(n).
    pub(super) fn build(&mut self) {
        for node in (1..self.size).rev() {
            self.nodes[node] = combine(self.nodes[2 * node], self.nodes[2 * node + 1]);
        }
    }

    /// Sets a leaf and updates its ancestors: O(log n).
    pub(super) fn update(&mut self, leaf: usize, best: Best) {
        let mut node = self.size + leaf;
        self.nodes[node] = best;
        while node > 1 {
            node /= 2;
            let combined = combine(self.nodes[2 * node], self.nodes[2 * node + 1]);
            if self.nodes[node] == combined {
                // Nothing above can change either.
                break;
            }
            self.nodes[node] = combined;
        }
    }

    /// The best leaf of the whole tree.
    pub(super) fn root(&self) -> Best {
        self.nodes.get(1).copied().unwrap_or(Best::NONE)
    }

    /// The position of the `k`-th (from 0) leaf, in leaf order, among those tied with the root;
    /// `k` must be below `root().tied`. O(log n).
    pub(super) fn kth_tied(&self, mut k: u32) -> u32 {
        let key = self.root().key;
        let mut node = 1;
        while node < self.size {
            let left = self.nodes[2 * node];
            let in_left = if left.is_some() && left.key == key {
                left.tied
            } else {
                0
            };
            if k < in_left {
                node *= 2;
            } else {
                k -= in_left;
                node = 2 * node + 1;
            }
        }
        self.nodes[node].position
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree against a plain scan, over every prefix of a deterministic update sequence.
    #[test]
    fn min_tree_agrees_with_a_scan() {
        let mut rng = super::super::rng::SplitMix64::new(5);
        for n in [1usize, 2, 3, 7, 8, 33] {
            let mut leaves = vec![Best::NONE; n];
            let mut tree = MinTree::default();
            tree.reset(n);
            tree.build();
            for _ in 0..200 {
                let leaf = rng.draw_index(n);
                leaves[leaf] = if rng.draw_index(4) == 0 {
                    Best::NONE
                } else {
                    Best::leaf(rng.draw_index(3) as u128, leaf as u32)
                };
                tree.update(leaf, leaves[leaf]);
                let min = leaves.iter().filter(|b| b.is_some()).map(|b| b.key).min();
                let root = tree.root();
                match min {
                    None => assert!(!root.is_some()),
                    Some(min) => {
                        let tied: Vec<u32> = leaves
                            .iter()
                            .filter(|b| b.is_some() && b.key == min)
                            .map(|b| b.position)
                            .collect();
                        assert_eq!(root.key, min);
                        assert_eq!(root.tied as usize, tied.len());
                        assert_eq!(root.position, tied[0]);
                        for (k, &position) in tied.iter().enumerate() {
                            assert_eq!(tree.kth_tied(k as u32), position);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pack_orders_lexicographically() {
        assert!(pack(&[1, 0]) > pack(&[0, u32::MAX]));
        assert!(pack(&[1, 2]) < pack(&[1, 3]));
        assert_eq!(with_first(pack(&[0, 7]), 3), pack(&[3, 7]));
        assert_eq!(with_first(pack(&[9, 7]), 3), pack(&[3, 7]));
    }
}
