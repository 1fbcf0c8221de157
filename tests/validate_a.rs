//! Task-definition rules of catalogue §2.1–§2.4, §3.1–§3.7 and §4.9, as data.
//!
//! Each file `tests/data/taskdefs/a/<RULE-ID>.json` holds
//! `{"rule", "reported_as"?, "source", "base"?, "cases": [{"name", "input", "expect"}]}`. A case's
//! input is laid over `base` member by member (`null` removes a member), validated with
//! [`validate_json`], and checked by [`check`]:
//!
//! - `"expect": "ok"`: no error at all, and no finding of the file's rule (or the rules it is
//!   `reported_as`);
//! - `"expect": [{"rule", "severity", "path", "message"?}]`: every expected finding is there,
//!   every error is expected, and every finding of the file's rules is expected.
//!
//! The Fargate size table is checked by a generated loop instead ([`td_fargate_cpu_mem_table`]).

use serde_json::{Value, json};
use stowplan::validate::{Diagnostic, Report, Severity, validate_json};

use crate::support;

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/taskdefs/a");

/// Lays `input` over `base`, member by member; a `null` member removes the base's.
fn overlay(base: &Value, input: &Value) -> Value {
    let mut merged = base.as_object().cloned().unwrap_or_default();
    if let Value::Object(members) = input {
        for (key, value) in members {
            if value.is_null() {
                merged.shift_remove(key);
            } else {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(merged)
}

fn describe(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {:?} {} {} {}", d.severity, d.rule, d.path, d.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn severity(name: &str) -> Severity {
    match name {
        "error" => Severity::Error,
        "warning" => Severity::Warning,
        other => panic!("unknown severity {other}"),
    }
}

/// Runs every case of one rule file; returns the failures, one line each.
fn check(file_name: &str) -> Vec<String> {
    let path = std::path::Path::new(DATA_DIR).join(file_name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file_name}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file_name}: {e}"));
    let rule = file["rule"].as_str().expect("rule");
    assert_eq!(
        format!("{rule}.json"),
        file_name,
        "file name cites the rule id"
    );
    let mut rules = vec![rule.to_string()];
    for alias in file["reported_as"].as_array().into_iter().flatten() {
        rules.push(alias.as_str().expect("reported_as").to_string());
    }
    let base = file.get("base").cloned().unwrap_or_else(|| json!({}));
    let mut failures = Vec::new();
    let cases = file["cases"].as_array().expect("cases");
    assert!(!cases.is_empty(), "{file_name}: no cases");
    for case in cases {
        let name = case["name"].as_str().unwrap_or("(unnamed)");
        let input = overlay(&base, &case["input"]);
        let report = validate_json(&input);
        if let Some(problem) = judge(&report, &case["expect"], &rules) {
            failures.push(format!(
                "{rule} / {name}: {problem}\n  got:\n{}",
                describe(&report.diagnostics)
            ));
        }
    }
    failures
}

fn judge(report: &Report, expect: &Value, rules: &[String]) -> Option<String> {
    let of_rules = |d: &&Diagnostic| rules.iter().any(|rule| rule == d.rule);
    if expect == "ok" {
        if let Some(d) = report
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
        {
            return Some(format!("expected ok, got error {} at {}", d.rule, d.path));
        }
        if let Some(d) = report.diagnostics.iter().find(of_rules) {
            return Some(format!("expected ok, got {} at {}", d.rule, d.path));
        }
        return None;
    }
    let expected = expect.as_array()?;
    let matches = |d: &Diagnostic, e: &Value| {
        e["rule"] == d.rule
            && severity(e["severity"].as_str().unwrap_or("")) == d.severity
            && e["path"] == d.path.to_string().as_str()
            && e.get("message").is_none_or(|m| m == d.message.as_str())
    };
    for e in expected {
        if !report.diagnostics.iter().any(|d| matches(d, e)) {
            return Some(format!("missing {e}"));
        }
    }
    for d in &report.diagnostics {
        let counted = d.severity == Severity::Error || of_rules(&d);
        if counted && !expected.iter().any(|e| matches(d, e)) {
            return Some(format!(
                "unexpected {:?} {} at {}",
                d.severity, d.rule, d.path
            ));
        }
    }
    None
}

/// One `#[test]` per rule file, named after the rule id.
macro_rules! rule_files {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                let failures = check($file);
                assert!(failures.is_empty(), "{}", failures.join("\n"));
            }
        )*

        /// Every file in the data folder has its test above.
        #[test]
        fn every_rule_file_has_a_test() {
            let listed = [$($file),*];
            for file in support::json_files(std::path::Path::new(DATA_DIR)) {
                let name = file.file_name().unwrap().to_string_lossy().into_owned();
                assert!(listed.contains(&name.as_str()), "{name} has no test in rule_files!");
            }
        }
    };
}

