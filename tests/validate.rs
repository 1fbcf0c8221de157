//! Validation against the shared corpus: real definitions pass, known-invalid ones get the
//! rule SOURCES.tsv names.

use stowplan::validate::{Severity, validate_json};

use crate::support;

#[test]
fn corpus_task_definitions_validate_without_error() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("skipped: ../shared is absent");
        return;
    };
    let mut failures = Vec::new();
    for file in support::json_files(&shared.join("corpus/taskdefs")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let value = stowplan::json::parse(&text).unwrap();
        let report = validate_json(&value);
        for diagnostic in report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
        {
            failures.push(format!(
                "{}: {} {} {}",
                file.file_name().unwrap().to_string_lossy(),
                diagnostic.rule,
                diagnostic.path,
                diagnostic.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_invalid_task_definitions_get_the_named_rule() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("skipped: ../shared is absent");
        return;
    };
    let sources = std::fs::read_to_string(shared.join("corpus/SOURCES.tsv")).unwrap();
    let mut checked = 0;
    for line in sources.lines().skip(1) {
        let columns: Vec<&str> = line.split('\t').collect();
        let (file, kind, notes) = (columns[0], columns[5], columns[6]);
        if kind != "invalid" {
            continue;
        }
        let text = std::fs::read_to_string(shared.join("corpus").join(file)).unwrap();
        let Ok(value) = stowplan::json::parse(&text) else {
            assert!(notes.contains("JSON-level error"), "{file} should parse");
            checked += 1;
            continue;
        };
        let expected = notes
            .split_whitespace()
            .find(|word| word.starts_with("TD-"))
            .map(|word| word.trim_end_matches([':', ',', '.']))
            .unwrap_or_else(|| panic!("{file}: no rule named in {notes}"));
        let report = validate_json(&value);
        assert!(
            report
                .diagnostics
                .iter()
                .any(|d| d.rule == expected && d.severity == Severity::Error),
            "{file}: expected {expected}, got {:?}",
            report.diagnostics
        );
        checked += 1;
    }
    assert_eq!(checked, 8);
}
