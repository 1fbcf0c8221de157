//! Input safety: every documented limit on adversarial input, at the limit and one past it, from
//! the public API; and hostile inputs far past the limits coming back with an error, not a hang.
//!
//! Limits tested elsewhere, at the limit and one past it: `MAX_CQL_LENGTH` and `MAX_CQL_DEPTH`
//! (`tests/cql.rs`, `cql_limits_at_and_past`), TD-SIZE-MAX (`tests/validate_a.rs`,
//! `td_size_max_measures_compact_json`), TD-CONTAINERS-MAX, TD-FAMILY-PATTERN and
//! TD-TAGS-LIMITS (their data files in `tests/data/taskdefs/a/`), `MAX_RESERVED_PORTS`
//! (`state` unit tests), `MAX_TASKS_PER_PLAN`, `MAX_STRATEGY_RULES` and `MAX_CONSTRAINTS`
//! (`placement` unit tests).
//!
//! There is deliberately no timing assertion (the CI machine is shared): a superlinear path on
//! these sizes would take minutes, which the test run's own duration shows.

use serde_json::{Value, json};
use stowplan::cql::{self, ErrorKind};
use stowplan::json::{self, MAX_JSON_BYTES, MAX_JSON_DEPTH};
use stowplan::registry::{MAX_DELETE_REFERENCES, Registration, Registry, RegistryError};
use stowplan::state::{
    ClusterState, InstanceSpec, MAX_ATTRIBUTE_LEN, MAX_GPUS_PER_INSTANCE, MAX_GROUP_LEN,
    Reservation, StateError,
};
use stowplan::validate::{self, Severity};

fn rules(value: &Value) -> Vec<&'static str> {
    validate::validate_json(value)
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.rule)
        .collect()
}

#[test]
fn json_document_size_at_and_past_the_limit() {
    // A single JSON string of exactly MAX_JSON_BYTES bytes, quotes included.
    let at = format!("\"{}\"", "x".repeat(MAX_JSON_BYTES - 2));
    assert_eq!(at.len(), MAX_JSON_BYTES);
    assert!(json::parse(&at).is_ok());
    let past = format!("\"{}\"", "x".repeat(MAX_JSON_BYTES - 1));
    let err = json::parse(&past).unwrap_err();
    assert_eq!((err.line, err.column), (0, 0), "a whole-document error");
    assert!(err.message.contains(&MAX_JSON_BYTES.to_string()), "{err}");
    // The same through parse_bytes, which the fuzz target uses.
    assert!(json::parse_bytes(past.as_bytes()).is_err());
}

#[test]
fn json_nesting_at_and_past_the_limit() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(json::parse(&nested(MAX_JSON_DEPTH)).is_ok());
    let err = json::parse(&nested(MAX_JSON_DEPTH + 1)).unwrap_err();
    assert!(err.message.contains("recursion limit"), "{err}");
    assert_eq!((err.line, err.column), (1, MAX_JSON_DEPTH + 1));
    // Objects count the same as arrays.
    let objects = |depth: usize| format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    assert!(json::parse(&objects(MAX_JSON_DEPTH)).is_ok());
    assert!(json::parse(&objects(MAX_JSON_DEPTH + 1)).is_err());
}

#[test]
fn hostile_ten_thousand_nested_brackets_fail_at_once() {
    for open in ["[", "{\"a\":"] {
        let text = open.repeat(10_000);
        let err = json::parse(&text).unwrap_err();
        assert!(err.message.contains("recursion limit"), "{err}");
    }
    let err = cql::parse(&"(".repeat(10_000)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TooLong);
}

#[test]
fn hostile_one_megabyte_string_is_a_diagnostic() {
    let request = json!({
        "family": "f".repeat(1 << 20),
        "containerDefinitions": [{"name": "app", "image": "x".repeat(1 << 20), "memory": 512}],
    });
    let text = serde_json::to_string(&request).unwrap();
    let value = json::parse(&text).unwrap();
    let found = rules(&value);
    for rule in ["TD-SIZE-MAX", "TD-FAMILY-PATTERN"] {
        assert!(found.contains(&rule), "{rule} in {found:?}");
    }
    let _ = validate::canonical_json(&value);
    // A 1 MB CQL expression fails before it is read.
    let err = cql::parse(&format!("attribute:a == {}", "x".repeat(1 << 20))).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TooLong);
}

