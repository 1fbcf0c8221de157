//! Capacity providers, managed scaling and simulated Auto Scaling groups (issue 9, item 4).
//!
//! Property tests:
//! - CP-DISTRIBUTION: for any strategy and count, the assignment sums to the count, the base
//!   provider gets min(base, count) first, weight-0 items get nothing beyond the base, and the
//!   tasks beyond the base follow the weights (each provider within one task of its exact
//!   proportional share);
//! - CP-CPR / managed scaling: a service grown through an Auto Scaling group provider and
//!   shrunk back to 0 conserves tasks (every task seen is listed, STOPPED ones with a reason),
//!   never overcommits an instance, reaches desiredCount when it fits the group's maximum, and
//!   the group returns to its minimum once the service is gone.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use stowplan::api;
use stowplan::control::capacity::{distribute, totals};
use stowplan::control::{Caller, Ecs, EcsConfig};
use stowplan::model::CapacityProviderStrategyItem;

fn item(name: &str, base: i32, weight: i32) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem {
        capacity_provider: Some(name.to_string()),
        base: Some(base),
        weight: Some(weight),
        ..Default::default()
    }
}

/// CP-DISTRIBUTION worked examples (placement-and-services.md §7.1).
#[test]
fn cp_distribution_worked_examples() {
    let s = [item("A", 2, 1), item("B", 0, 4)];
    assert_eq!(totals(&s, 12), vec![4, 8]);
    // Beyond-base order B, B, A, B, B.
    assert_eq!(&distribute(&s, &[], 7)[2..], &[1, 1, 0, 1, 1]);
    let s = [item("FARGATE", 1, 1), item("FARGATE_SPOT", 0, 3)];
    assert_eq!(totals(&s, 9), vec![3, 6]);
    let s = [item("A", 0, 1), item("B", 0, 1)];
    assert_eq!(totals(&s, 5), vec![3, 2]);
    // The disputed row: a weight-0 provider still receives its base.
    let s = [item("A", 3, 0), item("B", 0, 1)];
    assert_eq!(totals(&s, 2), vec![2, 0]);
    assert_eq!(totals(&s, 5), vec![3, 2]);
}

