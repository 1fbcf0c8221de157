//! Runs one scenario file and prints one JSON line per step (shared/spec/scenario-format.md).
//!
//! ```text
//! cargo run -q --release --example scenario -- FILE.json
//! ```
//!
//! Exit status 0 when every line was written, 2 when the file cannot be read or parsed.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: scenario FILE.json");
        return ExitCode::from(2);
    };
    let text = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) => {
            eprintln!("scenario: cannot read {path}: {err}");
            return ExitCode::from(2);
        }
    };
    let lines = match stowplan::json::parse_bytes(&text)
        .map_err(|err| err.to_string())
        .and_then(|value| stowplan::scenario::run(&value).map_err(|err| err.to_string()))
    {
        Ok(lines) => lines,
        Err(message) => {
            eprintln!("scenario: {path}: {message}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return ExitCode::from(2);
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
