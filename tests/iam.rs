//! The IAM policy evaluator (`stowplan::iam`), issue 10 item 1: spec `permissions.md` §4 (rules)
//! and §5 (documented examples), each test citing its IAM User Guide page.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Value, json};
use stowplan::iam::{
    Context, Decision, Effect, Evaluation, Policy, PolicyKind, PolicyKindLimit, PolicySource,
    PolicyVersion, Request, check_size, evaluate, wildcard_match,
};

const EVAL_LOGIC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html";

fn policy(doc: Value) -> Policy {
    Policy::from_value(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"))
}

fn run(
    identity: &[&Policy],
    boundary: Option<&[&Policy]>,
    action: &str,
    resource: &str,
    context: &Context,
) -> Evaluation {
    let ids: Vec<String> = (0..identity.len()).map(|i| format!("p{i}")).collect();
    let sources: Vec<PolicySource<'_>> = identity
        .iter()
        .zip(&ids)
        .map(|(p, id)| PolicySource { id, policy: p })
        .collect();
    let bsources: Option<Vec<PolicySource<'_>>> = boundary.map(|b| {
        b.iter()
            .map(|p| PolicySource {
                id: "boundary",
                policy: p,
            })
            .collect()
    });
    let request = Request {
        action,
        resource,
        context,
    };
    evaluate(&request, &sources, bsources.as_deref())
}

fn decide(identity: &[&Policy], action: &str, resource: &str, context: &Context) -> Decision {
    run(identity, None, action, resource, context).decision
}

fn ctx(pairs: &[(&str, &str)]) -> Context {
    let mut c = Context::new();
    for (k, v) in pairs {
        c.insert(k, *v);
    }
    c
}

fn empty() -> Context {
    Context::new()
}

use Decision::{Allowed, ExplicitDeny, ImplicitDeny};

// ---------------------------------------------------------------------------------------------
// §5 rows (spec permissions.md §5)
// ---------------------------------------------------------------------------------------------

