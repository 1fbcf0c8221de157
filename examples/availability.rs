//! Meet availability requirements: a service of 6 tasks spread over three Availability Zones
//! survives losing one of them. The availability report, made before the fault, says what
//! losing each zone would do; the zone fails; the scheduler runs 6 tasks again on the other two
//! zones; when capacity comes back to the lost zone, Availability Zone rebalancing spreads the
//! tasks 2 + 2 + 2 again.
//!
//! ```text
//! cargo run -q --example availability
//! ```

use serde_json::{Value, json};
use stowplan::api::{self, ApiError};
use stowplan::control::{AvailabilityReport, Caller, Ecs, EcsConfig};

fn call(ecs: &mut Ecs, operation: &str, request: Value) -> Result<Value, ApiError> {
    api::call(ecs, operation, &request, &Caller::root("123456789012"))
}

fn register(ecs: &mut Ecs, id: &str, zone: &str) -> Result<(), ApiError> {
    call(
        ecs,
        "RegisterContainerInstance",
        json!({
            "cluster": "shop",
            "instanceIdentityDocument": json!({"instanceId": id, "availabilityZone": zone, "instanceType": "m5.large"}).to_string(),
            "totalResources": [
                {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192}
            ],
            "attributes": [{"name": "ecs.availability-zone", "value": zone}]
        }),
    )?;
    Ok(())
}

fn print_report(title: &str, report: &AvailabilityReport) {
    println!("== {title}");
    for service in &report.services {
        println!(
            "service {}: {} tasks (floor {} = {} % of {})",
            service.service_name,
            service.tasks,
            service.healthy_floor,
            service.healthy_percent,
            service.desired_count
        );
        for (zone, n) in &service.tasks_per_zone {
            println!("  {zone}: {n} tasks");
        }
        for loss in &service.zone_losses {
            println!(
                "  losing {}: {} lost, {} left ({}), {} of {} can be placed again{}",
                loss.lost,
                loss.tasks_lost,
                loss.tasks_remaining,
                if loss.above_floor {
                    "at or above the floor"
                } else {
                    "below the floor"
                },
                loss.replaceable,
                loss.tasks_lost,
                if loss.recovers { ": recovers" } else { "" }
            );
        }
        println!(
            "  survives any single zone loss: {}, any single instance loss: {}",
            service.survives_zone_loss, service.survives_instance_loss
        );
    }
}

fn running_per_zone(ecs: &Ecs) -> String {
    let report = ecs
        .availability_report(Some("shop"), None, Some(50))
        .expect("the cluster exists");
    report.services[0]
        .tasks_per_zone
        .iter()
        .map(|(zone, n)| format!("{zone}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Result<(), ApiError> {
    let mut ecs = Ecs::new(EcsConfig {
        seed: 9,
        ..EcsConfig::default()
    });
    call(&mut ecs, "CreateCluster", json!({"clusterName": "shop"}))?;
    register(&mut ecs, "i-0a00000000000000a", "us-east-1a")?;
    register(&mut ecs, "i-0b00000000000000b", "us-east-1b")?;
    register(&mut ecs, "i-0c00000000000000c", "us-east-1c")?;
    call(
        &mut ecs,
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx", "cpu": 256, "memory": 512}]}),
    )?;
    let created = call(
        &mut ecs,
        "CreateService",
        json!({"cluster": "shop", "serviceName": "web", "taskDefinition": "web", "desiredCount": 6,
               "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 200}}),
    )?;
    println!(
        "created service web: availabilityZoneRebalancing {}",
        created["service"]["availabilityZoneRebalancing"]
    );
    for _ in 0..3 {
        ecs.advance(60).map_err(ApiError::from)?;
    }
    let before = ecs
        .availability_report(Some("shop"), None, None)
        .map_err(ApiError::from)?;
    print_report("before: the report predicts", &before);

    let failed = call(
        &mut ecs,
        "Sim.FailAvailabilityZone",
        json!({"cluster": "shop", "availabilityZone": "us-east-1c"}),
    )?;
    println!(
        "\nus-east-1c fails ({} instance terminated): tasks {}",
        failed["terminatedInstances"],
        running_per_zone(&ecs)
    );
    for _ in 0..3 {
        ecs.advance(60).map_err(ApiError::from)?;
    }
    let after = ecs
        .availability_report(Some("shop"), None, None)
        .map_err(ApiError::from)?;
    print_report("after the loss and 3 minutes", &after);

    register(&mut ecs, "i-0c00000000000000d", "us-east-1c")?;
    for _ in 0..8 {
        ecs.advance(60).map_err(ApiError::from)?;
    }
    println!(
        "\ncapacity back in us-east-1c, 8 minutes later: tasks {}",
        running_per_zone(&ecs)
    );
    let described = call(
        &mut ecs,
        "DescribeServices",
        json!({"cluster": "shop", "services": ["web"]}),
    )?;
    println!("service events, oldest first:");
    let events = described["services"][0]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for event in events.iter().rev() {
        println!("  {}", event["message"].as_str().unwrap_or_default());
    }
    Ok(())
}