fn strategy_strategy() -> impl Strategy<Value = Vec<CapacityProviderStrategyItem>> {
    (1usize..=6, 0usize..6, 0i32..20).prop_flat_map(|(n, base_at, base)| {
        prop::collection::vec(0i32..=10, n).prop_map(move |weights| {
            let mut weights = weights;
            if weights.iter().all(|w| *w == 0) {
                weights[0] = 1;
            }
            weights
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    item(
                        &format!("p{i}"),
                        if i == base_at % n { base } else { 0 },
                        *w,
                    )
                })
                .collect::<Vec<_>>()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// CP-DISTRIBUTION: sums to the count, base first, weights proportional beyond the base.
    #[test]
    fn cp_distribution_properties(strategy in strategy_strategy(), count in 0usize..200) {
        let assigned = distribute(&strategy, &[], count);
        prop_assert_eq!(assigned.len(), count);
        let base_at = strategy.iter().position(|i| i.base.unwrap_or(0) > 0);
        let base = base_at.map(|i| strategy[i].base.unwrap_or(0) as usize).unwrap_or(0);
        if let Some(b) = base_at {
            let first = base.min(count);
            prop_assert!(assigned[..first].iter().all(|&i| i == b), "base honoured first");
        }
        let mut t = vec![0usize; strategy.len()];
        for &i in &assigned {
            t[i] += 1;
        }
        let beyond = count.saturating_sub(base);
        let total_weight: i64 = strategy.iter().map(|i| i64::from(i.weight.unwrap_or(0))).sum();
        for (i, spec) in strategy.iter().enumerate() {
            let mine = t[i] - if Some(i) == base_at { base.min(count) } else { 0 };
            let w = i64::from(spec.weight.unwrap_or(0));
            if w == 0 {
                prop_assert_eq!(mine, 0, "weight 0 gets nothing beyond its base");
            }
            // |mine − beyond × w / W| < 1 (smooth weighted round-robin).
            let exact = beyond as i64 * w;
            let diff = (mine as i64 * total_weight - exact).abs();
            prop_assert!(diff < total_weight, "provider {} has {} of {} (weights {:?})", i, mine, beyond,
                strategy.iter().map(|s| s.weight).collect::<Vec<_>>());
        }
    }
}

fn call(ecs: &mut Ecs, op: &str, request: Value) -> Value {
    let root = Caller::root("123456789012");
    match api::call(ecs, op, &request, &root) {
        Ok(v) => v,
        Err(e) => panic!("{op} failed: {e}"),
    }
}

/// A cluster with one managed-scaling provider over an empty m5.large group.
fn setup(max: i64, target: i64, termination: bool) -> Ecs {
    let mut ecs = Ecs::new(EcsConfig::default());
    call(&mut ecs, "CreateCluster", json!({"clusterName": "prod"}));
    let group = call(
        &mut ecs,
        "Sim.CreateAutoScalingGroup",
        json!({"AutoScalingGroupName": "asg", "InstanceType": "m5.large", "MinSize": 0,
               "MaxSize": max, "DesiredCapacity": 0,
               "AvailabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"], "cluster": "prod"}),
    );
    let mut settings = json!({
        "autoScalingGroupArn": group["AutoScalingGroupARN"],
        "managedScaling": {"status": "ENABLED", "targetCapacity": target, "instanceWarmupPeriod": 60},
    });
    if termination {
        settings["managedTerminationProtection"] = json!("ENABLED");
    }
    call(
        &mut ecs,
        "CreateCapacityProvider",
        json!({"name": "cp", "autoScalingGroupProvider": settings}),
    );
    call(
        &mut ecs,
        "PutClusterCapacityProviders",
        json!({"cluster": "prod", "capacityProviders": ["cp"],
               "defaultCapacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}),
    );
    ecs
}

fn overcommitted(ecs: &Ecs) -> bool {
    ecs.clusters().any(|cluster| {
        cluster.state.instances().any(|(_, i)| {
            let (mut cpu, mut mem) = (0u64, 0u64);
            for id in i.task_ids() {
                if let Some(t) = cluster.state.task(*id) {
                    cpu += u64::from(t.reservation.cpu);
                    mem += u64::from(t.reservation.memory);
                }
            }
            cpu > u64::from(i.spec().cpu) || mem > u64::from(i.spec().memory)
        })
    })
}

fn service_counts(ecs: &mut Ecs) -> (i64, i64) {
    let s = call(
        ecs,
        "DescribeServices",
        json!({"cluster": "prod", "services": ["web"]}),
    );
    (
        s["services"][0]["runningCount"].as_i64().unwrap_or(-1),
        s["services"][0]["desiredCount"].as_i64().unwrap_or(-1),
    )
}

fn group(ecs: &mut Ecs) -> Value {
    call(ecs, "Sim.DescribeAutoScalingGroups", json!({}))["AutoScalingGroups"][0].clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// CP-CPR: the cluster grows to fit the service and shrinks back; tasks are conserved and
    /// no instance is ever overcommitted.
    #[test]
    fn cp_cpr_grow_then_shrink(
        steps in prop::collection::vec(0i64..=12, 1..4),
        cpu in prop::sample::select(vec![256u32, 512, 1024, 2048]),
        target in prop::sample::select(vec![100i64, 80]),
        termination in any::<bool>(),
    ) {
        let mut ecs = setup(12, target, termination);
        call(&mut ecs, "RegisterTaskDefinition", json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "nginx", "cpu": cpu, "memory": 512, "essential": true}]}));
        call(&mut ecs, "CreateService", json!({"cluster": "prod", "serviceName": "web",
            "taskDefinition": "web", "desiredCount": 0}));
        // Task ARN → the lastStatus it had when last seen.
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let check = |ecs: &mut Ecs, seen: &mut BTreeMap<String, String>| -> Result<(), TestCaseError> {
            prop_assert!(!overcommitted(ecs), "an instance is overcommitted");
            let listed: Vec<String> = ecs.clusters().flat_map(|c| c.tasks.keys().cloned()).collect();
            for (arn, last) in seen.iter() {
                // Only STOPPED tasks may leave the table (TASK-STOPPED-VISIBILITY).
                prop_assert!(listed.contains(arn) || last == "STOPPED", "task {} vanished", arn);
            }
            for c in ecs.clusters() {
                for (arn, t) in &c.tasks {
                    seen.insert(arn.clone(), t.last_status().to_string());
                    if t.last_status() == "STOPPED" {
                        prop_assert!(t.stopped_reason().is_some_and(|r| !r.is_empty()),
                            "stopped task without a reason");
                    }
                }
            }
            Ok(())
        };
        for desired in steps {
            call(&mut ecs, "UpdateService", json!({"cluster": "prod", "service": "web", "desiredCount": desired}));
            for _ in 0..12 {
                call(&mut ecs, "Sim.Advance", json!({"seconds": 60}));
                check(&mut ecs, &mut seen)?;
            }
            // 12 m5.large (2 vCPU) hold 24 tasks of 1 vCPU: every desired count here fits.
            let (running, want) = service_counts(&mut ecs);
            prop_assert_eq!(running, want, "service reaches desiredCount through the provider");
        }
        call(&mut ecs, "UpdateService", json!({"cluster": "prod", "service": "web", "desiredCount": 0}));
        // Scale-in: 15 minutes below target per step, half the group at most per step, and a
        // drained instance terminates on the tick after it is drained.
        for _ in 0..20 {
            call(&mut ecs, "Sim.Advance", json!({"seconds": 600}));
            check(&mut ecs, &mut seen)?;
        }
        let g = group(&mut ecs);
        prop_assert_eq!(&g["DesiredCapacity"], &json!(0), "group shrinks back: {}", g);
        prop_assert_eq!(g["Instances"].as_array().map(Vec::len), Some(0));
    }
}

