//! Placement throughput of the engine against the oracle, on one generated workload, checked
//! placement by placement in the same run.
//!
//! ```text
//! cargo run --release --example perf -- [--instances M] [--tasks N] [--plan P] [--repeat R]
//! cargo run --release --example perf -- --curve [--tasks N] [--repeat R]
//! cargo run --release --example perf -- --api [--instances M] [--tasks N]
//! ```
//!
//! For each case (binpack:memory, binpack:cpu, spread:attribute:ecs.availability-zone,
//! spread:instanceId, random, each without and with a `memberOf` on the zone attribute) the
//! example registers `M` instances (deterministic generator below, sized so that all `N` tasks
//! fit), then places `N` tasks in plans of `P` tasks (demands cycle between plans), applying each
//! plan before the next. Pass 1 plans every batch with the engine and with the oracle, requires
//! equal plans (a mismatch is an error exit) and requires every task placed; passes 2 to `R` replay
//! the engine alone, and `engine_per_s` is the best pass. Only planning is timed, not applying.
//!
//! Before a pass is timed, each distinct request shape is planned once untimed (not applied):
//! that builds the state's persistent index for the shape (O(M), reported as `index_build_ms`
//! for the first shape); the timed plans then only replay the instances changed since
//! (O(log M) each) and place.
//!
//! One JSON line per case:
//! `{"case", "instances", "tasks", "engine_per_s", "oracle_per_s", "ratio", "bytes_per_task",
//! "ns_per_task", "index_build_ms", "plan"}`. `bytes_per_task` is measured with a counting
//! global allocator (the `stats_alloc` dev-dependency, so this file needs no `unsafe`): the
//! bytes the engine's `plan` calls keep alive (the plan it returns), per placed task.
//!
//! `--curve` runs the unconstrained cases with plans of 10 tasks at M = 100, 1,000, 5,000 and
//! 20,000 instances (the oracle still checks every plan) to show how the cost per placement grows
//! with M.
//!
//! `--api` measures RunTask (count 10, RunTask's default strategy) through the dynamic JSON API
//! (`api::call`, JSON in, JSON out, the response serialised to a string) on `M` instances
//! registered through the API: `{"case": "api:RunTask", "instances", "tasks", "tasks_per_s",
//! "bytes_per_task"}`, where `bytes_per_task` is the heap the whole control plane keeps per task
//! started (task records, state, index). Every call must start 10 tasks; the first 20 calls are
//! checked against the oracle.

use std::alloc::System;
use std::process::ExitCode;

use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use stowplan::api;
use stowplan::control::{Caller, Ecs, EcsConfig};
use stowplan::placement::rng::SplitMix64;
use stowplan::placement::{
    Constraint, Demand, Engine, MAX_TASKS_PER_PLAN, PlacementRequest, StrategyRule, oracle,
};
use stowplan::state::{ClusterState, InstanceSpec};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const GROUP: &str = "family:web";
const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
/// (CPU units, MiB, type) per instance size, scaled by the workload.
const TYPES: [(u32, u32, &str); 4] = [
    (2048, 8192, "m5.large"),
    (4096, 8192, "c5.xlarge"),
    (2048, 16384, "r5.large"),
    (8192, 32768, "m5.2xlarge"),
];
/// Task demands, one per plan in turn; the largest takes a quarter of the smallest type's CPU.
const DEMANDS: [(u32, u32); 4] = [(128, 256), (256, 512), (512, 1024), (64, 128)];
const MEMBER_OF: &str = "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]";

