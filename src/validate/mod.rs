//! Task-definition validation: every rule ECS applies, as data.
//!
//! [`validate`] takes a RegisterTaskDefinition request and returns **every** [`Diagnostic`], not
//! just the first: the rule id from the catalogue (`shared/spec/taskdef-rules.md`, e.g.
//! `TD-FARGATE-CPU-MEM`), a [`Severity`], the RFC 6901 pointer of the offending member in the
//! input, and a message (ECS's own text where it is known).
//!
//! - [`Severity::Error`]: ECS would reject the definition (at registration, or with certainty at
//!   launch for the launch types it declares).
//! - [`Severity::Warning`]: ECS accepts it, but it is likely a mistake (`TD-LINT-*`), or stowplan
//!   read it leniently. Rejecting a definition that ECS accepts is the worst error a validator
//!   can make, so where the catalogue is unsure, the rule warns.
//!
//! ```
//! use stowplan::validate::{validate_json, Severity};
//! let input = serde_json::json!({
//!     "family": "webserver",
//!     "containerDefinitions": [{"name": "web", "image": "nginx", "memory": "100", "cpu": "99"}],
//!     "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
//!     "memory": "512", "cpu": "384"
//! });
//! let report = validate_json(&input);
//! let error = report.diagnostics.iter().find(|d| d.severity == Severity::Error).unwrap();
//! assert_eq!((error.rule, error.path.to_string().as_str()), ("TD-FARGATE-CPU-MEM", "/cpu"));
//! ```

mod context;
mod rules;

pub use context::Context;

use serde::Serialize;
use serde_json::Value;

use crate::json::Pointer;
use crate::model::{FromJson, RegisterTaskDefinitionRequest, TaskDefinition};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// ECS accepts it, but it is likely a mistake, or stowplan read it leniently.
    Warning,
    /// ECS would reject it.
    Error,
}

/// One finding about one member of a task definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The rule id from the catalogue, e.g. `TD-FARGATE-CPU-MEM`.
    pub rule: &'static str,
    /// Whether ECS would reject it.
    pub severity: Severity,
    /// Where, as an RFC 6901 pointer into the input.
    pub path: Pointer,
    /// What is wrong: ECS's own text where known, else one plain sentence.
    pub message: String,
}

/// The outcome of validating one document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The request as the model read it (`None` when the document was not an object at all).
    pub request: Option<RegisterTaskDefinitionRequest>,
    /// Every finding, ordered by path, then rule id (a stable order for output).
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Whether no finding is an [`Severity::Error`].
    pub fn is_ok(&self) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// The forms of input the validator understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputForm {
    /// A RegisterTaskDefinition request body.
    Request,
    /// DescribeTaskDefinition output: `{"taskDefinition": {...}}`.
    Described,
    /// A bare `containerDefinitions` array.
    Containers,
}

impl InputForm {
    /// Recognises the form of a document: an array is a container list, an object with a
    /// `taskDefinition` object member is DescribeTaskDefinition output, anything else a request.
    pub fn detect(value: &Value) -> Self {
        match value {
            Value::Array(_) => InputForm::Containers,
            Value::Object(map) if map.get("taskDefinition").is_some_and(Value::is_object) => {
                InputForm::Described
            }
            _ => InputForm::Request,
        }
    }
}

/// Validates a document in any [`InputForm`]; pointers point into the document as given.
///
/// A bare container list is validated as the `containerDefinitions` of a request with no
/// task-level members (so no launch-type rule applies). A DescribeTaskDefinition output is
/// validated as the request it was registered from (members ECS adds on registration, such as
/// `revision` or `compatibilities`, are accepted there).
pub fn validate_json(value: &Value) -> Report {
    match InputForm::detect(value) {
        InputForm::Request => validate_at(value, Pointer::root()),
        InputForm::Described => validate_at(
            &value["taskDefinition"],
            Pointer::root().join("taskDefinition"),
        ),
        InputForm::Containers => {
            let wrapped = serde_json::json!({"containerDefinitions": value});
            let mut report = validate_at(&wrapped, Pointer::root());
            for diagnostic in &mut report.diagnostics {
                // Drop the leading "/containerDefinitions" the wrapper added.
                let tokens = diagnostic.path.tokens();
                let mut path = Pointer::root();
                for token in tokens.iter().skip(1) {
                    path.push(token);
                }
                diagnostic.path = path;
            }
            // Family is absent by construction in a bare list.
            report
                .diagnostics
                .retain(|d| !d.rule.starts_with("TD-FAMILY"));
            report
        }
    }
}

