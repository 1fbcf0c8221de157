//! Assigning permissions: a least-privilege deployer role that may run one family on one
//! cluster, a denied call and its message, and a task that fails to start until its execution
//! role may read its secret (spec permissions.md §1.4, §2.1, §3.2, §3.4, §4.6).
//!
//! ```text
//! cargo run -q --example permissions
//! ```

use serde_json::{Value, json};
use stowplan::api::{self, ApiError};
use stowplan::control::{Ecs, EcsConfig};

const ACCOUNT: &str = "123456789012";

fn call(ecs: &mut Ecs, operation: &str, request: Value) -> Result<Value, ApiError> {
    // As the harness caller: the root until Sim.SetCaller chooses someone else.
    let caller = ecs.harness_caller();
    api::call(ecs, operation, &request, &caller)
}

fn must(ecs: &mut Ecs, operation: &str, request: Value) -> Value {
    match call(ecs, operation, request) {
        Ok(value) => value,
        Err(err) => panic!("{operation}: {err}"),
    }
}

fn document(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn run_web(ecs: &mut Ecs) -> Result<Value, ApiError> {
    call(
        ecs,
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "web", "launchType": "FARGATE",
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0aaa000000000001"]}}}),
    )
}

fn status_after_start(ecs: &mut Ecs, task_arn: &str) -> Value {
    for _ in 0..3 {
        must(ecs, "Sim.Advance", json!({"seconds": 30}));
    }
    must(
        ecs,
        "DescribeTasks",
        json!({"cluster": "prod", "tasks": [task_arn]}),
    )["tasks"][0]
        .clone()
}

fn main() {
    let mut ecs = Ecs::new(EcsConfig::default());
    let exec_role = format!("arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole");
    let secret = format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:web/db-AbCdEf");

    // 1. As the account root: clusters, a subnet, the execution role and the task definition.
    for name in ["prod", "staging"] {
        must(&mut ecs, "CreateCluster", json!({"clusterName": name}));
    }
    must(
        &mut ecs,
        "Sim.CreateSubnet",
        json!({"subnetId": "subnet-0aaa000000000001", "availabilityZone": "us-east-1a"}),
    );
    let trust_ecs_tasks = document(json!([{"Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]));
    must(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "ecsTaskExecutionRole", "AssumeRolePolicyDocument": trust_ecs_tasks}),
    );
    must(
        &mut ecs,
        "Sim.AttachRolePolicy",
        json!({"RoleName": "ecsTaskExecutionRole",
               "PolicyArn": "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}),
    );
    for family in ["web", "batch"] {
        must(
            &mut ecs,
            "RegisterTaskDefinition",
            json!({"family": family, "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
                   "cpu": "256", "memory": "512", "executionRoleArn": exec_role,
                   "containerDefinitions": [{"name": "app", "image": "nginx:1.25",
                       "secrets": [{"name": "DB_PASSWORD", "valueFrom": secret}]}]}),
        );
    }

    // 2. The deployer: RunTask of `web` on `prod` only, PassRole of the execution role to ECS
    //    tasks only, and DescribeTasks on prod's tasks.
    let trust_account = document(json!([{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]));
    must(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "deployer", "AssumeRolePolicyDocument": trust_account}),
    );
    let least_privilege = document(json!([
        {"Sid": "RunWebOnProd", "Effect": "Allow", "Action": "ecs:RunTask",
         "Resource": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:*"),
         "Condition": {"ArnEquals": {"ecs:cluster": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod")}}},
        {"Sid": "PassExecutionRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": exec_role,
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Sid": "WatchProdTasks", "Effect": "Allow", "Action": "ecs:DescribeTasks",
         "Resource": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task/prod/*")}
    ]));
    println!("deployer policy:\n{least_privilege}\n");
    must(
        &mut ecs,
        "Sim.PutRolePolicy",
        json!({"RoleName": "deployer", "PolicyName": "deploy-web", "PolicyDocument": least_privilege}),
    );
    let caller = must(
        &mut ecs,
        "Sim.SetCaller",
        json!({"principalArn": format!("arn:aws:iam::{ACCOUNT}:role/deployer")}),
    );
    println!("calling as {}\n", caller["principalArn"]);

    // 3. A denied call: another family.
    let denied = call(
        &mut ecs,
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "batch", "launchType": "FARGATE",
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0aaa000000000001"]}}}),
    )
    .expect_err("batch is not the deployer's family");
    println!(
        "RunTask batch -> {}: {}\n",
        denied.error_type, denied.message
    );

    // 4. An allowed call whose task cannot start: the execution role may not read the secret.
    let missing = ecs
        .missing_execution_permissions("web")
        .expect("registered");
    println!("what the execution role lacks for `web`:");
    for m in &missing {
        println!(
            "  container {} at {}: {} on {} ({})",
            m.need.container, m.need.pointer, m.need.action, m.need.resource, m.decision
        );
    }
    let first = run_web(&mut ecs).expect("the deployer may run web on prod");
    let task = first["tasks"][0]["taskArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let stopped = status_after_start(&mut ecs, &task);
    println!(
        "\ntask {} -> {} ({})\n  {}\n",
        task, stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]
    );

    // 5. The root lets the execution role read the secret; the next task runs.
    must(&mut ecs, "Sim.SetCaller", json!({}));
    must(
        &mut ecs,
        "Sim.PutRolePolicy",
        json!({"RoleName": "ecsTaskExecutionRole", "PolicyName": "read-web-secrets",
               "PolicyDocument": document(json!([{"Effect": "Allow",
                   "Action": "secretsmanager:GetSecretValue",
                   "Resource": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:web/*")}]))}),
    );
    must(
        &mut ecs,
        "Sim.SetCaller",
        json!({"principalArn": format!("arn:aws:iam::{ACCOUNT}:role/deployer")}),
    );
    let second = run_web(&mut ecs).expect("allowed");
    let task = second["tasks"][0]["taskArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let running = status_after_start(&mut ecs, &task);
    println!(
        "after granting secretsmanager:GetSecretValue: task {task} -> {}",
        running["lastStatus"]
    );
}
