//! Property tests of the model's reading and writing.
//!
//! Invariants, in words:
//! 1. Reading any JSON value never panics.
//! 2. `to_json(from_json(x)) == x` for documents whose integers are written as numbers: known
//!    members, unknown members and members of the wrong type all come back as written.
//! 3. Reading what was written gives the same model value (model-level round trip).
//! 4. Canonicalising is idempotent: twice gives the same bytes as once.

use proptest::prelude::*;
use serde_json::{Value, json};
use stowplan::model::{ContainerDefinition, FromJson, RegisterTaskDefinitionRequest};

/// Member names of RegisterTaskDefinitionRequest and ContainerDefinition, plus unknown ones.
const NAMES: &[&str] = &[
    "family",
    "cpu",
    "memory",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "tags",
    "requiresCompatibilities",
    "name",
    "image",
    "memoryReservation",
    "portMappings",
    "containerPort",
    "hostPort",
    "protocol",
    "essential",
    "environment",
    "value",
    "key",
    "healthCheck",
    "command",
    "interval",
    "logConfiguration",
    "logDriver",
    "options",
    "dockerLabels",
    "x-unknown",
    "futureMember",
    "ulimits",
    "softLimit",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        (-1.0e6f64..1.0e6).prop_map(|f| json!(f)),
        "[a-z0-9 .:/-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "awsvpc", "bridge", "tcp", "udp", "FARGATE", "EC2", "awslogs"
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..6).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn request_round_trips(value in document()) {
        let (parsed, _errors) = RegisterTaskDefinitionRequest::read(&value);
        if let Some(parsed) = parsed {
            let written = serde_json::to_value(&parsed).unwrap();
            prop_assert_eq!(&written, &value);
            let (again, errors) = RegisterTaskDefinitionRequest::read(&written);
            prop_assert_eq!(again.as_ref(), Some(&parsed));
            // The same shape errors, though perhaps in another order: mistyped members are
            // kept as unknown ones and written after the known members.
            let (_, first_errors) = RegisterTaskDefinitionRequest::read(&value);
            let sorted = |errors: Vec<stowplan::model::ShapeError>| {
                let mut keyed: Vec<String> = errors.iter().map(|e| format!("{e:?}")).collect();
                keyed.sort();
                keyed
            };
            prop_assert_eq!(sorted(errors), sorted(first_errors));
        } else {
            prop_assert!(!value.is_object());
        }
    }

    #[test]
    fn container_round_trips(value in document()) {
        if let (Some(parsed), _) = ContainerDefinition::read(&value) {
            // Integer members written as strings come back as numbers; nothing else changes.
            let written = serde_json::to_value(&parsed).unwrap();
            prop_assert!(crate::support::equal_up_to_number_canonicalisation(&value, &written), "{value} vs {written}");
        }
    }

    #[test]
    fn canonical_is_idempotent(value in document()) {
        let once = stowplan::validate::canonical_json(&value);
        let twice = stowplan::validate::canonical_json(&once);
        prop_assert_eq!(serde_json::to_string(&once).unwrap(), serde_json::to_string(&twice).unwrap());
        // Validation never panics either, whatever the document.
        let _ = stowplan::validate::validate_json(&value);
    }
}

#[test]
fn shape_errors_survive_a_round_trip_in_any_order() {
    // A mistyped top-level member (kept as unknown, written last) before a known member with a
    // mistyped nested member: the written document reports the same errors in another order.
    let value = serde_json::json!({"cpu": 5, "containerDefinitions": [{"name": 7}]});
    let (parsed, first) = RegisterTaskDefinitionRequest::read(&value);
    let written = serde_json::to_value(parsed.unwrap()).unwrap();
    assert_eq!(written, value);
    let (_, again) = RegisterTaskDefinitionRequest::read(&written);
    assert_eq!(first.len(), 2);
    let paths = |errors: &[stowplan::model::ShapeError]| {
        let mut paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
        paths.sort();
        paths
    };
    assert_eq!(paths(&first), paths(&again));
}
