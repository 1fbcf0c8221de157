//! Packs 2-D vector bin packing instances (`shared/data/vbp/caprara_toth_2dvpp/*.txt`, dimension
//! 1 = CPU units, dimension 2 = MiB) offline with the capacity planner and prints one JSON line
//! per file: `{"instance", "n", "bins", "lower_bound", "millis"}`.
//!
//! ```text
//! cargo run --release --example plan -- [--iterations N] FILE...
//! ```
//!
//! `lower_bound` is the planner's dimension-wise bound; `millis` times the packing only.

use std::process::ExitCode;

use stowplan::planner::{self, Options, Problem};

fn main() -> ExitCode {
    let mut options = Options::default();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--iterations" {
            match args.next().and_then(|value| value.parse().ok()) {
                Some(iterations) => options = options.with_iterations(iterations),
                None => {
                    eprintln!("plan: --iterations needs a number");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            paths.push(arg);
        }
    }
    if paths.is_empty() {
        eprintln!("usage: plan [--iterations N] FILE...");
        return ExitCode::FAILURE;
    }
    for path in &paths {
        match run(path, &options) {
            Ok(line) => println!("{line}"),
            Err(message) => {
                eprintln!("plan: {path}: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn run(path: &str, options: &Options) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let problem = Problem::from_vbp_text(&text)?;
    // Timing the packing is the point of this example: allow the wall clock here only.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let packing = planner::pack(&problem, options).map_err(|e| e.to_string())?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let name = std::path::Path::new(path)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or(path);
    let line = serde_json::json!({
        "instance": name,
        "n": problem.items.len(),
        "bins": packing.n_bins(),
        "lower_bound": packing.lower_bound(),
        "millis": (millis * 10.0).round() / 10.0,
    });
    Ok(line.to_string())
}
