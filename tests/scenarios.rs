//! The conformance suite inside `cargo test`: every scenario under `tests/scenarios/` (and the
//! shared examples) runs through the library's runner and each step is judged by its `expect`
//! / `expect_error` members, with the expectation language of
//! `shared/tools/check_scenarios.py` ported here (same operators, same absent/null rules).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support;

/// Resolves an RFC 6901 pointer; `None` = absent.
fn resolve<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    stowplan::json::Pointer::parse(pointer)?.resolve(value)
}

fn is_num(v: &Value) -> bool {
    v.is_number()
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Bool(_), _) | (_, Value::Bool(_)) => false,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn deep_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_eq(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| deep_eq(v, w))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        _ => scalar_eq(a, b),
    }
}

fn is_operator(expected: &Value) -> bool {
    expected
        .as_object()
        .is_some_and(|map| !map.is_empty() && map.keys().any(|k| k.starts_with('$')))
}

type Captures = BTreeMap<String, Value>;

/// `None` when `actual` (absent = `None`) matches `expected`, else the reason.
fn judge(expected: &Value, actual: Option<&Value>, caps: &Captures, path: &str) -> Option<String> {
    if is_operator(expected) {
        for (op, arg) in expected.as_object().into_iter().flatten() {
            if op == "counts" {
                continue;
            }
            if let Some(reason) = operator(op, arg, expected, actual, caps, path) {
                return Some(reason);
            }
        }
        return None;
    }
    match expected {
        Value::Object(map) => {
            let Some(Value::Object(actual)) = actual else {
                return Some(format!("{path}: expected an object, got {actual:?}"));
            };
            map.iter()
                .find_map(|(k, v)| judge(v, actual.get(k), caps, &format!("{path}.{k}")))
        }
        Value::Array(items) => {
            let Some(Value::Array(actual)) = actual else {
                return Some(format!("{path}: expected an array, got {actual:?}"));
            };
            if items.len() != actual.len() {
                return Some(format!(
                    "{path}: expected {} elements, got {}",
                    items.len(),
                    actual.len()
                ));
            }
            items
                .iter()
                .zip(actual)
                .enumerate()
                .find_map(|(i, (e, a))| judge(e, Some(a), caps, &format!("{path}[{i}]")))
        }
        scalar => match actual {
            Some(a) if !a.is_object() && !a.is_array() && scalar_eq(scalar, a) => None,
            other => Some(format!("{path}: expected {scalar}, got {other:?}")),
        },
    }
}

fn length(actual: Option<&Value>) -> Option<usize> {
    match actual? {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        Value::String(s) => Some(s.chars().count()),
        _ => None,
    }
}