#[test]
fn hostile_hundred_thousand_element_arrays_are_diagnostics() {
    let containers = vec![json!({"name": "c", "image": "x", "memory": 4}); 100_000];
    let request = json!({"family": "f", "containerDefinitions": containers});
    let value = json::parse(&serde_json::to_string(&request).unwrap()).unwrap();
    let found = rules(&value);
    for rule in ["TD-CONTAINERS-MAX", "TD-SIZE-MAX"] {
        assert!(found.contains(&rule), "{rule} in {found:?}");
    }
    let _ = validate::canonical_json(&value);

    let commands = vec![json!("x"); 100_000];
    let request = json!({"family": "f",
        "containerDefinitions": [{"name": "c", "image": "x", "memory": 4, "command": commands}]});
    assert!(rules(&request).contains(&"TD-SIZE-MAX"));

    // A list of 100,000 values in CQL is far past the length limit.
    let list = format!("task:group in [{}]", "a,".repeat(100_000));
    assert_eq!(cql::parse(&list).unwrap_err().kind(), &ErrorKind::TooLong);
}

#[test]
fn cql_regex_size_at_and_past_the_limit() {
    // One Unicode class compiles to about 50 KB, within MAX_CQL_REGEX_SIZE (64 KiB); two do not.
    assert!(cql::parse(r"attribute:a =~ \w").is_ok());
    let err = cql::parse(r"attribute:a =~ \w{2}").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::RegexTooBig);
    // Regex nesting shares MAX_CQL_DEPTH.
    let nested = |depth: usize| {
        format!(
            "attribute:a =~ '{}a{}'",
            "(".repeat(depth),
            ")".repeat(depth)
        )
    };
    assert!(cql::parse(&nested(cql::MAX_CQL_DEPTH - 2)).is_ok());
    assert!(cql::parse(&nested(cql::MAX_CQL_DEPTH + 1)).is_err());
}

#[test]
fn state_limits_at_and_past() {
    let gpus = |n: usize| (0..n).map(|g| format!("gpu-{g}")).collect::<Vec<_>>();
    let mut state = ClusterState::new();
    let idx = state
        .register(InstanceSpec::new("a", 1024, 1024).with_gpu_ids(gpus(MAX_GPUS_PER_INSTANCE)))
        .unwrap();
    assert!(matches!(
        state.register(InstanceSpec::new("b", 1, 1).with_gpu_ids(gpus(MAX_GPUS_PER_INSTANCE + 1))),
        Err(StateError::TooManyGpus { .. })
    ));

    let name = |n: usize| "n".repeat(n);
    assert!(
        state
            .put_attribute(
                idx,
                &name(MAX_ATTRIBUTE_LEN),
                Some(&name(MAX_ATTRIBUTE_LEN))
            )
            .is_ok()
    );
    assert!(matches!(
        state.put_attribute(idx, &name(MAX_ATTRIBUTE_LEN + 1), None),
        Err(StateError::InvalidAttributeName(_))
    ));
    assert!(matches!(
        state.put_attribute(idx, "a", Some(&name(MAX_ATTRIBUTE_LEN + 1))),
        Err(StateError::InvalidAttributeValue { .. })
    ));

    let task = Reservation {
        cpu: 1,
        memory: 1,
        ..Reservation::default()
    };
    assert!(
        state
            .add_task(idx, &"g".repeat(MAX_GROUP_LEN), task.clone())
            .is_ok()
    );
    let before = state.clone();
    assert!(matches!(
        state.add_task(idx, &"g".repeat(MAX_GROUP_LEN + 1), task),
        Err(StateError::InvalidGroup(_))
    ));
    assert_eq!(state, before, "a refused task changes nothing");
}

#[test]
fn registry_delete_references_at_and_past_the_limit() {
    let mut registry = Registry::new("us-east-1", "123456789012");
    let request = serde_json::from_value(json!({"family": "web",
        "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 512}]}))
    .unwrap();
    registry
        .register(&request, &Registration::by_root("123456789012", 1))
        .unwrap();
    let references = |n: usize| (1..=n).map(|k| format!("web:{k}")).collect::<Vec<_>>();
    let at = registry.delete(
        &references(MAX_DELETE_REFERENCES),
        stowplan::model::Timestamp::from_secs(2),
    );
    assert!(at.is_ok(), "{at:?}");
    let before = registry.clone();
    assert_eq!(
        registry.delete(
            &references(MAX_DELETE_REFERENCES + 1),
            stowplan::model::Timestamp::from_secs(3)
        ),
        Err(RegistryError::TooManyReferences)
    );
    assert_eq!(registry, before);
}