struct Options {
    instances: usize,
    tasks: u32,
    plan: u32,
    repeat: u32,
    curve: bool,
    api: bool,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("perf: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let options = options()?;
    if options.api {
        println!("{}", api_case(&options)?);
        return Ok(());
    }
    if options.curve {
        return curve(&options);
    }
    let cases: [(&str, StrategyRule); 5] = [
        ("binpack:memory", "binpack:memory".parse().map_err(text)?),
        ("binpack:cpu", "binpack:cpu".parse().map_err(text)?),
        (
            "spread:attribute:ecs.availability-zone",
            "spread:attribute:ecs.availability-zone"
                .parse()
                .map_err(text)?,
        ),
        (
            "spread:instanceId",
            "spread:instanceId".parse().map_err(text)?,
        ),
        ("random", StrategyRule::Random),
    ];
    let member_of = Constraint::member_of(MEMBER_OF).map_err(text)?;
    let base = cluster(&options);
    for (name, rule) in &cases {
        for constraint in [None, Some(&member_of)] {
            let case = match constraint {
                None => (*name).to_owned(),
                Some(_) => format!("{name}+memberOf"),
            };
            let requests = requests(&options, rule, constraint);
            let line = measure(&case, &options, &base, &requests)?;
            println!("{line}");
        }
    }
    Ok(())
}

fn text(error: impl ToString) -> String {
    error.to_string()
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        instances: 5_000,
        tasks: 5_000,
        plan: 1_000,
        repeat: 10,
        curve: false,
        api: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--curve" => {
                options.curve = true;
                continue;
            }
            "--api" => {
                options.api = true;
                continue;
            }
            _ => {}
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{arg}: not a number: {value:?}"))?;
        match arg.as_str() {
            "--instances" => options.instances = number as usize,
            "--tasks" => options.tasks = u32::try_from(number).map_err(text)?,
            "--plan" => options.plan = u32::try_from(number).map_err(text)?,
            "--repeat" => options.repeat = u32::try_from(number).map_err(text)?.max(1),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    if options.instances == 0 || options.tasks == 0 {
        return Err("--instances and --tasks must be positive".into());
    }
    if options.plan == 0 || options.plan > MAX_TASKS_PER_PLAN {
        return Err(format!("--plan must be 1-{MAX_TASKS_PER_PLAN}"));
    }
    Ok(options)
}

/// `M` instances of random types in random zones, scaled so that even the two zones the
/// `memberOf` allows hold all tasks at the largest demand: the benchmark keeps placing.
fn cluster(options: &Options) -> ClusterState {
    let per_instance = options.tasks as usize / options.instances + 1;
    // The smallest type takes 4 of the largest demand per unit of scale; two thirds of the
    // instances are in the allowed zones; a factor 2 covers the randomness of the draw.
    let scale =
        u32::try_from(per_instance.div_ceil(4) * 2 * 3 / 2 + 1).unwrap_or(u32::MAX / 32_768);
    let mut rng = SplitMix64::new(0x5eed);
    let mut state = ClusterState::new();
    for k in 0..options.instances {
        let (cpu, memory, instance_type) = TYPES[rng.draw_index(TYPES.len())];
        let zone = ZONES[rng.draw_index(ZONES.len())];
        let spec = InstanceSpec::new(format!("i-{k:06}"), cpu * scale, memory * scale)
            .with_ports_tcp(vec![22, 2375, 2376, 51678, 51679])
            .with_attribute("ecs.availability-zone", Some(zone))
            .with_attribute("ecs.instance-type", Some(instance_type))
            .with_attribute("ecs.os-type", Some("linux"));
        if let Err(error) = state.register(spec) {
            unreachable!("generated instance refused: {error}");
        }
    }
    state
}

fn requests(
    options: &Options,
    rule: &StrategyRule,
    constraint: Option<&Constraint>,
) -> Vec<PlacementRequest> {
    let mut requests = Vec::new();
    let mut left = options.tasks;
    while left > 0 {
        let count = left.min(options.plan);
        let (cpu, memory) = DEMANDS[requests.len() % DEMANDS.len()];
        let mut request = PlacementRequest::new(Demand::new(cpu, memory), GROUP)
            .with_count(count)
            .with_strategy(vec![rule.clone()]);
        if let Some(constraint) = constraint {
            request = request.with_constraint(constraint.clone());
        }
        requests.push(request);
        left -= count;
    }
    requests
}

/// Plans each distinct request shape once, untimed and not applied, so that the state's index
/// holds it; returns the seconds the first one took (one O(M) index build).
#[allow(clippy::disallowed_methods)]
fn warm_up(
    engine: &mut Engine,
    state: &ClusterState,
    requests: &[PlacementRequest],
) -> Result<f64, String> {
    let mut first = None;
    for request in requests.iter().take(DEMANDS.len()) {
        let started = std::time::Instant::now();
        let _ = engine.plan(state, request).map_err(text)?;
        first.get_or_insert(started.elapsed().as_secs_f64());
    }
    Ok(first.unwrap_or(0.0))
}

// Timing the run is the point of this example: allow the wall clock here only.
#[allow(clippy::disallowed_methods)]
fn measure(
    case: &str,
    options: &Options,
    base: &ClusterState,
    requests: &[PlacementRequest],
) -> Result<String, String> {
    let tasks = f64::from(options.tasks);
    // Pass 1: engine and oracle on every batch, compared.
    let mut state = base.clone();
    let mut engine = Engine::new();
    let build_seconds = warm_up(&mut engine, &state, requests)?;
    let (mut engine_seconds, mut oracle_seconds) = (0.0f64, 0.0f64);
    for (plan_idx, request) in requests.iter().enumerate() {
        let started = std::time::Instant::now();
        let planned = engine.plan(&state, request).map_err(text)?;
        engine_seconds += started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let reference = oracle::plan(&state, request).map_err(text)?;
        oracle_seconds += started.elapsed().as_secs_f64();
        if planned != reference {
            let first = planned
                .outcomes()
                .iter()
                .zip(reference.outcomes())
                .position(|(a, b)| a != b);
            return Err(format!(
                "{case}: engine and oracle disagree in plan {plan_idx} at task {first:?}"
            ));
        }
        if planned.n_placed() != request.count as usize {
            return Err(format!(
                "{case}: plan {plan_idx} placed {} of {} tasks: the workload is too small",
                planned.n_placed(),
                request.count
            ));
        }
        planned.apply(&mut state).map_err(text)?;
    }
    // Passes 2..R: the engine alone (same states, same plans); keep the best.
    let mut best = engine_seconds;
    let mut retained = 0i64;
    for _ in 1..options.repeat {
        let mut state = base.clone();
        warm_up(&mut engine, &state, requests)?;
        let mut seconds = 0.0;
        retained = 0;
        for request in requests {
            let region = Region::new(GLOBAL);
            let started = std::time::Instant::now();
            let planned = engine.plan(&state, request).map_err(text)?;
            seconds += started.elapsed().as_secs_f64();
            retained += net(&region.change());
            if planned.n_placed() != request.count as usize {
                return Err(format!("{case}: a replayed plan placed fewer tasks"));
            }
            planned.apply(&mut state).map_err(text)?;
        }
        best = best.min(seconds);
    }
    let engine_per_s = tasks / best;
    let oracle_per_s = tasks / oracle_seconds;
    let line = serde_json::json!({
        "case": case,
        "instances": options.instances,
        "tasks": options.tasks,
        "engine_per_s": engine_per_s.round(),
        "oracle_per_s": oracle_per_s.round(),
        "ratio": (engine_per_s / oracle_per_s * 10.0).round() / 10.0,
        "bytes_per_task": (retained as f64 / tasks * 10.0).round() / 10.0,
        "ns_per_task": (best / tasks * 1e9).round(),
        "index_build_ms": (build_seconds * 1e5).round() / 100.0,
        "plan": options.plan,
    });
    Ok(line.to_string())
}

/// The cost per placement against M, plans of 10, unconstrained strategies.
fn curve(options: &Options) -> Result<(), String> {
    for instances in [100, 1_000, 5_000, 20_000] {
        let options = Options {
            instances,
            plan: 10,
            curve: true,
            api: false,
            ..*options
        };
        let base = cluster(&options);
        for name in [
            "binpack:memory",
            "binpack:cpu",
            "spread:attribute:ecs.availability-zone",
            "spread:instanceId",
            "random",
        ] {
            let rule: StrategyRule = name.parse().map_err(text)?;
            let requests = requests(&options, &rule, None);
            println!("{}", measure(name, &options, &base, &requests)?);
        }
    }
    Ok(())
}

/// RunTask count 10 through `api::call` on `M` instances registered through the API.
#[allow(clippy::disallowed_methods)]
fn api_case(options: &Options) -> Result<String, String> {
    let root = Caller::root("123456789012");
    let mut ecs = Ecs::new(EcsConfig::default());
    let call = |ecs: &mut Ecs, operation: &str, request: &Value| {
        api::call(ecs, operation, request, &root).map_err(|e| format!("{operation}: {e:?}"))
    };
    call(&mut ecs, "CreateCluster", &json!({"clusterName": "perf"}))?;
    // Sized so that every call places all ten tasks: 64 tasks of (64 CPU, 128 MiB) per
    // instance hold `--tasks` when M * 64 >= N.
    let per_instance = (options.tasks as usize / options.instances + 1).max(1) as u64;
    for i in 0..options.instances {
        let zone = ZONES[i % ZONES.len()];
        call(
            &mut ecs,
            "RegisterContainerInstance",
            &json!({
                "cluster": "perf",
                "instanceIdentityDocument": format!("{{\"instanceId\":\"i-{i:017}\",\"availabilityZone\":\"{zone}\",\"instanceType\":\"m5.xlarge\"}}"),
                "totalResources": [
                    {"name": "CPU", "type": "INTEGER", "integerValue": 64 * per_instance},
                    {"name": "MEMORY", "type": "INTEGER", "integerValue": 128 * per_instance}
                ]
            }),
        )?;
    }
    call(
        &mut ecs,
        "RegisterTaskDefinition",
        &json!({"family": "web", "containerDefinitions": [
            {"name": "web", "image": "nginx:1", "cpu": 64, "memory": 128}
        ]}),
    )?;
    let request = json!({"cluster": "perf", "taskDefinition": "web", "count": 10}).to_string();
    let calls = (options.tasks / 10).max(1);
    let placement_request = PlacementRequest::new(Demand::new(64, 128), GROUP).with_count(10);
    let region = Region::new(GLOBAL);
    let mut seconds = 0.0f64;
    for call_idx in 0..calls {
        // The first calls: the oracle's plan on the same state must name the same instances.
        let expected = if call_idx < 20 {
            let cluster = ecs.clusters().next().ok_or("no cluster")?;
            let plan = oracle::plan(&cluster.state, &placement_request).map_err(text)?;
            let arns: Vec<String> = plan
                .outcomes()
                .iter()
                .filter_map(|o| o.placement())
                .filter_map(|p| {
                    cluster
                        .instances
                        .values()
                        .find(|r| r.idx == p.instance)
                        .map(|r| r.arn.clone())
                })
                .collect();
            Some(arns)
        } else {
            None
        };
        let started = std::time::Instant::now();
        let body = api::call_json(&mut ecs, "RunTask", &request, &root)
            .map_err(|e| format!("RunTask: {e:?}"))?;
        seconds += started.elapsed().as_secs_f64();
        let response: Value = serde_json::from_str(&body).map_err(text)?;
        let tasks = response["tasks"].as_array().map_or(0, Vec::len);
        if tasks != 10 {
            return Err(format!(
                "RunTask call {call_idx} started {tasks} of 10 tasks"
            ));
        }
        if let Some(expected) = expected {
            let got: Vec<String> = response["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    t["containerInstanceArn"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            if got != expected {
                return Err(format!(
                    "RunTask call {call_idx}: engine and oracle disagree"
                ));
            }
        }
    }
    let tasks = f64::from(calls * 10);
    let line = json!({
        "case": "api:RunTask",
        "instances": options.instances,
        "tasks": calls * 10,
        "tasks_per_s": (tasks / seconds).round(),
        "bytes_per_task": (net(&region.change()) as f64 / tasks).round(),
    });
    Ok(line.to_string())
}

/// Bytes allocated and not freed within a region.
fn net(stats: &stats_alloc::Stats) -> i64 {
    // `stats_alloc` already adds a realloc's growth to `bytes_allocated` (and its shrinking to
    // `bytes_deallocated`); `bytes_reallocated` is the same amount again.
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}
