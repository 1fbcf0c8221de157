//! Packs 2-D vector bin packing instances (`shared/data/vbp/caprara_toth_2dvpp/*.txt`) online, in
//! arrival order, with `binpack:memory` (dimension 1 = CPU units, dimension 2 = MiB): each item
//! goes to the open bin with the least remaining memory that fits it (ties to the earliest bin),
//! and a new instance of the bins' size is registered only when no open bin fits. Prints one
//! JSON line per file: `{"instance", "n", "bins", "l1"}`, where `l1 = max_d ceil(sum_d / W_d)`.
//!
//! ```text
//! cargo run -q --release --example vbp -- FILE...
//! ```

use std::process::ExitCode;

use stowplan::placement::{BinpackField, Demand, Engine, PlacementRequest, StrategyRule};
use stowplan::planner::Problem;
use stowplan::state::{ClusterState, InstanceSpec};

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: vbp FILE...");
        return ExitCode::FAILURE;
    }
    for path in &paths {
        match pack(path) {
            Ok(line) => println!("{line}"),
            Err(message) => {
                eprintln!("vbp: {path}: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn pack(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let problem = Problem::from_vbp_text(&text)?;
    let to_u32 = |value: u64| u32::try_from(value).map_err(|_| format!("{value} is too large"));
    let (capacity_cpu, capacity_memory) = (
        to_u32(problem.capacity.cpu)?,
        to_u32(problem.capacity.memory)?,
    );
    let items: Vec<(u32, u32)> = problem
        .items
        .iter()
        .map(|item| Ok((to_u32(item.cpu)?, to_u32(item.memory)?)))
        .collect::<Result<_, String>>()?;

    let strategy = vec![StrategyRule::Binpack(BinpackField::Memory)];
    let mut state = ClusterState::new();
    let mut engine = Engine::new();
    for &(cpu, memory) in &items {
        let request =
            PlacementRequest::new(Demand::new(cpu, memory), "vbp").with_strategy(strategy.clone());
        let mut plan = engine.plan(&state, &request).map_err(|e| e.to_string())?;
        if plan.n_placed() == 0 {
            // No open bin fits: open a new one, which then is the only instance that fits.
            let id = format!("bin-{}", state.len() + 1);
            state
                .register(InstanceSpec::new(id, capacity_cpu, capacity_memory))
                .map_err(|e| e.to_string())?;
            plan = engine.plan(&state, &request).map_err(|e| e.to_string())?;
            if plan.n_placed() == 0 {
                return Err(format!("item ({cpu}, {memory}) does not fit an empty bin"));
            }
        }
        plan.apply(&mut state).map_err(|e| e.to_string())?;
    }

    let sum_cpu: u64 = items.iter().map(|&(cpu, _)| u64::from(cpu)).sum();
    let sum_memory: u64 = items.iter().map(|&(_, memory)| u64::from(memory)).sum();
    let l1 = sum_cpu
        .div_ceil(u64::from(capacity_cpu.max(1)))
        .max(sum_memory.div_ceil(u64::from(capacity_memory.max(1))));
    let name = std::path::Path::new(path)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or(path);
    let line = serde_json::json!({ "instance": name, "n": problem.items.len(), "bins": state.len(), "l1": l1 });
    Ok(line.to_string())
}
