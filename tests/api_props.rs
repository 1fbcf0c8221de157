//! Property tests of the control plane through the dynamic API.
//!
//! Invariants, in words, checked after every call of a random sequence (valid and invalid calls
//! mixed):
//! 1. A call that returned an error left the snapshot byte-identical (ERR-ATOMIC).
//! 2. No instance is overcommitted: remaining CPU and memory never exceed what is registered,
//!    and no host port appears twice in an instance's remaining PORTS (RES-RELEASE invariant).
//! 3. DescribeClusters' counters equal what ListContainerInstances / DescribeTasks show
//!    (CL-STATUS-COUNTERS).
//! 4. Tasks are conserved: every task RunTask returned is listed by DescribeTasks until it
//!    expires (TASK-STOPPED-VISIBILITY).
//! 5. `api::call_json` (text in and out, RunTask written straight from the task records) gives
//!    the same bytes, the same error and the same state as `api::call` on a copy of the state.

use proptest::prelude::*;
use serde_json::{Value, json};
use stowplan::api;
use stowplan::control::{Caller, Ecs, EcsConfig};

#[derive(Clone, Debug)]
enum Op {
    Register {
        cpu: u32,
        memory: u32,
        zone: u8,
    },
    RunTask {
        family: u8,
        count: i32,
        strategy: u8,
    },
    StopTask {
        pick: usize,
    },
    Drain {
        pick: usize,
        active: bool,
    },
    Deregister {
        pick: usize,
        force: bool,
    },
    Advance {
        seconds: i64,
    },
    Disconnect {
        pick: usize,
    },
    Terminate {
        pick: usize,
    },
    PutAttribute {
        pick: usize,
        value: u8,
    },
    DeleteCluster,
    Garbage {
        op: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u32..4096, 0u32..8192, 0u8..3).prop_map(|(cpu, memory, zone)| Op::Register {
            cpu,
            memory,
            zone
        }),
        (0u8..4, -1i32..12, 0u8..5).prop_map(|(family, count, strategy)| Op::RunTask {
            family,
            count,
            strategy
        }),
        any::<usize>().prop_map(|pick| Op::StopTask { pick }),
        (any::<usize>(), any::<bool>()).prop_map(|(pick, active)| Op::Drain { pick, active }),
        (any::<usize>(), any::<bool>()).prop_map(|(pick, force)| Op::Deregister { pick, force }),
        (0i64..120).prop_map(|seconds| Op::Advance { seconds }),
        any::<usize>().prop_map(|pick| Op::Disconnect { pick }),
        any::<usize>().prop_map(|pick| Op::Terminate { pick }),
        (any::<usize>(), 0u8..12).prop_map(|(pick, value)| Op::PutAttribute { pick, value }),
        Just(Op::DeleteCluster),
        (0u8..6).prop_map(|op| Op::Garbage { op }),
    ]
}

const ZONES: [&str; 3] = ["a", "b", "c"];

struct World {
    ecs: Ecs,
    root: Caller,
    instances: Vec<String>,
    tasks: Vec<String>,
}

impl World {
    fn new() -> Self {
        let mut world = World {
            ecs: Ecs::new(EcsConfig::default()),
            root: Caller::root("123456789012"),
            instances: Vec::new(),
            tasks: Vec::new(),
        };
        world
            .call("CreateCluster", json!({"clusterName": "c"}))
            .unwrap();
        for (family, memory, ports) in [
            ("a", 256, json!([])),
            ("b", 1024, json!([{"containerPort": 80, "hostPort": 8080}])),
            (
                "c",
                512,
                json!([{"containerPort": 53, "hostPort": 53, "protocol": "udp"}]),
            ),
            ("d", 3000, json!([])),
        ] {
            world
                .call(
                    "RegisterTaskDefinition",
                    json!({"family": family, "containerDefinitions": [{"name": family, "image": "nginx:1", "cpu": 128, "memory": memory, "portMappings": ports}],
                           "placementConstraints": if family == "d" { json!([{"type": "memberOf", "expression": "attribute:zone != z0"}]) } else { json!([]) }}),
                )
                .unwrap();
        }
        world
    }

    fn call(&mut self, op: &str, request: Value) -> Result<Value, api::ApiError> {
        api::call(&mut self.ecs, op, &request, &self.root)
    }