rule_files! {
    td_family_required => "TD-FAMILY-REQUIRED.json",
    td_family_pattern => "TD-FAMILY-PATTERN.json",
    td_containers_required => "TD-CONTAINERS-REQUIRED.json",
    td_containers_max => "TD-CONTAINERS-MAX.json",
    td_tags_limits => "TD-TAGS-LIMITS.json",
    td_tags_aws_prefix => "TD-TAGS-AWS-PREFIX.json",
    td_tags_empty_list => "TD-TAGS-EMPTY-LIST.json",
    td_compat_values => "TD-COMPAT-VALUES.json",
    td_compat_validate => "TD-COMPAT-VALIDATE.json",
    td_netmode_values => "TD-NETMODE-VALUES.json",
    td_netmode_default => "TD-NETMODE-DEFAULT.json",
    td_netmode_platform => "TD-NETMODE-PLATFORM.json",
    td_task_cpu_format => "TD-TASK-CPU-FORMAT.json",
    td_task_memory_format => "TD-TASK-MEMORY-FORMAT.json",
    td_task_cpu_range_ec2 => "TD-TASK-CPU-RANGE-EC2.json",
    td_task_memory_ec2 => "TD-TASK-MEMORY-EC2.json",
    td_fargate_cpu_required => "TD-FARGATE-CPU-REQUIRED.json",
    td_fargate_memory_required => "TD-FARGATE-MEMORY-REQUIRED.json",
    td_fargate_cpu_mem => "TD-FARGATE-CPU-MEM.json",
    td_fargate_windows_cpu => "TD-FARGATE-WINDOWS-CPU.json",
    td_windows_task_size_ignored => "TD-WINDOWS-TASK-SIZE-IGNORED.json",
    td_cd_name_required => "TD-CD-NAME-REQUIRED.json",
    td_cd_name_pattern => "TD-CD-NAME-PATTERN.json",
    td_cd_name_unique => "TD-CD-NAME-UNIQUE.json",
    td_cd_image_required => "TD-CD-IMAGE-REQUIRED.json",
    td_cd_image_format => "TD-CD-IMAGE-FORMAT.json",
    td_cd_repocreds => "TD-CD-REPOCREDS.json",
    td_cd_cpu_range => "TD-CD-CPU-RANGE.json",
    td_cd_cpu_sum => "TD-CD-CPU-SUM.json",
    td_cd_memory_ec2 => "TD-CD-MEMORY-EC2.json",
    td_cd_memory_ge_reservation => "TD-CD-MEMORY-GE-RESERVATION.json",
    td_cd_memory_min => "TD-CD-MEMORY-MIN.json",
    td_cd_memory_le_task => "TD-CD-MEMORY-LE-TASK.json",
    td_cd_memory_sum => "TD-CD-MEMORY-SUM.json",
    td_cd_windows_memres => "TD-CD-WINDOWS-MEMRES.json",
    td_cd_essential_default => "TD-CD-ESSENTIAL-DEFAULT.json",
    td_cd_essential_atleastone => "TD-CD-ESSENTIAL-ATLEASTONE.json",
    td_port_none_mode => "TD-PORT-NONE-MODE.json",
    td_port_awsvpc_match => "TD-PORT-AWSVPC-MATCH.json",
    td_port_host_match => "TD-PORT-HOST-MATCH.json",
    td_port_bridge_dynamic => "TD-PORT-BRIDGE-DYNAMIC.json",
    td_port_containerport => "TD-PORT-CONTAINERPORT.json",
    td_port_protocol => "TD-PORT-PROTOCOL.json",
    td_port_dup_hostport => "TD-PORT-DUP-HOSTPORT.json",
    td_port_dup_containerport => "TD-PORT-DUP-CONTAINERPORT.json",
    td_port_range => "TD-PORT-RANGE.json",
    td_port_name => "TD-PORT-NAME.json",
    td_port_windows_3150 => "TD-PORT-WINDOWS-3150.json",
    td_links_bridge_only => "TD-LINKS-BRIDGE-ONLY.json",
    td_hostname_awsvpc => "TD-HOSTNAME-AWSVPC.json",
    td_extrahosts_awsvpc => "TD-EXTRAHOSTS-AWSVPC.json",
    td_dns_awsvpc => "TD-DNS-AWSVPC.json",
    td_dep_condition => "TD-DEP-CONDITION.json",
    td_dep_target_exists => "TD-DEP-TARGET-EXISTS.json",
    td_dep_complete_not_essential => "TD-DEP-COMPLETE-NOT-ESSENTIAL.json",
    td_dep_healthy_needs_hc => "TD-DEP-HEALTHY-NEEDS-HC.json",
    td_dep_no_self_or_cycle => "TD-DEP-NO-SELF-OR-CYCLE.json",
    td_timeouts => "TD-TIMEOUTS.json",
    td_hc_command => "TD-HC-COMMAND.json",
    td_hc_ranges => "TD-HC-RANGES.json",
    td_lint_no_memory_limit => "TD-LINT-NO-MEMORY-LIMIT.json",
    td_lint_image_latest => "TD-LINT-IMAGE-LATEST.json",
    td_lint_privileged => "TD-LINT-PRIVILEGED.json",
    td_lint_plaintext_secret => "TD-LINT-PLAINTEXT-SECRET.json",
    td_lint_host_root => "TD-LINT-HOST-ROOT.json",
    td_lint_memory_tiny => "TD-LINT-MEMORY-TINY.json",
    td_lint_static_hostport_ephemeral => "TD-LINT-STATIC-HOSTPORT-EPHEMERAL.json",
    td_lint_awslogs_no_prefix => "TD-LINT-AWSLOGS-NO-PREFIX.json",
    td_lint_healthcheck_timeout => "TD-LINT-HEALTHCHECK-TIMEOUT.json",
    td_lint_readonly_root => "TD-LINT-READONLY-ROOT.json",
    td_lint_windows_tasksize => "TD-LINT-WINDOWS-TASKSIZE.json",
    td_lint_tcp_udp_same_port => "TD-LINT-TCP-UDP-SAME-PORT.json",
}

