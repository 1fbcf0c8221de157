//! Permissions in the control plane (issue 10; spec permissions.md): IAM principals and the
//! harness actions, authorization of ECS calls (§1.2–§1.4, §4.6), iam:PassRole (§2.1),
//! trust policies (§2.2, §2.3), "will this task start?" (§3.2, §3.4), the task role (§3.3),
//! and the documented ECS cases of §5 (rows 27, 28, 31, 33).

use proptest::prelude::*;
use serde_json::{Value, json};
use stowplan::api::{self, ApiError};
use stowplan::control::execution::{check_execution_role, missing_exec_permissions};
use stowplan::control::iam::{PolicySet, TASK_EXECUTION_ROLE_POLICY_ARN};
use stowplan::control::{Caller, Ecs, EcsConfig};

const ACCOUNT: &str = "123456789012";
const TRUST_ECS_TASKS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn arn(resource: &str) -> String {
    format!("arn:aws:ecs:us-east-1:{ACCOUNT}:{resource}")
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// Calls as the harness caller (root unless `Sim.SetCaller` chose someone).
fn call(ecs: &mut Ecs, operation: &str, request: Value) -> Result<Value, ApiError> {
    let caller = ecs.harness_caller();
    api::call(ecs, operation, &request, &caller)
}

fn ok(ecs: &mut Ecs, operation: &str, request: Value) -> Value {
    call(ecs, operation, request.clone())
        .unwrap_or_else(|err| panic!("{operation} {request} failed: {err}"))
}

fn denied(ecs: &mut Ecs, operation: &str, request: Value) -> String {
    let before = ecs.snapshot();
    let err = call(ecs, operation, request).expect_err("must be denied");
    assert_eq!(err.error_type, "AccessDeniedException", "{}", err.message);
    assert_eq!(ecs.snapshot(), before, "a denied call changes nothing");
    err.message
}

fn policy(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// A user `name` with one inline policy, and the harness calling as that user.
fn as_user(ecs: &mut Ecs, name: &str, statements: Value) -> String {
    let created = ok(ecs, "Sim.CreateUser", json!({"UserName": name}));
    ok(
        ecs,
        "Sim.PutUserPolicy",
        json!({"UserName": name, "PolicyName": "p", "PolicyDocument": policy(statements)}),
    );
    ok(
        ecs,
        "Sim.SetCaller",
        json!({"principalArn": created["User"]["Arn"]}),
    );
    created["User"]["Arn"].as_str().unwrap().to_string()
}

fn root(ecs: &mut Ecs) {
    ok(ecs, "Sim.SetCaller", json!({}));
}

fn fargate_network() -> Value {
    json!({"awsvpcConfiguration": {"subnets": ["subnet-0aaa000000000001"], "assignPublicIp": "DISABLED"}})
}

/// A cluster `prod` with a Fargate subnet, and task definition `web` (revision 1..=`revisions`).
fn fixture(revisions: u32) -> Ecs {
    let mut ecs = Ecs::new(EcsConfig::default());
    ok(&mut ecs, "CreateCluster", json!({"clusterName": "prod"}));
    ok(&mut ecs, "CreateCluster", json!({"clusterName": "other"}));
    ok(
        &mut ecs,
        "Sim.CreateSubnet",
        json!({"subnetId": "subnet-0aaa000000000001", "availabilityZone": "us-east-1a"}),
    );
    for _ in 0..revisions {
        ok(
            &mut ecs,
            "RegisterTaskDefinition",
            fargate_definition("web", None),
        );
    }
    ok(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition("batch", None),
    );
    ecs
}

fn fargate_definition(family: &str, extra: Option<Value>) -> Value {
    let mut definition = json!({
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "nginx:1.25"}]
    });
    if let Some(Value::Object(extra)) = extra {
        for (k, v) in extra {
            definition[k] = v;
        }
    }
    definition
}

fn run_fargate(ecs: &mut Ecs, cluster: &str, td: &str) -> Result<Value, ApiError> {
    call(
        ecs,
        "RunTask",
        json!({"cluster": cluster, "taskDefinition": td, "launchType": "FARGATE",
               "networkConfiguration": fargate_network()}),
    )
}

fn advance(ecs: &mut Ecs, times: usize) {
    for _ in 0..times {
        ok(ecs, "Sim.Advance", json!({"seconds": 30}));
    }
}

fn describe_task(ecs: &mut Ecs, cluster: &str, task: &str) -> Value {
    let out = ok(
        ecs,
        "DescribeTasks",
        json!({"cluster": cluster, "tasks": [task]}),
    );
    out["tasks"][0].clone()
}

// ---- §5 row 27: clusters ---------------------------------------------------------------------

