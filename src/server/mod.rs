//! ECS's JSON wire protocol over HTTP (cargo feature `server`; the `stowplan-server` binary).
//!
//! This module is the one place in the crate that does I/O, and only when the `server` feature
//! is on: the default build keeps the library free of sockets and threads.
//!
//! It is split in two:
//! - this file turns one parsed HTTP request into one response with no socket in sight
//!   ([`Server::handle`]): the `X-Amz-Target` header, the SigV4 `Authorization` header, the
//!   region's [`Ecs`], the caller, auto-advance, the AWS JSON error body and the HTTP status;
//! - [`http`] reads requests from TCP connections with hard limits and timeouts, and writes the
//!   responses.
//!
//! ```
//! use stowplan::server::{Options, Request, Server};
//! let mut server = Server::new(Options::default());
//! let request = Request::post(
//!     "AmazonEC2ContainerServiceV20141113.CreateCluster",
//!     br#"{"clusterName": "prod"}"#,
//! );
//! let response = server.handle(&request);
//! assert_eq!(response.status, 200);
//! let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
//! assert_eq!(body["cluster"]["clusterName"], "prod");
//! ```

pub mod http;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::{self, ApiError};
use crate::control::{Ecs, EcsConfig};

/// The `X-Amz-Target` prefix of ECS operations.
pub const ECS_TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
/// The `X-Amz-Target` prefix of harness actions: `Stowplan.<Action>` runs `Sim.<Action>`.
pub const HARNESS_TARGET_PREFIX: &str = "Stowplan.";
/// The content type of every request and response body.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The path that resets every Region, as moto's server mode does.
pub const MOTO_RESET_PATH: &str = "/moto-api/reset";
/// How many Regions one server keeps at most (each is a whole in-memory ECS).
pub const MAX_REGIONS: usize = 32;

/// How the server starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The seed of every Region's ECS.
    pub seed: u64,
    /// The Region of requests that carry no SigV4 credential (`--region`, default `us-east-1`).
    pub region: String,
    /// The account of every ARN (`--account`, default `123456789012`).
    pub account: String,
    /// The logical clock's start in epoch seconds, in every Region.
    pub start_time: i64,
    /// Seconds the logical clock advances (with `Sim.Advance`) before each ECS request.
    pub auto_advance: Option<i64>,
}

impl Default for Options {
    fn default() -> Self {
        let config = EcsConfig::default();
        Options {
            seed: config.seed,
            region: config.region,
            account: config.account,
            start_time: config.start_time,
            auto_advance: None,
        }
    }
}

/// One HTTP request, as [`http`] read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The request target without its query string, e.g. `/`.
    pub path: String,
    /// Header names in lower case, values as sent (they may be any bytes).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A `POST /` with `X-Amz-Target: target` and no signature (tests and examples).
    pub fn post(target: &str, body: &[u8]) -> Self {
        Request {
            method: "POST".to_string(),
            path: "/".to_string(),
            headers: vec![
                ("x-amz-target".to_string(), target.as_bytes().to_vec()),
                ("content-type".to_string(), CONTENT_TYPE.as_bytes().to_vec()),
            ],
            body: body.to_vec(),
        }
    }

    /// The same request with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
        self
    }

    /// The first header called `name` (lower case): `Ok(None)` when absent, `Err(())` when it is
    /// not UTF-8.
    #[allow(clippy::result_unit_err)]
    pub fn header(&self, name: &str) -> Result<Option<&str>, ()> {
        match self.headers.iter().find(|(key, _)| key == name) {
            None => Ok(None),
            Some((_, value)) => std::str::from_utf8(value).map(Some).map_err(|_| ()),
        }
    }
}

/// One HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection`, which [`http`] adds.
    pub headers: Vec<(String, String)>,
    /// The body (JSON).
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response with the AWS content type and request id.
    pub fn json(status: u16, body: &Value, request_id: &str) -> Self {
        Response {
            status,
            headers: vec![
                ("Content-Type".to_string(), CONTENT_TYPE.to_string()),
                ("x-amzn-RequestId".to_string(), request_id.to_string()),
            ],
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }

    /// An AWS JSON error: `{"__type": error_type, "message": message}` with `status`.
    pub fn error(status: u16, error_type: &str, message: &str, request_id: &str) -> Self {
        let mut response = Response::json(
            status,
            &json!({"__type": error_type, "message": message}),
            request_id,
        );
        // Some SDKs read the error code from this header before the body.
        response
            .headers
            .push(("x-amzn-ErrorType".to_string(), error_type.to_string()));
        response
    }
}

