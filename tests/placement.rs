//! Placement: property tests against the oracle, the acceptance numbers on the shared data sets,
//! and data-driven cases in `tests/data/placement/`.
//!
//! # Invariants (one property each, stated before the code)
//!
//! 1. The engine and the oracle give equal plans, for a fresh engine and for one reused across
//!    plans.
//! 2. Applying a plan never overcommits CPU, memory, GPUs or ENIs: recomputed from the tasks,
//!    what each instance holds is within what it registered.
//! 3. No (port, protocol) is held twice on an instance, and no instance exceeds 100 per protocol.
//! 4. Constraints are honoured: under `distinctInstance` no instance holds two tasks of the group
//!    after the batch unless it held them before; a static `memberOf` holds on every instance used.
//! 5. Placed plus failed equals the requested count.
//! 6. The same state, request and seed give the same plan.
//! 7. A plan that fails to apply (stale) leaves the state byte-identical.
//! 8. Serialising and restoring the state gives an equal state and the same bytes.
//! 9. The state's persistent placement index stays exact across interleaved state changes
//!    (tasks placed and stopped, instances registered, deregistered, drained, disconnected,
//!    attributes put and deleted) and plans that are not applied: engine == oracle after each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use stowplan::placement::{
    self, ApplyError, BinpackField, Constraint, Demand, Engine, Outcome, PlacementRequest,
    SpreadField, StrategyRule, oracle,
};
use stowplan::state::{
    ClusterState, InstanceIdx, InstanceSpec, InstanceStatus, MAX_RESERVED_PORTS, Reservation,
    TaskId,
};

// ---------------------------------------------------------------------------------------------
// Generators.

#[derive(Clone, Debug)]
struct GenInstance {
    cpu: u32,
    memory: u32,
    ports_tcp: Vec<u16>,
    ports_udp: Vec<u16>,
    gpus: usize,
    eni_capacity: Option<u32>,
    zone: Option<&'static str>,
    rack: Option<&'static str>,
    instance_type: &'static str,
    status: InstanceStatus,
    agent_connected: bool,
}

fn gen_instance() -> impl Strategy<Value = GenInstance> {
    (
        (
            prop::sample::select(vec![0u32, 256, 512, 1024, 2048]),
            prop::sample::select(vec![0u32, 256, 512, 1024, 2048]),
        ),
        (
            prop::sample::subsequence(vec![22u16, 80, 443], 0..=3),
            prop::sample::subsequence(vec![53u16], 0..=1),
        ),
        (0usize..=3, prop::option::of(0u32..=3)),
        (
            prop::option::of(prop::sample::select(vec![
                "us-east-1a",
                "us-east-1b",
                "us-east-1c",
            ])),
            prop::option::of(prop::sample::select(vec!["r1", "r2"])),
            prop::sample::select(vec!["m5.large", "c5.xlarge"]),
        ),
        (
            prop::sample::select(vec![
                InstanceStatus::Active,
                InstanceStatus::Active,
                InstanceStatus::Active,
                InstanceStatus::Active,
                InstanceStatus::Draining,
            ]),
            prop::bool::weighted(0.9),
        ),
    )
        .prop_map(
            |(
                (cpu, memory),
                (ports_tcp, ports_udp),
                (gpus, eni_capacity),
                (zone, rack, instance_type),
                (status, agent_connected),
            )| {
                GenInstance {
                    cpu,
                    memory,
                    ports_tcp,
                    ports_udp,
                    gpus,
                    eni_capacity,
                    zone,
                    rack,
                    instance_type,
                    status,
                    agent_connected,
                }
            },
        )
}

#[derive(Clone, Debug)]
struct GenTask {
    instance: usize,
    group: &'static str,
    cpu: u32,
    memory: u32,
    port: Option<u16>,
    gpu: bool,
    eni: bool,
}

fn gen_task() -> impl Strategy<Value = GenTask> {
    (
        0usize..8,
        prop::sample::select(vec!["g", "h"]),
        prop::sample::select(vec![0u32, 128, 256, 512]),
        prop::sample::select(vec![0u32, 128, 256, 512]),
        prop::option::of(prop::sample::select(vec![80u16, 443, 8080])),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(instance, group, cpu, memory, port, gpu, eni)| GenTask {
            instance,
            group,
            cpu,
            memory,
            port,
            gpu,
            eni,
        })
}