/// §5 row 27 (ECS guide, "clusters"): Create/List on `*`, Describe/Delete on one cluster ARN.
#[test]
fn row27_delete_only_the_named_cluster() {
    let mut ecs = Ecs::new(EcsConfig::default());
    ok(&mut ecs, "CreateCluster", json!({"clusterName": "other"}));
    let user = as_user(
        &mut ecs,
        "alice",
        json!([
            {"Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:ListClusters"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["ecs:DescribeClusters", "ecs:DeleteCluster"],
             "Resource": arn("cluster/mine")}
        ]),
    );
    ok(&mut ecs, "CreateCluster", json!({"clusterName": "mine"}));
    ok(&mut ecs, "ListClusters", json!({}));
    ok(&mut ecs, "DescribeClusters", json!({"clusters": ["mine"]}));
    ok(&mut ecs, "DeleteCluster", json!({"cluster": "mine"}));
    let message = denied(&mut ecs, "DeleteCluster", json!({"cluster": "other"}));
    // §4.6: IAM's implicit-deny message, verbatim.
    assert_eq!(
        message,
        format!(
            "User: {user} is not authorized to perform: ecs:DeleteCluster on resource: {} because no identity-based policy allows the ecs:DeleteCluster action",
            arn("cluster/other")
        )
    );
}

/// §7.2 (model choice): a batch Describe* with one unauthorized item is denied as a whole.
#[test]
fn batch_describe_is_denied_when_any_item_is() {
    let mut ecs = fixture(1);
    as_user(
        &mut ecs,
        "bob",
        json!([{"Effect": "Allow", "Action": "ecs:DescribeClusters", "Resource": arn("cluster/prod")}]),
    );
    ok(&mut ecs, "DescribeClusters", json!({"clusters": ["prod"]}));
    let message = denied(
        &mut ecs,
        "DescribeClusters",
        json!({"clusters": ["prod", "other"]}),
    );
    assert!(message.contains(&arn("cluster/other")), "{message}");
}

// ---- §5 row 28: RunTask on one family, on one cluster -----------------------------------------

fn row28_user(ecs: &mut Ecs) -> String {
    as_user(
        ecs,
        "deployer",
        json!([{
            "Effect": "Allow", "Action": "ecs:RunTask",
            "Resource": arn("task-definition/web:*"),
            "Condition": {"ArnEquals": {"ecs:cluster": arn("cluster/prod")}}
        }]),
    )
}

/// §5 row 28 / §1.4: RunTask is authorized on the task definition with its revision resolved
/// before authorization; another family is implicitly denied.
#[test]
fn row28_run_task_on_the_family_only() {
    let mut ecs = fixture(3);
    let user = row28_user(&mut ecs);
    run_fargate(&mut ecs, "prod", "web:3").expect("allowed");
    // Unrevisioned: resolved to the latest revision (web:3) before authorization.
    run_fargate(&mut ecs, "prod", "web").expect("allowed");
    let err = run_fargate(&mut ecs, "prod", "batch").unwrap_err();
    assert_eq!(err.error_type, "AccessDeniedException");
    assert_eq!(
        err.message,
        format!(
            "User: {user} is not authorized to perform: ecs:RunTask on resource: {} because no identity-based policy allows the ecs:RunTask action",
            arn("task-definition/batch:1")
        )
    );
}

/// §5 row 28: the same family on another cluster is implicitly denied (`ArnEquals ecs:cluster`).
#[test]
fn row28_run_task_on_another_cluster_is_denied() {
    let mut ecs = fixture(3);
    row28_user(&mut ecs);
    let before = ecs.snapshot();
    let err = run_fargate(&mut ecs, "other", "web:3").unwrap_err();
    assert_eq!(err.error_type, "AccessDeniedException");
    assert_eq!(ecs.snapshot(), before);
}

// ---- §5 row 31: tag on create ------------------------------------------------------------------

fn row31_user(ecs: &mut Ecs) {
    as_user(
        ecs,
        "tagger",
        json!([
            {"Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:RunTask"], "Resource": "*"},
            {"Effect": "Allow", "Action": "ecs:TagResource", "Resource": "*",
             "Condition": {"StringEquals": {"ecs:CreateAction": "CreateCluster"}}}
        ]),
    );
}

/// §5 row 31 / §1.4: CreateCluster with tags is allowed (TagResource with
/// `ecs:CreateAction` = CreateCluster); RunTask without tags needs no TagResource.
#[test]
fn row31_tag_on_create_allowed_cases() {
    let mut ecs = fixture(1);
    row31_user(&mut ecs);
    ok(
        &mut ecs,
        "CreateCluster",
        json!({"clusterName": "tagged", "tags": [{"key": "team", "value": "a"}]}),
    );
    run_fargate(&mut ecs, "prod", "web").expect("RunTask without tags");
}

/// §1.4: a create call with tags needs `ecs:TagResource` too; without it, the call is denied
/// naming `ecs:TagResource`.
#[test]
fn tag_on_create_needs_tag_resource() {
    let mut ecs = fixture(1);
    as_user(
        &mut ecs,
        "notags",
        json!([{"Effect": "Allow", "Action": "ecs:CreateCluster", "Resource": "*"}]),
    );
    ok(&mut ecs, "CreateCluster", json!({"clusterName": "plain"}));
    let message = denied(
        &mut ecs,
        "CreateCluster",
        json!({"clusterName": "tagged", "tags": [{"key": "team", "value": "a"}]}),
    );
    assert!(
        message.contains(
            "ecs:TagResource on resource: arn:aws:ecs:us-east-1:123456789012:cluster/tagged"
        ),
        "{message}"
    );
}