fn validate_at(value: &Value, base: Pointer) -> Report {
    let mut diagnostics = Vec::new();
    let (request, shape_errors) =
        if value.get("revision").is_some() || value.get("taskDefinitionArn").is_some() {
            // DescribeTaskDefinition output: read as a TaskDefinition, check as its request.
            let (described, errors) = TaskDefinition::read(value);
            (described.map(|d| request_from_described(&d)), errors)
        } else {
            RegisterTaskDefinitionRequest::read(value)
        };
    for error in shape_errors {
        let mut path = base.clone();
        for token in error.path.tokens() {
            path.push(token);
        }
        let severity = if error.is_object_for_list() {
            Severity::Warning
        } else {
            Severity::Error
        };
        diagnostics.push(Diagnostic {
            rule: "TD-SHAPE",
            severity,
            path,
            message: error.to_string(),
        });
    }
    if let Some(request) = &request {
        let mut context = Context::new(request, value, base);
        rules::check_all(&mut context);
        diagnostics.extend(context.into_diagnostics());
    }
    diagnostics.sort_by(|a, b| (a.path.tokens(), a.rule).cmp(&(b.path.tokens(), b.rule)));
    diagnostics.dedup();
    Report {
        request,
        diagnostics,
    }
}

/// Validates a request already in model form (pointers are relative to the request body).
pub fn validate(request: &RegisterTaskDefinitionRequest) -> Vec<Diagnostic> {
    let value = serde_json::to_value(request).unwrap_or(Value::Null);
    validate_at(&value, Pointer::root()).diagnostics
}

/// The RegisterTaskDefinition request a described task definition corresponds to: the members
/// both shapes share, taken as they are (tags are not part of a TaskDefinition).
pub fn request_from_described(described: &TaskDefinition) -> RegisterTaskDefinitionRequest {
    RegisterTaskDefinitionRequest {
        family: described.family.clone(),
        task_role_arn: described.task_role_arn.clone(),
        execution_role_arn: described.execution_role_arn.clone(),
        network_mode: described.network_mode.clone(),
        container_definitions: described.container_definitions.clone(),
        volumes: described.volumes.clone(),
        placement_constraints: described.placement_constraints.clone(),
        requires_compatibilities: described.requires_compatibilities.clone(),
        cpu: described.cpu.clone(),
        memory: described.memory.clone(),
        tags: None,
        pid_mode: described.pid_mode.clone(),
        ipc_mode: described.ipc_mode.clone(),
        proxy_configuration: described.proxy_configuration.clone(),
        inference_accelerators: described.inference_accelerators.clone(),
        ephemeral_storage: described.ephemeral_storage.clone(),
        runtime_platform: described.runtime_platform.clone(),
        enable_fault_injection: described.enable_fault_injection,
        trusted_execution_configuration: described.trusted_execution_configuration.clone(),
        extra: Default::default(),
    }
}

/// The document written back by the model in its own [`InputForm`]: nothing added (no
/// defaults; that is registration's job), unknown members kept in place, members of the wrong
/// JSON type kept as written, and numbers canonicalised as DescribeTaskDefinition returns them:
/// integer members written as strings become numbers, and task-level `cpu`/`memory` become
/// integer strings of CPU units and MiB (`"1 vCPU"` → `"1024"`).
///
/// Canonicalising a canonical document changes nothing.
///
/// ```
/// let input = serde_json::json!({"memory": "0.5 GB", "family": "f",
///     "containerDefinitions": [{"memory": "100", "name": "a", "x-new": 1}]});
/// let canonical = stowplan::validate::canonical_json(&input);
/// assert_eq!(
///     serde_json::to_string(&canonical)?,
///     r#"{"memory":"512","family":"f","containerDefinitions":[{"memory":100,"name":"a","x-new":1}]}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn canonical_json(value: &Value) -> Value {
    use crate::model::{ContainerDefinition, DescribeTaskDefinitionResponse};
    let written = match InputForm::detect(value) {
        InputForm::Request => RegisterTaskDefinitionRequest::read(value)
            .0
            .map(|mut request| {
                canonical_task_size(&mut request.cpu, &mut request.memory);
                serde_json::to_value(request)
            }),
        InputForm::Described => {
            DescribeTaskDefinitionResponse::read(value)
                .0
                .map(|mut response| {
                    if let Some(definition) = response.task_definition.as_mut() {
                        canonical_task_size(&mut definition.cpu, &mut definition.memory);
                    }
                    serde_json::to_value(response)
                })
        }
        InputForm::Containers => {
            // Read element by element so that one bad element does not hide the others.
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            Some(Ok(Value::Array(
                items
                    .iter()
                    .map(|item| match ContainerDefinition::read(item).0 {
                        Some(container) => {
                            serde_json::to_value(container).unwrap_or_else(|_| item.clone())
                        }
                        None => item.clone(),
                    })
                    .collect(),
            )))
        }
    };
    let mut out = match written {
        Some(Ok(out)) => out,
        _ => value.clone(),
    };
    crate::json::reorder_like(&mut out, value);
    out
}

fn canonical_task_size(cpu: &mut Option<String>, memory: &mut Option<String>) {
    if let Some(text) = cpu.as_mut()
        && let Ok(units) = crate::model::parse_task_cpu(text)
    {
        *text = units.to_string();
    }
    if let Some(text) = memory.as_mut()
        && let Ok(mib) = crate::model::parse_task_memory(text)
    {
        *text = mib.to_string();
    }
}
