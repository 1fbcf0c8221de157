//! The reference placement: slow, plain, obviously correct. One linear pass over every instance
//! per task, recomputing what each instance has left from the registered amounts minus the tasks
//! it holds, instead of trusting the state's incremental counters.
//!
//! It shares no filtering or ranking code with the [`Engine`](super::Engine); it shares only the
//! definition of the random draw ([`SplitMix64::draw_index`]) and the output types. Property
//! tests require `oracle::plan(s, r) == Engine::plan(s, r)` for random states and requests.

use std::collections::{BTreeMap, BTreeSet};

use crate::state::{
    ClusterState, GpuSet, InstanceIdx, InstanceStatus, MAX_RESERVED_PORTS, Reservation,
};

use super::cql::Subject;
use super::explain::{Decision, PortProblem, Rejection, TaskExplanation, Verdict};
use super::plan::{Failure, FailureReason, Outcome, Placement, Plan};
use super::request::{
    BinpackField, Constraint, PlacementRequest, RequestError, SpreadField, StrategyRule,
};
use super::rng::SplitMix64;

/// Plans `request` against `state` the slow way. Same contract as [`plan`](super::plan()).
///
/// # Errors
///
/// Only a malformed request.
pub fn plan(state: &ClusterState, request: &PlacementRequest) -> Result<Plan, RequestError> {
    let (tasks, rng_after) = decide(state, request)?;
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
        outcomes: tasks.into_iter().map(|task| task.outcome).collect(),
        rng_after,
        uses_state_rng: request.seed.is_none(),
    })
}

/// What the oracle knows of one instance, rebuilt from first principles.
#[derive(Clone, Debug)]
struct Node {
    instance_idx: InstanceIdx,
    status: InstanceStatus,
    agent_connected: bool,
    attributes: BTreeMap<String, Option<String>>,
    cpu_left: i64,
    memory_left: i64,
    tcp_in_use: BTreeSet<u16>,
    udp_in_use: BTreeSet<u16>,
    free_gpu_positions: Vec<usize>,
    eni_capacity: Option<u32>,
    eni_used: u32,
    /// One entry per task held, its group.
    task_groups: Vec<String>,
    agent_version: Option<String>,
    ec2_instance_id: Option<String>,
    registered_at: i64,
}

fn nodes(state: &ClusterState) -> Vec<Node> {
    let mut nodes: Vec<Node> = state
        .instances()
        .map(|(instance_idx, instance)| {
            let spec = instance.spec();
            Node {
                instance_idx,
                status: instance.status(),
                agent_connected: instance.agent_connected(),
                attributes: spec.attributes.clone(),
                cpu_left: i64::from(spec.cpu),
                memory_left: i64::from(spec.memory),
                tcp_in_use: spec.ports_tcp.iter().copied().collect(),
                udp_in_use: spec.ports_udp.iter().copied().collect(),
                free_gpu_positions: (0..spec.gpu_ids.len()).collect(),
                eni_capacity: spec.eni_capacity,
                eni_used: 0,
                task_groups: Vec::new(),
                agent_version: spec.agent_version.clone(),
                ec2_instance_id: spec.ec2_instance_id.clone(),
                registered_at: spec.registered_at,
            }
        })
        .collect();
    for (_, task) in state.tasks() {
        let node = &mut nodes[task.instance.as_usize()];
        let reservation = &task.reservation;
        node.cpu_left -= i64::from(reservation.cpu);
        node.memory_left -= i64::from(reservation.memory);
        node.tcp_in_use
            .extend(reservation.ports_tcp.iter().copied());
        node.udp_in_use
            .extend(reservation.ports_udp.iter().copied());
        node.free_gpu_positions
            .retain(|position| !reservation.gpus.positions().any(|p| p == *position));
        node.eni_used += u32::from(reservation.eni);
        node.task_groups.push(task.group.clone());
    }
    nodes
}

