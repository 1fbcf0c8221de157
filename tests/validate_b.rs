//! Rules of catalogue §3.8–3.11 and §4.1–4.8 (storage, logging, Linux parameters, resources,
//! platform), driven by the case files in `tests/data/taskdefs/b/`.
//!
//! Each file is `{"rule": "TD-…", "source": "…", "cases": [{"name": "…", "input": {…},
//! "expect": "ok" | [{"rule", "severity", "path"}]}]}`. An input is a RegisterTaskDefinition
//! request. `"ok"` means no diagnostic of this file's areas at all; a list is compared with the
//! diagnostics of the rules named in the list and of the file's own rule, in report order
//! (other rules' findings, such as the lint rules', are ignored).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use stowplan::validate::{Severity, validate_json};

use crate::support;

/// The rule-id prefixes of this suite's areas: `"ok"` cases must get none of them.
const AREAS: &[&str] = &[
    "TD-MOUNT-",
    "TD-VOLUMESFROM-",
    "TD-VOL-",
    "TD-LOG-",
    "TD-SECRETS-",
    "TD-EXECROLE-",
    "TD-ENVFILES",
    "TD-FIRELENS",
    "TD-ULIMIT",
    "TD-LINUX-",
    "TD-CAPABILITIES-",
    "TD-PRIVILEGED",
    "TD-DOCKERSECOPTS",
    "TD-CREDSPECS",
    "TD-SYSCTL",
    "TD-USER-",
    "TD-WINDOWS-UNSUPPORTED",
    "TD-RESTART-",
    "TD-RESREQ-",
    "TD-GPU-",
    "TD-NEURON",
    "TD-INFACC-",
    "TD-VERSION-",
    "TD-PIDMODE",
    "TD-IPCMODE",
    "TD-EPHEMERAL-",
    "TD-RUNTIME-",
    "TD-TRUSTED-",
    "TD-PLACEMENT-",
    "TD-PROXY",
    "TD-TASKROLE-",
    "TD-FARGATE-UNSUPPORTED",
    "TD-MI-",
    "TD-EXTERNAL",
];