/// CP-PLACE-PER-PROVIDER + CP-CPR: a service bigger than the group's maximum leaves the excess
/// PROVISIONING and the group stops at MaxSize.
#[test]
fn cp_cpr_stops_at_max_size() {
    let mut ecs = setup(2, 100, true);
    call(
        &mut ecs,
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [
        {"name": "app", "image": "nginx", "cpu": 2048, "memory": 512, "essential": true}]}),
    );
    call(
        &mut ecs,
        "CreateService",
        json!({"cluster": "prod", "serviceName": "web",
        "taskDefinition": "web", "desiredCount": 5}),
    );
    for _ in 0..10 {
        call(&mut ecs, "Sim.Advance", json!({"seconds": 60}));
    }
    let g = group(&mut ecs);
    assert_eq!(g["DesiredCapacity"], 2);
    let s = call(
        &mut ecs,
        "DescribeServices",
        json!({"cluster": "prod", "services": ["web"]}),
    );
    assert_eq!(s["services"][0]["runningCount"], 2);
    assert_eq!(s["services"][0]["pendingCount"], 3);
    let m = call(&mut ecs, "Sim.DescribeCapacityProviderMetrics", json!({}));
    // M = 2 busy + 3 more (one task per instance), N = 2: 250 %.
    assert_eq!(m["metrics"][0]["CapacityProviderReservation"], 250.0);
}

/// ERR-ATOMIC: refused capacity-provider calls change nothing.
#[test]
fn cp_refusals_change_nothing() {
    let mut ecs = setup(4, 100, false);
    let before = ecs.snapshot();
    let root = Caller::root("123456789012");
    for (op, request) in [
        (
            "CreateCapacityProvider",
            json!({"name": "ecsx", "autoScalingGroupProvider": {"autoScalingGroupArn": "asg"}}),
        ),
        (
            "PutClusterCapacityProviders",
            json!({"cluster": "prod", "capacityProviders": ["nope"], "defaultCapacityProviderStrategy": []}),
        ),
        ("DeleteCapacityProvider", json!({"capacityProvider": "cp"})),
        (
            "RunTask",
            json!({"cluster": "prod", "taskDefinition": "none", "capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}),
        ),
    ] {
        assert!(api::call(&mut ecs, op, &request, &root).is_err(), "{op}");
        assert_eq!(ecs.snapshot(), before, "{op} changed the state");
    }
}
