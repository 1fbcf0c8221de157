//! The persistent placement index: kept with the [`ClusterState`] across plans and brought up to
//! date from the state's changes, so that a plan of `k` tasks costs O(k log M), not O(M).
//!
//! # What is kept
//!
//! Whether an instance passes every filter, and its strategy keys, depend on the request's
//! *shape*: the demand, the group, the constraints and the strategy rules (not the count, not the
//! seed). For each recently used shape ([`MAX_ENTRIES`], least recently used evicted) an
//! [`Entry`] holds the minimum trees of `index.rs` (one per spread bucket when the first rule
//! spreads over an attribute, one otherwise, plus a tree over the buckets) with one leaf per
//! instance: nothing when the instance fails a filter, else its packed strategy keys. The leaf of
//! an instance is a function of that instance's own data only (its status, agent, attributes,
//! remaining resources, ports, GPUs, ENIs and the tasks it holds), plus, for a leading spread over
//! an attribute, the group's task count per bucket, which the entry keeps beside the trees.
//!
//! # How it stays exact
//!
//! Every [`ClusterState`] mutation that changes an instance records the instance's position in a
//! change log here ([`PlacementIndex::touch`]); a mutation changes exactly the instances it
//! names, so re-reading those leaves (and adjusting the bucket counts by the change of the
//! instance's group count) makes an entry equal to a fresh build. Before a plan uses an entry it
//! replays the log from where the entry last stopped: O(log M) per changed instance. A full
//! rebuild (O(M)) happens when the entry is new, when the log overflowed or is longer than a
//! rebuild costs, when an instance moves to another spread bucket or a new attribute value
//! appears (bucket layout change), and when a new instance does not fit the trees' room.
//!
//! During a plan the entry also absorbs the batch (the engine's overlay): the chosen instance's
//! leaf and bucket count are refreshed after each placement. After the plan those changes are
//! undone, so between plans an entry always describes the state alone, whether or not the plan
//! is applied.
//!
//! The cache is not part of the state's value: a clone starts with an empty cache (a clone is a
//! what-if copy), equality and serialisation ignore it, and a restored state rebuilds on first
//! use. It sits behind a `Mutex` because planning reads the state through a shared reference;
//! mutations reach it through `&mut` without locking.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::state::{AttributeColumn, ClusterState, GpuSet, InstanceIdx};

use super::engine::{Engine, Prepared, Rule, bucket};
use super::index::{self, Best, MinTree};
use super::plan::{Outcome, Placement};
use super::request::{Constraint, Demand, PlacementRequest, StrategyRule};
use super::rng::SplitMix64;
use super::subject::BatchView;

/// The most request shapes indexed at once per state; the least recently used is evicted.
pub(super) const MAX_ENTRIES: usize = 8;

/// The change log and the indexed shapes of one state, plus a scratch engine for
/// [`plan`](super::plan()).
#[derive(Debug, Default)]
pub(super) struct IndexCache {
    pub(super) scratch: Engine,
    pub(super) index: Index,
}

/// The indexed shapes and the change log they replay.
#[derive(Debug, Default)]
pub(super) struct Index {
    entries: Vec<Entry>,
    /// Positions of instances changed since the oldest entry's sync point, in change order.
    log: Vec<u32>,
    /// The sequence number of `log[0]`; the log's end is `log_base + log.len()`.
    log_base: u64,
    /// The LRU clock.
    clock: u64,
    /// The instance count seen at the last sync, to size the log's cap.
    n_instances: usize,
    /// Scratch: the positions a plan touched.
    touched: Vec<u32>,
}

/// The placement index kept inside a [`ClusterState`]. Not part of its value.
#[derive(Default)]
pub struct PlacementIndex {
    cache: Mutex<IndexCache>,
}

impl Clone for PlacementIndex {
    /// A clone starts empty: the cache is derived data and a clone is usually a what-if copy.
    fn clone(&self) -> PlacementIndex {
        PlacementIndex::default()
    }
}

impl std::fmt::Debug for PlacementIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cache.try_lock() {
            Ok(cache) => write!(
                f,
                "PlacementIndex {{ shapes: {}, log: {} }}",
                cache.index.entries.len(),
                cache.index.log.len()
            ),
            Err(_) => f.write_str("PlacementIndex { busy }"),
        }
    }
}

impl PlacementIndex {
    /// Records that the instance at `position` changed (called by every state mutation).
    pub(crate) fn touch(&mut self, position: usize) {
        let cache = self.cache.get_mut().unwrap_or_else(PoisonError::into_inner);
        cache.index.touch(position);
    }

