//! Get cluster state: counters, instances with their remaining resources, the tasks on them,
//! and the whole state as a snapshot that restores to an equal state.
//!
//! ```text
//! cargo run -q --example cluster_state
//! ```

use serde_json::json;
use stowplan::api::{self, ApiError};
use stowplan::control::{Caller, Ecs, EcsConfig};

fn main() -> Result<(), ApiError> {
    let mut ecs = Ecs::new(EcsConfig {
        seed: 3,
        ..EcsConfig::default()
    });
    let root = Caller::root("123456789012");
    api::call(
        &mut ecs,
        "CreateCluster",
        &json!({"clusterName": "state"}),
        &root,
    )?;
    for (id, zone) in [
        ("i-0000000000000000a", "us-east-1a"),
        ("i-0000000000000000b", "us-east-1b"),
    ] {
        api::call(
            &mut ecs,
            "RegisterContainerInstance",
            &json!({
                "cluster": "state",
                "instanceIdentityDocument": format!("{{\"instanceId\":\"{id}\",\"availabilityZone\":\"{zone}\"}}"),
                "totalResources": [
                    {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                    {"name": "MEMORY", "type": "INTEGER", "integerValue": 16384}
                ]
            }),
            &root,
        )?;
    }
    api::call(
        &mut ecs,
        "RegisterTaskDefinition",
        &json!({"family": "worker", "containerDefinitions": [
            {"name": "worker", "image": "example/worker:2", "cpu": 256, "memoryReservation": 512}
        ]}),
        &root,
    )?;
    api::call(
        &mut ecs,
        "RunTask",
        &json!({"cluster": "state", "taskDefinition": "worker", "count": 5}),
        &root,
    )?;
    api::call(&mut ecs, "Sim.Advance", &json!({"seconds": 10}), &root)?;

    let cluster = api::call(
        &mut ecs,
        "DescribeClusters",
        &json!({"clusters": ["state"], "include": ["STATISTICS"]}),
        &root,
    )?;
    let cluster = &cluster["clusters"][0];
    println!(
        "cluster {}: {} instances, {} running, {} pending",
        cluster["clusterName"],
        cluster["registeredContainerInstancesCount"],
        cluster["runningTasksCount"],
        cluster["pendingTasksCount"]
    );
    let arns = api::call(
        &mut ecs,
        "ListContainerInstances",
        &json!({"cluster": "state"}),
        &root,
    )?;
    let described = api::call(
        &mut ecs,
        "DescribeContainerInstances",
        &json!({"cluster": "state", "containerInstances": arns["containerInstanceArns"]}),
        &root,
    )?;
    for instance in described["containerInstances"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let remaining: Vec<String> = instance["remainingResources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["type"] == "INTEGER")
            .map(|r| {
                format!(
                    "{}={}",
                    r["name"].as_str().unwrap_or("?"),
                    r["integerValue"]
                )
            })
            .collect();
        let tasks = api::call(
            &mut ecs,
            "ListTasks",
            &json!({"cluster": "state", "containerInstance": instance["containerInstanceArn"]}),
            &root,
        )?;
        println!(
            "  {} tasks={} remaining {}",
            instance["ec2InstanceId"],
            tasks["taskArns"].as_array().map_or(0, Vec::len),
            remaining.join(" ")
        );
    }
    let snapshot = ecs.snapshot();
    let restored = Ecs::restore(&snapshot).map_err(ApiError::from)?;
    println!(
        "snapshot: {} bytes; restores to an equal state: {}",
        snapshot.to_string().len(),
        restored == ecs
    );
    Ok(())
}
