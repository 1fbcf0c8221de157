//! Harness actions (`Sim.*`, scenario-format.md "Harness actions").
//!
//! Besides the shared ones, stowplan adds:
//!
//! | action | request | effect |
//! | --- | --- | --- |
//! | `Sim.CreateSubnet` | `{"subnetId", "availabilityZone"}` | declares a subnet's AZ |
//! | `Sim.FailTasks` | `{"taskDefinition", "mode", "seconds"}` | every task of the task definition (a family = every revision, or `family:revision` / ARN) created from now on: `failToStart` — PENDING → STOPPED with `TaskFailedToStart`; `exitAfter` — its essential containers exit (code 1) `seconds` after RUNNING (`EssentialContainerExited`); `unhealthy` — once RUNNING it reports `healthStatus` `UNHEALTHY` and a service replaces it; `none` — removes the faults of that task definition. Response `{"faults": N}` (faults in force). |

//!
//! The IAM harness actions (`Sim.CreateUser`, `Sim.CreateRole`, `Sim.CreatePolicy`,
//! `Sim.PutUserPolicy`, `Sim.PutRolePolicy`, `Sim.AttachUserPolicy`, `Sim.AttachRolePolicy`,
//! `Sim.TagUser`, `Sim.TagRole`, `Sim.CreateAccessKey`, `Sim.SetCaller`,
//! `Sim.SimulatePrincipalPolicy`, `Sim.SimulateCustomPolicy`) take and return IAM's members;
//! they live in `iam_sim.rs` and README "Permissions" documents them.

use serde_json::{Value, json};

use super::ApiError;
use crate::control::Ecs;

fn scenario_error(message: impl Into<String>) -> ApiError {
    ApiError::new("ScenarioError", message)
}

fn text<'a>(request: &'a Value, member: &str) -> Result<&'a str, ApiError> {
    request
        .get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| scenario_error(format!("member '{member}' (a string) is required")))
}

fn cluster(request: &Value) -> Option<&str> {
    request.get("cluster").and_then(Value::as_str)
}

/// Runs one harness action (the name after `Sim.`).
pub(super) fn call(ecs: &mut Ecs, action: &str, request: &Value) -> Result<Value, ApiError> {
    if !request.is_object() {
        return Err(scenario_error(
            "the request of a harness action must be a JSON object",
        ));
    }
    match action {
        "Advance" => {
            let seconds = request
                .get("seconds")
                .and_then(Value::as_i64)
                .ok_or_else(|| scenario_error("member 'seconds' (an integer) is required"))?;
            ecs.advance(seconds)?;
            Ok(json!({"now": ecs.now()}))
        }
        "StopContainer" => {
            let task = ecs.stop_container(
                cluster(request),
                text(request, "task")?,
                text(request, "containerName")?,
                request
                    .get("exitCode")
                    .and_then(Value::as_i64)
                    .and_then(|code| i32::try_from(code).ok()),
                request.get("reason").and_then(Value::as_str),
            )?;
            Ok(json!({"task": task}))
        }
        "DisconnectAgent" | "ConnectAgent" => {
            ecs.set_agent_connected(
                cluster(request),
                text(request, "containerInstance")?,
                action == "ConnectAgent",
            )?;
            Ok(json!({}))
        }
        "TerminateInstance" => {
            ecs.terminate_instance(cluster(request), text(request, "containerInstance")?)?;
            Ok(json!({}))
        }
        "FailAvailabilityZone" => {
            let terminated =
                ecs.fail_availability_zone(cluster(request), text(request, "availabilityZone")?)?;
            Ok(json!({"terminatedInstances": terminated}))
        }
        "CreateSubnet" => {
            ecs.create_subnet(
                text(request, "subnetId")?,
                text(request, "availabilityZone")?,
            )?;
            Ok(json!({}))
        }
        "FailTasks" => {
            let mode = match text(request, "mode")? {
                "none" => None,
                other => Some(crate::control::FaultMode::parse(other).ok_or_else(|| {
                    scenario_error(format!(
                        "mode must be failToStart, exitAfter, unhealthy or none, not {other}"
                    ))
                })?),
            };
            let seconds = request.get("seconds").and_then(Value::as_i64).unwrap_or(0);
            let faults = ecs.fail_tasks(text(request, "taskDefinition")?, mode, seconds)?;
            Ok(json!({"faults": faults}))
        }
        "Snapshot" => Ok(ecs.snapshot()),
        "Reset" => {
            ecs.reset();
            Ok(json!({}))
        }
        iam if super::iam_sim::ACTIONS.contains(&iam) => super::iam_sim::call(ecs, iam, request),
        other => Err(scenario_error(format!(
            "unknown harness action Sim.{other}"
        ))),
    }
}