/// §5 row 31: RunTask with tags, and TagResource on an existing cluster, are implicitly denied
/// (`ecs:CreateAction` is not CreateCluster / absent).
#[test]
fn row31_tag_on_create_denied_cases() {
    let mut ecs = fixture(1);
    row31_user(&mut ecs);
    let message = denied(
        &mut ecs,
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "web", "launchType": "FARGATE",
               "networkConfiguration": fargate_network(), "tags": [{"key": "k", "value": "v"}]}),
    );
    assert!(message.contains("ecs:TagResource"), "{message}");
    denied(
        &mut ecs,
        "TagResource",
        json!({"resourceArn": arn("cluster/prod"), "tags": [{"key": "k", "value": "v"}]}),
    );
}

// ---- §5 row 33 and §2.1: iam:PassRole ---------------------------------------------------------

/// §5 row 33: PassRole allowed only to `cloudwatch.amazonaws.com` does not let a task role
/// be passed to ECS tasks.
#[test]
fn row33_pass_role_to_the_wrong_service_is_denied() {
    let mut ecs = fixture(0);
    as_user(
        &mut ecs,
        "passer",
        json!([
            {"Effect": "Allow", "Action": "ecs:RegisterTaskDefinition", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
             "Condition": {"StringEquals": {"iam:PassedToService": "cloudwatch.amazonaws.com"}}}
        ]),
    );
    let message = denied(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition("web", Some(json!({"taskRoleArn": role_arn("app")}))),
    );
    assert!(message.contains("iam:PassRole"), "{message}");
}

/// §2.1 / §2.2: RegisterTaskDefinition with a task role needs iam:PassRole on that role; the
/// denial names `iam:PassRole` and the role ARN.
#[test]
fn register_task_definition_checks_pass_role() {
    let mut ecs = fixture(0);
    let user = as_user(
        &mut ecs,
        "carol",
        json!([{"Effect": "Allow", "Action": "ecs:RegisterTaskDefinition", "Resource": "*"}]),
    );
    ok(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition("plain", None),
    );
    let message = denied(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition("web", Some(json!({"executionRoleArn": role_arn("exec")}))),
    );
    assert_eq!(
        message,
        format!(
            "User: {user} is not authorized to perform: iam:PassRole on resource: {} because no identity-based policy allows the iam:PassRole action",
            role_arn("exec")
        )
    );
}

/// §2.1: with PassRole on the role (to ecs-tasks), registration and RunTask succeed; RunTask
/// checks PassRole for the task definition's roles too.
#[test]
fn pass_role_allowed_for_ecs_tasks() {
    let mut ecs = fixture(0);
    as_user(
        &mut ecs,
        "dave",
        json!([
            {"Effect": "Allow", "Action": ["ecs:RegisterTaskDefinition", "ecs:RunTask"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arn("app"),
             "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}
        ]),
    );
    ok(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition("web", Some(json!({"taskRoleArn": role_arn("app")}))),
    );
    run_fargate(&mut ecs, "prod", "web").expect("allowed");
    // Overriding the task role with one the user may not pass is denied.
    let message = denied(
        &mut ecs,
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "web", "launchType": "FARGATE",
               "networkConfiguration": fargate_network(),
               "overrides": {"taskRoleArn": role_arn("admin")}}),
    );
    assert!(message.contains(&role_arn("admin")), "{message}");
}

/// §2.2 / §2.3: a created task role whose trust policy does not admit ecs-tasks.amazonaws.com
/// makes RunTask fail with ECS's ClientException; a role never created is taken to trust ECS.
#[test]
fn untrusting_task_role_fails_run_task() {
    let mut ecs = fixture(0);
    ok(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "ec2only", "AssumeRolePolicyDocument": TRUST_EC2}),
    );
    ok(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition("web", Some(json!({"taskRoleArn": role_arn("ec2only")}))),
    );
    ok(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition(
            "free",
            Some(json!({"taskRoleArn": role_arn("nevercreated")})),
        ),
    );
    let before = ecs.snapshot();
    let err = run_fargate(&mut ecs, "prod", "web").unwrap_err();
    assert_eq!(err.error_type, "ClientException");
    assert_eq!(
        err.message,
        format!(
            "ECS was unable to assume the role '{}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.",
            role_arn("ec2only")
        )
    );
    assert_eq!(ecs.snapshot(), before);
    run_fargate(&mut ecs, "prod", "free").expect("permissive default");
}

// ---- §4.6 messages, explicit deny, assumed roles -----------------------------------------------

