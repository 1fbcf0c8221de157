//! The fast placement engine: a persistent index that finds each task's instance in O(log M),
//! with a batch overlay instead of copies of the state.
//!
//! The engine must agree with [`oracle`](super::oracle) on every request; the property tests in
//! `tests/placement.rs` check it. It shares no filtering or ranking code with the oracle.
//!
//! # How a batch is planned
//!
//! - The state is only read. What earlier tasks of the batch took is kept in an overlay of
//!   per-instance deltas (`used_*`, `placed`) that is zero outside a plan; the instances touched
//!   are listed so that resetting costs what the batch touched, not the cluster size.
//! - **The index** (rule shapes that `indexable` admits, which cover every single rule and
//!   RunTask's default): within one request shape "passes every filter" is a yes/no fact per
//!   instance that depends on that instance alone, and its strategy keys too (a leading spread
//!   over an attribute adds the bucket's task count). The state keeps, per recently used shape,
//!   minimum trees over those facts and keys (`persistent.rs`, `index.rs`), updated from the
//!   state's own change log: a plan replays the instances changed since the shape was last used,
//!   O(log M) each, then each task reads the root (ties go to the earliest instance,
//!   PL-TIEBREAK; with `random` the k-th tied leaf in registration order, PL-RANDOM) and
//!   re-reads the chosen instance with the batch counted: O(log M). After the plan the entry
//!   forgets the batch again.
//! - **The scan** (other shapes, and any task the index finds no instance for): one pass over the
//!   instances in registration order checks the filters in PL-FAIL-CLOSEST order, stopping at the
//!   first failure, keeps the best key seen so far, and records the instance that got furthest,
//!   which is what a failure reports. Its per-plan setup (the group's task counts per instance
//!   and spread bucket) is done the first time a plan needs the scan. **memberOf** results are
//!   cached per instance for the plan; an expression that reads attributes only is never
//!   invalidated by a placement (`task:group` and `runningTasksCount` terms are re-evaluated on
//!   the instance a task lands on).
//!
//! Cost per plan of `k` tasks on `M` instances: O((k + c) log M) where `c` is the number of
//! instances changed since the shape was last planned, plus O(M) per failed task and O(M) for
//! the first plan of a shape (or after a change of the bucket layout). Allocation happens per
//! plan (the outcome vector, the compiled rules) and when buffers grow, never per placement.

use crate::state::{
    AttributeColumn, ClusterState, GpuSet, InstanceIdx, InstanceStatus, MAX_RESERVED_PORTS,
    Protocol, Reservation,
};

use super::cql;
use super::index;
use super::persistent::Index;
use super::plan::{Failure, FailureReason, Outcome, Placement, Plan};
use super::request::{
    BinpackField, Constraint, MAX_STRATEGY_RULES, PlacementRequest, RequestError, SpreadField,
    StrategyRule,
};
use super::rng::SplitMix64;
use super::subject::BatchView;

/// Strategy keys of one candidate, compared lexicographically over the rules before `random`.
type Keys = [u64; MAX_STRATEGY_RULES];

/// A reusable placement engine: scratch buffers sized to the largest cluster seen. The index it
/// plans with lives in the state ([`ClusterState`] keeps it up to date), so any engine, fresh or
/// reused, plans a known request shape in O(k log M).
#[derive(Debug, Default)]
pub struct Engine {
    used_cpu: Vec<u32>,
    used_memory: Vec<u32>,
    used_gpus: Vec<u64>,
    used_eni: Vec<u32>,
    placed: Vec<u32>,
    group_count: Vec<u32>,
    touched: Vec<u32>,
    counted: Vec<u32>,
    batch_ports: Vec<(u32, Protocol, u16)>,
    bucket_counts: Vec<Vec<u32>>,
    survivors: Vec<(u32, Keys)>,
    /// Per memberOf constraint, per instance: (generation stamp, result). A stamp equal to the
    /// current `generation` is valid; placing a task on an instance zeroes its stamps, because
    /// only that instance's `task:group` and `runningTasksCount` changed.
    member_cache: Vec<Vec<(u32, bool)>>,
    generation: u32,
    /// Per memberOf constraint: true when it reads attributes only, so placing a task cannot
    /// change its result and the cache survives commits.
    member_static: Vec<bool>,
    /// Whether the scan's per-plan setup (`prepare_scan`) was done for this plan.
    scan_ready: bool,
}

