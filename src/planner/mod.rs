//! The offline capacity planner: how few identical container instances hold a set of tasks,
//! as multi-dimensional (vector) bin packing over CPU units, MiB and GPUs.
//!
//! Unlike placement, the planner sees every task up front and may put them in any order. It
//! runs several first-fit-decreasing variants, keeps the best, then tries to empty bins with a
//! local search bounded by an iteration budget (never by the clock: the crate has none), so the
//! same [`Problem`] and [`Options`] always give the same [`Packing`].
//!
//! # How it packs
//!
//! 1. **Lower bound** ([`lower_bound`]): per dimension, the total demand over the capacity,
//!    rounded up; the largest of these. No packing uses fewer bins.
//! 2. **FFD variants**: items sorted by decreasing max, sum or product of their sizes relative
//!    to the capacity (and by each dimension alone), each order packed first-fit and best-fit;
//!    the packing with the fewest bins wins.
//! 3. **Local search** (after Buljubašić and Vasquez's consistent neighbourhood search, reduced):
//!    to go from `k` to `k - 1` bins, the lightest bin is emptied into a pool of unplaced items.
//!    Each step then (a) puts pool items into bins where they fit, (b) swaps up to two pool items
//!    with up to two items of a bin when that moves more relative size into the bins, and
//!    otherwise (c) forces a random pool item into a random bin, evicting the lightest items
//!    that block it, which may not move back for a while (tabu). An empty pool is a packing with
//!    `k - 1` bins; the search stops at the lower bound or when the budget is spent. Each step
//!    costs one unit of [`Options::iterations`]. Randomness comes from a seeded SplitMix64.
//!
//! Ports and placement constraints are not modelled: every bin is identical and every item
//! fits any bin with room.
//!
//! # Example
//!
//! ```
//! use stowplan::planner::{self, Options, Problem, Resources};
//!
//! let problem = Problem {
//!     capacity: Resources::new(1024, 2048),
//!     items: vec![Resources::new(512, 1024); 4],
//! };
//! let packing = planner::pack(&problem, &Options::default())?;
//! assert_eq!(packing.n_bins(), 2);
//! assert_eq!(packing.lower_bound(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::placement::rng::SplitMix64;

/// The number of resource dimensions: CPU units, MiB, GPUs.
const DIMS: usize = 3;

/// An amount of each resource: a task's demand or an instance's capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    /// CPU units.
    pub cpu: u64,
    /// MiB of memory.
    pub memory: u64,
    /// GPUs.
    pub gpus: u64,
}

impl Resources {
    /// Returns `cpu` units and `memory` MiB, no GPUs.
    #[must_use]
    pub fn new(cpu: u64, memory: u64) -> Resources {
        Resources {
            cpu,
            memory,
            gpus: 0,
        }
    }

    /// Sets the GPUs.
    #[must_use]
    pub fn with_gpus(mut self, gpus: u64) -> Resources {
        self.gpus = gpus;
        self
    }

    fn to_array(self) -> [u64; DIMS] {
        [self.cpu, self.memory, self.gpus]
    }
}

/// What to pack: identical bins of `capacity`, and the items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problem {
    /// The capacity of every bin (container instance).
    pub capacity: Resources,
    /// The demand of every item (task).
    pub items: Vec<Resources>,
}

impl Problem {
    /// Reads the plain-text 2-D vector bin-packing format (the one of the classic
    /// Caprara–Toth / Spieksma instance sets): the item count `n`, the two bin capacities
    /// (read as CPU units and MiB), then `index size1 size2` for each item, all as
    /// whitespace-separated integers.
    ///
    /// ```
    /// use stowplan::planner::{Problem, Resources};
    ///
    /// let problem = Problem::from_vbp_text("2  10 20  1 5 5  2 6 9")?;
    /// assert_eq!(problem.capacity, Resources::new(10, 20));
    /// assert_eq!(problem.items, vec![Resources::new(5, 5), Resources::new(6, 9)]);
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_vbp_text(text: &str) -> Result<Problem, String> {
        let numbers = text
            .split_whitespace()
            .map(|token| {
                token
                    .parse::<u64>()
                    .map_err(|_| format!("not an integer: {token:?}"))
            })
            .collect::<Result<Vec<u64>, String>>()?;
        let (&n, rest) = numbers.split_first().ok_or("empty file")?;
        let expected = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(3))
            .and_then(|n| n.checked_add(2))
            .ok_or("item count too large")?;
        if rest.len() != expected {
            return Err(format!(
                "expected {expected} numbers after n, found {}",
                rest.len()
            ));
        }
        Ok(Problem {
            capacity: Resources::new(rest[0], rest[1]),
            items: rest[2..]
                .chunks(3)
                .map(|item| Resources::new(item[1], item[2]))
                .collect(),
        })
    }
}

