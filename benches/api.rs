//! RunTask through the dynamic JSON API: JSON in, JSON out, count 10, on a 5,000-instance
//! cluster sized so that every call of the run still places all ten tasks (checked in each
//! iteration: a run that only fails is fast and worthless).
//!
//! ```text
//! cargo bench --bench api
//! ```

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use stowplan::api;
use stowplan::control::{Caller, Ecs, EcsConfig};

const INSTANCES: usize = 5_000;

fn cluster() -> (Ecs, Caller) {
    let mut ecs = Ecs::new(EcsConfig::default());
    let root = Caller::root("123456789012");
    api::call(
        &mut ecs,
        "CreateCluster",
        &json!({"clusterName": "bench"}),
        &root,
    )
    .expect("cluster");
    for i in 0..INSTANCES {
        let zone = ["us-east-1a", "us-east-1b", "us-east-1c"][i % 3];
        api::call(
            &mut ecs,
            "RegisterContainerInstance",
            &json!({
                "cluster": "bench",
                "instanceIdentityDocument": format!("{{\"instanceId\":\"i-{i:017}\",\"availabilityZone\":\"{zone}\",\"instanceType\":\"m5.xlarge\"}}"),
                "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                                   {"name": "MEMORY", "type": "INTEGER", "integerValue": 15_000}]
            }),
            &root,
        )
        .expect("instance");
    }
    api::call(
        &mut ecs,
        "RegisterTaskDefinition",
        &json!({"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx:1", "cpu": 64, "memory": 128}]}),
        &root,
    )
    .expect("task definition");
    (ecs, root)
}

/// Whether a RunTask response body started all ten tasks: ten tasks (`clusterArn` appears once
/// per task) and no failure.
fn started_ten(body: &str) -> bool {
    body.matches("\"clusterArn\"").count() == 10 && body.ends_with("\"failures\":[]}")
}

/// Calls between two refreshes of the cluster: 5,000 calls start 50,000 tasks, far below the
/// 320,000 the cluster holds, so every timed call places all ten.
const CALLS_PER_CLUSTER: u64 = 5_000;

/// Times `iterations` RunTask calls made by `run` on `base`; every [`CALLS_PER_CLUSTER`] calls the
/// state goes back to a copy of `base` (untimed), so the cluster never fills however long
/// criterion runs.
// Timing is the point of a benchmark: allow the wall clock here only.
#[allow(clippy::disallowed_methods)]
fn time_calls(base: &Ecs, iterations: u64, run: impl Fn(&mut Ecs)) -> Duration {
    let mut ecs = base.clone();
    let mut elapsed = Duration::ZERO;
    for call in 0..iterations {
        if call > 0 && call % CALLS_PER_CLUSTER == 0 {
            ecs = base.clone();
        }
        let started = Instant::now();
        run(&mut ecs);
        elapsed += started.elapsed();
    }
    elapsed
}

fn run_task(c: &mut Criterion) {
    let (base, root) = cluster();
    let request = r#"{"cluster": "bench", "taskDefinition": "web", "count": 10}"#;
    // Check what is measured: a call places all ten tasks.
    let first = api::call_json(&mut base.clone(), "RunTask", request, &root).expect("RunTask");
    let parsed: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(parsed["tasks"].as_array().map(Vec::len), Some(10));
    assert!(started_ten(&first));
    let value_request: serde_json::Value = serde_json::from_str(request).expect("JSON");
    let mut group = c.benchmark_group("api");
    group.throughput(Throughput::Elements(10));
    group.sample_size(20);
    group.bench_function(
        "RunTask count 10 (JSON text in and out), 5,000 instances",
        |b| {
            b.iter_custom(|iterations| {
                time_calls(&base, iterations, |ecs| {
                    let body = api::call_json(ecs, "RunTask", request, &root).expect("RunTask");
                    assert!(started_ten(&body));
                })
            })
        },
    );
    group.bench_function(
        "RunTask count 10 (serde_json::Value in and out), 5,000 instances",
        |b| {
            b.iter_custom(|iterations| {
                time_calls(&base, iterations, |ecs| {
                    let response =
                        api::call(ecs, "RunTask", &value_request, &root).expect("RunTask");
                    assert_eq!(response["tasks"].as_array().map(Vec::len), Some(10));
                })
            })
        },
    );
    group.finish();
}

/// A user holding 10 managed policies of 10 statements each, conditions included; one
/// statement of the last policy allows RunTask of `web` on the bench cluster (permissions,
/// issue 10 item 8: authorization must stay within 25 % of the root caller's throughput).
fn restricted_caller(ecs: &mut Ecs, root: &Caller) -> Caller {
    let call = |ecs: &mut Ecs, op: &str, request: serde_json::Value| {
        api::call(ecs, op, &request, root).expect(op);
    };
    call(ecs, "Sim.CreateUser", json!({"UserName": "deployer"}));
    for i in 0..10 {
        let mut statements = Vec::new();
        for j in 0..10 {
            statements.push(json!({
                "Sid": format!("S{i}x{j}"),
                "Effect": "Allow",
                "Action": [format!("ecs:Describe{j}*"), format!("ecs:List{i}{j}*")],
                "Resource": format!("arn:aws:ecs:*:*:cluster/team{i}-{j}"),
                "Condition": {
                    "StringEquals": {"aws:RequestedRegion": "us-east-1"},
                    "ArnLike": {"ecs:cluster": format!("arn:aws:ecs:*:*:cluster/team{i}-*")}
                }
            }));
        }
        if i == 9 {
            statements[8] = json!({
                "Effect": "Deny", "Action": "ecs:Delete*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/blocked": "true"}}
            });
            statements[9] = json!({
                "Effect": "Allow", "Action": "ecs:RunTask",
                "Resource": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:*",
                "Condition": {"ArnEquals": {"ecs:cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/bench"}}
            });
        }
        let document = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        let created = api::call(
            ecs,
            "Sim.CreatePolicy",
            &json!({"PolicyName": format!("p{i}"), "PolicyDocument": document}),
            root,
        )
        .expect("policy");
        call(
            ecs,
            "Sim.AttachUserPolicy",
            json!({"UserName": "deployer", "PolicyArn": created["Policy"]["Arn"]}),
        );
    }
    Caller::new("arn:aws:iam::123456789012:user/deployer")
}

fn run_task_restricted(c: &mut Criterion) {
    let (mut base, root) = cluster();
    let caller = restricted_caller(&mut base, &root);
    let request = r#"{"cluster": "bench", "taskDefinition": "web", "count": 10}"#;
    let first = api::call_json(&mut base.clone(), "RunTask", request, &caller).expect("RunTask");
    assert!(started_ten(&first));
    let mut group = c.benchmark_group("api");
    group.throughput(Throughput::Elements(10));
    group.sample_size(20);
    group.bench_function(
        "RunTask count 10, caller with 10 policies x 10 statements (conditions), 5,000 instances",
        |b| {
            b.iter_custom(|iterations| {
                time_calls(&base, iterations, |ecs| {
                    let body = api::call_json(ecs, "RunTask", request, &caller).expect("RunTask");
                    assert!(started_ten(&body));
                })
            })
        },
    );
    group.finish();
}

criterion_group!(benches, run_task, run_task_restricted);
criterion_main!(benches);