/// A strategy rule resolved against the state for one plan.
#[derive(Clone, Copy, Debug)]
pub(super) enum Rule<'s> {
    BinpackCpu,
    BinpackMemory,
    SpreadInstance,
    SpreadAttribute {
        column: Option<&'s AttributeColumn>,
        slot: usize,
    },
}

/// The plan-wide facts about the demand that do not change between tasks.
#[derive(Debug)]
pub(super) struct Prepared<'r> {
    pub(super) request: &'r PlacementRequest,
    ports_tcp_conflict: bool,
    ports_udp_conflict: bool,
    pub(super) distinct: bool,
    pub(super) member_of: Vec<&'r cql::Expr>,
}

impl Engine {
    /// Returns an engine with empty buffers.
    #[must_use]
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Plans `request` against `state` (read-only; the state's placement index is brought up to
    /// date as a side effect).
    ///
    /// # Errors
    ///
    /// Only a malformed request ([`RequestError`]).
    pub fn plan(
        &mut self,
        state: &ClusterState,
        request: &PlacementRequest,
    ) -> Result<Plan, RequestError> {
        let mut cache = state.placement_index().lock();
        self.run(state, request, &mut cache.index)
    }

    /// Plans with this engine's buffers and the state's index.
    pub(super) fn run(
        &mut self,
        state: &ClusterState,
        request: &PlacementRequest,
        index: &mut Index,
    ) -> Result<Plan, RequestError> {
        request.validate()?;
        let n_instances = state.len();
        self.grow(n_instances);

        // PL-MULTI-STRATEGY: rules after the first `random` never apply (PL-RANDOM).
        let mut rules: Vec<Rule<'_>> = Vec::with_capacity(request.strategy.len());
        let mut has_random = false;
        for rule in &request.strategy {
            rules.push(match rule {
                StrategyRule::Binpack(BinpackField::Cpu) => Rule::BinpackCpu,
                StrategyRule::Binpack(BinpackField::Memory) => Rule::BinpackMemory,
                StrategyRule::Spread(SpreadField::InstanceId | SpreadField::Host) => {
                    Rule::SpreadInstance
                }
                StrategyRule::Spread(SpreadField::Attribute(name)) => {
                    let slot = self.bucket_counts.len();
                    let column = state.attribute_column(name);
                    let n_buckets = column.map_or(0, AttributeColumn::n_values) + 1;
                    self.bucket_counts.push(vec![0; n_buckets]);
                    Rule::SpreadAttribute { column, slot }
                }
                StrategyRule::Random => {
                    has_random = true;
                    break;
                }
            });
        }

        let prepared = Prepared {
            request,
            ports_tcp_conflict: has_duplicates(&request.demand.ports_tcp),
            ports_udp_conflict: has_duplicates(&request.demand.ports_udp),
            distinct: request
                .constraints
                .iter()
                .any(|c| matches!(c, Constraint::DistinctInstance)),
            member_of: request
                .constraints
                .iter()
                .filter_map(|c| match c {
                    Constraint::MemberOf(expr) => Some(expr),
                    Constraint::DistinctInstance => None,
                })
                .collect(),
        };
        self.start_member_cache(prepared.member_of.len(), n_instances);
        let mut rng = SplitMix64::new(request.seed.unwrap_or_else(|| state.placement_rng()));
        self.member_static.clear();
        self.member_static.extend(
            prepared
                .member_of
                .iter()
                .map(|expr| attribute_names(expr).is_some()),
        );
        self.scan_ready = false;
        let entry =
            indexable(&rules, has_random).then(|| index.prepare(self, state, &prepared, &rules));
        let mut outcomes = Vec::with_capacity(request.count as usize);
        for _ in 0..request.count {
            let indexed = entry.and_then(|slot| {
                index
                    .entry(slot)
                    .place(self, state, &prepared, has_random, &mut rng)
            });
            let outcome = match indexed {
                Some(outcome) => outcome,
                None => {
                    self.prepare_scan(state, &request.group, &rules);
                    self.place_one(state, &prepared, &rules, has_random, &mut rng)
                }
            };
            if let Outcome::Placed(placement) = outcome {
                self.commit(&prepared, &rules, placement);
                if let Some(slot) = entry {
                    index.entry(slot).absorb(
                        self,
                        state,
                        &prepared,
                        &rules,
                        placement.instance.as_usize(),
                    );
                }
            }
            outcomes.push(outcome);
        }
        if let Some(slot) = entry {
            index.remember_touched(&self.touched);
            self.reset();
            index.restore(slot, self, state, &prepared, &rules, &outcomes);
        } else {
            self.reset();
        }

        let demand = &request.demand;
        Ok(Plan {
            state_version: state.version(),
            group: request.group.clone(),
            reservation: Reservation {
                cpu: demand.cpu,
                memory: demand.memory,
                ports_tcp: demand.ports_tcp.clone(),
                ports_udp: demand.ports_udp.clone(),
                gpus: GpuSet::EMPTY,
                eni: demand.eni,
            },
            outcomes,
            rng_after: rng.state(),
            uses_state_rng: request.seed.is_none(),
        })
    }

    /// The scan's per-plan setup: the group's tasks already in the cluster, per instance and per
    /// spread bucket (added to the batch's, which `commit` counts from the start).
    fn prepare_scan(&mut self, state: &ClusterState, group: &str, rules: &[Rule<'_>]) {
        if self.scan_ready {
            return;
        }
        self.scan_ready = true;
        for (instance_idx, count) in state.group_members(group) {
            let position = instance_idx.as_usize();
            self.group_count[position] = count;
            self.counted.push(instance_idx.0);
            for rule in rules {
                if let Rule::SpreadAttribute { column, slot } = *rule {
                    self.bucket_counts[slot][bucket(column, position)] += count;
                }
            }
        }
    }

    fn grow(&mut self, n_instances: usize) {
        if self.used_cpu.len() < n_instances {
            self.used_cpu.resize(n_instances, 0);
            self.used_memory.resize(n_instances, 0);
            self.used_gpus.resize(n_instances, 0);
            self.used_eni.resize(n_instances, 0);
            self.placed.resize(n_instances, 0);
            self.group_count.resize(n_instances, 0);
        }
    }

    /// Starts a new cache generation; stamps from earlier plans become invalid.
    fn start_member_cache(&mut self, n_constraints: usize, n_instances: usize) {
        if self.member_cache.len() < n_constraints {
            self.member_cache.resize_with(n_constraints, Vec::new);
        }
        for cache in &mut self.member_cache[..n_constraints] {
            if cache.len() < n_instances {
                cache.resize(n_instances, (0, false));
            }
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            for cache in &mut self.member_cache {
                cache.fill((0, false));
            }
            self.generation = 1;
        }
    }

    /// Zeroes what the plan touched, so the overlay is all zero between plans.
    fn reset(&mut self) {
        for &position in &self.touched {
            let position = position as usize;
            self.used_cpu[position] = 0;
            self.used_memory[position] = 0;
            self.used_gpus[position] = 0;
            self.used_eni[position] = 0;
            self.placed[position] = 0;
        }
        for &position in &self.counted {
            self.group_count[position as usize] = 0;
        }
        self.touched.clear();
        self.counted.clear();
        self.batch_ports.clear();
        self.bucket_counts.clear();
        self.survivors.clear();
    }

    fn place_one(
        &mut self,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        rules: &[Rule<'_>],
        has_random: bool,
        rng: &mut SplitMix64,
    ) -> Outcome {
        let candidates = state.candidates();
        let mut best: Option<(Keys, u32)> = None;
        let mut furthest: Option<(FailureReason, u32)> = None;
        self.survivors.clear();
        for (position, &is_candidate) in candidates.iter().enumerate() {
            // Positions fit u32: the state holds fewer than u32::MAX instances.
            let position32 = position as u32;
            let mut rejection = if is_candidate {
                self.resource_rejection(state, prepared, position)
            } else if instance_status(state, position) == InstanceStatus::Active {
                // ACTIVE but not a candidate: the agent is disconnected (CI-AGENT-CONNECTED).
                Some(FailureReason::Agent)
            } else {
                // DRAINING, INACTIVE, ...: not considered at all (PL-CANDIDATES).
                continue;
            };
            let mut keys = [0; MAX_STRATEGY_RULES];
            if rejection.is_none() {
                keys = self.keys(state, rules, position);
                // An instance whose keys cannot beat the best fully-fitting one so far cannot
                // win, and the task will be placed, so its failure stage is never reported:
                // skip the constraints, the costly part (memberOf evaluates an expression).
                // With `random` every survivor counts, so nothing is skipped.
                if !has_random
                    && best.is_some_and(|(best_keys, _)| {
                        keys[..rules.len()] >= best_keys[..rules.len()]
                    })
                {
                    continue;
                }
                rejection = self.constraint_rejection(state, prepared, position);
            }
            if let Some(reason) = rejection {
                // PL-FAIL-CLOSEST: the furthest stage wins; ties keep the earliest instance.
                if furthest.is_none_or(|(stage, _)| reason > stage) {
                    furthest = Some((reason, position32));
                }
                continue;
            }
            if has_random {
                self.survivors.push((position32, keys));
            }
            // PL-TIEBREAK: strictly better only, so ties keep the lowest registration sequence.
            if best.is_none_or(|(best_keys, _)| keys[..rules.len()] < best_keys[..rules.len()]) {
                best = Some((keys, position32));
            }
        }
        let Some((best_keys, mut chosen)) = best else {
            return Outcome::Failed(match furthest {
                Some((reason, position)) => Failure {
                    reason,
                    instance: Some(InstanceIdx(position)),
                },
                None => Failure {
                    reason: FailureReason::NoContainerInstances,
                    instance: None,
                },
            });
        };
        if has_random {
            // PL-RANDOM (the draw of `rng`): the k-th of the tied survivors in registration order.
            let n_keys = rules.len();
            let n_tied = self
                .survivors
                .iter()
                .filter(|(_, keys)| keys[..n_keys] == best_keys[..n_keys])
                .count();
            let k = rng.draw_index(n_tied);
            if let Some(&(position, _)) = self
                .survivors
                .iter()
                .filter(|(_, keys)| keys[..n_keys] == best_keys[..n_keys])
                .nth(k)
            {
                chosen = position;
            }
        }
        let position = chosen as usize;
        let gpus = if prepared.request.demand.gpus == 0 {
            GpuSet::EMPTY
        } else {
            let free = self.free_gpus(state, position);
            // The GPU filter passed, so there are enough; RES-GPU: lowest free ids.
            free.lowest(prepared.request.demand.gpus)
                .unwrap_or(GpuSet::EMPTY)
        };
        Outcome::Placed(Placement {
            instance: InstanceIdx(chosen),
            gpus,
        })
    }

    /// Returns the first resource-stage filter (`ATTRIBUTE` to `RESOURCE:ENI`) the candidate
    /// fails, in PL-FAIL-CLOSEST order, or `None`.
    pub(super) fn resource_rejection(
        &self,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        position: usize,
    ) -> Option<FailureReason> {
        let demand = &prepared.request.demand;
        // Cold per-instance data (a cache miss per instance): only read when the demand needs
        // more than CPU and memory.
        let needs_instance = !demand.required_attributes.is_empty()
            || demand.availability_zones.is_some()
            || !demand.ports_tcp.is_empty()
            || !demand.ports_udp.is_empty()
            || demand.eni;
        let instance = if needs_instance {
            let Ok(instance) = state.instance(InstanceIdx(position as u32)) else {
                return Some(FailureReason::Agent);
            };
            Some(instance)
        } else {
            None
        };
        // RES-ATTRIBUTES.
        if let Some(instance) = instance
            && !demand.required_attributes.is_empty()
        {
            for (name, value) in &demand.required_attributes {
                match (instance.attribute(name), value) {
                    (None, _) => return Some(FailureReason::Attribute),
                    (Some(have), Some(want)) if have != Some(want.as_str()) => {
                        return Some(FailureReason::Attribute);
                    }
                    _ => {}
                }
            }
        }
        // LOCATION: the instance's AZ must be one of the subnets' AZs.
        if let Some(zones) = &demand.availability_zones
            && let Some(instance) = instance
        {
            let in_zone = match instance.attribute("ecs.availability-zone") {
                Some(Some(zone)) => zones.iter().any(|z| z == zone),
                _ => false,
            };
            if !in_zone {
                return Some(FailureReason::Location);
            }
        }
        // RES-CPU, RES-MEMORY.
        if state.remaining_cpu()[position] - self.used_cpu[position] < demand.cpu {
            return Some(FailureReason::ResourceCpu);
        }
        if state.remaining_memory()[position] - self.used_memory[position] < demand.memory {
            return Some(FailureReason::ResourceMemory);
        }
        // RES-GPU.
        if demand.gpus > 0 && self.free_gpus(state, position).len() < demand.gpus {
            return Some(FailureReason::ResourceGpu);
        }
        // RES-PORTS-BY-MODE, RES-PORTS-PROTOCOL, RES-PORTS-CAP.
        if let Some(instance) = instance
            && !demand.ports_tcp.is_empty()
            && (prepared.ports_tcp_conflict
                || self.ports_blocked(
                    instance.ports_in_use(Protocol::Tcp),
                    &demand.ports_tcp,
                    position,
                    Protocol::Tcp,
                ))
        {
            return Some(FailureReason::ResourcePorts);
        }
        if let Some(instance) = instance
            && !demand.ports_udp.is_empty()
            && (prepared.ports_udp_conflict
                || self.ports_blocked(
                    instance.ports_in_use(Protocol::Udp),
                    &demand.ports_udp,
                    position,
                    Protocol::Udp,
                ))
        {
            return Some(FailureReason::ResourcePortsUdp);
        }
        // RES-ENI: unknown capacity is unlimited.
        if demand.eni
            && let Some(instance) = instance
            && let Some(capacity) = instance.eni_capacity()
            && instance.eni_used() + self.used_eni[position] >= capacity
        {
            return Some(FailureReason::ResourceEni);
        }
        None
    }

    /// Returns the first constraint (memberOf, then distinctInstance, PL-FAIL-CLOSEST) the
    /// candidate fails, or `None`.
    fn constraint_rejection(
        &mut self,
        state: &ClusterState,
        prepared: &Prepared<'_>,
        position: usize,
    ) -> Option<FailureReason> {
        // PL-MEMBEROF, cached per instance until a task of the batch lands on it.
        let placed = self.placed[position];
        for (slot, expr) in prepared.member_of.iter().enumerate() {
            let cell = &mut self.member_cache[slot][position];
            let satisfied = if cell.0 == self.generation {
                cell.1
            } else {
                let Ok(instance) = state.instance(InstanceIdx(position as u32)) else {
                    return Some(FailureReason::Agent);
                };
                let view = BatchView {
                    instance,
                    group: &prepared.request.group,
                    placed,
                };
                let satisfied = expr.eval(&view);
                *cell = (self.generation, satisfied);
                satisfied
            };
            if !satisfied {
                return Some(FailureReason::MemberOf);
            }
        }
        // PL-DISTINCT: no task of the group on the instance, earlier tasks of the batch included.
        if prepared.distinct && self.group_count[position] + self.placed[position] > 0 {
            return Some(FailureReason::DistinctInstance);
        }
        None
    }

    fn ports_blocked(
        &self,
        in_use: &[u16],
        ports: &[u16],
        position: usize,
        protocol: Protocol,
    ) -> bool {
        let mut held_in_batch = 0;
        if self.placed[position] > 0 {
            for &(batch_position, batch_protocol, batch_port) in &self.batch_ports {
                if batch_position as usize == position && batch_protocol == protocol {
                    if ports.contains(&batch_port) {
                        return true;
                    }
                    held_in_batch += 1;
                }
            }
        }
        if in_use.len() + held_in_batch + ports.len() > MAX_RESERVED_PORTS {
            return true;
        }
        ports.iter().any(|port| in_use.binary_search(port).is_ok())
    }

    pub(super) fn free_gpus(&self, state: &ClusterState, position: usize) -> GpuSet {
        let free = state
            .instance(InstanceIdx(position as u32))
            .map_or(GpuSet::EMPTY, |instance| instance.gpus_free());
        GpuSet(free.0 & !self.used_gpus[position])
    }

    fn keys(&self, state: &ClusterState, rules: &[Rule<'_>], position: usize) -> Keys {
        let mut keys = [0u64; MAX_STRATEGY_RULES];
        for (key, rule) in keys.iter_mut().zip(rules) {
            *key = match *rule {
                // PL-BINPACK: least remaining first, before this task.
                Rule::BinpackCpu => {
                    u64::from(state.remaining_cpu()[position] - self.used_cpu[position])
                }
                Rule::BinpackMemory => {
                    u64::from(state.remaining_memory()[position] - self.used_memory[position])
                }
                // PL-SPREAD: fewest tasks of the group in the bucket first.
                Rule::SpreadInstance => {
                    u64::from(self.group_count[position] + self.placed[position])
                }
                Rule::SpreadAttribute { column, slot } => {
                    u64::from(self.bucket_counts[slot][bucket(column, position)])
                }
            };
        }
        keys
    }

    /// The batch's tasks on an instance so far.
    pub(super) fn placed(&self, position: usize) -> u32 {
        self.placed[position]
    }

    /// The CPU the batch took on an instance so far.
    pub(super) fn used_cpu(&self, position: usize) -> u32 {
        self.used_cpu[position]
    }

    /// The memory the batch took on an instance so far.
    pub(super) fn used_memory(&self, position: usize) -> u32 {
        self.used_memory[position]
    }

    /// Records a placement in the overlay, so the next task of the batch sees it (PL-BATCH).
    fn commit(&mut self, prepared: &Prepared<'_>, rules: &[Rule<'_>], placement: Placement) {
        let demand = &prepared.request.demand;
        let position = placement.instance.as_usize();
        if self.placed[position] == 0 {
            self.touched.push(placement.instance.0);
        }
        self.placed[position] += 1;
        self.used_cpu[position] += demand.cpu;
        self.used_memory[position] += demand.memory;
        self.used_gpus[position] |= placement.gpus.0;
        if demand.eni {
            self.used_eni[position] += 1;
        }
        for &port in &demand.ports_tcp {
            self.batch_ports
                .push((placement.instance.0, Protocol::Tcp, port));
        }
        for &port in &demand.ports_udp {
            self.batch_ports
                .push((placement.instance.0, Protocol::Udp, port));
        }
        for rule in rules {
            if let Rule::SpreadAttribute { column, slot } = *rule {
                self.bucket_counts[slot][bucket(column, position)] += 1;
            }
        }
        for (cache, &is_static) in self.member_cache[..prepared.member_of.len()]
            .iter_mut()
            .zip(&self.member_static)
        {
            if !is_static {
                cache[position].0 = 0;
            }
        }
    }
}

/// Whether the index can plan with these rules: at most [`index::MAX_PACKED_RULES`] rules, a
/// spread over an attribute only as the first rule, and `random` only without one (the draw
/// needs the tied candidates of one tree in registration order).
fn indexable(rules: &[Rule<'_>], has_random: bool) -> bool {
    rules.len() <= index::MAX_PACKED_RULES
        && rules.iter().enumerate().all(|(rule_idx, rule)| {
            !matches!(rule, Rule::SpreadAttribute { .. }) || (rule_idx == 0 && !has_random)
        })
}

/// The attribute names an expression reads, or `None` when it reads anything else (task
/// groups, counts, agent fields), whose truth is not a function of the attributes.
fn attribute_names(expr: &cql::Expr) -> Option<Vec<&str>> {
    fn walk<'e>(expr: &'e cql::Expr, names: &mut Vec<&'e str>) -> bool {
        match expr {
            cql::Expr::Or(operands) | cql::Expr::And(operands) => {
                operands.iter().all(|operand| walk(operand, names))
            }
            cql::Expr::Not(operand) => walk(operand, names),
            cql::Expr::Term(term) => match term.subject() {
                cql::SubjectKind::Attribute(name) => {
                    if !names.contains(&name.as_str()) {
                        names.push(name);
                    }
                    true
                }
                _ => false,
            },
        }
    }
    let mut names = Vec::new();
    walk(expr, &mut names).then_some(names)
}

/// Returns the spread bucket of an instance: its value id, or the last slot for "missing".
pub(super) fn bucket(column: Option<&AttributeColumn>, position: usize) -> usize {
    match column {
        None => 0,
        Some(column) => {
            let value_id = column.value_id(InstanceIdx(position as u32));
            if value_id == AttributeColumn::MISSING {
                column.n_values()
            } else {
                value_id as usize
            }
        }
    }
}

fn instance_status(state: &ClusterState, position: usize) -> InstanceStatus {
    state
        .instance(InstanceIdx(position as u32))
        .map_or(InstanceStatus::Inactive, |instance| instance.status())
}

fn has_duplicates(ports: &[u16]) -> bool {
    ports
        .iter()
        .enumerate()
        .any(|(position, port)| ports[..position].contains(port))
}