    /// Locks the cache for one plan. A cache poisoned by a panic mid-plan is discarded.
    pub(super) fn lock(&self) -> MutexGuard<'_, IndexCache> {
        match self.cache.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                *guard = IndexCache::default();
                self.cache.clear_poison();
                guard
            }
        }
    }
}

impl Index {
    fn touch(&mut self, position: usize) {
        if self.entries.is_empty() {
            return;
        }
        // Positions fit u32: the state refuses more instances.
        self.log.push(position as u32);
        if self.log.len() > 2 * self.n_instances + 1024 {
            // Replaying this much costs more than rebuilding: drop the log.
            for entry in &mut self.entries {
                entry.stale = true;
            }
            self.log_base += self.log.len() as u64;
            self.log.clear();
        }
    }

    fn log_end(&self) -> u64 {
        self.log_base + self.log.len() as u64
    }

    /// Finds (or creates) the entry for the request's shape and brings it up to date with the
    /// state; returns its position in `entries`.
    pub(super) fn prepare(
        &mut self,
        engine: &Engine,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        rules: &[Rule<'_>],
    ) -> usize {
        self.clock += 1;
        self.n_instances = state.len();
        let request = prepared.request;
        let found = self.entries.iter().position(|entry| entry.matches(request));
        let slot = match found {
            Some(slot) => slot,
            None => {
                let entry = Entry::new(request, self.log_end());
                if self.entries.len() < MAX_ENTRIES {
                    self.entries.push(entry);
                    self.entries.len() - 1
                } else {
                    let oldest = self
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, entry)| entry.last_used)
                        .map_or(0, |(slot, _)| slot);
                    self.entries[oldest] = entry;
                    oldest
                }
            }
        };
        let log_end = self.log_end();
        let entry = &mut self.entries[slot];
        entry.last_used = self.clock;
        let start = usize::try_from(entry.synced.saturating_sub(self.log_base)).unwrap_or(0);
        let pending = &self.log[start.min(self.log.len())..];
        let replayed = !entry.stale
            && pending.len() <= state.len() / 2 + 64
            && entry.replay(engine, state, prepared, rules, pending);
        if !replayed {
            entry.rebuild(engine, state, prepared, rules);
        }
        entry.synced = log_end;
        entry.stale = false;
        // Drop the log prefix every entry has replayed.
        let oldest = self
            .entries
            .iter()
            .map(|entry| entry.synced)
            .min()
            .unwrap_or(log_end);
        let consumed = usize::try_from(oldest.saturating_sub(self.log_base))
            .unwrap_or(0)
            .min(self.log.len());
        if consumed > 0 {
            self.log.drain(..consumed);
            self.log_base += consumed as u64;
        }
        slot
    }

    /// The entry at `slot`.
    pub(super) fn entry(&mut self, slot: usize) -> &mut Entry {
        &mut self.entries[slot]
    }

    /// Undoes what a plan did to the entry at `slot`: the engine's overlay must be zero again.
    pub(super) fn restore(
        &mut self,
        slot: usize,
        engine: &Engine,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        rules: &[Rule<'_>],
        outcomes: &[Outcome],
    ) {
        let entry = &mut self.entries[slot];
        if entry.spread.is_some() {
            for outcome in outcomes {
                if let Outcome::Placed(placement) = outcome {
                    let bucket_idx = entry.bucket_of[placement.instance.as_usize()] as usize;
                    entry.bucket_counts[bucket_idx] -= 1;
                }
            }
        }
        for &position in &self.touched {
            entry.refresh(engine, state, prepared, rules, position as usize);
        }
        self.touched.clear();
    }

    /// Remembers the positions a plan touched, for [`Index::restore`].
    pub(super) fn remember_touched(&mut self, touched: &[u32]) {
        self.touched.clear();
        self.touched.extend_from_slice(touched);
    }
}

/// The index of one request shape.
#[derive(Debug)]
pub(super) struct Entry {
    demand: Demand,
    group: String,
    constraints: Vec<Constraint>,
    strategy: Vec<StrategyRule>,
    /// The log sequence number up to which the entry is current.
    synced: u64,
    /// Must be rebuilt before use.
    stale: bool,
    last_used: u64,
    /// The attribute of a leading spread rule, if any.
    spread: Option<String>,
    /// The spread column's value count when the buckets were laid out (`None`: no column).
    n_values: Option<usize>,
    /// Instances known to the trees (positions `0..n_known`).
    n_known: usize,
    trees: Vec<MinTree>,
    top: MinTree,
    bucket_of: Vec<u32>,
    slot_of: Vec<u32>,
    bucket_sizes: Vec<u32>,
    /// The group's tasks per bucket (the state's, plus the batch's during a plan).
    bucket_counts: Vec<u32>,
    /// The group's tasks per instance in the state, as last read.
    group_count: Vec<u32>,
}

