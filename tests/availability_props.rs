//! Property tests of availability (issue 9, items 5 and 7): services under faults, Availability
//! Zone rebalancing, and the availability report's predictions.
//!
//! `services_survive_faults`: random clusters over 2–3 zones, REPLICA services (rebalancing on by
//! default, SVC-AZ-REBALANCE) and maybe a DAEMON service, and random sequences of faults
//! (`Sim.TerminateInstance`, `Sim.DisconnectAgent`, `Sim.FailAvailabilityZone`), instances added
//! back, rolling deployments and advances. Checked after every internal scheduler step
//! (`Ecs::advance_observed`): no instance is overcommitted; a REPLICA service never runs more than
//! ⌊desired × maximumPercent / 100⌋ tasks (DEP-ROUNDING); since the last fault, once a service
//! has ⌈desired × minimumHealthyPercent / 100⌉ healthy tasks it keeps them (DEP-HEALTHY); tasks
//! are conserved (every task seen is still listed, STOPPED ones with a reason). At the end, with
//! every agent connected and an instance added in every zone, the state becomes steady: every
//! REPLICA service runs exactly desiredCount tasks spread so that the zones differ by at most one
//! (SVC-REPLICA-MAINTAIN, SVC-AZ-REBALANCE), every DAEMON service one task per ACTIVE instance
//! (SVC-DAEMON), and runningCount equals the task table (SVC-COUNTS).
//!
//! `report_predicts_the_fault`: on a random steady cluster, the availability report's prediction
//! for one random fault (an instance or a zone lost) equals what the scheduler does when that fault
//! is injected: the tasks left right after it, and the tasks placed again on the next tick.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{Value, json};
use stowplan::api;
use stowplan::control::{Caller, Ecs, EcsConfig, deployment_bounds};

const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

fn call(ecs: &mut Ecs, operation: &str, request: Value) -> Result<Value, api::ApiError> {
    api::call(ecs, operation, &request, &Caller::root("123456789012"))
}

/// Registers an instance of `slots` task slots (256 CPU / 512 MiB each) in `zone`.
fn add_instance(ecs: &mut Ecs, serial: u32, zone: &str, slots: u32) -> String {
    let response = call(
        ecs,
        "RegisterContainerInstance",
        json!({"cluster": "prod",
               "instanceIdentityDocument": json!({"instanceId": format!("i-0{serial:016x}"), "availabilityZone": zone, "instanceType": "m5.xlarge"}).to_string(),
               "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 256 * slots},
                                  {"name": "MEMORY", "type": "INTEGER", "integerValue": 512 * slots}],
               "attributes": [{"name": "ecs.availability-zone", "value": zone}]}),
    )
    .unwrap();
    response["containerInstance"]["containerInstanceArn"]
        .as_str()
        .unwrap()
        .to_string()
}

fn setup(zones: usize, per_zone: usize, slots: u32) -> (Ecs, Vec<String>) {
    let mut ecs = Ecs::new(EcsConfig::default());
    call(&mut ecs, "CreateCluster", json!({"clusterName": "prod"})).unwrap();
    let mut arns = Vec::new();
    let mut serial = 0;
    for _ in 0..per_zone {
        for zone in ZONES.iter().take(zones) {
            serial += 1;
            arns.push(add_instance(&mut ecs, serial, zone, slots));
        }
    }
    for revision in 1..=2 {
        call(
            &mut ecs,
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": format!("nginx:{revision}"), "cpu": 256, "memory": 512}]}),
        )
        .unwrap();
    }
    (ecs, arns)
}

#[derive(Clone, Debug)]
enum Fault {
    Advance,
    Terminate(usize),
    Disconnect(usize),
    FailZone(usize),
    AddInstance(usize),
    Deploy(usize),
}

#[derive(Clone, Debug)]
struct Case {
    zones: usize,
    per_zone: usize,
    services: Vec<(i32, i32, i32)>,
    daemon: bool,
    ops: Vec<Fault>,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        5 => Just(Fault::Advance),
        1 => (0usize..16).prop_map(Fault::Terminate),
        1 => (0usize..16).prop_map(Fault::Disconnect),
        1 => (0usize..3).prop_map(Fault::FailZone),
        2 => (0usize..3).prop_map(Fault::AddInstance),
        1 => (0usize..3).prop_map(Fault::Deploy),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let service = (
        1i32..7,
        prop_oneof![Just(0), Just(50), Just(100)],
        prop_oneof![Just(150), Just(200)],
    );
    (
        2usize..4,
        1usize..3,
        prop::collection::vec(service, 1..3),
        any::<bool>(),
        prop::collection::vec(fault(), 4..24),
    )
        .prop_map(|(zones, per_zone, services, daemon, ops)| Case {
            zones,
            per_zone,
            services,
            daemon,
            ops,
        })
}