// ---------------------------------------------------------------------------------------------
// TD-FARGATE-CPU-MEM: the whole table, generated.

/// The Fargate sizes as the catalogue tables them: (cpu units, memory MiB values, Windows?).
/// Written out independently of the implementation's table, as an oracle.
fn fargate_table() -> Vec<(u32, Vec<u32>, bool)> {
    let steps = |min: u32, max: u32, step: u32| (min..=max).step_by(step as usize).collect();
    vec![
        (256, vec![512, 1024, 2048], false),
        (512, steps(1024, 4096, 1024), false),
        (1024, steps(2048, 8192, 1024), true),
        (2048, steps(4096, 16384, 1024), true),
        (4096, steps(8192, 30720, 1024), true),
        (8192, steps(16384, 61440, 4096), false),
        (16384, steps(32768, 122880, 8192), false),
        (32768, vec![61440, 122880, 249856], false),
    ]
}

fn fargate_request(cpu: &str, memory: &str, windows: bool) -> Value {
    let mut request = json!({
        "family": "sized",
        "containerDefinitions": [{"name": "app", "image": "nginx:1.27"}],
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": cpu,
        "memory": memory,
    });
    if windows {
        request["runtimePlatform"] = json!({"operatingSystemFamily": "WINDOWS_SERVER_2019_CORE"});
    }
    request
}

