//! Launch and stop tasks: a one-instance cluster, a task placed on it, run, stopped, and its
//! resources returned — through the same dynamic API a test harness calls.
//!
//! ```text
//! cargo run -q --example launch_and_stop
//! ```

use serde_json::{Value, json};
use stowplan::api::{self, ApiError};
use stowplan::control::{Caller, Ecs, EcsConfig};

fn memory_left(ecs: &mut Ecs, root: &Caller, instance: &Value) -> Result<Value, ApiError> {
    let described = api::call(
        ecs,
        "DescribeContainerInstances",
        &json!({"cluster": "demo", "containerInstances": [instance]}),
        root,
    )?;
    let remaining = &described["containerInstances"][0]["remainingResources"];
    Ok(remaining
        .as_array()
        .and_then(|list| list.iter().find(|r| r["name"] == "MEMORY"))
        .map(|r| r["integerValue"].clone())
        .unwrap_or(Value::Null))
}

fn main() -> Result<(), ApiError> {
    let mut ecs = Ecs::new(EcsConfig::default());
    let root = Caller::root("123456789012");
    api::call(
        &mut ecs,
        "CreateCluster",
        &json!({"clusterName": "demo"}),
        &root,
    )?;
    let registered = api::call(
        &mut ecs,
        "RegisterContainerInstance",
        &json!({
            "cluster": "demo",
            "instanceIdentityDocument": "{\"instanceId\":\"i-0123456789abcdef0\",\"availabilityZone\":\"us-east-1a\",\"instanceType\":\"m5.large\"}",
            "totalResources": [
                {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 7680}
            ]
        }),
        &root,
    )?;
    let instance = registered["containerInstance"]["containerInstanceArn"].clone();
    api::call(
        &mut ecs,
        "RegisterTaskDefinition",
        &json!({"family": "api", "containerDefinitions": [
            {"name": "api", "image": "example/api:1.0", "cpu": 512, "memory": 1024}
        ]}),
        &root,
    )?;
    println!(
        "memory left before: {}",
        memory_left(&mut ecs, &root, &instance)?
    );

    let run = api::call(
        &mut ecs,
        "RunTask",
        &json!({"cluster": "demo", "taskDefinition": "api"}),
        &root,
    )?;
    let task = run["tasks"][0]["taskArn"].clone();
    println!("launched {task} ({})", run["tasks"][0]["lastStatus"]);
    api::call(&mut ecs, "Sim.Advance", &json!({"seconds": 30}), &root)?;
    let described = api::call(
        &mut ecs,
        "DescribeTasks",
        &json!({"cluster": "demo", "tasks": [task]}),
        &root,
    )?;
    println!("after one tick: {}", described["tasks"][0]["lastStatus"]);
    println!(
        "memory left while running: {}",
        memory_left(&mut ecs, &root, &instance)?
    );

    api::call(
        &mut ecs,
        "StopTask",
        &json!({"cluster": "demo", "task": task, "reason": "done"}),
        &root,
    )?;
    for _ in 0..2 {
        api::call(&mut ecs, "Sim.Advance", &json!({"seconds": 30}), &root)?;
    }
    let described = api::call(
        &mut ecs,
        "DescribeTasks",
        &json!({"cluster": "demo", "tasks": [task]}),
        &root,
    )?;
    println!(
        "stopped: {} ({}: {})",
        described["tasks"][0]["lastStatus"],
        described["tasks"][0]["stopCode"],
        described["tasks"][0]["stoppedReason"]
    );
    println!(
        "memory left after: {}",
        memory_left(&mut ecs, &root, &instance)?
    );
    Ok(())
}