fn operator(
    op: &str,
    arg: &Value,
    whole: &Value,
    actual: Option<&Value>,
    caps: &Captures,
    path: &str,
) -> Option<String> {
    let fail = |why: String| Some(format!("{path}: {op}: {why}"));
    let array = || actual.and_then(Value::as_array);
    match op {
        "$len" | "$len_ge" => {
            let want = arg.as_u64().unwrap_or(0) as usize;
            match length(actual) {
                Some(n) if (op == "$len" && n == want) || (op == "$len_ge" && n >= want) => None,
                other => fail(format!("length {other:?}, want {want}")),
            }
        }
        "$any" => actual
            .is_none()
            .then(|| format!("{path}: expected present")),
        "$absent" => match actual {
            None | Some(Value::Null) => None,
            Some(other) => fail(format!("got {other}")),
        },
        "$empty" => match actual {
            None | Some(Value::Null) => None,
            Some(v) if length(Some(v)) == Some(0) => None,
            Some(other) => fail(format!("got {other}")),
        },
        "$contains" => match array() {
            Some(items)
                if items
                    .iter()
                    .any(|a| judge(arg, Some(a), caps, path).is_none()) =>
            {
                None
            }
            _ => fail(format!("no element matches {arg}")),
        },
        "$each" => match array() {
            Some(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, a)| judge(arg, Some(a), caps, &format!("{path}[{i}]"))),
            None => fail("not an array".to_string()),
        },
        "$distinct" | "$count_by" => {
            let Some(items) = array() else {
                return fail("not an array".to_string());
            };
            let pointer = arg.as_str().unwrap_or_default();
            let mut groups: BTreeMap<String, u64> = BTreeMap::new();
            for item in items {
                let Some(value) = resolve(item, pointer) else {
                    return fail(format!("pointer {pointer} does not resolve"));
                };
                *groups.entry(value.to_string()).or_default() += 1;
            }
            if op == "$distinct" {
                (groups.values().any(|n| *n > 1)).then(|| format!("{path}: $distinct: duplicates"))
            } else {
                let mut got: Vec<u64> = groups.into_values().collect();
                got.sort_unstable();
                let mut want: Vec<u64> = whole["counts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                want.sort_unstable();
                (got != want).then(|| format!("{path}: $count_by: {got:?} != {want:?}"))
            }
        }
        "$regex" => match actual.and_then(Value::as_str) {
            Some(text)
                if regex::Regex::new(arg.as_str().unwrap_or_default())
                    .is_ok_and(|re| re.is_match(text)) =>
            {
                None
            }
            other => fail(format!("{other:?} does not match {arg}")),
        },
        "$one_of" => {
            let any = arg
                .as_array()
                .into_iter()
                .flatten()
                .any(|alt| judge(alt, actual, caps, path).is_none());
            (!any).then(|| format!("{path}: matches none of {arg}"))
        }
        "$ref" => {
            let name = arg.as_str().unwrap_or_default();
            match (caps.get(name), actual) {
                (Some(captured), Some(a)) if deep_eq(captured, a) => None,
                (captured, a) => fail(format!("captured {captured:?}, got {a:?}")),
            }
        }
        "$gte" | "$lte" => match actual {
            Some(a) if is_num(a) => {
                let (x, y) = (
                    a.as_f64().unwrap_or(f64::NAN),
                    arg.as_f64().unwrap_or(f64::NAN),
                );
                let ok = if op == "$gte" { x >= y } else { x <= y };
                (!ok).then(|| format!("{path}: {op} {arg}: got {a}"))
            }
            other => fail(format!("not a number: {other:?}")),
        },
        "$not" => judge(arg, actual, caps, path)
            .is_none()
            .then(|| format!("{path}: $not {arg} matched")),
        other => fail(format!("unknown operator {other}")),
    }
}

/// Runs one scenario file and judges every step; returns the failures.
fn check_file(path: &Path) -> Vec<String> {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let scenario = stowplan::json::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let lines = match stowplan::scenario::run(&scenario) {
        Ok(lines) => lines,
        Err(err) => return vec![format!("{name}: cannot run: {err}")],
    };
    let steps = scenario["steps"].as_array().cloned().unwrap_or_default();
    assert_eq!(lines.len(), steps.len(), "{name}: one line per step");
    let mut caps = Captures::new();
    let mut failures = Vec::new();
    for (index, (step, line)) in steps.iter().zip(&lines).enumerate() {
        let label = format!("{name} step {index} ({})", step["action"]);
        let response = line.get("response");
        if let (Some(response), Some(Value::Object(capture))) = (response, step.get("capture")) {
            for (key, pointer) in capture {
                if let Some(value) = resolve(response, pointer.as_str().unwrap_or_default()) {
                    caps.insert(key.clone(), value.clone());
                }
            }
        }
        match (step.get("expect_error"), line.get("error")) {
            (Some(expected), Some(error)) => {
                let got = &error["type"];
                let ok = match expected {
                    Value::Array(names) => names.contains(got),
                    name => name == got,
                };
                if !ok {
                    failures.push(format!("{label}: expected error {expected}, got {got}"));
                }
            }
            (Some(expected), None) => failures.push(format!(
                "{label}: expected error {expected}, got a response"
            )),
            (None, Some(error)) => failures.push(format!("{label}: unexpected error {error}")),
            (None, None) => {
                if let Some(expected) = step.get("expect")
                    && let Some(reason) = judge(expected, response, &caps, "$")
                {
                    failures.push(format!("{label}: {reason}"));
                }
            }
        }
    }
    failures
}