/// How hard to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Local-search steps at most (each step is a bounded amount of work, O(bins × items²)).
    pub iterations: u64,
    /// The seed of the local search's generator.
    pub seed: u64,
}

impl Default for Options {
    /// 8,000 steps: about 0.2 s at most for the 200-item vbp instances on one core (release).
    fn default() -> Options {
        Options {
            iterations: 8_000,
            seed: 0x5eed,
        }
    }
}

impl Options {
    /// Sets the step budget.
    #[must_use]
    pub fn with_iterations(mut self, iterations: u64) -> Options {
        self.iterations = iterations;
        self
    }
}

/// A packing: which items share each bin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packing {
    bins: Vec<Vec<usize>>,
    lower_bound: usize,
}

impl Packing {
    /// Returns the bins, each a list of item indexes (ascending), bins in a deterministic order.
    #[must_use]
    pub fn bins(&self) -> &[Vec<usize>] {
        &self.bins
    }

    /// Returns the number of bins used.
    #[must_use]
    pub fn n_bins(&self) -> usize {
        self.bins.len()
    }

    /// Returns the lower bound of the problem ([`lower_bound`]).
    #[must_use]
    pub fn lower_bound(&self) -> usize {
        self.lower_bound
    }
}

/// Why a problem cannot be packed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// An item is larger than an empty bin in some dimension.
    #[error("item {item} does not fit an empty bin")]
    ItemTooLarge {
        /// Its index.
        item: usize,
    },
}

/// Returns the dimension-wise lower bound: `max_d ceil(sum of item sizes in d / capacity in d)`.
///
/// # Example
///
/// ```
/// use stowplan::planner::{Problem, Resources, lower_bound};
///
/// // CPU needs 3 x 400 / 1000 -> 2 bins; memory 3 x 100 / 1000 -> 1.
/// let problem = Problem {
///     capacity: Resources::new(1000, 1000),
///     items: vec![Resources::new(400, 100); 3],
/// };
/// assert_eq!(lower_bound(&problem), 2);
/// ```
#[must_use]
pub fn lower_bound(problem: &Problem) -> usize {
    let capacity = problem.capacity.to_array();
    (0..DIMS)
        .map(|d| {
            let total: u64 = problem.items.iter().map(|item| item.to_array()[d]).sum();
            if capacity[d] == 0 {
                0
            } else {
                usize::try_from(total.div_ceil(capacity[d])).unwrap_or(usize::MAX)
            }
        })
        .max()
        .unwrap_or(0)
}

/// Packs the items into as few bins as it can find within the budget.
///
/// # Errors
///
/// [`PlanError::ItemTooLarge`] when an item exceeds the capacity in some dimension.
pub fn pack(problem: &Problem, options: &Options) -> Result<Packing, PlanError> {
    let capacity = problem.capacity.to_array();
    let items: Vec<[u64; DIMS]> = problem.items.iter().map(|item| item.to_array()).collect();
    if let Some(item) = items
        .iter()
        .position(|size| (0..DIMS).any(|d| size[d] > capacity[d]))
    {
        return Err(PlanError::ItemTooLarge { item });
    }
    let lower_bound = lower_bound(problem);
    let packer = Packer::new(capacity, items);
    let mut best = packer.best_ffd();
    if best.len() > lower_bound {
        best = packer.improve(best, lower_bound, options);
    }
    let mut bins: Vec<Vec<usize>> = best
        .into_iter()
        .map(|mut bin| {
            bin.sort_unstable();
            bin
        })
        .collect();
    bins.sort_unstable();
    Ok(Packing { bins, lower_bound })
}

/// Items and capacity with the relative sizes the heuristics rank by.
struct Packer {
    capacity: [u64; DIMS],
    items: Vec<[u64; DIMS]>,
    /// Sum over dimensions of size / capacity: the weight the local search moves into bins.
    weight: Vec<f64>,
}

/// A sort key over an item's relative sizes.
type SortKey<'k> = &'k dyn Fn(&[f64; DIMS]) -> f64;

/// One or two items: the first, and the second if any.
type Group = (usize, Option<usize>);

/// A swap: its gain, the bin, the bin's slots moved out, the pool items moved in.
type Swap = (f64, usize, Group, Group);

/// A bin under construction: its items and their summed sizes.
#[derive(Clone, Debug, Default)]
struct Bin {
    items: Vec<usize>,
    load: [u64; DIMS],
}