/// §4.6: an explicit Deny gives "with an explicit deny in an identity-based policy".
#[test]
fn explicit_deny_message() {
    let mut ecs = fixture(1);
    let user = as_user(
        &mut ecs,
        "erin",
        json!([
            {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "ecs:DeleteCluster", "Resource": "*"}
        ]),
    );
    ok(&mut ecs, "ListClusters", json!({}));
    let message = denied(&mut ecs, "DeleteCluster", json!({"cluster": "prod"}));
    assert_eq!(
        message,
        format!(
            "User: {user} is not authorized to perform: ecs:DeleteCluster on resource: {} with an explicit deny in an identity-based policy",
            arn("cluster/prod")
        )
    );
}

/// Issue 10 item 4: a role chosen with Sim.SetCaller calls as the assumed-role session
/// `arn:aws:sts::ACCOUNT:assumed-role/NAME/stowplan-session`, and the message names it.
#[test]
fn set_caller_role_is_an_assumed_role_session() {
    let mut ecs = fixture(1);
    ok(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "deployer", "AssumeRolePolicyDocument": TRUST_EC2}),
    );
    let out = ok(
        &mut ecs,
        "Sim.SetCaller",
        json!({"principalArn": role_arn("deployer")}),
    );
    let session = format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/stowplan-session");
    assert_eq!(out["principalArn"], session.as_str());
    assert_eq!(ecs.harness_caller().principal_arn, session);
    let message = denied(&mut ecs, "ListClusters", json!({}));
    assert!(
        message.starts_with(&format!(
            "User: {session} is not authorized to perform: ecs:ListClusters on resource: *"
        )),
        "{message}"
    );
    root(&mut ecs);
    ok(&mut ecs, "ListClusters", json!({}));
}

/// Permissions boundary (§4.5): the boundary alone grants nothing and caps the identity policy.
#[test]
fn permissions_boundary_caps_the_role() {
    let mut ecs = fixture(1);
    let boundary = ok(
        &mut ecs,
        "Sim.CreatePolicy",
        json!({"PolicyName": "ReadOnly", "PolicyDocument": policy(json!([
            {"Effect": "Allow", "Action": ["ecs:List*", "ecs:Describe*"], "Resource": "*"}
        ]))}),
    );
    let boundary_arn = boundary["Policy"]["Arn"].as_str().unwrap().to_string();
    ok(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "capped", "AssumeRolePolicyDocument": TRUST_EC2,
               "PermissionsBoundary": boundary_arn}),
    );
    ok(
        &mut ecs,
        "Sim.PutRolePolicy",
        json!({"RoleName": "capped", "PolicyName": "all",
               "PolicyDocument": policy(json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]))}),
    );
    ok(
        &mut ecs,
        "Sim.SetCaller",
        json!({"principalArn": role_arn("capped")}),
    );
    ok(&mut ecs, "ListClusters", json!({}));
    let message = denied(&mut ecs, "DeleteCluster", json!({"cluster": "prod"}));
    assert!(
        message.ends_with("because no permissions boundary allows the ecs:DeleteCluster action"),
        "{message}"
    );
}

// ---- §3.2 / §3.4: will this task start? -------------------------------------------------------

