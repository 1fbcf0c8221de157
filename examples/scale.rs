//! Scaling in and out: a service grows through an Auto Scaling group capacity provider as
//! demand rises, and the cluster shrinks back when demand falls.
//!
//! ```text
//! cargo run -q --example scale
//! ```
//!
//! Demand is a made-up requests-per-second curve; a target-tracking policy
//! (`stowplan::autoscaling`, 100 requests per task) turns it into the service's desiredCount,
//! managed scaling (CP-CPR) turns waiting tasks into instances of the `m5.large` group, and the
//! timeline shows, minute by minute, demand, desired/running tasks, the group's desired
//! capacity and instances, and the CapacityProviderReservation metric.

use serde_json::{Value, json};
use stowplan::api;
use stowplan::autoscaling::{Bounds, Policy, Scaler, TargetTracking};
use stowplan::control::{Caller, Ecs, EcsConfig};

fn call(ecs: &mut Ecs, op: &str, request: Value) -> Value {
    let root = Caller::root("123456789012");
    api::call(ecs, op, &request, &root).unwrap_or_else(|e| panic!("{op}: {e}"))
}

fn main() {
    let mut ecs = Ecs::new(EcsConfig::default());
    call(&mut ecs, "CreateCluster", json!({"clusterName": "shop"}));
    let group = call(
        &mut ecs,
        "Sim.CreateAutoScalingGroup",
        json!({"AutoScalingGroupName": "shop-asg", "InstanceType": "m5.large", "MinSize": 1,
               "MaxSize": 10, "DesiredCapacity": 1,
               "AvailabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"], "cluster": "shop"}),
    );
    call(
        &mut ecs,
        "CreateCapacityProvider",
        json!({"name": "shop-capacity", "autoScalingGroupProvider": {
            "autoScalingGroupArn": group["AutoScalingGroupARN"],
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 60},
            "managedTerminationProtection": "ENABLED"}}),
    );
    call(
        &mut ecs,
        "PutClusterCapacityProviders",
        json!({"cluster": "shop", "capacityProviders": ["shop-capacity"],
               "defaultCapacityProviderStrategy": [{"capacityProvider": "shop-capacity", "weight": 1}]}),
    );
    call(
        &mut ecs,
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "nginx:1", "cpu": 1024, "memory": 1024, "essential": true}]}),
    );
    call(
        &mut ecs,
        "CreateService",
        json!({"cluster": "shop", "serviceName": "web", "taskDefinition": "web", "desiredCount": 1}),
    );
    let mut policy = TargetTracking::new(100.0);
    policy.scale_out_points = 1;
    policy.scale_in_points = 5;
    policy.scale_out_cooldown = 60;
    policy.scale_in_cooldown = 120;
    let mut scaler = Scaler::new(Policy::TargetTracking(policy), Bounds { min: 1, max: 12 });

    println!(
        "{:>4}  {:>6}  {:>7}  {:>7}  {:>9}  {:>9}  {:>6}  why",
        "min", "demand", "desired", "running", "asg want", "instances", "CPR %"
    );
    let demand = |minute: i64| -> f64 {
        match minute {
            0..=4 => 80.0,
            5..=14 => 80.0 + (minute - 4) as f64 * 90.0,
            15..=24 => 980.0,
            _ => 60.0,
        }
    };
    for minute in 0..90 {
        call(&mut ecs, "Sim.Advance", json!({"seconds": 60}));
        let service = call(
            &mut ecs,
            "DescribeServices",
            json!({"cluster": "shop", "services": ["web"]}),
        );
        let desired = service["services"][0]["desiredCount"].as_i64().unwrap_or(0);
        let running = service["services"][0]["runningCount"].as_i64().unwrap_or(0);
        // The metric: requests per running task (per desired task while none runs).
        let per_task = demand(minute) / running.max(1) as f64;
        let decision = scaler.observe(minute * 60, desired, per_task);
        if decision.desired != desired {
            call(
                &mut ecs,
                "UpdateService",
                json!({"cluster": "shop", "service": "web", "desiredCount": decision.desired}),
            );
        }
        let groups = call(&mut ecs, "Sim.DescribeAutoScalingGroups", json!({}));
        let g = &groups["AutoScalingGroups"][0];
        let metrics = call(&mut ecs, "Sim.DescribeCapacityProviderMetrics", json!({}));
        let cpr = metrics["metrics"][0]["CapacityProviderReservation"]
            .as_f64()
            .unwrap_or(0.0);
        let why = if decision.desired != desired {
            decision.message
        } else {
            String::new()
        };
        println!(
            "{:>4}  {:>6.0}  {:>7}  {:>7}  {:>9}  {:>9}  {:>6.0}  {}",
            minute,
            demand(minute),
            decision.desired,
            running,
            g["DesiredCapacity"],
            g["Instances"].as_array().map(Vec::len).unwrap_or(0),
            cpr,
            why
        );
    }
}