impl Packer {
    fn new(capacity: [u64; DIMS], items: Vec<[u64; DIMS]>) -> Packer {
        let weight = items
            .iter()
            .map(|size| relative(capacity, size).iter().sum())
            .collect();
        Packer {
            capacity,
            items,
            weight,
        }
    }

    fn fits(&self, load: &[u64; DIMS], item: usize) -> bool {
        let size = &self.items[item];
        (0..DIMS).all(|d| load[d] + size[d] <= self.capacity[d])
    }

    fn slack(&self, load: &[u64; DIMS]) -> f64 {
        relative(self.capacity, load)
            .iter()
            .map(|used| 1.0 - used)
            .sum()
    }

    /// The best of the first-fit / best-fit decreasing variants.
    fn best_ffd(&self) -> Vec<Vec<usize>> {
        let n = self.items.len();
        let relatives: Vec<[f64; DIMS]> = self
            .items
            .iter()
            .map(|size| relative(self.capacity, size))
            .collect();
        let active: Vec<usize> = (0..DIMS).filter(|&d| self.capacity[d] > 0).collect();
        let keys: [SortKey<'_>; 5] = [
            &|r| active.iter().map(|&d| r[d]).fold(0.0, f64::max),
            &|r| active.iter().map(|&d| r[d]).sum(),
            &|r| active.iter().map(|&d| r[d]).product(),
            &|r| r[0],
            &|r| r[1],
        ];
        let mut best: Option<Vec<Vec<usize>>> = None;
        for key in keys {
            let mut order: Vec<usize> = (0..n).collect();
            // Decreasing key; ties keep input order (stable sort).
            order.sort_by(|&a, &b| key(&relatives[b]).total_cmp(&key(&relatives[a])));
            for best_fit in [false, true] {
                let bins = self.greedy(&order, best_fit);
                if best.as_ref().is_none_or(|b| bins.len() < b.len()) {
                    best = Some(bins);
                }
            }
        }
        best.unwrap_or_default()
    }

    fn greedy(&self, order: &[usize], best_fit: bool) -> Vec<Vec<usize>> {
        let mut bins: Vec<Bin> = Vec::new();
        for &item in order {
            let mut chosen: Option<(usize, f64)> = None;
            for (bin_idx, bin) in bins.iter().enumerate() {
                if !self.fits(&bin.load, item) {
                    continue;
                }
                if !best_fit {
                    chosen = Some((bin_idx, 0.0));
                    break;
                }
                let slack = self.slack(&bin.load);
                if chosen.is_none_or(|(_, best)| slack < best) {
                    chosen = Some((bin_idx, slack));
                }
            }
            let bin_idx = match chosen {
                Some((bin_idx, _)) => bin_idx,
                None => {
                    bins.push(Bin::default());
                    bins.len() - 1
                }
            };
            self.put(&mut bins[bin_idx], item);
        }
        bins.into_iter().map(|bin| bin.items).collect()
    }

    fn put(&self, bin: &mut Bin, item: usize) {
        for (d, load) in bin.load.iter_mut().enumerate() {
            *load += self.items[item][d];
        }
        bin.items.push(item);
    }

    fn take(&self, bin: &mut Bin, slot: usize) -> usize {
        let item = bin.items.swap_remove(slot);
        for (d, load) in bin.load.iter_mut().enumerate() {
            *load -= self.items[item][d];
        }
        item
    }

    /// Local search: empties one bin at a time while the budget lasts.
    fn improve(
        &self,
        mut best: Vec<Vec<usize>>,
        lower_bound: usize,
        options: &Options,
    ) -> Vec<Vec<usize>> {
        let mut rng = SplitMix64::new(options.seed);
        let mut budget = options.iterations;
        while best.len() > lower_bound && budget > 0 {
            let mut bins: Vec<Bin> = best
                .iter()
                .map(|items| {
                    let mut bin = Bin::default();
                    for &item in items {
                        self.put(&mut bin, item);
                    }
                    bin
                })
                .collect();
            // Empty the lightest bin (ties: the later one) into the pool.
            let lightest = (0..bins.len())
                .min_by(|&a, &b| {
                    self.bin_weight(&bins[a])
                        .total_cmp(&self.bin_weight(&bins[b]))
                        .then(b.cmp(&a))
                })
                .unwrap_or(0);
            let pool = bins.swap_remove(lightest).items;
            match self.search(bins, pool, &mut budget, &mut rng) {
                Some(bins) => best = bins.into_iter().map(|bin| bin.items).collect(),
                None => break,
            }
        }
        best
    }