fn secret_definition(family: &str) -> Value {
    fargate_definition(
        family,
        Some(json!({
            "executionRoleArn": role_arn("exec"),
            "containerDefinitions": [{
                "name": "app",
                "image": "nginx:1.25",
                "secrets": [{"name": "DB_PASSWORD",
                             "valueFrom": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf")}]
            }]
        })),
    )
}

/// §3.2 / §3.4: an execution role without secretsmanager:GetSecretValue makes the task STOPPED
/// with TaskFailedToStart and a ResourceInitializationError; once the role may read the
/// secret, the next task runs.
#[test]
fn task_fails_to_start_until_execution_role_may_read_its_secret() {
    let mut ecs = fixture(0);
    ok(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "exec", "AssumeRolePolicyDocument": TRUST_ECS_TASKS}),
    );
    ok(
        &mut ecs,
        "Sim.AttachRolePolicy",
        json!({"RoleName": "exec", "PolicyArn": TASK_EXECUTION_ROLE_POLICY_ARN}),
    );
    ok(&mut ecs, "RegisterTaskDefinition", secret_definition("web"));
    let out = run_fargate(&mut ecs, "prod", "web").expect("RunTask itself succeeds");
    let task = out["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let task_id = task.rsplit('/').next().unwrap().to_string();
    advance(&mut ecs, 3);
    let described = describe_task(&mut ecs, "prod", &task);
    assert_eq!(described["lastStatus"], "STOPPED");
    assert_eq!(described["stopCode"], "TaskFailedToStart");
    let reason = described["stoppedReason"].as_str().unwrap();
    assert_eq!(
        reason,
        format!(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf from secrets manager: AccessDeniedException: User: arn:aws:sts::{ACCOUNT}:assumed-role/exec/{task_id} is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf because no identity-based policy allows the secretsmanager:GetSecretValue action"
        )
    );
    ok(
        &mut ecs,
        "Sim.PutRolePolicy",
        json!({"RoleName": "exec", "PolicyName": "secrets", "PolicyDocument": policy(json!([
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-*")}
        ]))}),
    );
    let out = run_fargate(&mut ecs, "prod", "web").unwrap();
    let task = out["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    advance(&mut ecs, 3);
    assert_eq!(
        describe_task(&mut ecs, "prod", &task)["lastStatus"],
        "RUNNING"
    );
}

/// §3.2: an execution role that was never created is taken to allow what the task needs.
#[test]
fn uncreated_execution_role_is_permissive() {
    let mut ecs = fixture(0);
    ok(&mut ecs, "Sim.CreateUser", json!({"UserName": "someone"}));
    ok(&mut ecs, "RegisterTaskDefinition", secret_definition("web"));
    let out = run_fargate(&mut ecs, "prod", "web").unwrap();
    let task = out["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    advance(&mut ecs, 3);
    assert_eq!(
        describe_task(&mut ecs, "prod", &task)["lastStatus"],
        "RUNNING"
    );
}

/// §3.2 / §3.4: a service's tasks fail to start the same way (the scheduler's launch path).
#[test]
fn service_tasks_fail_to_start_without_log_permissions() {
    let mut ecs = fixture(0);
    ok(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "exec", "AssumeRolePolicyDocument": TRUST_ECS_TASKS}),
    );
    ok(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition(
            "logged",
            Some(json!({
                "executionRoleArn": role_arn("exec"),
                "containerDefinitions": [{"name": "app", "image": "nginx:1.25",
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/logged", "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "ecs"}}}]
            })),
        ),
    );
    ok(
        &mut ecs,
        "CreateService",
        json!({"cluster": "prod", "serviceName": "svc", "taskDefinition": "logged",
               "desiredCount": 1, "launchType": "FARGATE",
               "networkConfiguration": fargate_network()}),
    );
    advance(&mut ecs, 4);
    let listed = ok(
        &mut ecs,
        "ListTasks",
        json!({"cluster": "prod", "desiredStatus": "STOPPED"}),
    );
    let arns = listed["taskArns"].as_array().unwrap().clone();
    assert!(!arns.is_empty(), "the service's task stopped");
    let described = describe_task(&mut ecs, "prod", arns[0].as_str().unwrap());
    assert_eq!(described["stopCode"], "TaskFailedToStart");
    assert!(
        described["stoppedReason"]
            .as_str()
            .unwrap()
            .starts_with("ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: AccessDeniedException: "),
        "{described}"
    );
}

/// §3.2: the library check lists every missing permission with container and pointer, in
/// start order (ECR auth, ECR layers, secrets, env files, awslogs).
#[test]
fn execution_check_lists_every_missing_permission() {
    let definition: stowplan::model::TaskDefinition = serde_json::from_value(json!({
        "family": "full",
        "executionRoleArn": role_arn("exec"),
        "containerDefinitions": [{
            "name": "app",
            "image": format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.2"),
            "secrets": [{"name": "A", "valueFrom": "/prod/db/password"}],
            "environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::cfg-bucket/app.env"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/full", "awslogs-create-group": "true"},
                "secretOptions": [{"name": "K", "valueFrom": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:splunk-XyZ123:token::")}]}
        }]
    }))
    .unwrap();
    let missing = check_execution_role(&definition, "us-east-1", ACCOUNT, &PolicySet::default());
    let got: Vec<(&str, &str, &str)> = missing
        .iter()
        .map(|m| {
            (
                m.need.pointer.as_str(),
                m.need.action.as_str(),
                m.need.resource.as_str(),
            )
        })
        .collect();
    let repo = format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/shop/web");
    let ssm = format!("arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/prod/db/password");
    let asm = format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:splunk-XyZ123");
    let group = format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/full");
    let stream = format!("{group}:log-stream:*");
    assert_eq!(
        got,
        vec![
            (
                "/containerDefinitions/0/image",
                "ecr:GetAuthorizationToken",
                "*"
            ),
            (
                "/containerDefinitions/0/image",
                "ecr:BatchCheckLayerAvailability",
                repo.as_str()
            ),
            (
                "/containerDefinitions/0/image",
                "ecr:GetDownloadUrlForLayer",
                repo.as_str()
            ),
            (
                "/containerDefinitions/0/image",
                "ecr:BatchGetImage",
                repo.as_str()
            ),
            (
                "/containerDefinitions/0/secrets/0/valueFrom",
                "ssm:GetParameters",
                ssm.as_str()
            ),
            (
                "/containerDefinitions/0/logConfiguration/secretOptions/0/valueFrom",
                "secretsmanager:GetSecretValue",
                asm.as_str()
            ),
            (
                "/containerDefinitions/0/environmentFiles/0/value",
                "s3:GetObject",
                "arn:aws:s3:::cfg-bucket/app.env"
            ),
            (
                "/containerDefinitions/0/environmentFiles/0/value",
                "s3:GetBucketLocation",
                "arn:aws:s3:::cfg-bucket"
            ),
            (
                "/containerDefinitions/0/logConfiguration/options/awslogs-create-group",
                "logs:CreateLogGroup",
                group.as_str()
            ),
            (
                "/containerDefinitions/0/logConfiguration/options/awslogs-group",
                "logs:CreateLogStream",
                group.as_str()
            ),
            (
                "/containerDefinitions/0/logConfiguration/options/awslogs-group",
                "logs:PutLogEvents",
                stream.as_str()
            ),
        ]
    );
    assert!(missing.iter().all(|m| m.need.container == "app"));
}

/// §3.1: the AWS managed AmazonECSTaskExecutionRolePolicy covers ECR and awslogs but not
/// secrets or log-group creation.
#[test]
fn managed_execution_policy_covers_ecr_and_logs_only() {
    let mut ecs = fixture(0);
    ok(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "exec", "AssumeRolePolicyDocument": TRUST_ECS_TASKS}),
    );
    ok(
        &mut ecs,
        "Sim.AttachRolePolicy",
        json!({"RoleName": "exec", "PolicyArn": TASK_EXECUTION_ROLE_POLICY_ARN}),
    );
    ok(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition(
            "ecr",
            Some(json!({"executionRoleArn": role_arn("exec"),
                "containerDefinitions": [{"name": "app",
                    "image": format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop:latest"),
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "g", "awslogs-create-group": "true"}}}]})),
        ),
    );
    let missing = ecs.missing_execution_permissions("ecr").unwrap();
    let actions: Vec<&str> = missing.iter().map(|m| m.need.action.as_str()).collect();
    assert_eq!(actions, vec!["logs:CreateLogGroup"]);
}