const MEMBER_OF: &[&str] = &[
    "attribute:ecs.availability-zone == us-east-1a",
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    "attribute:rack exists",
    "attribute:ecs.instance-type =~ m5.*",
    "task:group == g",
    "not(task:group == g)",
    "runningTasksCount == 0",
];

/// The memberOf shapes whose truth does not change as tasks are placed.
const STATIC_MEMBER_OF: usize = 4;

fn gen_rule() -> impl Strategy<Value = StrategyRule> {
    prop::sample::select(vec![
        StrategyRule::Binpack(BinpackField::Cpu),
        StrategyRule::Binpack(BinpackField::Memory),
        StrategyRule::Spread(SpreadField::InstanceId),
        StrategyRule::Spread(SpreadField::Host),
        StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".into())),
        StrategyRule::Spread(SpreadField::Attribute("rack".into())),
        StrategyRule::Spread(SpreadField::Attribute("nowhere".into())),
        StrategyRule::Random,
    ])
}

/// Strategy shapes the engine's index handles (see `indexable` in the engine).
const INDEXED_SHAPES: &[fn() -> Vec<StrategyRule>] = &[
    Vec::new,
    || vec![StrategyRule::Binpack(BinpackField::Memory)],
    || vec![StrategyRule::Binpack(BinpackField::Cpu)],
    || vec![StrategyRule::Spread(SpreadField::InstanceId)],
    || {
        vec![StrategyRule::Spread(SpreadField::Attribute(
            "ecs.availability-zone".into(),
        ))]
    },
    || {
        vec![
            StrategyRule::Spread(SpreadField::Attribute("rack".into())),
            StrategyRule::Binpack(BinpackField::Cpu),
        ]
    },
    placement::default_runtask_strategy,
    || vec![StrategyRule::Random],
    || {
        vec![
            StrategyRule::Binpack(BinpackField::Memory),
            StrategyRule::Random,
        ]
    },
    || {
        vec![
            StrategyRule::Spread(SpreadField::Host),
            StrategyRule::Random,
        ]
    },
    || {
        vec![
            StrategyRule::Binpack(BinpackField::Cpu),
            StrategyRule::Spread(SpreadField::InstanceId),
            StrategyRule::Binpack(BinpackField::Memory),
            StrategyRule::Spread(SpreadField::Host),
        ]
    },
];

fn gen_request() -> impl Strategy<Value = (PlacementRequest, Option<usize>)> {
    (
        (
            prop::sample::select(vec![0u32, 128, 256, 512, 1024]),
            prop::sample::select(vec![0u32, 128, 256, 512, 1024]),
        ),
        (
            prop::collection::vec(prop::sample::select(vec![80u16, 443, 8080]), 0..=2),
            prop::sample::subsequence(vec![53u16], 0..=1),
        ),
        (0u32..=2, prop::bool::weighted(0.25)),
        (
            prop::option::of(prop::sample::select(vec![None, Some("r1")])),
            prop::option::of(prop::sample::subsequence(
                vec!["us-east-1a", "us-east-1c"],
                0..=2,
            )),
        ),
        (1u32..=6, prop::sample::select(vec!["g", "h"])),
        (
            prop::bool::weighted(0.3),
            prop::option::of(0..MEMBER_OF.len()),
        ),
        (
            prop::collection::vec(gen_rule(), 0..=5),
            prop::option::of(any::<u64>()),
        ),
    )
        .prop_map(
            |(
                (cpu, memory),
                (ports_tcp, ports_udp),
                (gpus, eni),
                (rack, zones),
                (count, group),
                (distinct, member_of),
                (strategy, seed),
            )| {
                let mut demand = Demand::new(cpu, memory)
                    .with_ports_tcp(ports_tcp)
                    .with_ports_udp(ports_udp)
                    .with_gpus(gpus)
                    .with_eni(eni);
                if let Some(value) = rack {
                    demand = demand.with_required_attribute("rack", value);
                }
                if let Some(zones) = zones {
                    demand = demand
                        .with_availability_zones(zones.into_iter().map(String::from).collect());
                }
                let mut request = PlacementRequest::new(demand, group)
                    .with_count(count)
                    .with_strategy(strategy);
                request.seed = seed;
                if let Some(k) = member_of {
                    request = request.with_constraint(Constraint::member_of(MEMBER_OF[k]).unwrap());
                }
                if distinct {
                    request = request.with_constraint(Constraint::DistinctInstance);
                }
                (request, member_of)
            },
        )
}

