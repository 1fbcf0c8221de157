//! Replays the fuzz corpus under `cargo test`, through the fuzz targets' own checks.
//!
//! `fuzz/src/checks.rs` is included here as it is in the fuzz crate, so a corpus file passes
//! this test exactly when it passes its target. Replayed:
//!
//! - the seeds checked in under `fuzz/corpus/<target>/seed-*` (entries libFuzzer adds locally
//!   are not checked in, and not replayed);
//! - every minimised crash under `tests/data/fuzz-regressions/<target>/`, each also with a
//!   named test below saying what the bug was;
//! - through `scenario`, the conformance scenarios (`tests/scenarios/*.json`);
//! - through `taskdef`, the shared corpus (`../shared/corpus/**/*.json`), and through `taskdef`
//!   and `scenario`, the shared scenario examples (`../shared/spec/examples/*.json`), read at run
//!   time (skipped with a message when `../shared` is absent).

use std::path::{Path, PathBuf};

use crate::support;

#[path = "../fuzz/src/checks.rs"]
mod checks;

type Check = fn(&[u8]) -> checks::CheckResult;

/// Every fuzz target, by its directory name under `fuzz/corpus/` and the regressions folder.
const TARGETS: [(&str, Check); 6] = [
    ("taskdef", checks::taskdef),
    ("cql", checks::cql),
    ("placement", checks::placement),
    ("scenario", checks::scenario),
    ("api_sequence", checks::api_sequence),
    ("iam", checks::iam),
];

/// Regressions whose bug is still open: kept out of the replay until fixed (each has an ignored
/// test below saying what is wrong); remove the entry with the fix.
const OPEN: &[&str] = &[];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The regular files directly in `dir` whose name passes `keep`, sorted.
fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_file())
                .filter(|path| path.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs `check` on each file; fails listing every file whose check failed.
fn replay(check: Check, files: &[PathBuf]) {
    let mut failures = Vec::new();
    for file in files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if let Err(violation) = check(&data) {
            failures.push(format!("{}: {violation}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fuzz_seeds_pass_their_targets() {
    for (target, check) in TARGETS {
        let dir = crate_dir().join("fuzz/corpus").join(target);
        let seeds = files_in(&dir, |name| name.starts_with("seed-"));
        assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
        replay(check, &seeds);
    }
}

#[test]
fn fuzz_regressions_pass_their_targets() {
    for (target, check) in TARGETS {
        let dir = crate_dir().join("tests/data/fuzz-regressions").join(target);
        replay(check, &files_in(&dir, |name| !OPEN.contains(&name)));
    }
}

#[test]
fn shared_corpus_and_examples_pass_taskdef_and_scenario() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("skipped: ../shared is absent");
        return;
    };
    let corpus = shared.join("corpus");
    let mut files = Vec::new();
    let mut dirs = vec![corpus];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                files.push(path);
            }
        }
    }
    let examples = support::json_files(&shared.join("spec/examples"));
    files.extend(examples.iter().cloned());
    files.sort();
    assert!(
        !files.is_empty(),
        "no JSON files under {}",
        shared.display()
    );
    replay(checks::taskdef, &files);
    replay(checks::scenario, &examples);
}

#[test]
fn conformance_scenarios_pass_scenario() {
    let files = support::json_files(&crate_dir().join("tests/scenarios"));
    assert!(!files.is_empty());
    replay(checks::scenario, &files);
}

/// Found by the `scenario` target (from a conformance scenario): RegisterContainerInstance with
/// an attribute name the state refuses (`a:b`) returns InvalidParameterException, but
/// `control::Ecs::register_container_instance` draws the instance id (`self.ids.hex32()`)
/// before `ClusterState::register` validates the spec, so the failed call advances the id
/// generator and the snapshot changes (ERR-ATOMIC). The same holds for every refusal of
/// `register` (duplicate or zero ports, too many GPUs, bad attribute values). Fixed: the
/// generator is put back when `register` refuses the instance.
#[test]
fn scenario_register_instance_with_bad_attribute_changes_nothing() {
    let file = crate_dir()
        .join("tests/data/fuzz-regressions/scenario/register-instance-bad-attribute-name.json");
    replay(checks::scenario, &[file]);
}

/// Degenerate inputs decode to something and pass every check, and the one documented exception
/// to print + reparse (an expression that prints longer than the limit) is accepted.
#[test]
fn fuzz_checks_accept_edge_inputs() {
    for (_, check) in TARGETS {
        for input in [&b""[..], b"\0", b"\xff\xfe", b"[[[[", b"{}", b"null"] {
            assert_eq!(check(input), Ok(()), "{input:?}");
        }
    }
    // The documented exception to print + reparse: a compact expression near the length limit
    // that prints longer than the limit.
    let compact = format!(
        "task:group==a{}",
        "||task:group==a".repeat((stowplan::cql::MAX_CQL_LENGTH - 13) / 15)
    );
    assert!(compact.len() <= stowplan::cql::MAX_CQL_LENGTH);
    assert!(
        stowplan::cql::parse(&compact).unwrap().to_string().len() > stowplan::cql::MAX_CQL_LENGTH
    );
    assert_eq!(checks::cql_text(&compact), Ok(()));
}
