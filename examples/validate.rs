//! Validates task definitions and prints one JSON line per file.
//!
//! ```text
//! cargo run -q --example validate -- [--canonical] FILE...
//! ```
//!
//! Each FILE may hold a RegisterTaskDefinition request body, DescribeTaskDefinition output
//! (`{"taskDefinition": {...}}`) or a bare `containerDefinitions` array. Output per file:
//!
//! ```text
//! {"file": ..., "ok": bool, "diagnostics": [{"rule", "severity", "path", "message"}], "canonical": ...}
//! {"file": ..., "ok": false, "error": {"message", "line", "column"}}     (unreadable or not JSON)
//! ```
//!
//! `ok` means no `error`-severity diagnostic; `canonical` appears only with `--canonical`.
//! Exit status: 2 if any file could not be read or parsed, else 1 if any file has an error,
//! else 0.

use std::process::ExitCode;

use serde_json::{Value, json};

fn main() -> ExitCode {
    let mut canonical = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--canonical" => canonical = true,
            "-h" | "--help" => {
                eprintln!("usage: validate [--canonical] FILE...");
                return ExitCode::SUCCESS;
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("usage: validate [--canonical] FILE...");
        return ExitCode::from(2);
    }
    let mut unreadable = false;
    let mut invalid = false;
    for file in files {
        let parsed = match std::fs::read(&file) {
            Ok(bytes) => stowplan::json::parse_bytes(&bytes),
            Err(err) => Err(stowplan::json::JsonError {
                message: format!("cannot read the file: {err}"),
                line: 0,
                column: 0,
            }),
        };
        let line = match parsed {
            Err(err) => {
                unreadable = true;
                json!({"file": file, "ok": false,
                       "error": {"message": err.message, "line": err.line, "column": err.column}})
            }
            Ok(value) => {
                let report = stowplan::validate::validate_json(&value);
                invalid |= !report.is_ok();
                let mut line = json!({"file": file, "ok": report.is_ok(),
                                      "diagnostics": report.diagnostics});
                if canonical {
                    line["canonical"] = stowplan::validate::canonical_json(&value);
                }
                line
            }
        };
        println!(
            "{}",
            serde_json::to_string(&line).unwrap_or_else(|_| Value::Null.to_string())
        );
    }
    if unreadable {
        ExitCode::from(2)
    } else if invalid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