fn errors(report: &Report) -> Vec<(&'static str, String)> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.rule, d.path.to_string()))
        .collect()
}

#[test]
fn td_fargate_cpu_mem_table() {
    let table = fargate_table();
    let linux_pairs: usize = table.iter().map(|(_, memory, _)| memory.len()).sum();
    let windows_pairs: usize = table
        .iter()
        .filter(|(_, _, windows)| *windows)
        .map(|(_, memory, _)| memory.len())
        .sum();
    assert_eq!(
        (linux_pairs, windows_pairs),
        (77, 43),
        "the catalogue's counts"
    );

    let mut failures = Vec::new();
    for windows in [false, true] {
        for (cpu, memories, windows_row) in &table {
            // Every pair of the row is accepted (on Windows, for the Windows rows).
            for memory in memories {
                let report = validate_json(&fargate_request(
                    &cpu.to_string(),
                    &memory.to_string(),
                    windows,
                ));
                let expected_ok = !windows || *windows_row;
                if expected_ok && !report.is_ok() {
                    failures.push(format!(
                        "{cpu}/{memory} windows={windows}: {:?}",
                        errors(&report)
                    ));
                }
            }
            // Every other memory value in 512 MiB steps up to 250,000 MiB is refused at /memory.
            if windows && !windows_row {
                continue;
            }
            for memory in (512..=250_000).step_by(512) {
                if memories.contains(&memory) {
                    continue;
                }
                let report = validate_json(&fargate_request(
                    &cpu.to_string(),
                    &memory.to_string(),
                    windows,
                ));
                let got = errors(&report);
                if got != [("TD-FARGATE-CPU-MEM", "/memory".to_string())] {
                    failures.push(format!("{cpu}/{memory} windows={windows}: {got:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn td_fargate_cpu_mem_rejects_cpu_values_off_the_table() {
    for cpu in [
        "0",
        "1",
        "128",
        "255",
        "257",
        "384",
        "768",
        "1000",
        "1536",
        "3072",
        "6144",
        "10240",
        "24576",
        "32767",
        "65536",
        "196608",
        "4294967295",
    ] {
        let report = validate_json(&fargate_request(cpu, "2048", false));
        assert_eq!(
            errors(&report),
            [("TD-FARGATE-CPU-MEM", "/cpu".to_string())],
            "cpu {cpu}"
        );
        let error = report
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
            .unwrap();
        assert_eq!(error.message, "Invalid 'cpu' setting for task.");
    }
}

#[test]
fn td_fargate_windows_cpu_rejects_below_one_vcpu() {
    for (cpu, memory) in [("256", "512"), ("512", "1024"), ("512", "4096")] {
        let report = validate_json(&fargate_request(cpu, memory, true));
        assert_eq!(
            errors(&report),
            [("TD-FARGATE-WINDOWS-CPU", "/cpu".to_string())],
            "{cpu}/{memory}"
        );
    }
}

#[test]
fn td_fargate_cpu_mem_accepts_issue_a_example() {
    let input = json!({
        "family": "webserver",
        "containerDefinitions": [{"name": "web", "image": "nginx", "memory": "100", "cpu": "99"}],
        "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
        "memory": "512", "cpu": "256"
    });
    let report = validate_json(&input);
    assert!(report.is_ok(), "{}", describe(&report.diagnostics));
}

#[test]
fn td_fargate_cpu_mem_rejects_cpu_384() {
    let input = json!({
        "family": "webserver",
        "containerDefinitions": [{"name": "web", "image": "nginx", "memory": "100", "cpu": "99"}],
        "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
        "memory": "512", "cpu": "384"
    });
    let report = validate_json(&input);
    assert_eq!(
        errors(&report),
        [("TD-FARGATE-CPU-MEM", "/cpu".to_string())]
    );
}

// ---------------------------------------------------------------------------------------------
// Rules whose inputs are too large for a data file.

fn minimal() -> Value {
    json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "memory": 512}]})
}

#[test]
fn td_size_max_measures_compact_json() {
    // The compact request without the filler is this long; fill up to exactly the limit.
    let mut request = minimal();
    request["containerDefinitions"][0]["environment"] = json!([{"name": "FILL", "value": ""}]);
    let base_len = serde_json::to_string(&request).unwrap().len();
    let fill = |n: usize| {
        let mut request = request.clone();
        request["containerDefinitions"][0]["environment"][0]["value"] = json!("x".repeat(n));
        request
    };
    let at_limit = validate_json(&fill(65_536 - base_len));
    assert!(
        !at_limit.diagnostics.iter().any(|d| d.rule == "TD-SIZE-MAX"),
        "65,536 bytes are allowed"
    );
    let over = validate_json(&fill(65_537 - base_len));
    let error = over
        .diagnostics
        .iter()
        .find(|d| d.rule == "TD-SIZE-MAX")
        .expect("TD-SIZE-MAX at 65,537 bytes");
    assert_eq!(error.severity, Severity::Error);
    assert_eq!(error.path.to_string(), "");
    assert_eq!(
        error.message,
        "Actual length: '65537'. Max allowed length is '65536' bytes."
    );
}

#[test]
fn td_size_max_points_into_described_output() {
    let mut described = json!({"taskDefinition": minimal()});
    described["taskDefinition"]["revision"] = json!(1);
    described["taskDefinition"]["containerDefinitions"][0]["command"] = json!(["x".repeat(70_000)]);
    let report = validate_json(&described);
    let error = report
        .diagnostics
        .iter()
        .find(|d| d.rule == "TD-SIZE-MAX")
        .expect("TD-SIZE-MAX");
    assert_eq!(error.path.to_string(), "/taskDefinition");
}

#[test]
fn td_port_awsvpc_match_corpus_invalid_kibana_tomcat() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("skipped: ../shared is absent");
        return;
    };
    for name in [
        "aws-samples__aws-containers-task-definitions__kibana-kibana_ec2.json",
        "aws-samples__aws-containers-task-definitions__tomcat-tomcat_ec2.json",
    ] {
        let text = std::fs::read_to_string(shared.join("corpus/invalid").join(name)).unwrap();
        let report = validate_json(&stowplan::json::parse(&text).unwrap());
        assert!(
            report
                .diagnostics
                .iter()
                .any(|d| d.rule == "TD-PORT-AWSVPC-MATCH" && d.severity == Severity::Error),
            "{name}: {}",
            describe(&report.diagnostics)
        );
    }
}

