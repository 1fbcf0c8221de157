//! Harness actions (`Sim.*`, scenario-format.md "Harness actions").
//!
//! Besides the shared ones, stowplan adds:
//!
//! | action | request | effect |
//! | --- | --- | --- |
//! | `Sim.CreateSubnet` | `{"subnetId", "availabilityZone"}` | declares a subnet's AZ |
//! | `Sim.AvailabilityReport` | `{"cluster", "services"?: [...], "healthyPercent"?: N}` | changes nothing; returns the availability report (`control::AvailabilityReport`): per service, tasks per Availability Zone and per instance, and for losing each single instance and each single zone the tasks lost, whether the remaining ones stay at or above the healthy floor (default the service's `minimumHealthyPercent`), and how many of the lost tasks the remaining capacity re-places (the real placement engine on a copy of the state). |
//! | `Sim.CreateAutoScalingGroup` | `{"AutoScalingGroupName", "InstanceType", "MinSize", "MaxSize", "DesiredCapacity", "AvailabilityZones": [...], "cluster"}` | declares a simulated EC2 Auto Scaling group whose instances register in `cluster` (README "Scaling in and out"); response `{"AutoScalingGroupARN"}` |
//! | `Sim.SetDesiredCapacity` | `{"AutoScalingGroupName", "DesiredCapacity"}` | sets the group's desired capacity (within MinSize..MaxSize); instances launch or terminate on the next `Sim.Advance` |
//! | `Sim.DescribeAutoScalingGroups` | `{"AutoScalingGroupNames"?: [...]}` | `{"AutoScalingGroups": [...]}` as the Auto Scaling API names the members (`DesiredCapacity`, `Instances[].InstanceId`, `LifecycleState`, `ProtectedFromScaleIn`, ...) |
//! | `Sim.DescribeCapacityProviderMetrics` | `{"capacityProvider"?}` | `{"metrics": [{"capacityProvider", "CapacityProviderReservation", "instancesNeeded", "instancesRunning", "targetInstances", "provisioningTasks", "desiredCapacity", ...}]}` (CP-CPR) |
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
        "AvailabilityReport" => {
            let services: Option<Vec<String>> = match request.get("services") {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|v| {
                            v.as_str().map(str::to_string).ok_or_else(|| {
                                scenario_error("member 'services' must be a list of strings")
                            })
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(_) => {
                    return Err(scenario_error(
                        "member 'services' must be a list of strings",
                    ));
                }
            };
            let percent =
                match request.get("healthyPercent") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_i64().ok_or_else(|| {
                        scenario_error("member 'healthyPercent' must be an integer")
                    })?),
                };
            let report = ecs.availability_report(cluster(request), services.as_deref(), percent)?;
            serde_json::to_value(report).map_err(|e| scenario_error(e.to_string()))
        }
        "CreateAutoScalingGroup" => {
            let number = |member: &str| request.get(member).and_then(Value::as_i64);
            let spec = crate::control::GroupSpec {
                name: text(request, "AutoScalingGroupName")?.to_string(),
                instance_type: text(request, "InstanceType")?.to_string(),
                min: number("MinSize")
                    .ok_or_else(|| scenario_error("member 'MinSize' (an integer) is required"))?,
                max: number("MaxSize")
                    .ok_or_else(|| scenario_error("member 'MaxSize' (an integer) is required"))?,
                desired: number("DesiredCapacity"),
                availability_zones: request
                    .get("AvailabilityZones")
                    .and_then(Value::as_array)
                    .map(|zones| {
                        zones
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                cluster: cluster(request).map(str::to_string),
            };
            let arn = ecs.create_auto_scaling_group(&spec)?;
            Ok(json!({"AutoScalingGroupARN": arn}))
        }
        "SetDesiredCapacity" => {
            let desired = request
                .get("DesiredCapacity")
                .and_then(Value::as_i64)
                .ok_or_else(|| {
                    scenario_error("member 'DesiredCapacity' (an integer) is required")
                })?;
            ecs.set_desired_capacity(text(request, "AutoScalingGroupName")?, desired)?;
            Ok(json!({}))
        }
        "DescribeAutoScalingGroups" => {
            let names: Vec<String> = request
                .get("AutoScalingGroupNames")
                .and_then(Value::as_array)
                .map(|names| {
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Ok(json!({"AutoScalingGroups": ecs.describe_auto_scaling_groups(&names)}))
        }
        "DescribeCapacityProviderMetrics" => {
            let wanted = request.get("capacityProvider").and_then(Value::as_str);
            let metrics: Vec<Value> = ecs
                .capacity_provider_metrics()
                .into_iter()
                .filter(|m| wanted.is_none_or(|w| m["capacityProvider"] == w))
                .collect();
            Ok(json!({"metrics": metrics}))
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