/// Runs the oracle and keeps every verdict; returns the per-task explanations and the final
/// generator state.
pub(super) fn decide(
    state: &ClusterState,
    request: &PlacementRequest,
) -> Result<(Vec<TaskExplanation>, u64), RequestError> {
    request.validate()?;
    let mut nodes = nodes(state);
    let mut rng = SplitMix64::new(request.seed.unwrap_or(state.placement_rng()));
    // PL-RANDOM: rules after the first `random` never apply.
    let random_at = request
        .strategy
        .iter()
        .position(|rule| *rule == StrategyRule::Random);
    let ranking_rules = &request.strategy[..random_at.unwrap_or(request.strategy.len())];
    let mut tasks = Vec::new();
    for _ in 0..request.count {
        let spread_totals = spread_totals(&nodes, ranking_rules, &request.group);
        let mut verdicts = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let verdict = match judge(node, request) {
                None if node.status != InstanceStatus::Active => Verdict::NotCandidate(node.status),
                Some(rejection) => Verdict::Rejected(rejection),
                None => Verdict::Ranked {
                    keys: ranking_rules
                        .iter()
                        .map(|rule| key(node, rule, &request.group, &spread_totals))
                        .collect(),
                },
            };
            verdicts.push((node.instance_idx, verdict));
        }

        let best_keys = verdicts
            .iter()
            .filter_map(|(_, verdict)| match verdict {
                Verdict::Ranked { keys } => Some(keys),
                _ => None,
            })
            .min()
            .cloned();
        let (outcome, decision) = match best_keys {
            None => (
                Outcome::Failed(closest_failure(&verdicts)),
                Decision::NoCandidate,
            ),
            Some(best_keys) => {
                let tied: Vec<InstanceIdx> = verdicts
                    .iter()
                    .filter(|(_, verdict)| matches!(verdict, Verdict::Ranked { keys } if *keys == best_keys))
                    .map(|(instance_idx, _)| *instance_idx)
                    .collect();
                let (winner, decision) = if random_at.is_some() {
                    let k = rng.draw_index(tied.len());
                    (
                        tied[k],
                        Decision::Random {
                            tied: tied.len(),
                            k,
                        },
                    )
                } else if tied.len() == 1 {
                    (tied[0], Decision::Keys)
                } else {
                    // PL-TIEBREAK: the tied candidate registered first.
                    (tied[0], Decision::TieBreak { tied: tied.len() })
                };
                let node = &mut nodes[winner.as_usize()];
                let gpus = take_gpus(node, request.demand.gpus);
                let demand = &request.demand;
                node.cpu_left -= i64::from(demand.cpu);
                node.memory_left -= i64::from(demand.memory);
                node.tcp_in_use.extend(demand.ports_tcp.iter().copied());
                node.udp_in_use.extend(demand.ports_udp.iter().copied());
                node.eni_used += u32::from(demand.eni);
                node.task_groups.push(request.group.clone());
                (
                    Outcome::Placed(Placement {
                        instance: winner,
                        gpus,
                    }),
                    decision,
                )
            }
        };
        tasks.push(TaskExplanation {
            outcome,
            verdicts,
            decision,
        });
    }
    Ok((tasks, rng.state()))
}

/// The first filter `node` fails, in PL-FAIL-CLOSEST order; `None` for a non-`ACTIVE` instance
/// (not a candidate) or one that passes everything.
fn judge(node: &Node, request: &PlacementRequest) -> Option<Rejection> {
    if node.status != InstanceStatus::Active {
        return None;
    }
    let demand = &request.demand;
    if !node.agent_connected {
        return Some(Rejection::Agent);
    }
    for (name, value) in &demand.required_attributes {
        let satisfied = match node.attributes.get(name) {
            None => false,
            Some(have) => value.is_none() || have == value,
        };
        if !satisfied {
            return Some(Rejection::Attribute {
                name: name.clone(),
                value: value.clone(),
            });
        }
    }
    if let Some(zones) = &demand.availability_zones {
        let zone = node
            .attributes
            .get("ecs.availability-zone")
            .cloned()
            .flatten();
        if !zone.as_ref().is_some_and(|zone| zones.contains(zone)) {
            return Some(Rejection::Location { zone });
        }
    }
    if node.cpu_left < i64::from(demand.cpu) {
        return Some(Rejection::Cpu {
            requested: demand.cpu,
            remaining: node.cpu_left as u32,
        });
    }
    if node.memory_left < i64::from(demand.memory) {
        return Some(Rejection::Memory {
            requested: demand.memory,
            remaining: node.memory_left as u32,
        });
    }
    if (node.free_gpu_positions.len() as u64) < u64::from(demand.gpus) {
        return Some(Rejection::Gpu {
            requested: demand.gpus,
            remaining: node.free_gpu_positions.len() as u32,
        });
    }
    if let Some(problem) = port_problem(&node.tcp_in_use, &demand.ports_tcp) {
        return Some(Rejection::Ports(problem));
    }
    if let Some(problem) = port_problem(&node.udp_in_use, &demand.ports_udp) {
        return Some(Rejection::PortsUdp(problem));
    }
    if demand.eni
        && let Some(capacity) = node.eni_capacity
        && node.eni_used >= capacity
    {
        return Some(Rejection::Eni {
            capacity,
            used: node.eni_used,
        });
    }
    // PL-FAIL-CLOSEST puts memberOf before distinctInstance, whatever order they were given in.
    for constraint in &request.constraints {
        if let Constraint::MemberOf(expr) = constraint
            && !expr.eval(node)
        {
            return Some(Rejection::MemberOf {
                expression: expr.to_string(),
            });
        }
    }
    for constraint in &request.constraints {
        if *constraint == Constraint::DistinctInstance && node.task_groups.contains(&request.group)
        {
            return Some(Rejection::DistinctInstance {
                group: request.group.clone(),
            });
        }
    }
    None
}