struct Watch {
    seen: BTreeSet<String>,
    floor_reached: BTreeMap<String, bool>,
    limits: BTreeMap<String, (i64, i64, i64)>,
}

fn check(ecs: &Ecs, watch: &mut Watch) {
    let now = ecs.now();
    let cluster = ecs.clusters().next().unwrap();
    // No overcommit: every task reserves 256 CPU units; instances have 256 × 16.
    let mut used: BTreeMap<String, u32> = BTreeMap::new();
    for record in cluster.tasks.values() {
        watch.seen.insert(record.task_arn().to_string());
        if record.reservation.is_some()
            && let Some(instance) = record.container_instance_arn()
        {
            *used.entry(instance.to_string()).or_default() += 256;
        }
    }
    for (instance, cpu) in used {
        assert!(cpu <= 256 * 16, "{instance} overcommitted");
    }
    for service in cluster.services.values() {
        if service.is_daemon() || !service.is_active() {
            continue;
        }
        let name = service.name().to_string();
        let (desired, min_pct, max_pct) = watch.limits[&name];
        let (min, max) = deployment_bounds(desired, min_pct, max_pct);
        let (live, healthy) = crate::support::live_and_healthy(cluster, service, now);
        assert!(live <= max, "{name}: {live} live tasks > max {max}");
        let reached = watch.floor_reached.entry(name.clone()).or_default();
        if *reached {
            assert!(healthy >= min, "{name}: {healthy} healthy < min {min}");
        }
        if healthy >= min {
            *reached = true;
        }
    }
}