#[test]
fn bare_container_list_paths_drop_the_wrapper() {
    let report = validate_json(&json!([
        {"name": "web", "image": "nginx:1.27", "memory": 256, "essential": false}
    ]));
    assert_eq!(
        errors(&report),
        [("TD-CD-ESSENTIAL-ATLEASTONE", String::new())],
        "{}",
        describe(&report.diagnostics)
    );
}

// ---------------------------------------------------------------------------------------------
// Never panic, and stay fast, on hostile input.

#[test]
fn ten_thousand_containers_in_a_dependency_chain() {
    let containers: Vec<Value> = (0..10_000)
        .map(|i| {
            let mut container = json!({
                "name": format!("c{i}"), "image": "nginx:1.27", "memory": 6,
                "portMappings": [{"containerPort": 80, "hostPort": 80}],
            });
            if i + 1 < 10_000 {
                container["dependsOn"] =
                    json!([{"containerName": format!("c{}", i + 1), "condition": "START"}]);
            } else {
                container["dependsOn"] = json!([{"containerName": "c0", "condition": "START"}]);
            }
            container
        })
        .collect();
    let request =
        json!({"family": "many", "networkMode": "host", "containerDefinitions": containers});
    let report = validate_json(&request);
    let rules: std::collections::BTreeSet<&str> =
        report.diagnostics.iter().map(|d| d.rule).collect();
    for rule in [
        "TD-CONTAINERS-MAX",
        "TD-SIZE-MAX",
        "TD-PORT-DUP-HOSTPORT",
        "TD-DEP-NO-SELF-OR-CYCLE",
    ] {
        assert!(rules.contains(rule), "{rule} in {rules:?}");
    }
    let n_cycles = report
        .diagnostics
        .iter()
        .filter(|d| d.rule == "TD-DEP-NO-SELF-OR-CYCLE")
        .count();
    assert_eq!(n_cycles, 1, "one cycle through all 10,000 containers");
}