// ---- §3.3: the task role -----------------------------------------------------------------------

/// §3.3: "what can this task do?" is SimulatePrincipalPolicy on the task role; the library
/// call gives the same answer. ECS Exec needs the four ssmmessages actions.
#[test]
fn task_role_simulation_and_exec_needs() {
    let mut ecs = fixture(0);
    ok(
        &mut ecs,
        "Sim.CreateRole",
        json!({"RoleName": "app", "AssumeRolePolicyDocument": TRUST_ECS_TASKS}),
    );
    ok(
        &mut ecs,
        "Sim.PutRolePolicy",
        json!({"RoleName": "app", "PolicyName": "s3", "PolicyDocument": policy(json!([
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"},
            {"Effect": "Allow", "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:OpenControlChannel"], "Resource": "*"}
        ]))}),
    );
    ok(
        &mut ecs,
        "RegisterTaskDefinition",
        fargate_definition("web", Some(json!({"taskRoleArn": role_arn("app")}))),
    );
    let simulated = ok(
        &mut ecs,
        "Sim.SimulatePrincipalPolicy",
        json!({"PolicySourceArn": role_arn("app"), "ActionNames": ["s3:GetObject", "s3:PutObject"],
               "ResourceArns": ["arn:aws:s3:::data/x"]}),
    );
    let results = simulated["EvaluationResults"].as_array().unwrap();
    assert_eq!(results[0]["EvalDecision"], "allowed");
    assert_eq!(results[0]["MatchedStatements"][0]["SourcePolicyId"], "s3");
    assert_eq!(
        results[0]["MatchedStatements"][0]["SourcePolicyType"],
        "role"
    );
    assert_eq!(results[1]["EvalDecision"], "implicitDeny");
    let library = ecs
        .simulate_task_role(
            "web",
            &["s3:GetObject", "s3:PutObject"],
            &["arn:aws:s3:::data/x"],
            Vec::new(),
        )
        .unwrap();
    let decisions: Vec<&str> = library.iter().map(|r| r.decision.as_str()).collect();
    assert_eq!(decisions, vec!["allowed", "implicitDeny"]);
    let exec = ecs.missing_exec_permissions("web").unwrap();
    let actions: Vec<&str> = exec.iter().map(|m| m.need.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenDataChannel"
        ]
    );
    assert_eq!(missing_exec_permissions(&PolicySet::default()).len(), 4);
}