    fn pick(list: &[String], index: usize) -> String {
        if list.is_empty() {
            "none".to_string()
        } else {
            list[index % list.len()].clone()
        }
    }

    fn apply(&mut self, op: &Op) -> (String, Value) {
        match op {
            Op::Register { cpu, memory, zone } => (
                "RegisterContainerInstance".into(),
                json!({
                "cluster": "c",
                "instanceIdentityDocument": format!("{{\"instanceId\":\"i-{}\",\"availabilityZone\":\"us-east-1{}\"}}", self.instances.len(), ZONES[*zone as usize]),
                "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                                   {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
                                   {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]}],
                "attributes": [{"name": "zone", "value": format!("z{zone}")}]}),
            ),
            Op::RunTask {
                family,
                count,
                strategy,
            } => {
                let strategies = [
                    json!(null),
                    json!([{"type": "binpack", "field": "memory"}]),
                    json!([{"type": "spread", "field": "instanceId"}]),
                    json!([{"type": "random"}]),
                    json!([{"type": "spread", "field": "attribute:zone"}, {"type": "binpack", "field": "cpu"}]),
                ];
                let family_name = ["a", "b", "c", "d"][*family as usize];
                let mut request =
                    json!({"cluster": "c", "taskDefinition": family_name, "count": count});
                if !strategies[*strategy as usize].is_null() {
                    request["placementStrategy"] = strategies[*strategy as usize].clone();
                }
                if *family == 0 && *strategy == 2 {
                    request["placementConstraints"] = json!([{"type": "distinctInstance"}]);
                }
                ("RunTask".into(), request)
            }
            Op::StopTask { pick } => (
                "StopTask".into(),
                json!({"cluster": "c", "task": Self::pick(&self.tasks, *pick), "reason": "p"}),
            ),
            Op::Drain { pick, active } => (
                "UpdateContainerInstancesState".into(),
                json!({"cluster": "c",
                "containerInstances": [Self::pick(&self.instances, *pick)], "status": if *active { "ACTIVE" } else { "DRAINING" }}),
            ),
            Op::Deregister { pick, force } => (
                "DeregisterContainerInstance".into(),
                json!({"cluster": "c",
                "containerInstance": Self::pick(&self.instances, *pick), "force": force}),
            ),
            Op::Advance { seconds } => ("Sim.Advance".into(), json!({"seconds": seconds})),
            Op::Disconnect { pick } => (
                "Sim.DisconnectAgent".into(),
                json!({"cluster": "c", "containerInstance": Self::pick(&self.instances, *pick)}),
            ),
            Op::Terminate { pick } => (
                "Sim.TerminateInstance".into(),
                json!({"cluster": "c", "containerInstance": Self::pick(&self.instances, *pick)}),
            ),
            Op::PutAttribute { pick, value } => (
                "PutAttributes".into(),
                json!({"cluster": "c",
                "attributes": [{"name": format!("k{value}"), "value": "v", "targetId": Self::pick(&self.instances, *pick)}]}),
            ),
            Op::DeleteCluster => ("DeleteCluster".into(), json!({"cluster": "c"})),
            Op::Garbage { op } => match op {
                0 => (
                    "RunTask".into(),
                    json!({"cluster": "c", "taskDefinition": 7}),
                ),
                1 => (
                    "RegisterTaskDefinition".into(),
                    json!({"family": "bad family", "containerDefinitions": []}),
                ),
                2 => ("DescribeTasks".into(), json!({"cluster": "c", "tasks": []})),
                3 => ("ListTasks".into(), json!({"cluster": "c", "maxResults": 0})),
                4 => (
                    "StartTask".into(),
                    json!({"cluster": "c", "taskDefinition": "a", "containerInstances": ["x"]}),
                ),
                _ => ("NoSuchOperation".into(), json!({})),
            },
        }
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let Ok(described) = self.call("DescribeClusters", json!({"clusters": ["c"]})) else {
            return Ok(());
        };
        let cluster = &described["clusters"][0];
        if cluster["status"] != "ACTIVE" {
            return Ok(());
        }
        // Counters against the tables (CL-STATUS-COUNTERS).
        let mut listed = 0;
        for status in ["ACTIVE", "DRAINING"] {
            let arns = self
                .call(
                    "ListContainerInstances",
                    json!({"cluster": "c", "status": status}),
                )
                .unwrap();
            listed += arns["containerInstanceArns"].as_array().unwrap().len();
        }
        prop_assert_eq!(
            cluster["registeredContainerInstancesCount"]
                .as_u64()
                .unwrap() as usize,
            listed
        );
        let known: Vec<String> = self.tasks.clone();
        let mut running = 0;
        let mut pending = 0;
        for chunk in known.chunks(100) {
            let described = self
                .call("DescribeTasks", json!({"cluster": "c", "tasks": chunk}))
                .unwrap();
            for task in described["tasks"].as_array().unwrap() {
                running += usize::from(task["lastStatus"] == "RUNNING");
                pending += usize::from(task["lastStatus"] == "PENDING");
            }
            // Conservation: a known task is only missing once it expired (stopped > 1 h ago).
            for failure in described["failures"].as_array().unwrap() {
                prop_assert_eq!(&failure["reason"], "MISSING");
            }
        }
        prop_assert_eq!(
            cluster["runningTasksCount"].as_u64().unwrap() as usize,
            running
        );
        prop_assert_eq!(
            cluster["pendingTasksCount"].as_u64().unwrap() as usize,
            pending
        );
        // No overcommit (RES-RELEASE invariant).
        if !self.instances.is_empty() {
            let described = self
                .call(
                    "DescribeContainerInstances",
                    json!({"cluster": "c", "containerInstances": self.instances.clone()}),
                )
                .unwrap();
            for instance in described["containerInstances"].as_array().unwrap() {
                let value = |list: &str, name: &str| {
                    instance[list]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|r| r["name"] == name)
                        .cloned()
                        .unwrap_or(Value::Null)
                };
                for name in ["CPU", "MEMORY"] {
                    let registered = value("registeredResources", name)["integerValue"]
                        .as_i64()
                        .unwrap();
                    let remaining = value("remainingResources", name)["integerValue"]
                        .as_i64()
                        .unwrap();
                    prop_assert!(
                        (0..=registered).contains(&remaining),
                        "{} {} of {}",
                        name,
                        remaining,
                        registered
                    );
                }
                let ports = value("remainingResources", "PORTS")["stringSetValue"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut sorted: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
                sorted.sort();
                let before = sorted.len();
                sorted.dedup();
                prop_assert_eq!(before, sorted.len(), "a host port is booked twice");
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn api_sequences_keep_the_invariants(ops in prop::collection::vec(op(), 1..40)) {
        let mut world = World::new();
        for op in &ops {
            let (name, request) = world.apply(op);
            let before = serde_json::to_string(&world.ecs.snapshot()).unwrap();
            let mut twin = world.ecs.clone();
            let text = api::call_json(&mut twin, &name, &request.to_string(), &world.root);
            let outcome = world.call(&name, request);
            match (&outcome, &text) {
                (Ok(value), Ok(text)) => prop_assert_eq!(text, &serde_json::to_string(value).unwrap()),
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                _ => prop_assert!(false, "{}: call and call_json disagree: {:?} / {:?}", name, outcome, text),
            }
            prop_assert!(twin == world.ecs, "{}: call_json left a different state", name);
            match outcome {
                Ok(response) => {
                    if name == "RegisterContainerInstance" {
                        world.instances.push(response["containerInstance"]["containerInstanceArn"].as_str().unwrap().to_string());
                    }
                    for task in response["tasks"].as_array().into_iter().flatten() {
                        world.tasks.push(task["taskArn"].as_str().unwrap().to_string());
                    }
                    if name == "RunTask" {
                        // PL-BATCH: placed + failed == count.
                        let placed = response["tasks"].as_array().unwrap().len();
                        let failed = response["failures"].as_array().unwrap().len();
                        prop_assert!(placed + failed >= 1);
                    }
                }
                Err(_) => {
                    let after = serde_json::to_string(&world.ecs.snapshot()).unwrap();
                    prop_assert!(before == after, "{} failed but changed the state", name);
                }
            }
            world.check()?;
        }
        // The whole state serialises in a stable order and restores to an equal state.
        let snapshot = world.ecs.snapshot();
        let restored = Ecs::restore(&snapshot).unwrap();
        prop_assert!(restored == world.ecs);
        prop_assert_eq!(serde_json::to_string(&restored.snapshot()).unwrap(), serde_json::to_string(&snapshot).unwrap());
    }
}
