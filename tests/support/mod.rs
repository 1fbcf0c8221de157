//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// `../shared` beside the crate, if it is there (CI lays it out; a crates.io checkout lacks it).
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared"));
    dir.is_dir().then_some(dir)
}

/// The JSON files in `dir`, sorted by name.
pub fn json_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Whether `actual` equals `expected` once numbers written as strings in `expected` are read as
/// numbers (the one change the model makes when writing a document back).
pub fn equal_up_to_number_canonicalisation(
    expected: &serde_json::Value,
    actual: &serde_json::Value,
) -> bool {
    use serde_json::Value;
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(key, value)| {
                    b.get(key)
                        .is_some_and(|other| equal_up_to_number_canonicalisation(value, other))
                })
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| equal_up_to_number_canonicalisation(x, y))
        }
        (Value::String(s), Value::Number(n)) => s.trim().parse::<f64>().ok() == n.as_f64(),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// A service's task counts the deployment bounds are about (DEP-ROUNDING, DEP-HEALTHY): live
/// (not STOPPED) and healthy (RUNNING, desired RUNNING, and RUNNING for
/// `HEALTHY_AFTER_SECS`) at `now`.
pub fn live_and_healthy(
    cluster: &stowplan::control::Cluster,
    service: &stowplan::control::ServiceRecord,
    now: i64,
) -> (i64, i64) {
    let tasks: Vec<_> = service
        .task_arns
        .iter()
        .filter_map(|arn| cluster.tasks.get(arn))
        .collect();
    let live = tasks
        .iter()
        .filter(|t| t.last_status() != "STOPPED")
        .count() as i64;
    let healthy = tasks
        .iter()
        .filter(|t| {
            t.last_status() == "RUNNING"
                && t.desired_status() == "RUNNING"
                && t.started_at()
                    .is_some_and(|at| now - at.secs() >= stowplan::control::HEALTHY_AFTER_SECS)
        })
        .count() as i64;
    (live, healthy)
}