/// Sim.SimulateCustomPolicy with IAM's members: PolicyInputList, ActionNames, ResourceArns,
/// ContextEntries; decisions `allowed` / `explicitDeny` / `implicitDeny` (§4.1, §5 rows 3-5).
#[test]
fn simulate_custom_policy_decisions() {
    let mut ecs = Ecs::new(EcsConfig::default());
    let out = ok(
        &mut ecs,
        "Sim.SimulateCustomPolicy",
        json!({
            "PolicyInputList": [policy(json!([
                {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}
            ])), policy(json!([
                {"Effect": "Allow", "Action": "iam:GenerateCredentialReport", "Resource": "*"}
            ]))],
            "ActionNames": ["iam:GetUser", "iam:CreatePolicy", "iam:GenerateCredentialReport"],
            "ContextEntries": [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.0.0.1"], "ContextKeyType": "ip"}]
        }),
    );
    let decisions: Vec<&str> = out["EvaluationResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["EvalDecision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, vec!["allowed", "implicitDeny", "explicitDeny"]);
    assert_eq!(
        out["EvaluationResults"][2]["MatchedStatements"][0]["SourcePolicyId"],
        "PolicyInputList.1"
    );
    assert_eq!(out["EvaluationResults"][0]["EvalResourceName"], "*");
}

// ---- principals, errors, access keys, snapshot -------------------------------------------------

#[test]
fn iam_errors_use_iam_codes() {
    let mut ecs = Ecs::new(EcsConfig::default());
    let code = |r: Result<Value, ApiError>| r.unwrap_err().error_type;
    assert_eq!(
        code(call(
            &mut ecs,
            "Sim.PutUserPolicy",
            json!({"UserName": "ghost", "PolicyName": "p", "PolicyDocument": policy(json!([]))})
        )),
        "NoSuchEntityException"
    );
    ok(&mut ecs, "Sim.CreateUser", json!({"UserName": "u"}));
    assert_eq!(
        code(call(&mut ecs, "Sim.CreateUser", json!({"UserName": "U"}))),
        "EntityAlreadyExistsException"
    );
    assert_eq!(
        code(call(
            &mut ecs,
            "Sim.PutUserPolicy",
            json!({"UserName": "u", "PolicyName": "p", "PolicyDocument": "{not json"})
        )),
        "MalformedPolicyDocumentException"
    );
    assert_eq!(
        code(call(
            &mut ecs,
            "Sim.CreateRole",
            json!({"RoleName": "r", "AssumeRolePolicyDocument":
            policy(json!([{"Effect": "Allow", "Action": "sts:AssumeRole"}]))})
        )),
        "MalformedPolicyDocumentException"
    );
    assert_eq!(
        code(call(
            &mut ecs,
            "Sim.CreateUser",
            json!({"UserName": "bad name!"})
        )),
        "InvalidInputException"
    );
    assert_eq!(
        code(call(
            &mut ecs,
            "Sim.AttachUserPolicy",
            json!({"UserName": "u", "PolicyArn": "arn:aws:iam::123456789012:policy/none"})
        )),
        "NoSuchEntityException"
    );
    for i in 0..11 {
        let created = ok(
            &mut ecs,
            "Sim.CreatePolicy",
            json!({"PolicyName": format!("p{i}"), "PolicyDocument": policy(json!([{"Effect": "Allow", "Action": "ecs:List*", "Resource": "*"}]))}),
        );
        let attached = call(
            &mut ecs,
            "Sim.AttachUserPolicy",
            json!({"UserName": "u", "PolicyArn": created["Policy"]["Arn"]}),
        );
        if i < 10 {
            attached.unwrap();
        } else {
            assert_eq!(attached.unwrap_err().error_type, "LimitExceededException");
        }
    }
    let big = "x".repeat(2100);
    assert_eq!(
        code(call(
            &mut ecs,
            "Sim.PutUserPolicy",
            json!({"UserName": "u", "PolicyName": "big",
            "PolicyDocument": policy(json!([{"Sid": big, "Effect": "Allow", "Action": "ecs:List*", "Resource": "*"}]))})
        )),
        "LimitExceededException"
    );
}

/// Access keys map to their user (`caller_for_access_key`); unknown keys to the harness caller.
#[test]
fn access_keys_identify_their_user() {
    let mut ecs = Ecs::new(EcsConfig::default());
    let user = ok(&mut ecs, "Sim.CreateUser", json!({"UserName": "ci"}));
    let key = ok(&mut ecs, "Sim.CreateAccessKey", json!({"UserName": "ci"}));
    let id = key["AccessKey"]["AccessKeyId"].as_str().unwrap();
    assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
    assert_eq!(key["AccessKey"]["Status"], "Active");
    assert_eq!(
        ecs.caller_for_access_key(id).principal_arn,
        user["User"]["Arn"].as_str().unwrap()
    );
    assert_eq!(
        ecs.caller_for_access_key("AKIAUNKNOWN"),
        Caller::root(ACCOUNT)
    );
    // Same seed, same calls: same key (ARN-DETERMINISM).
    let mut again = Ecs::new(EcsConfig::default());
    ok(&mut again, "Sim.CreateUser", json!({"UserName": "ci"}));
    let key2 = ok(&mut again, "Sim.CreateAccessKey", json!({"UserName": "ci"}));
    assert_eq!(key, key2);
}

/// The IAM store is part of the state: a snapshot restores users, roles, policies and the
/// caller; an IAM-free state's snapshot has no `iam` member (existing snapshots unchanged).
#[test]
fn snapshot_round_trips_the_iam_store() {
    let mut ecs = Ecs::new(EcsConfig::default());
    assert!(ecs.snapshot().get("iam").is_none());
    as_user(
        &mut ecs,
        "frank",
        json!([{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]),
    );
    let snapshot = ecs.snapshot();
    let mut restored = Ecs::restore(&snapshot).unwrap();
    assert_eq!(restored, ecs);
    ok(&mut restored, "ListClusters", json!({}));
    assert_eq!(
        call(&mut restored, "CreateCluster", json!({}))
            .unwrap_err()
            .error_type,
        "AccessDeniedException"
    );
}

/// `Sim.SetCaller`'s context carries global keys (aws:SourceIp, aws:MultiFactorAuthPresent).
#[test]
fn caller_context_keys_reach_conditions() {
    let mut ecs = fixture(1);
    let user = as_user(
        &mut ecs,
        "mfa",
        json!([{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]),
    );
    denied(&mut ecs, "ListClusters", json!({}));
    ok(
        &mut ecs,
        "Sim.SetCaller",
        json!({"principalArn": user, "context": {"aws:MultiFactorAuthPresent": true}}),
    );
    ok(&mut ecs, "ListClusters", json!({}));
}

/// Policy variables (`${aws:username}`) with ecs:ResourceTag (ECS guide: DescribeServices
/// gated by `ecs:ResourceTag/Owner = ${aws:username}`).
#[test]
fn resource_tag_owner_is_the_user() {
    let mut ecs = fixture(1);
    ok(
        &mut ecs,
        "CreateService",
        json!({"cluster": "prod", "serviceName": "mine", "taskDefinition": "web", "desiredCount": 0,
               "launchType": "FARGATE", "networkConfiguration": fargate_network(),
               "tags": [{"key": "Owner", "value": "gina"}]}),
    );
    ok(
        &mut ecs,
        "CreateService",
        json!({"cluster": "prod", "serviceName": "theirs", "taskDefinition": "web", "desiredCount": 0,
               "launchType": "FARGATE", "networkConfiguration": fargate_network(),
               "tags": [{"key": "Owner", "value": "hank"}]}),
    );
    as_user(
        &mut ecs,
        "gina",
        json!([{"Effect": "Allow", "Action": "ecs:DescribeServices", "Resource": "*",
                "Condition": {"StringEquals": {"ecs:ResourceTag/Owner": "${aws:username}"}}}]),
    );
    ok(
        &mut ecs,
        "DescribeServices",
        json!({"cluster": "prod", "services": ["mine"]}),
    );
    denied(
        &mut ecs,
        "DescribeServices",
        json!({"cluster": "prod", "services": ["theirs"]}),
    );
}

// ---- property: a denied call leaves the state byte-identical -----------------------------------

fn operation() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        Just(("CreateCluster", json!({"clusterName": "new"}))),
        Just((
            "CreateCluster",
            json!({"clusterName": "new", "tags": [{"key": "k", "value": "v"}]})
        )),
        Just(("DeleteCluster", json!({"cluster": "prod"}))),
        Just(("DeleteCluster", json!({"cluster": "other"}))),
        Just((
            "RunTask",
            json!({"cluster": "prod", "taskDefinition": "web", "launchType": "FARGATE",
                                "networkConfiguration": fargate_network()})
        )),
        Just((
            "RunTask",
            json!({"cluster": "prod", "taskDefinition": "batch", "launchType": "FARGATE",
                                "networkConfiguration": fargate_network(), "count": 2})
        )),
        Just((
            "RegisterTaskDefinition",
            fargate_definition("web", Some(json!({"taskRoleArn": role_arn("x")})))
        )),
        Just(("RegisterTaskDefinition", fargate_definition("batch", None))),
        Just((
            "CreateService",
            json!({"cluster": "prod", "serviceName": "s", "taskDefinition": "web",
                                      "desiredCount": 1, "launchType": "FARGATE",
                                      "networkConfiguration": fargate_network()})
        )),
        Just((
            "TagResource",
            json!({"resourceArn": arn("cluster/prod"), "tags": [{"key": "a", "value": "b"}]})
        )),
        Just(("ListClusters", json!({}))),
        Just(("DescribeClusters", json!({"clusters": ["prod", "other"]}))),
        Just(("Sim.Advance", json!({"seconds": 30}))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// ERR-ATOMIC for permissions (§4.6, issue 10 item 3): whatever a restricted caller tries,
    /// a call that returns AccessDeniedException leaves Sim.Snapshot byte-identical.
    #[test]
    fn denied_calls_leave_the_snapshot_byte_identical(ops in proptest::collection::vec(operation(), 1..12)) {
        let mut ecs = fixture(1);
        as_user(&mut ecs, "limited", json!([
            {"Effect": "Allow", "Action": ["ecs:RunTask", "ecs:List*", "ecs:Describe*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "ecs:RegisterTaskDefinition", "Resource": "*"},
            {"Effect": "Deny", "Action": "ecs:*", "Resource": arn("task-definition/batch:*")}
        ]));
        for (operation, request) in ops {
            let before = serde_json::to_string(&ecs.snapshot()).unwrap();
            let result = call(&mut ecs, operation, request);
            if let Err(err) = result {
                prop_assert_eq!(serde_json::to_string(&ecs.snapshot()).unwrap(), before, "{}", err);
            }
        }
    }
}
