//! The scenario-file runner (`shared/spec/scenario-format.md`): JSON in, JSON lines out.
//!
//! A scenario is one JSON object with optional `seed`, `region`, `account`, `startTime` and a
//! list of `steps`, each `{"action", "request", "capture"}` (any other member is ignored). The
//! runner runs the steps in order against a fresh [`Ecs`] through [`api::call`] and produces one
//! line per step:
//!
//! ```text
//! {"step": 0, "action": "CreateCluster", "response": { ... }}
//! {"step": 1, "action": "RunTask", "error": {"type": "InvalidParameterException", "message": "..."}}
//! ```
//!
//! It never stops early and never panics; a malformed step or an unresolved capture is an
//! error line of type `ScenarioError`.
//!
//! ```
//! let lines = stowplan::scenario::run_str(r#"{"steps": [
//!     {"action": "CreateCluster", "request": {"clusterName": "demo"},
//!      "capture": {"arn": "/cluster/clusterArn"}},
//!     {"action": "DescribeClusters", "request": {"clusters": ["${arn}"]}}
//! ]}"#)?;
//! assert_eq!(lines[1]["response"]["clusters"][0]["clusterName"], "demo");
//! # Ok::<(), stowplan::scenario::ScenarioFileError>(())
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::api::{self, ApiError};
use crate::control::{Ecs, EcsConfig};
use crate::json::Pointer;

/// A scenario file that cannot be run at all: not JSON, or not a scenario object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScenarioFileError {
    /// What is wrong with the file.
    pub message: String,
}

fn file_error(message: impl Into<String>) -> ScenarioFileError {
    ScenarioFileError {
        message: message.into(),
    }
}

/// Reads the run configuration of a scenario (defaults as the format documents).
pub fn config_of(scenario: &Value) -> Result<EcsConfig, ScenarioFileError> {
    let mut config = EcsConfig::default();
    if let Some(seed) = scenario.get("seed") {
        config.seed = seed
            .as_u64()
            .ok_or_else(|| file_error("'seed' must be a non-negative integer"))?;
    }
    if let Some(region) = scenario.get("region") {
        config.region = region
            .as_str()
            .ok_or_else(|| file_error("'region' must be a string"))?
            .to_string();
    }
    if let Some(account) = scenario.get("account") {
        config.account = account
            .as_str()
            .ok_or_else(|| file_error("'account' must be a string"))?
            .to_string();
    }
    if let Some(start) = scenario.get("startTime") {
        config.start_time = start
            .as_i64()
            .ok_or_else(|| file_error("'startTime' must be an integer (epoch seconds)"))?;
    }
    Ok(config)
}

/// Runs a scenario given as text.
pub fn run_str(text: &str) -> Result<Vec<Value>, ScenarioFileError> {
    let scenario = crate::json::parse(text).map_err(|err| file_error(err.to_string()))?;
    run(&scenario)
}

/// Runs a parsed scenario, returning one output line per step.
pub fn run(scenario: &Value) -> Result<Vec<Value>, ScenarioFileError> {
    if !scenario.is_object() {
        return Err(file_error("a scenario must be a JSON object"));
    }
    let config = config_of(scenario)?;
    let steps = scenario
        .get("steps")
        .and_then(Value::as_array)
        .ok_or_else(|| file_error("a scenario needs a 'steps' array"))?;
    let mut runner = Runner::new(config);
    Ok(steps
        .iter()
        .enumerate()
        .map(|(index, step)| runner.step(index, step))
        .collect())
}

/// Runs steps one at a time against one in-memory ECS, keeping captures between them.
#[derive(Debug)]
pub struct Runner {
    ecs: Ecs,
    captures: BTreeMap<String, Value>,
}

impl Runner {
    /// A runner over a fresh ECS.
    pub fn new(config: EcsConfig) -> Self {
        Runner {
            ecs: Ecs::new(config),
            captures: BTreeMap::new(),
        }
    }

    /// The ECS the steps run against.
    pub fn ecs(&self) -> &Ecs {
        &self.ecs
    }

    /// Runs one step and returns its output line.
    pub fn step(&mut self, index: usize, step: &Value) -> Value {
        let action = step.get("action").and_then(Value::as_str);
        let outcome = self.outcome(step);
        let mut line = Map::new();
        line.insert("step".to_string(), Value::from(index));
        line.insert(
            "action".to_string(),
            action.map_or(Value::Null, Value::from),
        );
        match outcome {
            Ok(response) => {
                line.insert("response".to_string(), response);
            }
            Err(error) => {
                line.insert(
                    "error".to_string(),
                    serde_json::json!({"type": error.error_type, "message": error.message}),
                );
            }
        }
        Value::Object(line)
    }

    fn outcome(&mut self, step: &Value) -> Result<Value, ApiError> {
        let scenario_error = |message: &str| ApiError::new("ScenarioError", message);
        if !step.is_object() {
            return Err(scenario_error("a step must be a JSON object"));
        }
        let action = step
            .get("action")
            .and_then(Value::as_str)
            .ok_or_else(|| scenario_error("a step needs an 'action' string"))?;
        let request = match step.get("request") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(request) => self.substitute(request)?,
        };
        let capture = match step.get("capture") {
            None => Map::new(),
            Some(Value::Object(capture)) => capture.clone(),
            Some(_) => return Err(scenario_error("'capture' must be an object")),
        };
        let caller = self.ecs.harness_caller();
        let response = api::call(&mut self.ecs, action, &request, &caller)?;
        let mut captured = Vec::new();
        for (name, pointer) in &capture {
            let value = pointer
                .as_str()
                .and_then(Pointer::parse)
                .and_then(|pointer| pointer.resolve(&response))
                .ok_or_else(|| {
                    scenario_error(&format!(
                        "capture '{name}': pointer {pointer} does not resolve in the response"
                    ))
                })?;
            captured.push((name.clone(), value.clone()));
        }
        self.captures.extend(captured);
        Ok(response)
    }

    /// Replaces every string exactly equal to `${NAME}` with the captured value.
    fn substitute(&self, value: &Value) -> Result<Value, ApiError> {
        Ok(match value {
            Value::String(text) => {
                match text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
                    Some(name) => self.captures.get(name).cloned().ok_or_else(|| {
                        ApiError::new("ScenarioError", format!("'${{{name}}}' was never captured"))
                    })?,
                    None => value.clone(),
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.substitute(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, item)| Ok((key.clone(), self.substitute(item)?)))
                    .collect::<Result<_, ApiError>>()?,
            ),
            other => other.clone(),
        })
    }
}
