//! Places a synthetic workload (`shared/data/workloads/*.json`) one task at a time, in file
//! order, on an empty cluster registered in file order, and prints one JSON line:
//! `{"placed", "failed", "failure_reasons", "instances_used", "tasks_per_az", "seconds"}`.
//!
//! ```text
//! cargo run -q --release --example place -- WORKLOAD.json [--strategy S]... [--seed N]
//! ```
//!
//! `S` is `binpack:memory`, `binpack:cpu`, `spread:instanceId`, `spread:attribute:NAME` or
//! `random`; repeat it for several rules. Without `--strategy`, RunTask's default
//! (PL-DEFAULT-RUNTASK). All tasks are in one task group; a task that fits nowhere is counted
//! failed and the run goes on. `seconds` times the planning and applying only, not the parsing.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::Value;
use stowplan::placement::{
    Constraint, Demand, Engine, Outcome, PlacementRequest, StrategyRule, default_runtask_strategy,
};
use stowplan::state::{ClusterState, InstanceSpec};

const GROUP: &str = "family:workload";

fn main() -> ExitCode {
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("place: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, String> {
    let mut path = None;
    let mut strategy = Vec::new();
    let mut seed = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--strategy" => {
                let text = args.next().ok_or("--strategy needs a value")?;
                strategy.push(text.parse::<StrategyRule>().map_err(|e| e.to_string())?);
            }
            "--seed" => {
                let text = args.next().ok_or("--seed needs a value")?;
                seed = text.parse().map_err(|_| format!("invalid seed {text:?}"))?;
            }
            _ if path.is_none() => path = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let path = path.ok_or("usage: place WORKLOAD.json [--strategy S]... [--seed N]")?;
    if strategy.is_empty() {
        strategy = default_runtask_strategy();
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let workload: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;

    let mut state = ClusterState::new();
    state.set_placement_rng(seed);
    for instance in workload["instances"]
        .as_array()
        .ok_or("no \"instances\" array")?
    {
        let mut spec = InstanceSpec::new(
            instance["id"].as_str().ok_or("instance without id")?,
            number(&instance["cpu"])?,
            number(&instance["memory"])?,
        )
        .with_ports_tcp(ports(&instance["ports"])?);
        if let Some(attributes) = instance["attributes"].as_object() {
            for (name, value) in attributes {
                spec = spec.with_attribute(name, value.as_str());
            }
        }
        state.register(spec).map_err(|e| e.to_string())?;
    }

    let mut requests = Vec::new();
    let mut parsed: BTreeMap<String, Constraint> = BTreeMap::new();
    for task in workload["tasks"].as_array().ok_or("no \"tasks\" array")? {
        let demand = Demand::new(number(&task["cpu"])?, number(&task["memory"])?)
            .with_ports_tcp(ports(&task["ports"])?);
        let mut request = PlacementRequest::new(demand, GROUP).with_strategy(strategy.clone());
        if let Some(expression) = task["constraint"].as_str() {
            if !parsed.contains_key(expression) {
                let constraint = Constraint::member_of(expression).map_err(|e| e.to_string())?;
                parsed.insert(expression.to_owned(), constraint);
            }
            request = request.with_constraint(parsed[expression].clone());
        }
        requests.push(request);
    }

    let mut engine = Engine::new();
    let (mut placed, mut failed) = (0u64, 0u64);
    let mut failure_reasons: BTreeMap<String, u64> = BTreeMap::new();
    // Timing the run is the point of this example: allow the wall clock here only.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    for request in &requests {
        let plan = engine.plan(&state, request).map_err(|e| e.to_string())?;
        for outcome in plan.outcomes() {
            match outcome {
                Outcome::Placed(_) => placed += 1,
                Outcome::Failed(failure) => {
                    failed += 1;
                    *failure_reasons
                        .entry(failure.reason.to_string())
                        .or_insert(0) += 1;
                }
            }
        }
        plan.apply(&mut state).map_err(|e| e.to_string())?;
    }
    let seconds = started.elapsed().as_secs_f64();

    let mut tasks_per_az: BTreeMap<String, u64> = BTreeMap::new();
    let mut instances_used = 0u64;
    for (_, instance) in state.instances() {
        let tasks = instance.running_tasks_count();
        if tasks > 0 {
            instances_used += 1;
            let zone = instance
                .attribute("ecs.availability-zone")
                .flatten()
                .unwrap_or("(none)");
            *tasks_per_az.entry(zone.to_owned()).or_insert(0) += tasks;
        }
    }
    let line = serde_json::json!({
        "placed": placed,
        "failed": failed,
        "failure_reasons": failure_reasons,
        "instances_used": instances_used,
        "tasks_per_az": tasks_per_az,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    });
    Ok(line.to_string())
}

fn number(value: &Value) -> Result<u32, String> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("expected a non-negative integer, got {value}"))
}

fn ports(value: &Value) -> Result<Vec<u16>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| format!("invalid port {item}"))
            })
            .collect(),
        _ => Err(format!("expected a list of ports, got {value}")),
    }
}