/// The HTTP status ECS's JSON protocol sends with an exception: 500 for `ServerException`, 503
/// for `ServiceUnavailableException`, 400 for every other one, `AccessDeniedException` included
/// (ECS API reference, "Common Errors").
pub fn status_for(error_type: &str) -> u16 {
    match error_type {
        "ServerException" | "InternalFailure" => 500,
        "ServiceUnavailableException" => 503,
        _ => 400,
    }
}

/// A request failure before or outside the dynamic API.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Failure {
    status: u16,
    error_type: String,
    message: String,
}

impl Failure {
    fn new(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        Failure {
            status,
            error_type: error_type.to_string(),
            message: message.into(),
        }
    }
}

/// What `X-Amz-Target` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An ECS operation, e.g. `RunTask`.
    Ecs(String),
    /// A harness action without its prefix, e.g. `Advance` for `Stowplan.Advance`.
    Harness(String),
}

/// Reads an `X-Amz-Target` value; `None` when it names neither an ECS operation nor a harness
/// action (the server answers `UnknownOperationException`).
pub fn parse_target(value: &str) -> Option<Target> {
    let name_ok = |name: &str| {
        !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    if let Some(operation) = value.strip_prefix(ECS_TARGET_PREFIX) {
        return name_ok(operation).then(|| Target::Ecs(operation.to_string()));
    }
    if let Some(action) = value.strip_prefix(HARNESS_TARGET_PREFIX) {
        return name_ok(action).then(|| Target::Harness(action.to_string()));
    }
    None
}

/// The credential scope of a SigV4 `Authorization` header
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The access key id; it selects the calling principal.
    pub access_key_id: String,
    /// The scope's date (`YYYYMMDD`).
    pub date: String,
    /// The scope's Region; it selects the in-memory ECS.
    pub region: String,
    /// The scope's service (`ecs` from SDKs; not checked).
    pub service: String,
}

/// Parses (never verifies) a SigV4 `Authorization` header; the error says what is missing.
///
/// ```
/// let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/ecs/aws4_request, \
///               SignedHeaders=host;x-amz-date, Signature=abc";
/// let credential = stowplan::server::parse_authorization(header).unwrap();
/// assert_eq!((credential.access_key_id.as_str(), credential.region.as_str()), ("AKIDEXAMPLE", "eu-west-1"));
/// ```
pub fn parse_authorization(value: &str) -> Result<Credential, String> {
    let rest = value
        .trim()
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or("Authorization header must start with AWS4-HMAC-SHA256")?;
    let credential = rest
        .split([',', ' '])
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))
        .ok_or("Authorization header requires a 'Credential' parameter")?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, terminator] = parts[..] else {
        return Err(format!(
            "Credential should be scoped to a valid Region, not '{credential}'"
        ));
    };
    if terminator != "aws4_request" || key.is_empty() || key.len() > 128 {
        return Err(format!(
            "Credential should be scoped with a valid terminator and access key: '{credential}'"
        ));
    }
    if !valid_region(region) {
        return Err(format!(
            "Credential should be scoped to a valid Region, not '{region}'"
        ));
    }
    Ok(Credential {
        access_key_id: key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    })
}

/// A Region name of AWS's form: lower-case words and a number joined by hyphens
/// (`us-east-1`, `us-gov-west-1`), at most 32 bytes.
pub fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= 32
        && parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The server's state: one in-memory ECS per Region (created on first use, with the same seed,
/// account and start time), and the request counter behind `x-amzn-RequestId`.
#[derive(Debug)]
pub struct Server {
    options: Options,
    regions: BTreeMap<String, Ecs>,
    requests: u64,
}

impl Server {
    /// A server with no Region created yet.
    pub fn new(options: Options) -> Self {
        Server {
            options,
            regions: BTreeMap::new(),
            requests: 0,
        }
    }

    /// The options it started with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The ECS of `region`, if a request has created it.
    pub fn ecs(&self, region: &str) -> Option<&Ecs> {
        self.regions.get(region)
    }

