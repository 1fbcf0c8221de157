//! `iam`: arbitrary bytes as an IAM policy document, then evaluated against a few requests.
//! Parsing must return a policy or a `PolicyError`, never panic; evaluation of any parsed policy
//! must return a decision, never panic (spec permissions.md §4; issue 10 acceptance).
#![no_main]

use stowplan::iam::{Context, Policy, PolicySource, Request, evaluate, wildcard_match};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line doubles as a wildcard pattern matched against the rest.
    if let Some((pattern, rest)) = text.split_once('\n') {
        let _ = wildcard_match(pattern, rest, false);
        let _ = wildcard_match(pattern, rest, true);
    }
    let Ok(policy) = Policy::parse(text) else {
        return;
    };
    let _ = policy.check_identity();
    let mut context = Context::new();
    context.insert("aws:username", "alice");
    context.insert("aws:SourceIp", "10.0.0.1");
    context.insert("aws:CurrentTime", "2026-01-01T00:00:00Z");
    context.insert_list("aws:TagKeys", vec!["env".to_owned(), "*".to_owned()]);
    let sources = [PolicySource {
        id: "fuzz",
        policy: &policy,
    }];
    for (action, resource) in [
        (
            "ecs:RunTask",
            "arn:aws:ecs:us-east-1:1:task-definition/web:1",
        ),
        ("s3:GetObject", "*"),
        ("", ""),
    ] {
        let request = Request {
            action,
            resource,
            context: &context,
        };
        let with = evaluate(&request, &sources, Some(&sources));
        let without = evaluate(&request, &sources, None);
        // A boundary never widens.
        assert!(
            with.decision != stowplan::iam::Decision::Allowed
                || without.decision == stowplan::iam::Decision::Allowed
        );
        let _ = with.denial_reason(action);
    }
});