fn build(instances: &[GenInstance], tasks: &[GenTask], rng: u64) -> ClusterState {
    let mut state = ClusterState::new();
    state.set_placement_rng(rng);
    for (k, generated) in instances.iter().enumerate() {
        let mut spec = InstanceSpec::new(format!("i-{k}"), generated.cpu, generated.memory)
            .with_ports_tcp(generated.ports_tcp.clone())
            .with_ports_udp(generated.ports_udp.clone())
            .with_gpu_ids((0..generated.gpus).map(|g| format!("gpu-{g}")).collect())
            .with_eni_capacity(generated.eni_capacity)
            .with_attribute("ecs.instance-type", Some(generated.instance_type));
        if let Some(zone) = generated.zone {
            spec = spec.with_attribute("ecs.availability-zone", Some(zone));
        }
        if let Some(rack) = generated.rack {
            spec = spec.with_attribute("rack", Some(rack));
        }
        state.register(spec).unwrap();
    }
    for task in tasks {
        if instances.is_empty() {
            break;
        }
        let idx = InstanceIdx((task.instance % instances.len()) as u32);
        let free = state.instance(idx).unwrap().gpus_free();
        let reservation = Reservation {
            cpu: task.cpu,
            memory: task.memory,
            ports_tcp: task.port.into_iter().collect(),
            ports_udp: Vec::new(),
            gpus: if task.gpu {
                free.lowest(1).unwrap_or_default()
            } else {
                Default::default()
            },
            eni: task.eni,
        };
        // Tasks that do not fit are simply not added: the state refuses them.
        let _ = state.add_task(idx, task.group, reservation);
    }
    for (k, generated) in instances.iter().enumerate() {
        let idx = InstanceIdx(k as u32);
        state.set_status(idx, generated.status).unwrap();
        state
            .set_agent_connected(idx, generated.agent_connected)
            .unwrap();
    }
    state
}