    fn bin_weight(&self, bin: &Bin) -> f64 {
        bin.items.iter().map(|&item| self.weight[item]).sum()
    }

    /// Tries to place the pool into `bins` without opening a bin; `None` when the budget ends.
    fn search(
        &self,
        mut bins: Vec<Bin>,
        mut pool: Vec<usize>,
        budget: &mut u64,
        rng: &mut SplitMix64,
    ) -> Option<Vec<Bin>> {
        // Tabu: item -> the step until which it may not re-enter the bin it was evicted from.
        let mut tabu: Vec<(usize, u64)> = vec![(usize::MAX, 0); self.items.len()];
        let mut step = 0u64;
        while *budget > 0 {
            *budget -= 1;
            step += 1;
            // (a) Direct insertion, heaviest pool item first, into the fullest bin that takes it.
            pool.sort_by(|&a, &b| self.weight[b].total_cmp(&self.weight[a]).then(a.cmp(&b)));
            let mut slot = 0;
            while slot < pool.len() {
                let item = pool[slot];
                let target = (0..bins.len())
                    .filter(|&bin_idx| self.fits(&bins[bin_idx].load, item))
                    .min_by(|&a, &b| {
                        self.slack(&bins[a].load)
                            .total_cmp(&self.slack(&bins[b].load))
                            .then(a.cmp(&b))
                    });
                match target {
                    Some(bin_idx) => {
                        self.put(&mut bins[bin_idx], item);
                        pool.remove(slot);
                    }
                    None => slot += 1,
                }
            }
            if pool.is_empty() {
                return Some(bins);
            }
            // (b) The best improving swap of up to two pool items against up to two bin items.
            if self.best_swap(&mut bins, &mut pool, &tabu, step) {
                continue;
            }
            // (c) Force a random pool item into a random bin, evicting the lightest blockers.
            let item = pool[rng.draw_index(pool.len())];
            let bin_idx = rng.draw_index(bins.len());
            let bin = &mut bins[bin_idx];
            let mut evicted = Vec::new();
            while !self.fits(&bin.load, item) {
                let lightest = (0..bin.items.len())
                    .min_by(|&a, &b| {
                        self.weight[bin.items[a]]
                            .total_cmp(&self.weight[bin.items[b]])
                            .then(a.cmp(&b))
                    })
                    .unwrap_or(0);
                evicted.push(self.take(bin, lightest));
            }
            self.put(bin, item);
            pool.retain(|&p| p != item);
            for evicted_item in evicted {
                tabu[evicted_item] = (bin_idx, step + 10 + rng.draw_index(10) as u64);
                pool.push(evicted_item);
            }
        }
        None
    }

    /// Finds the swap (bin items out, pool items in) that moves the most weight into the bins,
    /// if any moves some, and applies it.
    fn best_swap(
        &self,
        bins: &mut [Bin],
        pool: &mut Vec<usize>,
        tabu: &[(usize, u64)],
        step: u64,
    ) -> bool {
        let allowed = |item: usize, bin_idx: usize| tabu[item].0 != bin_idx || tabu[item].1 < step;
        // Pool groups of one or two items.
        let mut groups: Vec<Group> = Vec::new();
        for (a, &first) in pool.iter().enumerate() {
            groups.push((first, None));
            for &second in &pool[a + 1..] {
                groups.push((first, Some(second)));
            }
        }
        let mut best: Option<Swap> = None;
        for (bin_idx, bin) in bins.iter().enumerate() {
            let n_items = bin.items.len();
            // Bin groups of one or two items (as slots).
            for out_first in 0..n_items {
                for out_second in std::iter::once(None).chain((out_first + 1..n_items).map(Some)) {
                    let mut load = bin.load;
                    let mut out_weight = 0.0;
                    for slot in std::iter::once(out_first).chain(out_second) {
                        let item = bin.items[slot];
                        out_weight += self.weight[item];
                        for (d, cell) in load.iter_mut().enumerate() {
                            *cell -= self.items[item][d];
                        }
                    }
                    for &(in_first, in_second) in &groups {
                        if !allowed(in_first, bin_idx)
                            || in_second.is_some_and(|item| !allowed(item, bin_idx))
                        {
                            continue;
                        }
                        let in_weight =
                            self.weight[in_first] + in_second.map_or(0.0, |item| self.weight[item]);
                        let gain = in_weight - out_weight;
                        if gain <= 1e-12 || best.is_some_and(|(best_gain, ..)| gain <= best_gain) {
                            continue;
                        }
                        let mut after = load;
                        let mut fits = true;
                        for item in std::iter::once(in_first).chain(in_second) {
                            for (d, cell) in after.iter_mut().enumerate() {
                                *cell += self.items[item][d];
                                fits &= *cell <= self.capacity[d];
                            }
                        }
                        if fits {
                            best = Some((
                                gain,
                                bin_idx,
                                (out_first, out_second),
                                (in_first, in_second),
                            ));
                        }
                    }
                }
            }
        }
        let Some((_, bin_idx, (out_first, out_second), (in_first, in_second))) = best else {
            return false;
        };
        let bin = &mut bins[bin_idx];
        // Take the higher slot first so that the lower one stays valid under swap_remove.
        let mut slots: Vec<usize> = std::iter::once(out_first).chain(out_second).collect();
        slots.sort_unstable_by(|a, b| b.cmp(a));
        let mut out = Vec::new();
        for slot in slots {
            out.push(self.take(bin, slot));
        }
        for item in std::iter::once(in_first).chain(in_second) {
            self.put(bin, item);
            pool.retain(|&p| p != item);
        }
        pool.extend(out);
        true
    }
}