#[test]
fn ten_thousand_port_mappings_in_one_container() {
    let mappings: Vec<Value> = (0..10_000)
        .map(|i| json!({"containerPort": 1 + (i % 5_000), "protocol": if i % 3 == 0 { "udp" } else { "tcp" }}))
        .collect();
    let request = json!({"family": "ports", "networkMode": "awsvpc",
        "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "memory": 512, "portMappings": mappings}]});
    let report = validate_json(&request);
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.rule == "TD-PORT-DUP-CONTAINERPORT")
    );
}

#[test]
fn hostile_values_do_not_panic() {
    let huge = i64::MAX;
    let cases = [
        json!({}),
        json!(null),
        json!([]),
        json!("text"),
        json!({"family": "", "containerDefinitions": [{}]}),
        json!({"family": "é\u{0}\u{202e}", "cpu": "", "memory": "", "networkMode": "",
               "requiresCompatibilities": ["", "FARGATE", "FARGATE"], "tags": [{}, {"key": null}]}),
        json!({"family": "f", "cpu": "99999999999999999999 vCPU", "memory": "1e9",
               "requiresCompatibilities": ["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"],
               "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_FULL"},
               "containerDefinitions": [{"name": "ü", "image": "@", "cpu": huge, "memory": -2147483648i64,
                 "memoryReservation": 2147483647, "startTimeout": -2147483648i64,
                 "portMappings": [{"containerPort": -1, "hostPort": 2147483647, "containerPortRange": "-"},
                                  {"containerPortRange": "99999999999999999999-1"}, {"containerPortRange": "٣-٤"},
                                  {"name": "", "protocol": ""}],
                 "links": [":", "", "a:"], "extraHosts": [{}], "dnsSearchDomains": ["", "."],
                 "dependsOn": [{}, {"containerName": "ü", "condition": "HEALTHY"}, {"containerName": "", "condition": ""}],
                 "healthCheck": {"command": [""], "interval": -2147483648i64, "timeout": 2147483647, "retries": huge},
                 "environment": [{}, {"name": "ÆSECRETÆ"}], "user": ":", "logConfiguration": {"logDriver": "awslogs"}}]}),
        json!({"taskDefinition": {"revision": 1, "containerDefinitions": "nope"}}),
        json!([{"name": "a", "image": "x@sha256:", "dependsOn": [{"containerName": "a", "condition": "COMPLETE"}]}]),
    ];
    for case in cases {
        let report = validate_json(&case);
        // Findings are sorted by path, then rule.
        let keys: Vec<_> = report
            .diagnostics
            .iter()
            .map(|d| (d.path.tokens().to_vec(), d.rule))
            .collect();
        assert!(keys.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}