/// One change between plans, for invariant 9.
#[derive(Clone, Debug)]
enum Change {
    /// Plan the k-th request; apply the plan or not.
    Plan(usize, bool),
    /// Stop the k-th running task (RES-RELEASE).
    Release(usize),
    Status(usize, InstanceStatus),
    Agent(usize, bool),
    /// Put an attribute; new zone and rack values change the spread buckets.
    Put(usize, &'static str, Option<&'static str>),
    Delete(usize, &'static str),
    Register(GenInstance),
    /// Deregister with force (CI-DEREGISTER).
    Deregister(usize),
}

fn gen_change() -> impl Strategy<Value = Change> {
    prop_oneof![
        6 => (0usize..6, prop::bool::weighted(0.8)).prop_map(|(k, apply)| Change::Plan(k, apply)),
        3 => (0usize..64).prop_map(Change::Release),
        1 => (0usize..64, prop::sample::select(vec![InstanceStatus::Active, InstanceStatus::Draining]))
            .prop_map(|(k, status)| Change::Status(k, status)),
        1 => (0usize..64, any::<bool>()).prop_map(|(k, connected)| Change::Agent(k, connected)),
        2 => (
            0usize..64,
            prop::sample::select(vec![
                ("ecs.availability-zone", Some("us-east-1a")),
                ("ecs.availability-zone", Some("us-east-1c")),
                ("ecs.availability-zone", Some("us-east-1d")),
                ("rack", Some("r1")),
                ("rack", Some("r3")),
                ("rack", None),
                ("ecs.instance-type", Some("m5.xlarge")),
            ]),
        )
            .prop_map(|(k, (name, value))| Change::Put(k, name, value)),
        1 => (0usize..64, prop::sample::select(vec!["ecs.availability-zone", "rack"]))
            .prop_map(|(k, name)| Change::Delete(k, name)),
        1 => gen_instance().prop_map(Change::Register),
        1 => (0usize..64).prop_map(Change::Deregister),
    ]
}

// ---------------------------------------------------------------------------------------------
// Invariant checks on a state, recomputed from its tasks.

fn assert_consistent(state: &ClusterState) {
    let mut cpu: BTreeMap<InstanceIdx, u64> = BTreeMap::new();
    let mut memory: BTreeMap<InstanceIdx, u64> = BTreeMap::new();
    let mut eni: BTreeMap<InstanceIdx, u32> = BTreeMap::new();
    let mut gpus: BTreeMap<InstanceIdx, u64> = BTreeMap::new();
    let mut ports: BTreeMap<(InstanceIdx, bool), BTreeSet<u16>> = BTreeMap::new();
    for (idx, instance) in state.instances() {
        let spec = instance.spec();
        ports.insert((idx, false), spec.ports_tcp.iter().copied().collect());
        ports.insert((idx, true), spec.ports_udp.iter().copied().collect());
    }
    for (_, task) in state.tasks() {
        let r = &task.reservation;
        *cpu.entry(task.instance).or_default() += u64::from(r.cpu);
        *memory.entry(task.instance).or_default() += u64::from(r.memory);
        *eni.entry(task.instance).or_default() += u32::from(r.eni);
        let held = gpus.entry(task.instance).or_default();
        assert_eq!(*held & r.gpus.0, 0, "a GPU is assigned twice");
        *held |= r.gpus.0;
        for (udp, list) in [(false, &r.ports_tcp), (true, &r.ports_udp)] {
            for port in list {
                assert!(
                    ports.get_mut(&(task.instance, udp)).unwrap().insert(*port),
                    "port {port} held twice"
                );
            }
        }
    }
    for (idx, instance) in state.instances() {
        let spec = instance.spec();
        let used_cpu = cpu.get(&idx).copied().unwrap_or(0);
        let used_memory = memory.get(&idx).copied().unwrap_or(0);
        assert!(used_cpu <= u64::from(spec.cpu), "CPU overcommitted");
        assert!(
            used_memory <= u64::from(spec.memory),
            "memory overcommitted"
        );
        assert_eq!(
            u64::from(state.remaining_cpu()[idx.as_usize()]),
            u64::from(spec.cpu) - used_cpu
        );
        assert_eq!(
            u64::from(state.remaining_memory()[idx.as_usize()]),
            u64::from(spec.memory) - used_memory
        );
        if let Some(capacity) = spec.eni_capacity {
            assert!(
                eni.get(&idx).copied().unwrap_or(0) <= capacity,
                "ENI overcommitted"
            );
        }
        assert!(
            gpus.get(&idx).copied().unwrap_or(0) < (1u64 << spec.gpu_ids.len()),
            "unregistered GPU"
        );
        for udp in [false, true] {
            assert!(ports[&(idx, udp)].len() <= MAX_RESERVED_PORTS);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn pl_engine_equals_oracle_and_invariants_hold(
        instances in prop::collection::vec(gen_instance(), 0..8),
        tasks in prop::collection::vec(gen_task(), 0..8),
        requests in prop::collection::vec(gen_request(), 1..=3),
        rng in any::<u64>(),
    ) {
        let mut state = build(&instances, &tasks, rng);
        assert_consistent(&state);
        // One engine reused across the sequence: its scratch buffers must not leak between plans.
        let mut engine = Engine::new();
        for (request, member_of) in &requests {
            let planned = engine.plan(&state, request).unwrap();
            // 1. Engine == oracle, fresh and reused engines alike.
            prop_assert_eq!(&planned, &oracle::plan(&state, request).unwrap());
            prop_assert_eq!(&planned, &placement::plan(&state, request).unwrap());
            // 5. Conservation.
            prop_assert_eq!(planned.outcomes().len(), request.count as usize);
            prop_assert_eq!(planned.n_placed() + planned.n_failed(), request.count as usize);
            // 6. Determinism.
            prop_assert_eq!(&planned, &engine.plan(&state, request).unwrap());

            let groups_before: BTreeMap<InstanceIdx, u32> = state.group_members(&request.group).collect();
            let used: Vec<InstanceIdx> =
                planned.outcomes().iter().filter_map(|o| o.placement().map(|p| p.instance)).collect();
            for instance_idx in &used {
                let instance = state.instance(*instance_idx).unwrap();
                // PL-CANDIDATES.
                prop_assert_eq!(instance.status(), InstanceStatus::Active);
                prop_assert!(instance.agent_connected());
                // 4. A static memberOf holds on every instance used.
                if let Some(k) = member_of
                    && *k < STATIC_MEMBER_OF
                    && let Some(Constraint::MemberOf(expr)) = request.constraints.first()
                {
                    let text = expr.to_string();
                    let ok = match *k {
                        0 => instance.attribute("ecs.availability-zone") == Some(Some("us-east-1a")),
                        1 => matches!(instance.attribute("ecs.availability-zone"), Some(Some("us-east-1a" | "us-east-1b"))),
                        2 => instance.attribute("rack").is_some(),
                        _ => matches!(instance.attribute("ecs.instance-type"), Some(Some(t)) if t.starts_with("m5.")),
                    };
                    prop_assert!(ok, "memberOf {} violated on {}", text, instance_idx);
                }
            }
            // 4. distinctInstance.
            if request.constraints.contains(&Constraint::DistinctInstance) {
                let distinct: BTreeSet<_> = used.iter().collect();
                prop_assert_eq!(distinct.len(), used.len());
                for instance_idx in &used {
                    prop_assert!(!groups_before.contains_key(instance_idx));
                }
            }
            // 7. A stale plan changes nothing.
            let stale = planned.clone();
            let bytes_before = serde_json::to_string(&state).unwrap();
            let mut touched = state.clone();
            touched.set_placement_rng(touched.placement_rng() ^ 1);
            let touched_bytes = serde_json::to_string(&touched).unwrap();
            let stale_result = stale.apply(&mut touched);
            prop_assert!(matches!(stale_result, Err(ApplyError::StaleState { .. })), "stale plan applied");
            prop_assert_eq!(serde_json::to_string(&touched).unwrap(), touched_bytes);
            prop_assert_eq!(serde_json::to_string(&state).unwrap(), bytes_before);

            let task_ids = planned.apply(&mut state).unwrap();
            prop_assert_eq!(task_ids.len(), used.len());
            // 2, 3. Accounting, ports, GPUs, ENIs.
            assert_consistent(&state);
        }
        // 8. Serialise and restore.
        let json = serde_json::to_string(&state).unwrap();
        let restored: ClusterState = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&restored, &state);
        prop_assert_eq!(serde_json::to_string(&restored).unwrap(), json);
    }

    /// Invariant 1 on the shapes the engine plans through its index (batches of 2 or more,
    /// at most one leading spread over an attribute, `random` without one): larger clusters and
    /// batches long enough to fill instances, so that instances drop out mid-batch and the
    /// batch ends in failures, which the engine reports through its scan.
    #[test]
    fn pl_indexed_engine_equals_oracle_on_larger_batches(
        instances in prop::collection::vec(gen_instance(), 1..40),
        tasks in prop::collection::vec(gen_task(), 0..40),
        requests in prop::collection::vec(
            (gen_request(), 2u32..=40, 0..INDEXED_SHAPES.len()),
            1..=3,
        ),
        rng in any::<u64>(),
    ) {
        let mut state = build(&instances, &tasks, rng);
        let mut engine = Engine::new();
        for ((request, _), count, shape) in &requests {
            let request = request.clone().with_count(*count).with_strategy(INDEXED_SHAPES[*shape]());
            let planned = engine.plan(&state, &request).unwrap();
            prop_assert_eq!(&planned, &oracle::plan(&state, &request).unwrap());
            planned.apply(&mut state).unwrap();
            assert_consistent(&state);
        }
    }

    /// Invariant 9: the persistent index (kept in the state, replayed from its change log)
    /// against the oracle, with state changes of every kind between plans, shapes reused across
    /// plans (indexed and scanned ones), plans dropped without being applied, and a fresh clone
    /// (empty index) planning the same requests at the end.
    #[test]
    fn pl_persistent_index_equals_oracle_across_interleaved_changes(
        instances in prop::collection::vec(gen_instance(), 1..12),
        tasks in prop::collection::vec(gen_task(), 0..12),
        requests in prop::collection::vec(
            (gen_request(), 1u32..=8, prop::option::of(0..INDEXED_SHAPES.len())),
            1..=6,
        ),
        changes in prop::collection::vec(gen_change(), 1..40),
        rng in any::<u64>(),
    ) {
        let mut state = build(&instances, &tasks, rng);
        let requests: Vec<PlacementRequest> = requests
            .into_iter()
            .map(|((request, _), count, shape)| {
                let request = request.with_count(count);
                match shape {
                    Some(shape) => request.with_strategy(INDEXED_SHAPES[shape]()),
                    None => request,
                }
            })
            .collect();
        let mut engine = Engine::new();
        let mut registered = instances.len();
        for change in &changes {
            let n = state.len().max(1);
            let idx = |k: usize| InstanceIdx((k % n) as u32);
            match change {
                Change::Plan(k, apply) => {
                    let request = &requests[k % requests.len()];
                    let planned = engine.plan(&state, request).unwrap();
                    prop_assert_eq!(&planned, &oracle::plan(&state, request).unwrap());
                    if *apply {
                        planned.apply(&mut state).unwrap();
                    }
                }
                Change::Release(k) => {
                    let running: Vec<TaskId> = state.tasks().map(|(task_id, _)| task_id).collect();
                    if !running.is_empty() {
                        state.release_task(running[k % running.len()]).unwrap();
                    }
                }
                Change::Status(k, status) => {
                    let _ = state.set_status(idx(*k), *status);
                }
                Change::Agent(k, connected) => {
                    let _ = state.set_agent_connected(idx(*k), *connected);
                }
                Change::Put(k, name, value) => {
                    state.put_attribute(idx(*k), name, *value).unwrap();
                }
                Change::Delete(k, name) => {
                    state.delete_attribute(idx(*k), name).unwrap();
                }
                Change::Register(generated) => {
                    let mut spec = InstanceSpec::new(format!("n-{registered}"), generated.cpu, generated.memory)
                        .with_ports_tcp(generated.ports_tcp.clone())
                        .with_gpu_ids((0..generated.gpus).map(|g| format!("gpu-{g}")).collect())
                        .with_eni_capacity(generated.eni_capacity)
                        .with_attribute("ecs.instance-type", Some(generated.instance_type));
                    if let Some(zone) = generated.zone {
                        spec = spec.with_attribute("ecs.availability-zone", Some(zone));
                    }
                    if let Some(rack) = generated.rack {
                        spec = spec.with_attribute("rack", Some(rack));
                    }
                    registered += 1;
                    state.register(spec).unwrap();
                }
                Change::Deregister(k) => {
                    let _ = state.deregister(idx(*k), true);
                }
            }
            assert_consistent(&state);
        }
        // A clone starts with an empty index; both must still agree with the oracle.
        let fresh = state.clone();
        for request in &requests {
            let reference = oracle::plan(&state, request).unwrap();
            prop_assert_eq!(&engine.plan(&state, request).unwrap(), &reference);
            prop_assert_eq!(&placement::plan(&fresh, request).unwrap(), &reference);
        }
    }

    #[test]
    fn pl_random_same_seed_same_plan(
        instances in prop::collection::vec(gen_instance(), 1..8),
        seed in any::<u64>(),
        count in 1u32..=8,
    ) {
        let state = build(&instances, &[], 0);
        let request = PlacementRequest::new(Demand::new(128, 128), "g")
            .with_strategy(vec![StrategyRule::Random])
            .with_count(count)
            .with_seed(seed);
        let first = placement::plan(&state, &request).unwrap();
        prop_assert_eq!(&first, &placement::plan(&state, &request).unwrap());
        prop_assert_eq!(&first, &oracle::plan(&state, &request).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// Acceptance on the shared data sets (skipped when `../shared` is absent).

fn shared(relative: &str) -> Option<String> {
    let path = format!("{}/../shared/{relative}", env!("CARGO_MANIFEST_DIR"));
    if Path::new(&path).exists() {
        Some(path)
    } else {
        println!("skipped: {relative} not found");
        None
    }
}

/// Online best fit with `binpack:memory`, opening a bin of the given size when none fits.
fn pack(capacity: (u32, u32), items: &[(u32, u32)]) -> usize {
    let mut state = ClusterState::new();
    let mut engine = Engine::new();
    for &(cpu, memory) in items {
        let request = PlacementRequest::new(Demand::new(cpu, memory), "vbp")
            .with_strategy(vec![StrategyRule::Binpack(BinpackField::Memory)]);
        let mut plan = engine.plan(&state, &request).unwrap();
        if plan.n_placed() == 0 {
            let id = format!("bin-{}", state.len() + 1);
            state
                .register(InstanceSpec::new(id, capacity.0, capacity.1))
                .unwrap();
            plan = engine.plan(&state, &request).unwrap();
        }
        assert_eq!(plan.n_placed(), 1, "an item does not fit an empty bin");
        plan.apply(&mut state).unwrap();
    }
    state.len()
}

#[test]
fn pl_binpack_vbp_bins_equal_bf_column_on_all_80_files() {
    let Some(bounds) = shared("data/vbp/bounds.tsv") else {
        return;
    };
    let text = std::fs::read_to_string(bounds).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (instance_col, bf_col) = (column("instance"), column("BF"));
    let mut checked = 0;
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        let path = shared(&format!(
            "data/vbp/caprara_toth_2dvpp/{}.txt",
            fields[instance_col]
        ))
        .unwrap();
        let numbers: Vec<u32> = std::fs::read_to_string(path)
            .unwrap()
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect();
        let n = numbers[0] as usize;
        let items: Vec<(u32, u32)> = numbers[3..].chunks(3).map(|c| (c[1], c[2])).collect();
        assert_eq!(items.len(), n);
        let bins = pack((numbers[1], numbers[2]), &items);
        assert_eq!(bins.to_string(), fields[bf_col], "{}", fields[instance_col]);
        checked += 1;
    }
    assert_eq!(checked, 80);
}

#[test]
fn pl_binpack_small_workload_reproduces_reference_counts() {
    let Some(path) = shared("data/workloads/small.json") else {
        return;
    };
    let workload: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut state = ClusterState::new();
    for instance in workload["instances"].as_array().unwrap() {
        let mut spec = InstanceSpec::new(
            instance["id"].as_str().unwrap(),
            instance["cpu"].as_u64().unwrap() as u32,
            instance["memory"].as_u64().unwrap() as u32,
        )
        .with_ports_tcp(
            instance["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_u64().unwrap() as u16)
                .collect(),
        );
        for (name, value) in instance["attributes"].as_object().unwrap() {
            spec = spec.with_attribute(name, value.as_str());
        }
        state.register(spec).unwrap();
    }
    let mut engine = Engine::new();
    let (mut placed, mut failed) = (0, 0);
    for task in workload["tasks"].as_array().unwrap() {
        let demand = Demand::new(
            task["cpu"].as_u64().unwrap() as u32,
            task["memory"].as_u64().unwrap() as u32,
        )
        .with_ports_tcp(
            task["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_u64().unwrap() as u16)
                .collect(),
        );
        let mut request = PlacementRequest::new(demand, "family:workload")
            .with_strategy(vec![StrategyRule::Binpack(BinpackField::Memory)]);
        if let Some(expression) = task["constraint"].as_str() {
            request = request.with_constraint(Constraint::member_of(expression).unwrap());
        }
        let plan = engine.plan(&state, &request).unwrap();
        assert_eq!(plan, oracle::plan(&state, &request).unwrap());
        match plan.outcomes()[0] {
            Outcome::Placed(_) => placed += 1,
            Outcome::Failed(_) => failed += 1,
        }
        plan.apply(&mut state).unwrap();
    }
    let used = state
        .instances()
        .filter(|(_, i)| i.running_tasks_count() > 0)
        .count();
    assert_eq!((placed, failed, used), (485, 15, 49));
}

// ---------------------------------------------------------------------------------------------
// Data-driven cases: tests/data/placement/NAME.json, expectation NAME.expect.json (written when
// missing or when UPDATE_EXPECT=1).

fn run_case(case: &Value) -> Value {
    let mut state = ClusterState::new();
    for instance in case["instances"].as_array().unwrap() {
        let number = |key: &str| instance[key].as_u64().unwrap_or(0) as u32;
        let list = |key: &str| -> Vec<u16> {
            instance[key].as_array().map_or(Vec::new(), |a| {
                a.iter().map(|p| p.as_u64().unwrap() as u16).collect()
            })
        };
        let mut spec = InstanceSpec::new(
            instance["id"].as_str().unwrap(),
            number("cpu"),
            number("memory"),
        )
        .with_ports_tcp(list("ports_tcp"))
        .with_ports_udp(list("ports_udp"))
        .with_gpu_ids((0..number("gpus")).map(|g| format!("gpu-{g}")).collect())
        .with_eni_capacity(instance["eni_capacity"].as_u64().map(|c| c as u32));
        if let Some(attributes) = instance["attributes"].as_object() {
            for (name, value) in attributes {
                spec = spec.with_attribute(name, value.as_str());
            }
        }
        let idx = state.register(spec).unwrap();
        for task in instance["tasks"].as_array().map_or(&[][..], Vec::as_slice) {
            let reservation = Reservation {
                cpu: task["cpu"].as_u64().unwrap_or(0) as u32,
                memory: task["memory"].as_u64().unwrap_or(0) as u32,
                ..Reservation::default()
            };
            state
                .add_task(idx, task["group"].as_str().unwrap(), reservation)
                .unwrap();
        }
        if let Some(status) = instance["status"].as_str() {
            state
                .set_status(idx, serde_json::from_value(json!(status)).unwrap())
                .unwrap();
        }
        if instance["agent_connected"] == json!(false) {
            state.set_agent_connected(idx, false).unwrap();
        }
    }
    let r = &case["request"];
    let ports = |key: &str| -> Vec<u16> {
        r[key].as_array().map_or(Vec::new(), |a| {
            a.iter().map(|p| p.as_u64().unwrap() as u16).collect()
        })
    };
    let demand = Demand::new(
        r["cpu"].as_u64().unwrap_or(0) as u32,
        r["memory"].as_u64().unwrap_or(0) as u32,
    )
    .with_ports_tcp(ports("ports_tcp"))
    .with_ports_udp(ports("ports_udp"))
    .with_gpus(r["gpus"].as_u64().unwrap_or(0) as u32)
    .with_eni(r["eni"] == json!(true));
    let mut request = PlacementRequest::new(demand, r["group"].as_str().unwrap_or("family:test"))
        .with_count(r["count"].as_u64().unwrap_or(1) as u32);
    if let Some(rules) = r["strategy"].as_array() {
        request = request.with_strategy(
            rules
                .iter()
                .map(|s| s.as_str().unwrap().parse().unwrap())
                .collect(),
        );
    }
    for constraint in r["constraints"].as_array().map_or(&[][..], Vec::as_slice) {
        let text = constraint.as_str().unwrap();
        request = request.with_constraint(match text.strip_prefix("memberOf:") {
            Some(expression) => Constraint::member_of(expression).unwrap(),
            None => Constraint::DistinctInstance,
        });
    }
    request.seed = r["seed"].as_u64();
    let plan = placement::plan(&state, &request).unwrap();
    assert_eq!(
        plan,
        oracle::plan(&state, &request).unwrap(),
        "engine and oracle disagree"
    );
    let id = |idx: InstanceIdx| state.instance(idx).unwrap().id().to_owned();
    Value::Array(
        plan.outcomes()
            .iter()
            .map(|outcome| match outcome {
                Outcome::Placed(p) => json!(id(p.instance)),
                Outcome::Failed(f) => {
                    json!({"reason": f.reason.to_string(), "instance": f.instance.map(id)})
                }
            })
            .collect(),
    )
}

#[test]
fn placement_data_driven_cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/placement");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "json")
                && !path.to_string_lossy().ends_with(".expect.json")
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let actual = run_case(&case);
        let expect_path = path.with_extension("expect.json");
        if update || !expect_path.exists() {
            std::fs::write(
                &expect_path,
                serde_json::to_string_pretty(&actual).unwrap() + "\n",
            )
            .unwrap();
            continue;
        }
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&expect_path).unwrap()).unwrap();
        assert_eq!(actual, expected, "{}", path.display());
    }
}