fn live_instances(ecs: &mut Ecs) -> Vec<(String, String, bool)> {
    let described = {
        let listed = call(ecs, "ListContainerInstances", json!({"cluster": "prod"})).unwrap();
        let arns = listed["containerInstanceArns"].as_array().unwrap().clone();
        if arns.is_empty() {
            return Vec::new();
        }
        call(
            ecs,
            "DescribeContainerInstances",
            json!({"cluster": "prod", "containerInstances": arns}),
        )
        .unwrap()
    };
    described["containerInstances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ci| {
            let zone = ci["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == "ecs.availability-zone")
                .and_then(|a| a["value"].as_str())
                .unwrap_or_default()
                .to_string();
            (
                ci["containerInstanceArn"].as_str().unwrap().to_string(),
                zone,
                ci["agentConnected"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn run_faults(case: &Case) {
    let (mut ecs, _) = setup(case.zones, case.per_zone, 16);
    let mut serial = 100;
    let mut watch = Watch {
        seen: BTreeSet::new(),
        floor_reached: BTreeMap::new(),
        limits: BTreeMap::new(),
    };
    let mut names = Vec::new();
    for (index, (desired, min, max)) in case.services.iter().enumerate() {
        let name = format!("svc{index}");
        let created = call(
            &mut ecs,
            "CreateService",
            json!({"cluster": "prod", "serviceName": name, "taskDefinition": "web:1", "desiredCount": desired,
                   "deploymentConfiguration": {"minimumHealthyPercent": min, "maximumPercent": max}}),
        )
        .unwrap();
        assert_eq!(
            created["service"]["availabilityZoneRebalancing"], "ENABLED",
            "SVC-AZ-REBALANCE: compatible services default to ENABLED"
        );
        watch.limits.insert(
            name.clone(),
            (i64::from(*desired), i64::from(*min), i64::from(*max)),
        );
        names.push(name);
    }
    if case.daemon {
        call(
            &mut ecs,
            "CreateService",
            json!({"cluster": "prod", "serviceName": "agent", "taskDefinition": "web:1", "schedulingStrategy": "DAEMON"}),
        )
        .unwrap();
    }
    for op in &case.ops {
        let faulted = match op {
            Fault::Advance => {
                ecs.advance_observed(60, |e| check(e, &mut watch)).unwrap();
                false
            }
            Fault::Terminate(pick) | Fault::Disconnect(pick) => {
                let live = live_instances(&mut ecs);
                if live.is_empty() {
                    continue;
                }
                let arn = live[pick % live.len()].0.clone();
                let action = if matches!(op, Fault::Terminate(_)) {
                    "Sim.TerminateInstance"
                } else {
                    "Sim.DisconnectAgent"
                };
                call(
                    &mut ecs,
                    action,
                    json!({"cluster": "prod", "containerInstance": arn}),
                )
                .unwrap();
                true
            }
            Fault::FailZone(zone) => {
                call(
                    &mut ecs,
                    "Sim.FailAvailabilityZone",
                    json!({"cluster": "prod", "availabilityZone": ZONES[zone % case.zones]}),
                )
                .unwrap();
                true
            }
            Fault::AddInstance(zone) => {
                serial += 1;
                add_instance(&mut ecs, serial, ZONES[zone % case.zones], 16);
                false
            }
            Fault::Deploy(service) => {
                let name = &names[service % names.len()];
                call(
                    &mut ecs,
                    "UpdateService",
                    json!({"cluster": "prod", "service": name, "forceNewDeployment": true}),
                )
                .unwrap();
                false
            }
        };
        if faulted {
            watch.floor_reached.clear();
        }
        check(&ecs, &mut watch);
    }
    // Enough capacity: every agent back, one more instance in every zone.
    for (arn, _, connected) in live_instances(&mut ecs) {
        if !connected {
            call(
                &mut ecs,
                "Sim.ConnectAgent",
                json!({"cluster": "prod", "containerInstance": arn}),
            )
            .unwrap();
        }
    }
    for zone in ZONES.iter().take(case.zones) {
        serial += 1;
        add_instance(&mut ecs, serial, zone, 16);
    }
    for _ in 0..30 {
        ecs.advance_observed(60, |e| check(e, &mut watch)).unwrap();
    }
    let cluster = ecs.clusters().next().unwrap().clone();
    for arn in &watch.seen {
        let record = cluster
            .tasks
            .get(arn)
            .unwrap_or_else(|| panic!("{arn} vanished"));
        if record.last_status() == "STOPPED" {
            assert!(
                record.stopped_reason().is_some_and(|r| !r.is_empty()),
                "{arn} stopped without a reason"
            );
        }
    }
    let instances = live_instances(&mut ecs);
    let mut all = names.clone();
    if case.daemon {
        all.push("agent".to_string());
    }
    let described = call(
        &mut ecs,
        "DescribeServices",
        json!({"cluster": "prod", "services": all}),
    )
    .unwrap();
    for service in described["services"].as_array().unwrap() {
        let name = service["serviceName"].as_str().unwrap();
        let record = &cluster.services[name];
        let tasks: Vec<_> = record
            .task_arns
            .iter()
            .filter_map(|arn| cluster.tasks.get(arn))
            .filter(|t| t.desired_status() == "RUNNING" && t.last_status() == "RUNNING")
            .collect();
        let running = tasks.len() as i64;
        assert_eq!(
            service["runningCount"].as_i64(),
            Some(running),
            "{name}: runningCount"
        );
        assert_eq!(service["pendingCount"].as_i64(), Some(0), "{name}: pending");
        if name == "agent" {
            assert_eq!(running, instances.len() as i64, "daemon: one per instance");
            continue;
        }
        assert_eq!(running, watch.limits[name].0, "{name}: desired count");
        // SVC-AZ-REBALANCE: balanced across the zones with capacity.
        let mut per_zone: BTreeMap<String, i64> = ZONES
            .iter()
            .take(case.zones)
            .map(|z| (z.to_string(), 0))
            .collect();
        for task in &tasks {
            let zone = instances
                .iter()
                .find(|(arn, _, _)| Some(arn.as_str()) == task.container_instance_arn())
                .map(|(_, zone, _)| zone.clone())
                .unwrap_or_default();
            *per_zone.entry(zone).or_default() += 1;
        }
        let most = per_zone.values().max().copied().unwrap_or(0);
        let fewest = per_zone.values().min().copied().unwrap_or(0);
        assert!(most - fewest <= 1, "{name}: not AZ balanced: {per_zone:?}");
    }
}

#[derive(Clone, Debug)]
struct ReportCase {
    zones: usize,
    per_zone: usize,
    slots: u32,
    services: Vec<i32>,
    zone_fault: bool,
    pick: usize,
}

fn report_case() -> impl Strategy<Value = ReportCase> {
    (
        2usize..4,
        1usize..3,
        2u32..7,
        prop::collection::vec(1i32..8, 1..3),
        any::<bool>(),
        0usize..16,
    )
        .prop_map(
            |(zones, per_zone, slots, services, zone_fault, pick)| ReportCase {
                zones,
                per_zone,
                slots,
                services,
                zone_fault,
                pick,
            },
        )
}

/// Per service: tasks meant to run (desired RUNNING, not STOPPED).
fn kept(ecs: &Ecs) -> BTreeMap<String, i64> {
    let cluster = ecs.clusters().next().unwrap();
    cluster
        .services
        .values()
        .map(|s| {
            let n = s
                .task_arns
                .iter()
                .filter_map(|arn| cluster.tasks.get(arn))
                .filter(|t| t.desired_status() == "RUNNING" && t.last_status() != "STOPPED")
                .count() as i64;
            (s.name().to_string(), n)
        })
        .collect()
}

fn run_report(case: &ReportCase) -> Result<(), TestCaseError> {
    let (mut ecs, arns) = setup(case.zones, case.per_zone, case.slots);
    for (index, desired) in case.services.iter().enumerate() {
        call(
            &mut ecs,
            "CreateService",
            json!({"cluster": "prod", "serviceName": format!("svc{index}"), "taskDefinition": "web:1", "desiredCount": desired}),
        )
        .unwrap();
    }
    for _ in 0..4 {
        ecs.advance(60).unwrap();
    }
    // Only steady clusters: every service at its desired count, nothing moving.
    let before = kept(&ecs);
    for (index, desired) in case.services.iter().enumerate() {
        prop_assume!(before[&format!("svc{index}")] == i64::from(*desired));
    }
    let cluster = ecs.clusters().next().unwrap();
    prop_assume!(
        cluster
            .services
            .values()
            .all(|s| s.rebalance.surge.is_empty())
    );
    let report = call(
        &mut ecs,
        "Sim.AvailabilityReport",
        json!({"cluster": "prod"}),
    )
    .unwrap();
    let (lost, section) = if case.zone_fault {
        let zone = ZONES[case.pick % case.zones].to_string();
        call(
            &mut ecs,
            "Sim.FailAvailabilityZone",
            json!({"cluster": "prod", "availabilityZone": zone}),
        )
        .unwrap();
        (zone, "zoneLosses")
    } else {
        let arn = arns[case.pick % arns.len()].clone();
        call(
            &mut ecs,
            "Sim.TerminateInstance",
            json!({"cluster": "prod", "containerInstance": arn}),
        )
        .unwrap();
        (arn, "instanceLosses")
    };
    let right_after = kept(&ecs);
    ecs.advance(60).unwrap();
    let next_tick = kept(&ecs);
    for service in report["services"].as_array().unwrap() {
        let name = service["serviceName"].as_str().unwrap();
        let loss = service[section]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["lost"] == lost.as_str());
        let (tasks_lost, replaceable) = loss
            .map(|l| {
                (
                    l["tasksLost"].as_i64().unwrap(),
                    l["replaceable"].as_i64().unwrap(),
                )
            })
            .unwrap_or((0, 0));
        let total = service["tasks"].as_i64().unwrap();
        prop_assert_eq!(
            right_after[name],
            total - tasks_lost,
            "{}: tasks left",
            name
        );
        prop_assert_eq!(
            next_tick[name],
            total - tasks_lost + replaceable,
            "{}: tasks placed again on the next tick",
            name
        );
        if let Some(loss) = loss {
            let floor = service["healthyFloor"].as_i64().unwrap();
            prop_assert_eq!(
                loss["aboveFloor"].as_bool().unwrap(),
                right_after[name] >= floor
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn services_survive_faults(case in case()) {
        run_faults(&case);
    }

    #[test]
    fn report_predicts_the_fault(case in report_case()) {
        run_report(&case)?;
    }
}

/// The report changes nothing (its snapshot is byte-identical before and after).
#[test]
fn availability_report_changes_nothing() {
    let (mut ecs, _) = setup(3, 1, 4);
    call(
        &mut ecs,
        "CreateService",
        json!({"cluster": "prod", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 6}),
    )
    .unwrap();
    for _ in 0..3 {
        ecs.advance(60).unwrap();
    }
    let before = ecs.snapshot().to_string();
    let report = ecs.availability_report(Some("prod"), None, None).unwrap();
    assert_eq!(ecs.snapshot().to_string(), before);
    assert_eq!(report.services.len(), 1);
    assert_eq!(report.services[0].zone_losses.len(), 3);
}
