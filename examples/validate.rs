//! Validates task definitions and prints one JSON line per file.
//!
//! ```text
//! cargo run -q --example validate -- [--canonical] [--iam ROLES.json] FILE...
//! ```
//!
//! Each FILE may hold a RegisterTaskDefinition request body, DescribeTaskDefinition output
//! (`{"taskDefinition": {...}}`) or a bare `containerDefinitions` array. Output per file:
//!
//! ```text
//! {"file": ..., "ok": bool, "diagnostics": [{"rule", "severity", "path", "message"}], "canonical": ...}
//! {"file": ..., "ok": false, "error": {"message", "line", "column"}}     (unreadable or not JSON)
//! ```
//!
//! `ok` means no `error`-severity diagnostic; `canonical` appears only with `--canonical`.
//!
//! With `--iam ROLES.json`, each line also gets `missingPermissions`: what the task
//! definition's execution role needs (spec permissions.md §3.2: private ECR, awslogs, secrets,
//! secretOptions, S3 environment files, registry credentials) and its policies do not allow,
//! as `[{"container", "pointer", "action", "resource", "kind", "decision", "reason"}]`. The
//! file describes the roles:
//!
//! ```text
//! {"region": "us-east-1", "account": "123456789012",          (both optional, these defaults)
//!  "roles": {"ecsTaskExecutionRole": {                        (role name or role ARN)
//!     "managedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"],
//!     "policies": [ {IAM policy document}, ... ],              (objects or JSON strings)
//!     "permissionsBoundary": {IAM policy document}}}}          (optional)
//! ```
//!
//! A role the file does not describe is reported as `"executionRole": {"arn", "described": false}`
//! and not checked (the control plane's permissive default for roles it does not know).
//! Exit status: 2 if any file could not be read or parsed, else 1 if any file has an error,
//! else 0.

use std::process::ExitCode;

use serde_json::{Value, json};
use stowplan::control::execution::check_execution_role;
use stowplan::control::iam::{NamedPolicy, PolicySet, aws_managed_policies};
use stowplan::iam::Policy;
use stowplan::model::TaskDefinition;

/// The roles of an `--iam` file.
struct Roles {
    region: String,
    account: String,
    roles: serde_json::Map<String, Value>,
}

fn policy_of(
    document: &Value,
    id: String,
    source_type: &'static str,
) -> Result<NamedPolicy, String> {
    let parsed = match document {
        Value::String(text) => Policy::parse(text),
        other => Policy::from_value(other),
    }
    .map_err(|err| format!("{id}: {err}"))?;
    Ok(NamedPolicy {
        id,
        source_type,
        policy: std::sync::Arc::new(parsed),
    })
}

fn read_roles(path: &str) -> Result<Roles, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{path}: {err}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|err| format!("{path}: {err}"))?;
    let text_of = |member: &str, default: &str| {
        value
            .get(member)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    Ok(Roles {
        region: text_of("region", "us-east-1"),
        account: text_of("account", "123456789012"),
        roles: value
            .get("roles")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    })
}

fn policy_set(name: &str, role: &Value) -> Result<PolicySet, String> {
    let mut set = PolicySet::default();
    for arn in role
        .get("managedPolicyArns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let (_, _, _, text) = aws_managed_policies()
            .into_iter()
            .find(|(a, ..)| *a == arn)
            .ok_or_else(|| format!("{name}: unknown AWS managed policy {arn}"))?;
        set.identity.push(policy_of(
            &Value::String(text.to_string()),
            arn.to_string(),
            "aws-managed",
        )?);
    }
    for (i, document) in role
        .get("policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        set.identity
            .push(policy_of(document, format!("{name}.policies.{i}"), "role")?);
    }
    if let Some(boundary) = role.get("permissionsBoundary") {
        set.boundary = Some(vec![policy_of(
            boundary,
            format!("{name}.permissionsBoundary"),
            "permissions-boundary",
        )?]);
    }
    Ok(set)
}

/// `missingPermissions` (or `executionRole` when the role is not described) for one document.
fn check_roles(roles: &Roles, document: &Value, line: &mut Value) -> Result<(), String> {
    let body = document.get("taskDefinition").unwrap_or(document);
    let definition: TaskDefinition =
        serde_json::from_value(body.clone()).map_err(|err| err.to_string())?;
    let Some(arn) = definition.execution_role_arn.clone() else {
        let missing = check_execution_role(
            &definition,
            &roles.region,
            &roles.account,
            &PolicySet::default(),
        );
        line["missingPermissions"] = serde_json::to_value(missing).unwrap_or_default();
        line["executionRole"] = json!(null);
        return Ok(());
    };
    let name = arn.rsplit('/').next().unwrap_or(&arn).to_string();
    let Some(role) = roles.roles.get(&arn).or_else(|| roles.roles.get(&name)) else {
        line["executionRole"] = json!({"arn": arn, "described": false});
        return Ok(());
    };
    let set = policy_set(&name, role)?;
    let missing = check_execution_role(&definition, &roles.region, &roles.account, &set);
    line["executionRole"] = json!({"arn": arn, "described": true});
    line["missingPermissions"] = serde_json::to_value(missing).unwrap_or_default();
    Ok(())
}

fn main() -> ExitCode {
    let mut canonical = false;
    let mut files = Vec::new();
    let mut roles = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--canonical" => canonical = true,
            "--iam" => {
                let Some(path) = args.next() else {
                    eprintln!("--iam needs a file");
                    return ExitCode::from(2);
                };
                match read_roles(&path) {
                    Ok(read) => roles = Some(read),
                    Err(err) => {
                        eprintln!("{err}");
                        return ExitCode::from(2);
                    }
                }
            }
            "-h" | "--help" => {
                eprintln!("usage: validate [--canonical] [--iam ROLES.json] FILE...");
                return ExitCode::SUCCESS;
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("usage: validate [--canonical] FILE...");
        return ExitCode::from(2);
    }
    let mut unreadable = false;
    let mut invalid = false;
    for file in files {
        let parsed = match std::fs::read(&file) {
            Ok(bytes) => stowplan::json::parse_bytes(&bytes),
            Err(err) => Err(stowplan::json::JsonError {
                message: format!("cannot read the file: {err}"),
                line: 0,
                column: 0,
            }),
        };
        let line = match parsed {
            Err(err) => {
                unreadable = true;
                json!({"file": file, "ok": false,
                       "error": {"message": err.message, "line": err.line, "column": err.column}})
            }
            Ok(value) => {
                let report = stowplan::validate::validate_json(&value);
                invalid |= !report.is_ok();
                let mut line = json!({"file": file, "ok": report.is_ok(),
                                      "diagnostics": report.diagnostics});
                if canonical {
                    line["canonical"] = stowplan::validate::canonical_json(&value);
                }
                if let Some(roles) = &roles
                    && let Err(err) = check_roles(roles, &value, &mut line)
                {
                    line["iamError"] = json!(err);
                }
                line
            }
        };
        println!(
            "{}",
            serde_json::to_string(&line).unwrap_or_else(|_| Value::Null.to_string())
        );
    }
    if unreadable {
        ExitCode::from(2)
    } else if invalid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
