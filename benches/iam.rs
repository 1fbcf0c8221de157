//! Cost of one IAM authorization: `iam::evaluate` for a caller holding 10 policies of 10
//! statements each, every statement with conditions (issue 10 item 8's caller).
//!
//! ```text
//! cargo bench --bench iam
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use stowplan::iam::{Context, Decision, Policy, PolicySource, Request, evaluate};

const ACCOUNT: &str = "111122223333";

/// Statement `s` of policy `p`: a mix of services, wildcards and condition operators; a few
/// statements (policy 9) apply to the benchmarked RunTask.
fn statement(p: usize, s: usize) -> Value {
    let family = format!("family{p}{s}");
    let (actions, resource) = match s % 5 {
        0 => (
            json!(["ecs:RunTask", "ecs:StartTask"]),
            format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{family}:*"),
        ),
        1 => (json!(["ecs:Describe*", "ecs:List*"]), "*".to_owned()),
        2 => (
            json!("ecs:*Service*"),
            format!("arn:aws:ecs:us-east-1:{ACCOUNT}:service/cluster{p}/*"),
        ),
        3 => (
            json!(["s3:GetObject", "s3:PutObject"]),
            format!("arn:aws:s3:::bucket{p}/${{aws:username}}/*"),
        ),
        _ => (
            json!("iam:PassRole"),
            format!("arn:aws:iam::{ACCOUNT}:role/ecs-{p}-*"),
        ),
    };
    let condition = match s % 4 {
        0 => json!({
            "ArnEquals": {"ecs:cluster": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/cluster{p}")},
            "StringEquals": {"aws:PrincipalTag/team": ["red", "blue"]}}),
        1 => json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                    "Bool": {"aws:SecureTransport": "true"}}),
        2 => json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                    "StringLike": {"aws:RequestTag/env": ["prod-*", "stage-?"]}}),
        _ => json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]},
                    "StringEqualsIfExists": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
    };
    let mut st = json!({"Sid": format!("S{p}x{s}"), "Effect": if s == 9 { "Deny" } else { "Allow" },
        "Action": actions, "Resource": resource, "Condition": condition});
    if p == 9 && s == 0 {
        st["Resource"] = json!(format!(
            "arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:*"
        ));
    }
    st
}

fn policies() -> Vec<Policy> {
    (0..10)
        .map(|p| {
            let statements: Vec<Value> = (0..10).map(|s| statement(p, s)).collect();
            Policy::from_value(&json!({"Version": "2012-10-17", "Statement": statements}))
                .expect("bench policies are valid")
        })
        .collect()
}

fn context() -> Context {
    let mut c = Context::new();
    c.insert(
        "ecs:cluster",
        format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/cluster9"),
    );
    c.insert("aws:PrincipalTag/team", "red");
    c.insert("aws:username", "alice");
    c.insert("aws:SourceIp", "10.1.2.3");
    c.insert("aws:SecureTransport", "true");
    c.insert("aws:CurrentTime", "2026-11-25T12:00:00Z");
    c.insert(
        "aws:PrincipalArn",
        format!("arn:aws:iam::{ACCOUNT}:user/alice"),
    );
    c
}

fn bench(c: &mut Criterion) {
    let policies = policies();
    let ids: Vec<String> = (0..policies.len())
        .map(|i| format!("arn:aws:iam::{ACCOUNT}:policy/p{i}"))
        .collect();
    let sources: Vec<PolicySource<'_>> = policies
        .iter()
        .zip(&ids)
        .map(|(policy, id)| PolicySource { id, policy })
        .collect();
    let context = context();
    let resource = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:3");
    let request = Request {
        action: "ecs:RunTask",
        resource: &resource,
        context: &context,
    };
    // Check what is measured: the RunTask is allowed by exactly one statement.
    let e = evaluate(&request, &sources, None);
    assert_eq!(e.decision, Decision::Allowed);
    assert_eq!(e.matched.len(), 1);
    let denied_resource = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/api:3");
    let denied = Request {
        resource: &denied_resource,
        ..request
    };
    assert_eq!(
        evaluate(&denied, &sources, None).decision,
        Decision::ImplicitDeny
    );

    let mut group = c.benchmark_group("iam");
    group.bench_function("evaluate_10x10_allowed", |b| {
        b.iter(|| evaluate(std::hint::black_box(&request), &sources, None))
    });
    group.bench_function("evaluate_10x10_implicit_deny", |b| {
        b.iter(|| evaluate(std::hint::black_box(&denied), &sources, None))
    });
    group.bench_function("evaluate_10x10_with_boundary", |b| {
        b.iter(|| {
            evaluate(
                std::hint::black_box(&request),
                &sources,
                Some(&sources[9..]),
            )
        })
    });
    let text = serde_json::to_string(policies[0].to_value()).unwrap_or_default();
    group.bench_function("parse_10_statements", |b| {
        b.iter(|| Policy::parse(std::hint::black_box(&text)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