/// Sizes relative to the capacity; a dimension of capacity 0 counts 0.
fn relative(capacity: [u64; DIMS], size: &[u64; DIMS]) -> [f64; DIMS] {
    let mut relative = [0.0; DIMS];
    for d in 0..DIMS {
        if capacity[d] > 0 {
            relative[d] = size[d] as f64 / capacity[d] as f64;
        }
    }
    relative
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(problem: &Problem) -> Packing {
        let packing = pack(problem, &Options::default()).unwrap();
        // Every item exactly once, no bin over capacity.
        let mut seen = vec![false; problem.items.len()];
        for bin in packing.bins() {
            let mut load = Resources::default();
            for &item in bin {
                assert!(!seen[item]);
                seen[item] = true;
                load.cpu += problem.items[item].cpu;
                load.memory += problem.items[item].memory;
                load.gpus += problem.items[item].gpus;
            }
            assert!(load.cpu <= problem.capacity.cpu);
            assert!(load.memory <= problem.capacity.memory);
            assert!(load.gpus <= problem.capacity.gpus);
        }
        assert!(seen.iter().all(|&s| s));
        assert!(packing.n_bins() >= packing.lower_bound());
        packing
    }

    #[test]
    fn planner_empty_and_too_large() {
        let empty = Problem {
            capacity: Resources::new(1, 1),
            items: Vec::new(),
        };
        assert_eq!(check(&empty).n_bins(), 0);
        let too_large = Problem {
            capacity: Resources::new(1, 1),
            items: vec![Resources::new(1, 1), Resources::new(2, 1)],
        };
        assert_eq!(
            pack(&too_large, &Options::default()),
            Err(PlanError::ItemTooLarge { item: 1 })
        );
    }

    #[test]
    fn planner_local_search_finds_the_perfect_triplets_ffd_misses() {
        // Items that fill bins exactly in triplets (a + b + c = 1000 per dimension); FFD by
        // size pairs the large ones badly. The optimum is n / 3 bins.
        let triplets = [
            (460, 300, 240),
            (450, 320, 230),
            (420, 330, 250),
            (410, 350, 240),
            (400, 360, 240),
            (380, 370, 250),
        ];
        let mut items = Vec::new();
        for (k, &(a, b, c)) in triplets.iter().enumerate() {
            let (x, y, z) = triplets[(k + 1) % triplets.len()];
            items.push(Resources::new(a, z));
            items.push(Resources::new(b, y));
            items.push(Resources::new(c, x));
        }
        let problem = Problem {
            capacity: Resources::new(1000, 1000),
            items,
        };
        let packing = check(&problem);
        assert_eq!(packing.lower_bound(), 6);
        assert!(packing.n_bins() <= 7, "{} bins", packing.n_bins());
    }

    #[test]
    fn planner_gpus_are_a_dimension() {
        let problem = Problem {
            capacity: Resources::new(4096, 8192).with_gpus(1),
            items: vec![Resources::new(1, 1).with_gpus(1); 3],
        };
        assert_eq!(check(&problem).n_bins(), 3);
    }

    #[test]
    fn planner_same_input_same_packing() {
        let problem = Problem {
            capacity: Resources::new(1000, 1000),
            items: (0..60u64)
                .map(|k| Resources::new(100 + (k * 37) % 300, 100 + (k * 53) % 300))
                .collect(),
        };
        assert_eq!(check(&problem), check(&problem));
    }
}