/// The oracle's own CQL subject: everything from its rebuilt node, batch tasks included.
impl Subject for Node {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.get(name).map(Option::as_deref)
    }

    fn agent_connected(&self) -> bool {
        self.agent_connected
    }

    fn agent_version(&self) -> Option<&str> {
        self.agent_version.as_deref()
    }

    fn ec2_instance_id(&self) -> Option<&str> {
        self.ec2_instance_id.as_deref()
    }

    fn registered_at(&self) -> Option<i64> {
        Some(self.registered_at)
    }

    fn running_tasks_count(&self) -> u64 {
        self.task_groups.len() as u64
    }

    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.task_groups.iter().any(|group| pred(group))
    }
}

fn port_problem(in_use: &BTreeSet<u16>, ports: &[u16]) -> Option<PortProblem> {
    if ports.is_empty() {
        return None;
    }
    let mut seen = BTreeSet::new();
    for &port in ports {
        if !seen.insert(port) {
            return Some(PortProblem::Repeated(port));
        }
    }
    if in_use.len() + ports.len() > MAX_RESERVED_PORTS {
        return Some(PortProblem::Cap {
            in_use: in_use.len(),
            requested: ports.len(),
        });
    }
    ports
        .iter()
        .find(|port| in_use.contains(port))
        .map(|&port| PortProblem::InUse(port))
}

/// Per spread-attribute rule, the group's task count per attribute value (`None` = missing),
/// over every instance of the cluster (PL-SPREAD).
fn spread_totals(
    nodes: &[Node],
    rules: &[StrategyRule],
    group: &str,
) -> BTreeMap<String, BTreeMap<Option<Option<String>>, u64>> {
    let mut totals: BTreeMap<String, BTreeMap<Option<Option<String>>, u64>> = BTreeMap::new();
    for rule in rules {
        if let StrategyRule::Spread(SpreadField::Attribute(name)) = rule {
            let per_value = totals.entry(name.clone()).or_default();
            for node in nodes {
                let count = node.task_groups.iter().filter(|g| *g == group).count() as u64;
                *per_value
                    .entry(node.attributes.get(name).cloned())
                    .or_insert(0) += count;
            }
        }
    }
    totals
}

fn key(
    node: &Node,
    rule: &StrategyRule,
    group: &str,
    spread_totals: &BTreeMap<String, BTreeMap<Option<Option<String>>, u64>>,
) -> u64 {
    match rule {
        StrategyRule::Binpack(BinpackField::Cpu) => node.cpu_left as u64,
        StrategyRule::Binpack(BinpackField::Memory) => node.memory_left as u64,
        StrategyRule::Spread(SpreadField::InstanceId | SpreadField::Host) => {
            node.task_groups.iter().filter(|g| *g == group).count() as u64
        }
        StrategyRule::Spread(SpreadField::Attribute(name)) => spread_totals
            .get(name)
            .and_then(|per_value| per_value.get(&node.attributes.get(name).cloned()))
            .copied()
            .unwrap_or(0),
        // Never reached: ranking rules stop before `random`.
        StrategyRule::Random => 0,
    }
}

/// PL-FAIL-CLOSEST: the rejected instance that got furthest, the earliest on ties.
fn closest_failure(verdicts: &[(InstanceIdx, Verdict)]) -> Failure {
    let mut closest: Option<(FailureReason, InstanceIdx)> = None;
    for (instance_idx, verdict) in verdicts {
        if let Verdict::Rejected(rejection) = verdict {
            let reason = rejection.reason();
            match closest {
                Some((best, _)) if best >= reason => {}
                _ => closest = Some((reason, *instance_idx)),
            }
        }
    }
    match closest {
        Some((reason, instance_idx)) => Failure {
            reason,
            instance: Some(instance_idx),
        },
        None => Failure {
            reason: FailureReason::NoContainerInstances,
            instance: None,
        },
    }
}

fn take_gpus(node: &mut Node, n: u32) -> GpuSet {
    let mut gpus = GpuSet::EMPTY;
    for _ in 0..n {
        // RES-GPU: the lowest unassigned ids; the filter guaranteed there are enough.
        let position = node.free_gpu_positions.remove(0);
        gpus.0 |= 1u64 << position;
    }
    gpus
}