impl Entry {
    fn new(request: &PlacementRequest, synced: u64) -> Entry {
        let spread = match request.strategy.first() {
            Some(StrategyRule::Spread(super::request::SpreadField::Attribute(name))) => {
                Some(name.clone())
            }
            _ => None,
        };
        Entry {
            demand: request.demand.clone(),
            group: request.group.clone(),
            constraints: request.constraints.clone(),
            strategy: request.strategy.clone(),
            synced,
            stale: true,
            last_used: 0,
            spread,
            n_values: None,
            n_known: 0,
            trees: Vec::new(),
            top: MinTree::default(),
            bucket_of: Vec::new(),
            slot_of: Vec::new(),
            bucket_sizes: Vec::new(),
            bucket_counts: Vec::new(),
            group_count: Vec::new(),
        }
    }

    fn matches(&self, request: &PlacementRequest) -> bool {
        self.demand == request.demand
            && self.group == request.group
            && self.strategy == request.strategy
            && self.constraints == request.constraints
    }

    fn column<'s>(&self, state: &'s ClusterState) -> Option<&'s AttributeColumn> {
        self.spread
            .as_deref()
            .and_then(|name| state.attribute_column(name))
    }

    /// Lays the buckets out again and recomputes every leaf: O(M).
    fn rebuild(
        &mut self,
        engine: &Engine,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        rules: &[Rule<'_>],
    ) {
        let n_instances = state.len();
        let column = self.column(state);
        self.n_values = column.map(AttributeColumn::n_values);
        let n_buckets = match (&self.spread, column) {
            (None, _) => 1,
            (Some(_), column) => column.map_or(0, AttributeColumn::n_values) + 1,
        };
        self.bucket_of.clear();
        self.slot_of.clear();
        self.bucket_sizes.clear();
        self.bucket_sizes.resize(n_buckets, 0);
        for position in 0..n_instances {
            let bucket_idx = bucket(column, position);
            self.bucket_of.push(bucket_idx as u32);
            self.slot_of.push(self.bucket_sizes[bucket_idx]);
            self.bucket_sizes[bucket_idx] += 1;
        }
        self.group_count.clear();
        self.group_count.resize(n_instances, 0);
        self.bucket_counts.clear();
        self.bucket_counts.resize(n_buckets, 0);
        for (instance_idx, count) in state.group_members(&self.group) {
            let position = instance_idx.as_usize();
            self.group_count[position] = count;
            self.bucket_counts[self.bucket_of[position] as usize] += count;
        }
        self.trees.truncate(n_buckets);
        self.trees.resize_with(n_buckets, MinTree::default);
        for (tree, &size) in self.trees.iter_mut().zip(&self.bucket_sizes) {
            // Room to grow: new instances are appended without a rebuild until it fills.
            tree.reset(size as usize + 1);
        }
        for position in 0..n_instances {
            let leaf = leaf(
                engine,
                state,
                prepared,
                rules,
                position,
                self.group_count[position],
            );
            let bucket_idx = self.bucket_of[position] as usize;
            self.trees[bucket_idx].set_raw(self.slot_of[position] as usize, leaf);
        }
        for tree in &mut self.trees {
            tree.build();
        }
        self.top.reset(n_buckets);
        for bucket_idx in 0..n_buckets {
            let best = self.bucket_best(bucket_idx);
            self.top.set_raw(bucket_idx, best);
        }
        self.top.build();
        self.n_known = n_instances;
    }

    /// Re-reads the instances the log names; false when the bucket layout changed and the entry
    /// must be rebuilt instead.
    fn replay(
        &mut self,
        engine: &Engine,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        rules: &[Rule<'_>],
        pending: &[u32],
    ) -> bool {
        let column = self.column(state);
        if self.spread.is_some() && column.map(AttributeColumn::n_values) != self.n_values {
            return false;
        }
        for &position in pending {
            let position = position as usize;
            while self.n_known <= position {
                // A new instance: append it to its bucket's tree if there is room.
                let new = self.n_known;
                let bucket_idx = bucket(column, new);
                let Some(tree) = self.trees.get(bucket_idx) else {
                    return false;
                };
                let slot = self.bucket_sizes[bucket_idx];
                if slot as usize >= tree.capacity() {
                    return false;
                }
                self.bucket_sizes[bucket_idx] += 1;
                self.bucket_of.push(bucket_idx as u32);
                self.slot_of.push(slot);
                self.group_count.push(0);
                self.n_known += 1;
                self.refresh(engine, state, prepared, rules, new);
            }
            if bucket(column, position) != self.bucket_of[position] as usize {
                return false;
            }
            self.refresh(engine, state, prepared, rules, position);
        }
        true
    }

    /// Re-reads one instance: its group count (adjusting its bucket's), its leaf, its bucket's
    /// entry in the top tree. O(log M).
    pub(super) fn refresh(
        &mut self,
        engine: &Engine,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        rules: &[Rule<'_>],
        position: usize,
    ) {
        let bucket_idx = self.bucket_of[position] as usize;
        let count = state
            .instance(InstanceIdx(position as u32))
            .ok()
            .and_then(|instance| instance.groups().get(&self.group).copied())
            .unwrap_or(0);
        let before = self.group_count[position];
        if count != before {
            self.group_count[position] = count;
            self.bucket_counts[bucket_idx] = self.bucket_counts[bucket_idx] + count - before;
        }
        let leaf = leaf(engine, state, prepared, rules, position, count);
        self.trees[bucket_idx].update(self.slot_of[position] as usize, leaf);
        let best = self.bucket_best(bucket_idx);
        self.top.update(bucket_idx, best);
    }

    /// Absorbs a placement of the batch on `position` (the engine's overlay already has it).
    pub(super) fn absorb(
        &mut self,
        engine: &Engine,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        rules: &[Rule<'_>],
        position: usize,
    ) {
        if self.spread.is_some() {
            self.bucket_counts[self.bucket_of[position] as usize] += 1;
        }
        self.refresh(engine, state, prepared, rules, position);
    }

    /// The best instance of a bucket, with the bucket's task count as its first key.
    fn bucket_best(&self, bucket_idx: usize) -> Best {
        let best = self.trees[bucket_idx].root();
        if self.spread.is_some() && best.is_some() {
            Best {
                key: index::with_first(best.key, self.bucket_counts[bucket_idx]),
                ..best
            }
        } else {
            best
        }
    }

    /// Places one task: the best eligible instance (the k-th tied one with `random`), or `None`
    /// when no instance is eligible. O(log M).
    pub(super) fn place(
        &self,
        engine: &Engine,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        has_random: bool,
        rng: &mut SplitMix64,
    ) -> Option<Outcome> {
        let best = self.top.root();
        if !best.is_some() {
            return None;
        }
        let chosen = if has_random {
            // PL-RANDOM: `indexable` admits `random` only without a spread over an attribute, so
            // there is one tree whose leaves are in registration order.
            let k = rng.draw_index(best.tied as usize);
            self.trees[0].kth_tied(k as u32)
        } else {
            best.position
        };
        let position = chosen as usize;
        let gpus = if prepared.request.demand.gpus == 0 {
            GpuSet::EMPTY
        } else {
            // RES-GPU: lowest free ids; the leaf was eligible, so there are enough.
            engine
                .free_gpus(state, position)
                .lowest(prepared.request.demand.gpus)
                .unwrap_or(GpuSet::EMPTY)
        };
        Some(Outcome::Placed(Placement {
            instance: InstanceIdx(chosen),
            gpus,
        }))
    }
}

/// The leaf of one instance: nothing when it fails a filter (with the batch so far counted),
/// else its packed strategy keys. `group_count` is the group's tasks on it in the state.
fn leaf(
    engine: &Engine,
    state: &ClusterState,
    prepared: &Prepared<'_>,
    rules: &[Rule<'_>],
    position: usize,
    group_count: u32,
) -> Best {
    if !state.candidates()[position]
        || engine
            .resource_rejection(state, prepared, position)
            .is_some()
    {
        return Best::NONE;
    }
    let placed = engine.placed(position);
    if !prepared.member_of.is_empty() {
        let Ok(instance) = state.instance(InstanceIdx(position as u32)) else {
            return Best::NONE;
        };
        let view = BatchView {
            instance,
            group: &prepared.request.group,
            placed,
        };
        // PL-MEMBEROF.
        if !prepared.member_of.iter().all(|expr| expr.eval(&view)) {
            return Best::NONE;
        }
    }
    // PL-DISTINCT.
    if prepared.distinct && group_count + placed > 0 {
        return Best::NONE;
    }
    let mut packed = [0u32; index::MAX_PACKED_RULES];
    for (cell, rule) in packed.iter_mut().zip(rules) {
        *cell = match rule {
            // PL-BINPACK: least remaining first, before this task.
            Rule::BinpackCpu => state.remaining_cpu()[position] - engine.used_cpu(position),
            Rule::BinpackMemory => {
                state.remaining_memory()[position] - engine.used_memory(position)
            }
            // PL-SPREAD: fewest tasks of the group on the instance first.
            Rule::SpreadInstance => group_count + placed,
            // The bucket's count goes in at the top (see `bucket_best`).
            Rule::SpreadAttribute { .. } => 0,
        };
    }
    Best::leaf(index::pack(&packed), position as u32)
}