/// §5 rows 1–2: a Deny on `*log*` beats the Allow on the bucket. Source: EVAL_LOGIC.
#[test]
fn s5_rows_1_2_deny_on_wildcard_resource_beats_allow() {
    let _ = EVAL_LOGIC;
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::carlossalazar", "arn:aws:s3:::carlossalazar/*"]},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}
    ]}));
    assert_eq!(
        decide(
            &[&p],
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar-logs/a.txt",
            &empty()
        ),
        ExplicitDeny
    );
    assert_eq!(
        decide(
            &[&p],
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar/a.txt",
            &empty()
        ),
        Allowed
    );
}

/// §5 rows 3–5: explicit vs implicit deny across two policies. Source: EVAL_LOGIC ("The
/// difference between explicit and implicit denies").
#[test]
fn s5_rows_3_to_5_explicit_and_implicit_denies() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}
    ]}));
    let other = policy(json!({"Version": "2012-10-17", "Statement":
        {"Effect": "Allow", "Action": "iam:GenerateCredentialReport", "Resource": "*"}}));
    assert_eq!(decide(&[&p], "iam:GetUser", "*", &empty()), Allowed);
    assert_eq!(
        decide(&[&p], "iam:CreatePolicy", "*", &empty()),
        ImplicitDeny
    );
    let e = run(
        &[&p, &other],
        None,
        "iam:GenerateCredentialReport",
        "*",
        &empty(),
    );
    assert_eq!(e.decision, ExplicitDeny);
    assert_eq!(e.matched.len(), 1);
    assert_eq!(e.matched[0].source_policy_id, "p0");
    assert_eq!(e.matched[0].statement_index, 1);
    assert_eq!(e.matched[0].effect, Effect::Deny);
    assert_eq!(
        e.denial_reason("iam:GenerateCredentialReport").as_deref(),
        Some("with an explicit deny in an identity-based policy")
    );
}

/// §5 row 6: Allow with `NotAction: iam:*`. Source: reference_policies_elements_notaction.html.
#[test]
fn s5_row_6_not_action_allow() {
    let p = policy(json!({"Version": "2012-10-17", "Statement":
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}));
    assert_eq!(decide(&[&p], "ec2:RunInstances", "*", &empty()), Allowed);
    let e = run(&[&p], None, "iam:CreateUser", "*", &empty());
    assert_eq!(e.decision, ImplicitDeny);
    assert_eq!(
        e.denial_reason("iam:CreateUser").as_deref(),
        Some("no identity-based policy allows the iam:CreateUser action")
    );
}

/// §5 row 7: NotAction scoped by Resource; `s3:ListAllMyBuckets` needs `*`.
/// Source: reference_policies_elements_notaction.html.
#[test]
fn s5_row_7_not_action_scoped_by_resource() {
    let p = policy(json!({"Version": "2012-10-17", "Statement":
        {"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"}}));
    assert_eq!(
        decide(&[&p], "s3:GetObject", "arn:aws:s3:::bucket/key", &empty()),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:DeleteBucket", "arn:aws:s3:::bucket", &empty()),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&p], "s3:ListAllMyBuckets", "*", &empty()),
        ImplicitDeny
    );
}

/// §5 row 9: Deny with NotResource. Source: reference_policies_elements_notresource.html.
#[test]
fn s5_row_9_deny_not_resource() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*",
         "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]}
    ]}));
    assert_eq!(
        decide(
            &[&p],
            "s3:GetObject",
            "arn:aws:s3:::HRBucket/Payroll/x",
            &empty()
        ),
        Allowed
    );
    assert_eq!(
        decide(
            &[&p],
            "s3:GetObject",
            "arn:aws:s3:::HRBucket/Other/x",
            &empty()
        ),
        ExplicitDeny
    );
}

/// §5 row 11: StringEquals on a principal tag; the tag key part is case-insensitive.
/// Source: reference_policies_elements_condition_operators.html.
#[test]
fn s5_row_11_principal_tag_condition() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "iam:*AccessKey*",
        "Resource": "arn:aws:iam::111122223333:user/*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}}}));
    let user = "arn:aws:iam::111122223333:user/bob";
    let e = run(&[&p], None, "iam:CreateAccessKey", user, &empty());
    assert_eq!(e.decision, ImplicitDeny);
    assert_eq!(e.missing_context, vec!["aws:PrincipalTag/job-category"]);
    let tagged = ctx(&[("aws:principaltag/JOB-CATEGORY", "iamuser-admin")]);
    assert_eq!(decide(&[&p], "iam:CreateAccessKey", user, &tagged), Allowed);
    let wrong = ctx(&[("aws:PrincipalTag/job-category", "IAMUSER-ADMIN")]);
    assert_eq!(
        decide(&[&p], "iam:CreateAccessKey", user, &wrong),
        ImplicitDeny
    );
}

/// §5 row 12: NumericLessThanEquals. Source: reference_policies_elements_condition_operators.html.
#[test]
fn s5_row_12_numeric_condition() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::example_bucket",
        "Condition": {"NumericLessThanEquals": {"s3:max-keys": "10"}}}}));
    let b = "arn:aws:s3:::example_bucket";
    assert_eq!(
        decide(&[&p], "s3:ListBucket", b, &ctx(&[("s3:max-keys", "10")])),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:ListBucket", b, &ctx(&[("s3:max-keys", "9.5")])),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:ListBucket", b, &ctx(&[("s3:max-keys", "11")])),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&p], "s3:ListBucket", b, &ctx(&[("s3:max-keys", "ten")])),
        ImplicitDeny
    );
}

/// §5 row 14: Deny when `aws:SecureTransport` is false.
/// Source: reference_policies_elements_condition_operators.html (Boolean condition operators).
#[test]
fn s5_row_14_bool_secure_transport() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    ]}));
    let r = "arn:aws:s3:::b/k";
    let http = ctx(&[("aws:SecureTransport", "false")]);
    let https = ctx(&[("aws:SecureTransport", "TRUE")]);
    assert_eq!(decide(&[&p], "s3:GetObject", r, &http), ExplicitDeny);
    assert_eq!(decide(&[&p], "s3:GetObject", r, &https), Allowed);
    // Absent key: a plain (non-IfExists) Bool is false, so the Deny does not apply.
    assert_eq!(decide(&[&p], "s3:GetObject", r, &empty()), Allowed);
}

/// §5 row 16: ArnLike matches the six colon parts separately; StringLike's `*` crosses colons.
/// Source: reference_policies_elements_condition_operators.html (ARN condition operators).
#[test]
fn s5_row_16_arn_like_versus_string_like() {
    let value = "arn:aws:someservice:*:111122223333:finance/*";
    let request =
        "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
    let with = |op: &str| {
        policy(json!({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "s:a", "Resource": "*",
            "Condition": {op: {"aws:SourceArn": value}}}}))
    };
    let c = ctx(&[("aws:SourceArn", request)]);
    assert_eq!(decide(&[&with("StringLike")], "s:a", "*", &c), Allowed);
    assert_eq!(decide(&[&with("ArnLike")], "s:a", "*", &c), ImplicitDeny);
    assert_eq!(decide(&[&with("ArnEquals")], "s:a", "*", &c), ImplicitDeny);
    assert_eq!(decide(&[&with("ArnNotLike")], "s:a", "*", &c), Allowed);
    let good = ctx(&[(
        "aws:SourceArn",
        "arn:aws:someservice:eu-west-1:111122223333:finance/x/y",
    )]);
    assert_eq!(decide(&[&with("ArnLike")], "s:a", "*", &good), Allowed);
    assert_eq!(
        decide(&[&with("ArnNotEquals")], "s:a", "*", &good),
        ImplicitDeny
    );
}

/// §5 row 20: ForAllValues:StringEquals over a multivalued key.
/// Source: reference_policies_multi-value-conditions.html.
#[test]
fn s5_row_20_for_all_values() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
        "Condition": {"ForAllValues:StringEquals":
            {"dynamodb:Attributes": ["PostDateTime", "Message", "Tags"]}}}}));
    let attrs = |v: &[&str]| {
        let mut c = Context::new();
        c.insert_list(
            "dynamodb:Attributes",
            v.iter().map(|s| s.to_string()).collect(),
        );
        c
    };
    assert_eq!(
        decide(
            &[&p],
            "dynamodb:GetItem",
            "*",
            &attrs(&["PostDateTime", "UserName"])
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            &[&p],
            "dynamodb:GetItem",
            "*",
            &attrs(&["PostDateTime", "Message"])
        ),
        Allowed
    );
}

/// §5 row 23: `${aws:username}` in a resource. Source: reference_policies_variables.html.
#[test]
fn s5_row_23_username_variable_in_resource() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "iam:*AccessKey*",
        "Resource": "arn:aws:iam::111122223333:user/${aws:username}"}}));
    let david = ctx(&[("aws:username", "David")]);
    assert_eq!(
        decide(
            &[&p],
            "iam:ListAccessKeys",
            "arn:aws:iam::111122223333:user/David",
            &david
        ),
        Allowed
    );
    assert_eq!(
        decide(
            &[&p],
            "iam:ListAccessKeys",
            "arn:aws:iam::111122223333:user/Bob",
            &david
        ),
        ImplicitDeny
    );
    // No username in the context: the element matches nothing (§4.3), and the key is reported.
    let e = run(
        &[&p],
        None,
        "iam:ListAccessKeys",
        "arn:aws:iam::111122223333:user/David",
        &empty(),
    );
    assert_eq!(e.decision, ImplicitDeny);
    assert_eq!(e.missing_context, vec!["aws:username"]);
}

/// §5 row 27: ECS cluster-scoped statements.
/// Source: AmazonECS developerguide security_iam_id-based-policy-examples.html.
#[test]
fn s5_row_27_ecs_cluster_scoped() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:ListClusters"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["ecs:DescribeClusters", "ecs:DeleteCluster"],
         "Resource": "arn:aws:ecs:us-east-1:111122223333:cluster/prod"}
    ]}));
    let arn = |n: &str| format!("arn:aws:ecs:us-east-1:111122223333:cluster/{n}");
    assert_eq!(
        decide(&[&p], "ecs:DeleteCluster", &arn("prod"), &empty()),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "ecs:DeleteCluster", &arn("other"), &empty()),
        ImplicitDeny
    );
    assert_eq!(decide(&[&p], "ecs:ListClusters", "*", &empty()), Allowed);
}

/// §5 row 28: RunTask on a family's revisions if `ArnEquals ecs:cluster`.
/// Source: security_iam_id-based-policy-examples.html.
#[test]
fn s5_row_28_run_task_on_family_in_cluster() {
    let cluster = "arn:aws:ecs:us-east-1:111122223333:cluster/prod";
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "ecs:RunTask",
        "Resource": "arn:aws:ecs:us-east-1:111122223333:task-definition/web:*",
        "Condition": {"ArnEquals": {"ecs:cluster": cluster}}}}));
    let td = |f: &str| format!("arn:aws:ecs:us-east-1:111122223333:task-definition/{f}");
    let on = |c: &str| ctx(&[("ecs:cluster", c)]);
    assert_eq!(
        decide(&[&p], "ecs:RunTask", &td("web:3"), &on(cluster)),
        Allowed
    );
    assert_eq!(
        decide(
            &[&p],
            "ecs:RunTask",
            &td("web:3"),
            &on("arn:aws:ecs:us-east-1:111122223333:cluster/dev")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&p], "ecs:RunTask", &td("api:3"), &on(cluster)),
        ImplicitDeny
    );
}

/// §5 row 31: tag-on-create needs `ecs:TagResource` with `ecs:CreateAction`.
/// Source: AmazonECS developerguide supported-iam-actions-tagging.html.
#[test]
fn s5_row_31_tag_on_create() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:RunTask"], "Resource": "*"},
        {"Effect": "Allow", "Action": "ecs:TagResource", "Resource": "*",
         "Condition": {"StringEquals": {"ecs:CreateAction": "CreateCluster"}}}
    ]}));
    let created = |op: &str| ctx(&[("ecs:CreateAction", op)]);
    // CreateCluster with tags: both CreateCluster and TagResource are checked.
    assert_eq!(decide(&[&p], "ecs:CreateCluster", "*", &empty()), Allowed);
    assert_eq!(
        decide(&[&p], "ecs:TagResource", "*", &created("CreateCluster")),
        Allowed
    );
    // RunTask with tags: the TagResource check fails.
    assert_eq!(
        decide(&[&p], "ecs:TagResource", "*", &created("RunTask")),
        ImplicitDeny
    );
    // RunTask without tags: only RunTask is checked.
    assert_eq!(decide(&[&p], "ecs:RunTask", "*", &empty()), Allowed);
    // TagResource on an existing cluster: no ecs:CreateAction in the context.
    assert_eq!(
        decide(&[&p], "ecs:TagResource", "*", &empty()),
        ImplicitDeny
    );
}

/// §5 row 33: PassRole only to a given service.
/// Source: reference_policies_examples_iam-passrole-service.html.
#[test]
fn s5_row_33_pass_role_to_service() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": "cloudwatch.amazonaws.com"}}}}));
    let role = "arn:aws:iam::111122223333:role/r";
    let to = |s: &str| ctx(&[("iam:PassedToService", s)]);
    assert_eq!(
        decide(&[&p], "iam:PassRole", role, &to("cloudwatch.amazonaws.com")),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "iam:PassRole", role, &to("ecs-tasks.amazonaws.com")),
        ImplicitDeny
    );
}

// ---------------------------------------------------------------------------------------------
// More from the same IAM pages (§4)
// ---------------------------------------------------------------------------------------------

/// §4.2 NotAction with a condition: deny everything but IAM without MFA
/// (reference_policies_elements_notaction.html, "DenyAllUsersNotUsingMFA"); `BoolIfExists`
/// also denies when the key is absent (reference_policies_elements_condition_operators.html).
#[test]
fn s4_2_not_action_deny_with_bool_if_exists() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "DenyAllUsersNotUsingMFA", "Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
    ]}));
    let mfa = |v: &str| ctx(&[("aws:MultiFactorAuthPresent", v)]);
    let e = run(&[&p], None, "s3:GetObject", "*", &mfa("false"));
    assert_eq!(e.decision, ExplicitDeny);
    assert_eq!(e.matched[0].sid.as_deref(), Some("DenyAllUsersNotUsingMFA"));
    assert_eq!(decide(&[&p], "s3:GetObject", "*", &empty()), ExplicitDeny);
    assert_eq!(decide(&[&p], "s3:GetObject", "*", &mfa("true")), Allowed);
    assert_eq!(decide(&[&p], "iam:ListUsers", "*", &mfa("false")), Allowed);
}

/// §4.5 permissions boundaries: effective = identity ∩ boundary; a boundary alone grants
/// nothing; a Deny in the boundary is explicit (access_policies_boundaries.html).
#[test]
fn s4_5_permissions_boundary_intersection() {
    let identity = policy(json!({"Version": "2012-10-17", "Statement":
        {"Effect": "Allow", "Action": ["s3:*", "ec2:*"], "Resource": "*"}}));
    let boundary = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}
    ]}));
    let b: &[&Policy] = &[&boundary];
    let s3 = run(&[&identity], Some(b), "s3:GetObject", "*", &empty());
    assert_eq!(s3.decision, Allowed);
    assert!(s3.matched.iter().any(|m| m.kind == PolicyKind::Boundary));
    let ec2 = run(&[&identity], Some(b), "ec2:RunInstances", "*", &empty());
    assert_eq!(
        (ec2.decision, ec2.denied_by),
        (ImplicitDeny, Some(PolicyKind::Boundary))
    );
    assert_eq!(
        ec2.denial_reason("ec2:RunInstances").as_deref(),
        Some("no permissions boundary allows the ec2:RunInstances action")
    );
    let cw = run(
        &[&identity],
        Some(b),
        "cloudwatch:PutMetricData",
        "*",
        &empty(),
    );
    assert_eq!(
        (cw.decision, cw.denied_by),
        (ImplicitDeny, Some(PolicyKind::Identity))
    );
    let del = run(&[&identity], Some(b), "s3:DeleteBucket", "*", &empty());
    assert_eq!(
        (del.decision, del.denied_by),
        (ExplicitDeny, Some(PolicyKind::Boundary))
    );
    assert_eq!(
        del.denial_reason("s3:DeleteBucket").as_deref(),
        Some("with an explicit deny in a permissions boundary")
    );
    // An empty boundary list allows nothing.
    let none: &[&Policy] = &[];
    assert_eq!(
        run(&[&identity], Some(none), "s3:GetObject", "*", &empty()).decision,
        ImplicitDeny
    );
}

/// §4.4 Date operators, ISO 8601 and epoch (condition_operators.html, "Date condition
/// operators"; the time-window example of reference_policies_examples_aws-dates.html).
#[test]
fn s4_4_date_window() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "ec2:*", "Resource": "*",
        "Condition": {
            "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
            "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"}}}}));
    let at = |t: &str| ctx(&[("aws:CurrentTime", t)]);
    assert_eq!(
        decide(
            &[&p],
            "ec2:StartInstances",
            "*",
            &at("2020-05-01T12:00:00Z")
        ),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "ec2:StartInstances", "*", &at("1588334400")),
        Allowed
    );
    assert_eq!(
        decide(
            &[&p],
            "ec2:StartInstances",
            "*",
            &at("2020-07-01T00:00:00Z")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            &[&p],
            "ec2:StartInstances",
            "*",
            &at("2020-04-01T02:00:00+03:00")
        ),
        ImplicitDeny
    );
    let epoch = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "ec2:*", "Resource": "*",
        "Condition": {"DateEquals": {"aws:EpochTime": "1588334400"}}}}));
    assert_eq!(
        decide(
            &[&epoch],
            "ec2:X",
            "*",
            &ctx(&[("aws:EpochTime", "2020-05-01T12:00:00Z")])
        ),
        Allowed
    );
}

/// §4.4 IpAddress / NotIpAddress with IPv4 and IPv6 CIDRs
/// (reference_policies_examples_aws_deny-ip.html; condition_operators.html "IP address").
#[test]
fn s4_4_ip_address_conditions() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {
            "NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}}
    ]}));
    let from = |ip: &str| ctx(&[("aws:SourceIp", ip)]);
    assert_eq!(
        decide(&[&p], "s3:GetObject", "*", &from("192.0.2.17")),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:GetObject", "*", &from("203.0.113.255")),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:GetObject", "*", &from("2001:db8:1234:5678::9")),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:GetObject", "*", &from("198.51.100.1")),
        ExplicitDeny
    );
    assert_eq!(
        decide(&[&p], "s3:GetObject", "*", &from("2001:db8:1234:5679::9")),
        ExplicitDeny
    );
    // Absent key: a negated operator is true, so the Deny applies.
    assert_eq!(decide(&[&p], "s3:GetObject", "*", &empty()), ExplicitDeny);
    let single = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.7"}}}}));
    assert_eq!(
        decide(&[&single], "s3:A", "*", &from("203.0.113.7")),
        Allowed
    );
    assert_eq!(
        decide(&[&single], "s3:A", "*", &from("203.0.113.8")),
        ImplicitDeny
    );
}

/// §4.4 `...IfExists`: absent key → true (condition_operators.html, "...IfExists").
#[test]
fn s4_4_if_exists() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
        "Condition": {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}}}));
    let it = |t: &str| ctx(&[("ec2:InstanceType", t)]);
    assert_eq!(decide(&[&p], "ec2:RunInstances", "*", &empty()), Allowed);
    assert_eq!(
        decide(&[&p], "ec2:RunInstances", "*", &it("t2.micro")),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "ec2:RunInstances", "*", &it("m5.large")),
        ImplicitDeny
    );
}

/// §4.4 Null: `true` = absent, `false` = present (condition_operators.html, "Condition operator
/// to check existence of condition keys").
#[test]
fn s4_4_null_operator() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "ec2:*", "Resource": "*",
        "Condition": {"Null": {"aws:TokenIssueTime": "false"}}}}));
    assert_eq!(
        decide(
            &[&p],
            "ec2:X",
            "*",
            &ctx(&[("aws:TokenIssueTime", "2020-01-01")])
        ),
        Allowed
    );
    assert_eq!(decide(&[&p], "ec2:X", "*", &empty()), ImplicitDeny);
    let absent = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "ec2:*", "Resource": "*",
        "Condition": {"Null": {"aws:ResourceTag/env": true}}}}));
    assert_eq!(decide(&[&absent], "ec2:X", "*", &empty()), Allowed);
    assert_eq!(
        decide(
            &[&absent],
            "ec2:X",
            "*",
            &ctx(&[("aws:resourcetag/ENV", "x")])
        ),
        ImplicitDeny
    );
}

/// §4.4 set operators with absent or empty keys (reference_policies_multi-value-conditions.html):
/// ForAllValues is true, ForAnyValue false; ForAnyValue needs one match.
#[test]
fn s4_4_set_operators_absent_keys() {
    let with = |op: &str| {
        policy(json!({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
            "Condition": {op: {"aws:TagKeys": ["environment", "cost-center"]}}}}))
    };
    let keys = |v: &[&str]| {
        let mut c = Context::new();
        c.insert_list("aws:TagKeys", v.iter().map(|s| s.to_string()).collect());
        c
    };
    let all = with("ForAllValues:StringEquals");
    let any = with("ForAnyValue:StringEquals");
    assert_eq!(decide(&[&all], "ec2:CreateTags", "*", &empty()), Allowed);
    assert_eq!(decide(&[&all], "ec2:CreateTags", "*", &keys(&[])), Allowed);
    assert_eq!(
        decide(&[&all], "ec2:CreateTags", "*", &keys(&["environment"])),
        Allowed
    );
    assert_eq!(
        decide(
            &[&all],
            "ec2:CreateTags",
            "*",
            &keys(&["environment", "owner"])
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&any], "ec2:CreateTags", "*", &empty()),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&any], "ec2:CreateTags", "*", &keys(&[])),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            &[&any],
            "ec2:CreateTags",
            "*",
            &keys(&["owner", "cost-center"])
        ),
        Allowed
    );
    assert_eq!(
        decide(&[&any], "ec2:CreateTags", "*", &keys(&["owner"])),
        ImplicitDeny
    );
    // ForAllValues with a negated operator: no request value may be listed.
    let none = with("ForAllValues:StringNotEquals");
    assert_eq!(
        decide(&[&none], "ec2:CreateTags", "*", &keys(&["owner"])),
        Allowed
    );
    assert_eq!(
        decide(
            &[&none],
            "ec2:CreateTags",
            "*",
            &keys(&["owner", "environment"])
        ),
        ImplicitDeny
    );
}

/// §4.4 AND across operators and keys, OR across values, AND for negated operators
/// (reference_policies_elements_condition.html, "Condition element logic").
#[test]
fn s4_4_and_or_rules() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:*", "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:PrincipalTag/team": ["red", "blue"], "aws:RequestedRegion": "us-east-1"},
            "StringNotEquals": {"aws:PrincipalTag/role": ["intern", "guest"]}}}}));
    let c = |team: &str, region: &str, role: &str| {
        ctx(&[
            ("aws:PrincipalTag/team", team),
            ("aws:RequestedRegion", region),
            ("aws:PrincipalTag/role", role),
        ])
    };
    assert_eq!(
        decide(&[&p], "s3:A", "*", &c("blue", "us-east-1", "dev")),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:A", "*", &c("green", "us-east-1", "dev")),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&p], "s3:A", "*", &c("red", "eu-west-1", "dev")),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&p], "s3:A", "*", &c("red", "us-east-1", "guest")),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&p], "s3:A", "*", &c("red", "us-east-1", "intern")),
        ImplicitDeny
    );
    // Key names are case-insensitive in the policy too.
    let upper = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:*", "Resource": "*",
        "Condition": {"IpAddress": {"AWS:SOURCEIP": "10.0.0.0/8"}}}}));
    assert_eq!(
        decide(
            &[&upper],
            "s3:A",
            "*",
            &ctx(&[("aws:SourceIp", "10.1.2.3")])
        ),
        Allowed
    );
}

/// §4.4 String operator case rules (condition_operators.html, "String condition operators").
#[test]
fn s4_4_string_operators() {
    let with = |op: &str, v: Value| {
        policy(json!({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {op: {"k": v}}}}))
    };
    let k = |v: &str| ctx(&[("k", v)]);
    assert_eq!(
        decide(
            &[&with("StringEquals", json!("Abc"))],
            "s3:A",
            "*",
            &k("abc")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            &[&with("StringEqualsIgnoreCase", json!("Abc"))],
            "s3:A",
            "*",
            &k("aBC")
        ),
        Allowed
    );
    assert_eq!(
        decide(
            &[&with("StringNotEqualsIgnoreCase", json!("Abc"))],
            "s3:A",
            "*",
            &k("aBC")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            &[&with("StringLike", json!("a?c*"))],
            "s3:A",
            "*",
            &k("abcdef")
        ),
        Allowed
    );
    assert_eq!(
        decide(
            &[&with("StringLike", json!("a?c*"))],
            "s3:A",
            "*",
            &k("Abcdef")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            &[&with("StringNotLike", json!(["x*", "y*"]))],
            "s3:A",
            "*",
            &k("zz")
        ),
        Allowed
    );
    assert_eq!(
        decide(
            &[&with("StringNotLike", json!(["x*", "y*"]))],
            "s3:A",
            "*",
            &k("yz")
        ),
        ImplicitDeny
    );
    // Numbers and booleans in the policy are read as their text.
    assert_eq!(
        decide(&[&with("NumericEquals", json!(5))], "s3:A", "*", &k("5.0")),
        Allowed
    );
    assert_eq!(
        decide(
            &[&with("NumericGreaterThan", json!(-1.5))],
            "s3:A",
            "*",
            &k("-1")
        ),
        Allowed
    );
    assert_eq!(
        decide(
            &[&with("NumericNotEquals", json!([1, 2]))],
            "s3:A",
            "*",
            &k("2")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&with("Bool", json!(true))], "s3:A", "*", &k("true")),
        Allowed
    );
    assert_eq!(
        decide(
            &[&with("BinaryEquals", json!("QmluYXJ5VmFsdWU="))],
            "s3:A",
            "*",
            &k("QmluYXJ5VmFsdWU=")
        ),
        Allowed
    );
    assert_eq!(
        decide(
            &[&with("BinaryEquals", json!("QmluYXJ5VmFsdWU="))],
            "s3:A",
            "*",
            &k("QmluYXJ5")
        ),
        ImplicitDeny
    );
}

/// §4.3 variables with defaults and escapes, in conditions and resources
/// (reference_policies_variables.html, "Specifying default values" and "Special characters").
#[test]
fn s4_3_variable_defaults_and_escapes() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*"}}));
    let r = |t: &str| format!("arn:aws:s3:::bucket/{t}/report.csv");
    assert_eq!(
        decide(&[&p], "s3:GetObject", &r("company-wide"), &empty()),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:GetObject", &r("red"), &empty()),
        ImplicitDeny
    );
    let red = ctx(&[("aws:PrincipalTag/team", "red")]);
    assert_eq!(decide(&[&p], "s3:GetObject", &r("red"), &red), Allowed);
    assert_eq!(
        decide(&[&p], "s3:GetObject", &r("company-wide"), &red),
        ImplicitDeny
    );

    // `${*}` is a literal star: only the text `a*b` matches, not `axyb`.
    let esc = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringLike": {"k": "a${*}b${?}${$}"}}}}));
    assert_eq!(
        decide(&[&esc], "s3:A", "*", &ctx(&[("k", "a*b?$")])),
        Allowed
    );
    assert_eq!(
        decide(&[&esc], "s3:A", "*", &ctx(&[("k", "axyb?$")])),
        ImplicitDeny
    );

    // A variable value is literal even under StringLike.
    let like = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}}}));
    let c = ctx(&[("aws:username", "*"), ("s3:prefix", "home/bob/x")]);
    assert_eq!(decide(&[&like], "s3:A", "*", &c), ImplicitDeny);
    let c = ctx(&[("aws:username", "bob"), ("s3:prefix", "home/bob/x")]);
    assert_eq!(decide(&[&like], "s3:A", "*", &c), Allowed);

    // Missing value: positive operators don't match, negated ones do.
    let neg = policy(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringNotEquals": {"k": "${aws:username}"}}}}));
    let e = run(&[&neg], None, "s3:A", "*", &ctx(&[("k", "v")]));
    assert_eq!(e.decision, Allowed);
    assert_eq!(e.missing_context, vec!["aws:username"]);
}

/// §4.3 only `2012-10-17` has variables: in older or absent versions `${...}` is literal.
/// Source: reference_policies_variables.html ("Version" note).
#[test]
fn s4_3_old_version_has_no_variables() {
    for version in [Some("2008-10-17"), None] {
        let mut doc = json!({"Statement": {"Effect": "Allow", "Action": "iam:*",
            "Resource": "arn:aws:iam::1:user/${aws:username}"}});
        if let Some(v) = version {
            doc["Version"] = json!(v);
        }
        let p = policy(doc);
        assert_ne!(p.version(), PolicyVersion::V2012_10_17);
        let c = ctx(&[("aws:username", "David")]);
        assert_eq!(
            decide(&[&p], "iam:GetUser", "arn:aws:iam::1:user/David", &c),
            ImplicitDeny
        );
        assert_eq!(
            decide(
                &[&p],
                "iam:GetUser",
                "arn:aws:iam::1:user/${aws:username}",
                &c
            ),
            Allowed
        );
    }
}

/// §4.2 resource wildcards cross `/` and `?` is one character; resources are case-sensitive;
/// actions are not (reference_policies_elements_resource.html, ..._action.html).
#[test]
fn s4_2_wildcards_and_case_rules() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "S3:get*", "Resource": "arn:aws:s3:::bucket/*"},
        {"Effect": "Allow", "Action": "ec2:Describe?nstances", "Resource": "arn:aws:ec2:*:*:instance/i-?"}
    ]}));
    assert_eq!(
        decide(
            &[&p],
            "s3:GetObject",
            "arn:aws:s3:::bucket/a/b/c.txt",
            &empty()
        ),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "S3:GETOBJECT", "arn:aws:s3:::bucket/a", &empty()),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "s3:GetObject", "arn:aws:s3:::Bucket/a", &empty()),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[&p], "s3:PutObject", "arn:aws:s3:::bucket/a", &empty()),
        ImplicitDeny
    );
    let i = |id: &str| format!("arn:aws:ec2:us-east-1:1:instance/{id}");
    assert_eq!(
        decide(&[&p], "ec2:DescribeInstances", &i("i-1"), &empty()),
        Allowed
    );
    assert_eq!(
        decide(&[&p], "ec2:DescribeInstances", &i("i-12"), &empty()),
        ImplicitDeny
    );
    assert!(wildcard_match(
        "IAM:*accesskey*",
        "iam:ListAccessKeys",
        true
    ));
    assert!(!wildcard_match(
        "IAM:*accesskey*",
        "iam:ListAccessKeys",
        false
    ));
}

/// §4.1 the decision reports the statements that decided it and the absent keys.
#[test]
fn s4_1_matched_statements_and_missing_context() {
    let a = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "One", "Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        {"Sid": "Two", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*",
         "Condition": {"StringEquals": {"ecs:cluster": "c", "aws:RequestTag/env": "x"}}}
    ]}));
    let b = policy(json!({"Version": "2012-10-17", "Statement":
        {"Sid": "Three", "Effect": "Allow", "Action": "ecs:Run*", "Resource": "*"}}));
    let e = run(&[&a, &b], None, "ecs:RunTask", "*", &empty());
    assert_eq!(e.decision, Allowed);
    let got: Vec<_> = e
        .matched
        .iter()
        .map(|m| {
            (
                m.source_policy_id.as_str(),
                m.statement_index,
                m.sid.as_deref(),
            )
        })
        .collect();
    assert_eq!(got, vec![("p0", 0, Some("One")), ("p1", 0, Some("Three"))]);
    assert_eq!(e.missing_context, vec!["ecs:cluster", "aws:RequestTag/env"]);
    assert_eq!(e.denied_by, None);
    assert_eq!(Decision::Allowed.as_str(), "allowed");
    assert_eq!(Decision::ExplicitDeny.as_str(), "explicitDeny");
    assert_eq!(Decision::ImplicitDeny.as_str(), "implicitDeny");
}

/// §2.3 trust policies: principals are parsed and exposed; Resource may be omitted.
/// Source: permissions.md §2.3; IAM reference_policies_elements_principal.html.
#[test]
fn s2_3_trust_policy_principals() {
    let trust = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]}, "Action": "sts:AssumeRole"}
    ]}));
    let s = &trust.statements()[0];
    assert_eq!(
        s.principals(),
        &[(
            "Service".to_string(),
            vec!["ecs-tasks.amazonaws.com".to_string()]
        )]
    );
    assert!(s.admits_principal("Service", "ecs-tasks.amazonaws.com"));
    assert!(!s.admits_principal("Service", "ecs.amazonaws.com"));
    assert!(s.matches_action("STS:AssumeRole"));
    assert!(trust.statements()[1].admits_principal("AWS", "arn:aws:iam::111122223333:root"));
    assert!(trust.check_identity().is_err());
    let star = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}}),
    );
    assert!(star.statements()[0].admits_principal("Service", "anything"));
    let e = trust.check_identity().unwrap_err();
    assert_eq!(e.pointer, "/Statement/0/Principal");
    // The trust policy evaluates like any other (no Resource = any resource).
    assert_eq!(
        decide(
            &[&trust],
            "sts:AssumeRole",
            "arn:aws:iam::1:role/r",
            &empty()
        ),
        Allowed
    );
}

/// Round trip and accessors.
#[test]
fn policy_accessors() {
    let doc = json!({"Version": "2012-10-17", "Id": "x", "Statement":
        {"Effect": "Deny", "Action": "*", "Resource": "*"}});
    let p = policy(doc.clone());
    assert_eq!(p.to_value(), &doc);
    assert_eq!(p.id(), Some("x"));
    assert_eq!(p.statements().len(), 1);
    assert_eq!(p.statements()[0].effect, Effect::Deny);
    assert_eq!(Policy::parse(&doc.to_string()), Ok(p));
}

// ---------------------------------------------------------------------------------------------
// Malformed documents and limits
// ---------------------------------------------------------------------------------------------

/// MalformedPolicyDocument names the member by JSON pointer (IAM policy grammar,
/// reference_policies_grammar.html).
#[test]
fn malformed_documents_name_the_member() {
    let st = |s: Value| json!({"Version": "2012-10-17", "Statement": [s]});
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), ""),
        (json!({"Version": "2012-10-17"}), ""),
        (
            json!({"Version": "2012-10-18", "Statement": []}),
            "/Version",
        ),
        (json!({"Version": 2012, "Statement": []}), "/Version"),
        (json!({"Statement": [], "Extra": 1}), "/Extra"),
        (json!({"Statement": "x"}), "/Statement"),
        (json!({"Id": 3, "Statement": []}), "/Id"),
        (
            st(json!({"Effect": "allow", "Action": "*", "Resource": "*"})),
            "/Statement/0/Effect",
        ),
        (st(json!({"Action": "*", "Resource": "*"})), "/Statement/0"),
        (
            st(json!({"Effect": "Allow", "Action": "*", "NotAction": "*", "Resource": "*"})),
            "/Statement/0",
        ),
        (
            st(json!({"Effect": "Allow", "Resource": "*"})),
            "/Statement/0",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*"})),
            "/Statement/0",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"})),
            "/Statement/0",
        ),
        (
            st(json!({"Effect": "Allow", "Action": ["s3:A", 5], "Resource": "*"})),
            "/Statement/0/Action/1",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "RunTask", "Resource": "*"})),
            "/Statement/0/Action",
        ),
        (
            st(json!({"Effect": "Allow", "Action": [], "Resource": "*"})),
            "/Statement/0/Action",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "bucket"})),
            "/Statement/0/Resource",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*", "Foo": 1})),
            "/Statement/0/Foo",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*", "Sid": 1})),
            "/Statement/0/Sid",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": []})),
            "/Statement/0/Condition",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEqualz": {"k": "v"}}})),
            "/Statement/0/Condition/StringEqualz",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"NullIfExists": {"k": "true"}}})),
            "/Statement/0/Condition/NullIfExists",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": "v"}})),
            "/Statement/0/Condition/StringEquals",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/a": {"x": 1}}}})),
            "/Statement/0/Condition/StringEquals/aws:PrincipalTag~1a",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"NumericLessThan": {"k": ["1", "one"]}}})),
            "/Statement/0/Condition/NumericLessThan/k/1",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"k": "tomorrow"}}})),
            "/Statement/0/Condition/DateLessThan/k",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"IpAddress": {"k": "10.0.0.0/40"}}})),
            "/Statement/0/Condition/IpAddress/k",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"Null": {"k": "maybe"}}})),
            "/Statement/0/Condition/Null/k",
        ),
        (
            st(json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"BinaryEquals": {"k": "not base64!"}}})),
            "/Statement/0/Condition/BinaryEquals/k",
        ),
        (
            st(json!({"Effect": "Allow", "Principal": {"Robot": "x"}, "Action": "*"})),
            "/Statement/0/Principal/Robot",
        ),
        (
            json!({"Statement": [{"Sid": "a", "Effect": "Allow", "Action": "*", "Resource": "*"},
                              {"Sid": "a", "Effect": "Allow", "Action": "*", "Resource": "*"}]}),
            "/Statement/1/Sid",
        ),
    ];
    for (doc, pointer) in cases {
        let err = Policy::from_value(&doc).expect_err(&doc.to_string());
        assert_eq!(err.pointer, pointer, "{doc}: {err}");
        assert!(err.to_string().starts_with("MalformedPolicyDocument"));
    }
    assert_eq!(Policy::parse("{not json").unwrap_err().pointer, "");
    // Variables are not read in Numeric values: `${...}` there is simply not a number.
    let numeric = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*",
        "Resource": "*", "Condition": {"NumericEquals": {"k": "${aws:username}"}}}});
    assert!(Policy::from_value(&numeric).is_err());
}

/// IAM quotas count non-whitespace characters (IAM "IAM and AWS STS quotas").
#[test]
fn size_limits() {
    assert_eq!(PolicyKindLimit::Managed.max_chars(), 6_144);
    assert_eq!(PolicyKindLimit::InlineUser.max_chars(), 2_048);
    assert_eq!(PolicyKindLimit::InlineRole.max_chars(), 10_240);
    assert_eq!(PolicyKindLimit::InlineGroup.max_chars(), 5_120);
    let padded = format!("{}{}", " ".repeat(10_000), "x".repeat(2_048));
    assert!(check_size(&padded, PolicyKindLimit::InlineUser).is_ok());
    let over = "x".repeat(2_049);
    let err = check_size(&over, PolicyKindLimit::InlineUser).unwrap_err();
    assert_eq!((err.max, err.actual), (2_048, 2_049));
    assert_eq!(err.to_string(), "Cannot exceed quota for PolicySize: 2048");
    assert!(check_size(&over, PolicyKindLimit::Managed).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Adversarial inputs: an error or a decision, quickly
// ---------------------------------------------------------------------------------------------

// Timing a test input is the point here; the library itself has no clock.
#[allow(clippy::disallowed_methods)]
fn quick<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "{what} took {took:?}");
    out
}

#[test]
fn adversarial_wildcards_are_linear() {
    let pattern = "*a".repeat(50_000) + "*b";
    let text = "a".repeat(100_000);
    assert!(!quick("stars", || wildcard_match(&pattern, &text, false)));
    assert!(quick("stars+b", || wildcard_match(
        &pattern,
        &(text.clone() + "b"),
        false
    )));
    let q = "*".to_string() + &"a?".repeat(5_000) + "b*";
    assert!(!quick("question marks", || wildcard_match(&q, &text, true)));
    let doc = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*",
        "Resource": format!("arn:{pattern}"),
        "Condition": {"StringLike": {"k": pattern.clone()}}}});
    let p = quick("parse", || policy(doc));
    let c = ctx(&[("k", &text)]);
    let resource = format!("arn:{text}b");
    assert_eq!(
        quick("evaluate", || decide(&[&p], "s3:A", &resource, &c)),
        ImplicitDeny
    );
}

#[test]
fn adversarial_documents_fail_or_decide_quickly() {
    // A megabyte document: refused without being read.
    let big = format!(
        "{{\"Statement\":[{}]}}",
        vec![r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#; 20_000].join(",")
    );
    assert!(big.len() > 1_000_000);
    assert!(quick("1 MB", || Policy::parse(&big)).is_err());
    // 1,000-deep JSON: refused by the parser, and by from_value when built in memory.
    let deep = "[".repeat(1_000) + &"]".repeat(1_000);
    assert!(quick("deep text", || Policy::parse(&deep)).is_err());
    let mut v = json!("x");
    for _ in 0..1_000 {
        v = json!({"StringEquals": v});
    }
    let doc =
        json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": v}});
    assert!(quick("deep condition", || Policy::from_value(&doc)).is_err());
    // Under the cap: 2,000 statements with conditions parse and evaluate quickly.
    let statements: Vec<Value> = (0..2_000)
        .map(|i| {
            json!({"Effect": "Allow", "Action": format!("svc:Op{i}*"), "Resource": "*",
            "Condition": {"StringLike": {"k": format!("*{i}*")}}})
        })
        .collect();
    let p = quick("2000 statements", || {
        policy(json!({"Statement": statements}))
    });
    let c = ctx(&[("k", "x1999x")]);
    assert_eq!(
        quick("evaluate 2000", || decide(&[&p], "svc:Op1999", "*", &c)),
        Allowed
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// The obviously correct reference: dynamic programming over (pattern prefix, text prefix).
fn reference_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let mut row = vec![false; t.len() + 1];
    row[0] = true;
    for &pc in &p {
        let mut next = vec![false; t.len() + 1];
        if pc == '*' {
            let mut seen = false;
            for j in 0..=t.len() {
                seen |= row[j];
                next[j] = seen;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = row[j - 1] && (pc == '?' || pc == t[j - 1]);
            }
        }
        row = next;
    }
    row[t.len()]
}

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "ecs:RunTask",
    "ecs:ListClusters",
    "iam:PassRole",
];
const ACTION_PATTERNS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "ecs:*",
    "ecs:RunTask",
    "iam:Pass?ole",
    "ECS:run*",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/k",
    "arn:aws:ecs:r:1:cluster/c",
    "arn:aws:iam::1:role/r",
];
const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:ecs:*:*:cluster/*",
    "arn:aws:iam::1:role/${aws:username}",
];

fn condition_strategy() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!({"StringEquals": {"k1": ["a", "b"]}}))),
        Just(Some(json!({"StringNotEquals": {"k1": "a"}}))),
        Just(Some(json!({"NumericLessThan": {"n": 5}}))),
        Just(Some(json!({"BoolIfExists": {"flag": "true"}}))),
        Just(Some(json!({"ForAllValues:StringLike": {"tags": ["x*"]}}))),
        Just(Some(
            json!({"ForAnyValue:StringEquals": {"tags": ["x1", "y"]}})
        )),
        Just(Some(json!({"Null": {"k1": "true"}}))),
        Just(Some(json!({"IpAddress": {"ip": "10.0.0.0/8"}}))),
    ]
}

fn statement_strategy() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::sample::subsequence(ACTION_PATTERNS, 1..3),
        any::<bool>(),
        proptest::sample::subsequence(RESOURCE_PATTERNS, 1..3),
        condition_strategy(),
    )
        .prop_map(
            |(allow, not_action, actions, not_resource, resources, condition)| {
                let mut s = json!({"Effect": if allow { "Allow" } else { "Deny" }});
                s[if not_action { "NotAction" } else { "Action" }] = json!(actions);
                s[if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                }] = json!(resources);
                if let Some(c) = condition {
                    s["Condition"] = c;
                }
                s
            },
        )
}

fn policies_strategy() -> impl Strategy<Value = Vec<Policy>> {
    proptest::collection::vec(proptest::collection::vec(statement_strategy(), 0..4), 0..3).prop_map(
        |docs| {
            docs.into_iter()
                .map(|statements| policy(json!({"Version": "2012-10-17", "Statement": statements})))
                .collect()
        },
    )
}

fn context_strategy() -> impl Strategy<Value = Context> {
    (
        proptest::option::of(proptest::sample::select(vec!["a", "b", "c"])),
        proptest::option::of(0..10u8),
        proptest::option::of(any::<bool>()),
        proptest::option::of(proptest::collection::vec(
            proptest::sample::select(vec!["x1", "x2", "y"]),
            0..3,
        )),
        proptest::option::of(proptest::sample::select(vec!["10.1.1.1", "192.168.0.1"])),
        proptest::option::of(proptest::sample::select(vec!["r", "bob"])),
    )
        .prop_map(|(k1, n, flag, tags, ip, user)| {
            let mut c = Context::new();
            if let Some(v) = k1 {
                c.insert("k1", v);
            }
            if let Some(v) = n {
                c.insert("n", v.to_string());
            }
            if let Some(v) = flag {
                c.insert_bool("flag", v);
            }
            if let Some(v) = tags {
                c.insert_list("tags", v.into_iter().map(str::to_owned).collect());
            }
            if let Some(v) = ip {
                c.insert("ip", v);
            }
            if let Some(v) = user {
                c.insert("aws:username", v);
            }
            c
        })
}

fn refs(p: &[Policy]) -> Vec<&Policy> {
    p.iter().collect()
}

fn with_statement(policies: &[Policy], statement: Value) -> Vec<Policy> {
    let mut out = policies.to_vec();
    out.push(policy(
        json!({"Version": "2012-10-17", "Statement": statement}),
    ));
    out
}

fn json_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        proptest::sample::select(vec![
            "Allow",
            "Deny",
            "*",
            "s3:*",
            "arn:aws:s3:::*",
            "2012-10-17",
            "${aws:username}",
            "true",
            "10.0.0.0/8",
            "2020-01-01T00:00:00Z",
            "a?b*",
            "${x, 'd'}",
            "${*}",
            "arn:${a}:b:c:d:e",
        ])
        .prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ];
    let keys = proptest::sample::select(vec![
        "Version",
        "Statement",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Principal",
        "Sid",
        "StringEquals",
        "ForAllValues:StringLike",
        "Null",
        "IpAddress",
        "DateLessThan",
        "ArnLike",
        "NumericEqualsIfExists",
        "k",
        "AWS",
        "Service",
    ]);
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// §4.1: an applicable Deny wins over everything.
    #[test]
    fn prop_explicit_deny_always_wins(
        policies in policies_strategy(),
        boundary in proptest::option::of(policies_strategy()),
        action in proptest::sample::select(ACTIONS),
        resource in proptest::sample::select(RESOURCES),
        context in context_strategy(),
    ) {
        let denied = with_statement(&policies, json!({"Effect": "Deny", "Action": action, "Resource": resource}));
        let b = boundary.as_deref().map(refs);
        let e = run(&refs(&denied), b.as_deref(), action, resource, &context);
        prop_assert_eq!(e.decision, ExplicitDeny);
        prop_assert!(e.matched.iter().all(|m| m.effect == Effect::Deny));
    }

    /// §4.1: adding an Allow never turns an allow into a deny; adding a Deny never turns a
    /// deny into an allow.
    #[test]
    fn prop_monotonic_in_statements(
        policies in policies_strategy(),
        extra in statement_strategy(),
        action in proptest::sample::select(ACTIONS),
        resource in proptest::sample::select(RESOURCES),
        context in context_strategy(),
    ) {
        let before = decide(&refs(&policies), action, resource, &context);
        let after = decide(&refs(&with_statement(&policies, extra.clone())), action, resource, &context);
        if extra["Effect"] == "Allow" && before == Allowed {
            prop_assert_eq!(after, Allowed);
        }
        if extra["Effect"] == "Deny" && before != Allowed {
            prop_assert_ne!(after, Allowed);
        }
        if extra["Effect"] == "Allow" && before == ExplicitDeny {
            prop_assert_eq!(after, ExplicitDeny);
        }
    }

    /// §4.5: a boundary never widens (allowed with a boundary ⇒ allowed without).
    #[test]
    fn prop_boundary_never_widens(
        policies in policies_strategy(),
        boundary in policies_strategy(),
        action in proptest::sample::select(ACTIONS),
        resource in proptest::sample::select(RESOURCES),
        context in context_strategy(),
    ) {
        let b = refs(&boundary);
        let with = run(&refs(&policies), Some(&b), action, resource, &context).decision;
        let without = decide(&refs(&policies), action, resource, &context);
        if with == Allowed {
            prop_assert_eq!(without, Allowed);
        }
        if without == ExplicitDeny {
            prop_assert_eq!(with, ExplicitDeny);
        }
    }

    /// The linear-time matcher agrees with the dynamic-programming reference.
    #[test]
    fn prop_wildcard_matches_reference(pattern in "[ab*?/é]{0,12}", text in "[ab/é]{0,14}") {
        prop_assert_eq!(wildcard_match(&pattern, &text, false), reference_match(&pattern, &text));
    }

    /// Same with long `?` runs (multi-word bit-parallel scan) and case folding.
    #[test]
    fn prop_wildcard_long_segments(
        pieces in proptest::collection::vec("[aB?]{0,40}", 1..6),
        text in "[abAB]{0,200}",
    ) {
        let pattern = pieces.join("*");
        let expected = reference_match(&pattern.to_lowercase(), &text.to_lowercase());
        prop_assert_eq!(wildcard_match(&pattern, &text, true), expected);
    }

    /// Arbitrary JSON never panics the parser, and a parsed policy never panics the evaluator.
    #[test]
    fn prop_arbitrary_json_never_panics(doc in json_strategy(), context in context_strategy()) {
        if let Ok(p) = Policy::from_value(&doc) {
            let _ = decide(&[&p], "s3:GetObject", "arn:aws:s3:::b/k", &context);
            let _ = p.check_identity();
        }
        let wrapped = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": doc}});
        if let Ok(p) = Policy::from_value(&wrapped) {
            let _ = decide(&[&p], "s3:GetObject", "*", &context);
        }
    }

    /// Arbitrary request values never panic any operator (each reads its own type).
    #[test]
    fn prop_arbitrary_context_values_never_panic(
        value in "\\PC{0,40}|[0-9:+.TZ-]{0,30}",
        policy_value in "\\PC{0,20}|[0-9:+.TZ-]{0,25}",
    ) {
        let fixed = policy(json!({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
                "DateLessThanIfExists": {"k": "2020-01-01T00:00:00Z"},
                "NumericGreaterThanIfExists": {"k": "5"},
                "NotIpAddress": {"k": "10.0.0.0/8"},
                "BinaryEquals": {"k": "QQ=="},
                "ArnLike": {"k": "arn:aws:*:*:1:x/${aws:username}"},
                "Bool": {"k": "${k}"},
                "StringEqualsIgnoreCase": {"k": "ß"}}}}));
        let c = ctx(&[("k", &value), ("aws:username", &value)]);
        let _ = decide(&[&fixed], "s:a", &value, &c);
        for op in ["DateEquals", "NumericEquals", "IpAddress", "BinaryEquals", "ArnLike", "StringLike"] {
            let doc = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {op: {"k": policy_value.clone()}}}});
            if let Ok(p) = Policy::from_value(&doc) {
                let _ = decide(&[&p], "s:a", "*", &c);
            }
        }
    }

    /// Arbitrary text never panics `Policy::parse`.
    #[test]
    fn prop_arbitrary_text_never_panics(text in "\\PC{0,64}") {
        let _ = Policy::parse(&text);
    }
}
