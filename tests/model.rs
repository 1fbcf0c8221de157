//! The model against real task definitions: read with no shape error, write back losslessly.

use stowplan::model::{FromJson, RegisterTaskDefinitionRequest, TaskDefinition};

use crate::support;

#[test]
fn corpus_task_definitions_round_trip() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("skipped: ../shared is absent");
        return;
    };
    let files = support::json_files(&shared.join("corpus/taskdefs"));
    assert!(
        files.len() >= 100,
        "expected the shared corpus, found {}",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let input = stowplan::json::parse(&text).unwrap();
        let output = if let Some(inner) = input.get("taskDefinition") {
            let (parsed, errors) = TaskDefinition::read(inner);
            assert!(
                errors.iter().all(|e| e.is_object_for_list()),
                "{}: {errors:?}",
                file.display()
            );
            serde_json::json!({"taskDefinition": serde_json::to_value(parsed.unwrap()).unwrap()})
        } else {
            let (parsed, errors) = RegisterTaskDefinitionRequest::read(&input);
            assert!(
                errors.iter().all(|e| e.is_object_for_list()),
                "{}: {errors:?}",
                file.display()
            );
            serde_json::to_value(parsed.unwrap()).unwrap()
        };
        assert!(
            support::equal_up_to_number_canonicalisation(&input, &output),
            "{} did not round-trip",
            file.display()
        );
    }
}

#[test]
fn unknown_members_and_enum_values_round_trip_in_order() {
    let input = serde_json::json!({
        "zzz": 1,
        "family": "f",
        "networkMode": "future-mode",
        "containerDefinitions": [{"name": "a", "newThing": [1, {"x": null}], "image": "i"}],
        "aaa": {"nested": true}
    });
    let parsed = RegisterTaskDefinitionRequest::from_value(&input).unwrap();
    assert_eq!(
        parsed.network_mode,
        Some(stowplan::model::NetworkMode::Unknown("future-mode".into()))
    );
    let mut output = serde_json::to_value(&parsed).unwrap();
    assert_eq!(output, input);
    stowplan::json::reorder_like(&mut output, &input);
    assert_eq!(
        serde_json::to_string(&output).unwrap(),
        serde_json::to_string(&input).unwrap()
    );
}

#[test]
fn wrong_types_are_reported_with_pointers_and_kept() {
    let input = serde_json::json!({
        "family": 7,
        "containerDefinitions": [{"name": "a", "memory": "lots", "portMappings": {"x": 1}}],
        "cpu": 256,
    });
    let (parsed, errors) = RegisterTaskDefinitionRequest::read(&input);
    let paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "/family",
            "/containerDefinitions/0/memory",
            "/containerDefinitions/0/portMappings",
            "/cpu"
        ]
    );
    let output = serde_json::to_value(parsed.unwrap()).unwrap();
    assert_eq!(output, input);
}