    /// The next request id: uuid-shaped, counting from 1, so that the same request order gives
    /// the same ids.
    pub fn next_request_id(&mut self) -> String {
        self.requests += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.requests)
    }

    /// Answers one request. Never panics on any input.
    pub fn handle(&mut self, request: &Request) -> Response {
        let id = self.next_request_id();
        match self.dispatch(request) {
            Ok(body) => Response::json(200, &body, &id),
            Err(failure) => {
                let mut response =
                    Response::error(failure.status, &failure.error_type, &failure.message, &id);
                if failure.status == 405 {
                    response
                        .headers
                        .push(("Allow".to_string(), "POST".to_string()));
                }
                response
            }
        }
    }

    fn dispatch(&mut self, request: &Request) -> Result<Value, Failure> {
        if request.method != "POST" {
            return Err(Failure::new(
                405,
                "MethodNotAllowedException",
                format!(
                    "{} is not allowed: send POST with X-Amz-Target",
                    request.method
                ),
            ));
        }
        match request.path.as_str() {
            "/" => {}
            MOTO_RESET_PATH => {
                self.regions.clear();
                return Ok(json!({"status": "ok"}));
            }
            other => {
                return Err(Failure::new(
                    404,
                    "UnknownOperationException",
                    format!("no such path {other}: ECS requests are POST /"),
                ));
            }
        }
        let target = request
            .header("x-amz-target")
            .map_err(|()| {
                Failure::new(
                    400,
                    "UnknownOperationException",
                    "X-Amz-Target is not UTF-8",
                )
            })?
            .ok_or_else(|| {
                Failure::new(
                    400,
                    "UnknownOperationException",
                    "X-Amz-Target header is missing",
                )
            })?;
        let target = parse_target(target).ok_or_else(|| {
            Failure::new(
                400,
                "UnknownOperationException",
                format!("unknown target {target:?}: expected {ECS_TARGET_PREFIX}<Operation> or {HARNESS_TARGET_PREFIX}<Action>"),
            )
        })?;
        let credential =
            match request.header("authorization") {
                Err(()) => {
                    return Err(Failure::new(
                        400,
                        "IncompleteSignatureException",
                        "Authorization header is not UTF-8",
                    ));
                }
                Ok(None) => None,
                Ok(Some(value)) => Some(parse_authorization(value).map_err(|message| {
                    Failure::new(400, "IncompleteSignatureException", message)
                })?),
            };
        let body = parse_body(&request.body)?;
        let region = credential
            .as_ref()
            .map_or(self.options.region.clone(), |c| c.region.clone());
        let auto_advance = self.options.auto_advance;
        let ecs = self.ecs_mut(&region)?;
        let caller = match &credential {
            Some(credential) => ecs.caller_for_access_key(&credential.access_key_id),
            None => ecs.harness_caller(),
        };
        let result = match target {
            Target::Ecs(operation) => {
                if let Some(seconds) = auto_advance
                    && api::names::OPERATIONS.contains(&operation.as_str())
                {
                    let harness = ecs.harness_caller();
                    api::call(ecs, "Sim.Advance", &json!({"seconds": seconds}), &harness)
                        .map_err(api_failure)?;
                }
                api::call(ecs, &operation, &body, &caller)
            }
            Target::Harness(action) => {
                api::call(ecs, &format!("Sim.{action}"), &body, &caller).map_err(|err| {
                    // An action this version lacks reads as an unknown operation to a client.
                    if err.error_type == "ScenarioError"
                        && err.message.starts_with("unknown harness action")
                    {
                        ApiError::new("UnknownOperationException", err.message)
                    } else {
                        err
                    }
                })
            }
        };
        result.map_err(api_failure)
    }

    fn ecs_mut(&mut self, region: &str) -> Result<&mut Ecs, Failure> {
        if !self.regions.contains_key(region) {
            if self.regions.len() >= MAX_REGIONS {
                return Err(Failure::new(
                    400,
                    "LimitExceededException",
                    format!("this server keeps at most {MAX_REGIONS} Regions"),
                ));
            }
            let ecs = Ecs::new(EcsConfig {
                region: region.to_string(),
                account: self.options.account.clone(),
                seed: self.options.seed,
                start_time: self.options.start_time,
            });
            self.regions.insert(region.to_string(), ecs);
        }
        self.regions
            .get_mut(region)
            .ok_or_else(|| Failure::new(500, "ServerException", "Region vanished"))
    }
}

fn api_failure(err: ApiError) -> Failure {
    Failure {
        status: status_for(&err.error_type),
        error_type: err.error_type,
        message: err.message,
    }
}

/// Reads a request body: empty means `{}`; anything else must be a UTF-8 JSON object within
/// the library's JSON limits, else `SerializationException`.
fn parse_body(body: &[u8]) -> Result<Value, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let value = crate::json::parse_bytes(body)
        .map_err(|err| Failure::new(400, "SerializationException", err.to_string()))?;
    if !value.is_object() {
        return Err(Failure::new(
            400,
            "SerializationException",
            "the request body must be a JSON object",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