fn ours(rule: &str) -> bool {
    AREAS.iter().any(|prefix| rule.starts_with(prefix))
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Runs every case of one data file; returns the failures as readable lines.
fn check(file: &Path) -> Vec<String> {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(file).unwrap();
    let suite: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let rule = suite["rule"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no rule"));
    assert!(
        suite["source"].as_str().is_some_and(|s| !s.is_empty()),
        "{name}: no source"
    );
    let cases = suite["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no cases"));
    let mut failures = Vec::new();
    let (mut passing, mut failing) = (0, 0);
    for (index, case) in cases.iter().enumerate() {
        let label = format!(
            "{name} case {index} ({})",
            case["name"].as_str().unwrap_or("unnamed")
        );
        let report = validate_json(&case["input"]);
        let got = |filter: &dyn Fn(&str) -> bool| -> Vec<(String, String, String)> {
            report
                .diagnostics
                .iter()
                .filter(|d| filter(d.rule))
                .map(|d| {
                    (
                        d.rule.to_string(),
                        severity_name(d.severity).to_string(),
                        d.path.to_string(),
                    )
                })
                .collect()
        };
        match &case["expect"] {
            Value::String(ok) if ok == "ok" => {
                passing += 1;
                let found = got(&ours);
                if !found.is_empty() {
                    failures.push(format!("{label}: expected ok, got {found:?}"));
                }
            }
            Value::Array(expected) => {
                let expected: Vec<(String, String, String)> = expected
                    .iter()
                    .map(|e| {
                        (
                            e["rule"].as_str().unwrap_or_default().to_string(),
                            e["severity"].as_str().unwrap_or_default().to_string(),
                            e["path"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                if expected.iter().any(|(r, _, _)| r == rule) {
                    failing += 1;
                }
                let mut rules: BTreeSet<String> =
                    expected.iter().map(|(r, _, _)| r.clone()).collect();
                rules.insert(rule.to_string());
                let found = got(&|r| rules.contains(r));
                if found != expected {
                    failures.push(format!(
                        "{label}: expected {expected:?}, got {found:?} (all: {:?})",
                        report
                            .diagnostics
                            .iter()
                            .map(|d| format!("{} {} {}", d.rule, d.path, d.message))
                            .collect::<Vec<_>>()
                    ));
                }
            }
            other => failures.push(format!("{label}: bad expect {other}")),
        }
    }
    if passing == 0 || failing == 0 {
        failures.push(format!(
            "{name}: needs at least one \"ok\" case and one case expecting {rule}"
        ));
    }
    failures
}

/// Every member of `value`, as (pointer tokens), depth first.
fn member_paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (key, child) in children {
        prefix.push(key);
        out.push(prefix.clone());
        member_paths(child, prefix, out);
        prefix.pop();
    }
}

/// No input makes the validator panic: every member of every case input, replaced in turn by
/// values of each JSON type (and by extreme numbers and long strings), still validates.
#[test]
fn rules_b_never_panic_on_mutated_inputs() {
    let replacements = [
        Value::Null,
        Value::Bool(true),
        serde_json::json!(-1),
        serde_json::json!(i64::MAX),
        serde_json::json!(1.5),
        serde_json::json!(""),
        serde_json::json!(":::/"),
        Value::String("é".repeat(3000)),
        serde_json::json!([]),
        serde_json::json!([null, {}]),
        serde_json::json!({}),
    ];
    let mut n_validated = 0;
    for file in support::json_files(&data_dir()) {
        let suite: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for case in suite["cases"].as_array().unwrap() {
            let input = &case["input"];
            let mut paths = Vec::new();
            member_paths(input, &mut Vec::new(), &mut paths);
            for path in paths {
                for replacement in &replacements {
                    let mut mutated = input.clone();
                    let mut target = &mut mutated;
                    for token in &path {
                        target = match target {
                            Value::Object(map) => map.get_mut(token).unwrap(),
                            Value::Array(items) => &mut items[token.parse::<usize>().unwrap()],
                            _ => unreachable!(),
                        };
                    }
                    *target = replacement.clone();
                    let _ = validate_json(&mutated);
                    n_validated += 1;
                }
            }
        }
    }
    assert!(n_validated > 1000, "only {n_validated} mutated inputs");
}

fn data_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/taskdefs/b")
}

/// One test per case file, named after the rule it proves.
macro_rules! case_files {
    ($($test:ident => $rule:literal,)*) => {
        $(
            #[test]
            fn $test() {
                let failures = check(&data_dir().join(concat!($rule, ".json")));
                assert!(failures.is_empty(), "\n{}", failures.join("\n"));
            }
        )*

        /// Every case file in the folder has its test above.
        #[test]
        fn every_case_file_has_a_test() {
            let listed = [$($rule),*];
            for file in support::json_files(&data_dir()) {
                let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
                assert!(listed.contains(&stem.as_str()), "{stem}.json has no test in case_files!");
            }
        }
    };
}

case_files! {
    td_capabilities_values => "TD-CAPABILITIES-VALUES",
    td_credspecs => "TD-CREDSPECS",
    td_dockersecopts => "TD-DOCKERSECOPTS",
    td_envfiles => "TD-ENVFILES",
    td_ephemeral_range => "TD-EPHEMERAL-RANGE",
    td_execrole_required => "TD-EXECROLE-REQUIRED",
    td_external => "TD-EXTERNAL",
    td_fargate_unsupported => "TD-FARGATE-UNSUPPORTED",
    td_firelens => "TD-FIRELENS",
    td_gpu_fargate => "TD-GPU-FARGATE",
    td_gpu_value => "TD-GPU-VALUE",
    td_infacc_ref => "TD-INFACC-REF",
    td_ipcmode => "TD-IPCMODE",
    td_linux_devices => "TD-LINUX-DEVICES",
    td_linux_fargate => "TD-LINUX-FARGATE",
    td_linux_swap => "TD-LINUX-SWAP",
    td_linux_tmpfs => "TD-LINUX-TMPFS",
    td_log_awslogs_options => "TD-LOG-AWSLOGS-OPTIONS",
    td_log_driver => "TD-LOG-DRIVER",
    td_mi_logdrivers => "TD-MI-LOGDRIVERS",
    td_mi_netmode => "TD-MI-NETMODE",
    td_mount_fields => "TD-MOUNT-FIELDS",
    td_mount_volume_exists => "TD-MOUNT-VOLUME-EXISTS",
    td_neuron => "TD-NEURON",
    td_pidmode => "TD-PIDMODE",
    td_placement_fargate => "TD-PLACEMENT-FARGATE",
    td_placement_max => "TD-PLACEMENT-MAX",
    td_placement_type => "TD-PLACEMENT-TYPE",
    td_privileged => "TD-PRIVILEGED",
    td_proxy => "TD-PROXY",
    td_resreq_types => "TD-RESREQ-TYPES",
    td_restart_policy => "TD-RESTART-POLICY",
    td_runtime_platform => "TD-RUNTIME-PLATFORM",
    td_secrets_shape => "TD-SECRETS-SHAPE",
    td_sysctl => "TD-SYSCTL",
    td_taskrole_format => "TD-TASKROLE-FORMAT",
    td_trusted_exec => "TD-TRUSTED-EXEC",
    td_ulimit => "TD-ULIMIT",
    td_user_format => "TD-USER-FORMAT",
    td_version_consistency => "TD-VERSION-CONSISTENCY",
    td_vol_configured_at_launch => "TD-VOL-CONFIGURED-AT-LAUNCH",
    td_vol_docker => "TD-VOL-DOCKER",
    td_vol_efs => "TD-VOL-EFS",
    td_vol_fargate => "TD-VOL-FARGATE",
    td_vol_fsx => "TD-VOL-FSX",
    td_vol_host_empty_source => "TD-VOL-HOST-EMPTY-SOURCE",
    td_vol_name => "TD-VOL-NAME",
    td_vol_one_kind => "TD-VOL-ONE-KIND",
    td_vol_s3files => "TD-VOL-S3FILES",
    td_volumesfrom_source => "TD-VOLUMESFROM-SOURCE",
    td_windows_unsupported => "TD-WINDOWS-UNSUPPORTED",
}