#[test]
fn conformance_scenarios_pass() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios"));
    let files = support::json_files(dir);
    assert!(
        files.len() >= 60,
        "the conformance suite has {} files",
        files.len()
    );
    let failures: Vec<String> = files.iter().flat_map(|f| check_file(f)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bundled_tour_passes() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios"));
    let failures: Vec<String> = support::json_files(dir)
        .iter()
        .flat_map(|f| check_file(f))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shared_example_scenarios_pass() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("skipped: ../shared is absent");
        return;
    };
    let failures: Vec<String> = support::json_files(&shared.join("spec/examples"))
        .iter()
        .flat_map(|f| check_file(f))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_judge_can_fail() {
    let caps = Captures::new();
    let actual = serde_json::json!({"tasks": [{"lastStatus": "RUNNING"}], "n": 3});
    let verdict = |expect: serde_json::Value| judge(&expect, Some(&actual), &caps, "$");
    // Each of these must be a mismatch...
    for expect in [
        serde_json::json!({"tasks": [{"lastStatus": "STOPPED"}]}),
        serde_json::json!({"tasks": {"$len": 2}}),
        serde_json::json!({"n": {"$gte": 4}}),
        serde_json::json!({"missing": {"$any": true}}),
    ] {
        assert!(
            verdict(expect.clone()).is_some(),
            "{expect} should not match"
        );
    }
    // ...and this one a match.
    assert!(
        verdict(
            serde_json::json!({"tasks": {"$each": {"lastStatus": "RUNNING"}}, "n": {"$lte": 3}})
        )
        .is_none()
    );
}

#[test]
fn same_scenario_same_bytes() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios"));
    for file in support::json_files(dir).iter().take(20) {
        let scenario = stowplan::json::parse(&std::fs::read_to_string(file).unwrap()).unwrap();
        let first = serde_json::to_string(&stowplan::scenario::run(&scenario).unwrap()).unwrap();
        let second = serde_json::to_string(&stowplan::scenario::run(&scenario).unwrap()).unwrap();
        assert_eq!(first, second, "{}", file.display());
    }
}

/// RunTask writes its response straight from the task records (`TaskRecord::json`); that
/// writer must give the same bytes as serialising `TaskRecord::to_model` (what DescribeTasks
/// and the library API return). Checked on every task after every step of every conformance
/// scenario and the tour: bridge, host, awsvpc and Fargate tasks, overrides, tags, GPUs,
/// capacity providers, stopped and failed tasks.
#[test]
fn task_json_writer_equals_the_model() {
    let mut files = support::json_files(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scenarios"
    )));
    files.extend(support::json_files(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/scenarios"
    ))));
    let mut compared = 0usize;
    for path in files {
        let scenario = stowplan::json::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Ok(config) = stowplan::scenario::config_of(&scenario) else {
            continue;
        };
        let mut runner = stowplan::scenario::Runner::new(config);
        for (index, step) in scenario["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            runner.step(index, step);
            for cluster in runner.ecs().clusters() {
                for record in cluster.tasks.values() {
                    let mut model = record.to_model();
                    let written = serde_json::to_string(&record.json(true)).unwrap();
                    assert_eq!(
                        written,
                        serde_json::to_string(&model).unwrap(),
                        "{} step {index}",
                        path.display()
                    );
                    model.tags = None;
                    assert_eq!(
                        serde_json::to_string(&record.json(false)).unwrap(),
                        serde_json::to_string(&model).unwrap()
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 1_000, "only {compared} task states compared");
}
