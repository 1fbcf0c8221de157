//! `stowplan-server`: the in-memory ECS behind ECS's JSON wire protocol, on localhost.
//!
//! ```text
//! stowplan-server --port 4566 [--host 127.0.0.1] [--seed N] [--region R] [--account A]
//!                 [--start-time EPOCH_SECONDS] [--auto-advance SECONDS] [--read-timeout SECONDS]
//!                 [--max-connections N]
//! ```
//!
//! Prints `listening on HOST:PORT` (the port chosen by the system with `--port 0`) on one line,
//! then serves until killed. Point any AWS SDK at `http://HOST:PORT` (README, "Use it from any
//! language").

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stowplan::server::http::{self, Limits};
use stowplan::server::{Options, Server, valid_region};

const USAGE: &str = "usage: stowplan-server --port PORT [--host 127.0.0.1] [--seed N] [--region R] \
[--account A] [--start-time EPOCH_SECONDS] [--auto-advance SECONDS] [--read-timeout SECONDS] \
[--max-connections N]";

struct Settings {
    host: String,
    port: u16,
    options: Options,
    limits: Limits,
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} needs a number, not {value:?}"))
}

fn parse_args(args: &[String]) -> Result<Settings, String> {
    let mut settings = Settings {
        host: "127.0.0.1".to_string(),
        port: 4566,
        options: Options::default(),
        limits: Limits::default(),
    };
    let mut port_given = false;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => {
                settings.port = number(flag, value)?;
                port_given = true;
            }
            "--host" => settings.host = value.clone(),
            "--seed" => settings.options.seed = number(flag, value)?,
            "--region" => {
                if !valid_region(value) {
                    return Err(format!("--region {value:?} is not a Region name"));
                }
                settings.options.region = value.clone();
            }
            "--account" => {
                if value.len() != 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("--account {value:?} is not a 12-digit account id"));
                }
                settings.options.account = value.clone();
            }
            "--start-time" => settings.options.start_time = number(flag, value)?,
            "--auto-advance" => {
                let seconds: i64 = number(flag, value)?;
                if seconds < 0 {
                    return Err("--auto-advance must be 0 or more".to_string());
                }
                settings.options.auto_advance = (seconds > 0).then_some(seconds);
            }
            "--read-timeout" => {
                let seconds: u64 = number(flag, value)?;
                if seconds == 0 {
                    return Err("--read-timeout must be at least 1".to_string());
                }
                settings.limits.read_timeout = Duration::from_secs(seconds);
            }
            "--max-connections" => {
                let count: usize = number(flag, value)?;
                if count == 0 {
                    return Err("--max-connections must be at least 1".to_string());
                }
                settings.limits.max_connections = count;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if !port_given {
        return Err("--port is required (0 picks a free port)".to_string());
    }
    Ok(settings)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse_args(&args) {
        Ok(settings) => settings,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("stowplan-server: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind((settings.host.as_str(), settings.port)) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!(
                "stowplan-server: cannot listen on {}:{}: {err}",
                settings.host, settings.port
            );
            return ExitCode::from(1);
        }
    };
    match listener.local_addr() {
        Ok(address) => println!("listening on {address}"),
        Err(err) => {
            eprintln!("stowplan-server: {err}");
            return ExitCode::from(1);
        }
    }
    let _ = std::io::stdout().flush();
    let server = Arc::new(Mutex::new(Server::new(settings.options)));
    match http::serve(listener, server, settings.limits) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("stowplan-server: {err}");
            ExitCode::from(1)
        }
    }
}
